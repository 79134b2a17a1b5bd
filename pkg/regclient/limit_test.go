package regclient_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/imgctl/imgctl/pkg/regclient"
)

// peakServer serves a registry and records the most requests it had in
// flight at once; each waits a little so that they overlap.
func peakServer(t *testing.T) (addr string, peak *atomic.Int64) {
	var cur atomic.Int64
	peak = &atomic.Int64{}
	reg := registry.New()
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := cur.Add(1)
		defer cur.Add(-1)
		for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
		}
		time.Sleep(5 * time.Millisecond)
		reg.ServeHTTP(w, r)
	}))
	t.Cleanup(s.Close)
	return strings.TrimPrefix(s.URL, "http://"), peak
}

// TestMaxInFlight: however many goroutines read at once, at most n
// requests reach the registry together.
func TestMaxInFlight(t *testing.T) {
	addr, peak := peakServer(t)
	c := regclient.New()
	img, err := random.Image(64, 1)
	require.NoError(t, err)
	ref, err := c.Reference(addr + "/x/y:1")
	require.NoError(t, err)
	require.NoError(t, remote.Write(ref, img))
	for _, n := range []int{1, 3} {
		peak.Store(0)
		c := regclient.New(regclient.WithMaxInFlight(n))
		var wg sync.WaitGroup
		for range 24 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := c.Head(context.Background(), addr+"/x/y:1")
				assert.NoError(t, err)
			}()
		}
		wg.Wait()
		assert.LessOrEqual(t, peak.Load(), int64(n), "max %d in flight", n)
		if n > 1 {
			assert.Greater(t, peak.Load(), int64(1), "requests still overlap")
		}
	}
}
