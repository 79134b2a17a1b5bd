package regclient_test

import (
	"context"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/imgctl/imgctl/internal/e2etest"
	"github.com/imgctl/imgctl/pkg/regclient"
)

// TestMaxInFlight: however many goroutines read at once, at most n
// requests reach the registry together.
func TestMaxInFlight(t *testing.T) {
	addr, peak := e2etest.PeakRegistry(t)
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
