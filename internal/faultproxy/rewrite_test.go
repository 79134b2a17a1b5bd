package faultproxy_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/imgctl/imgctl/internal/faultproxy"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fakeRegistry answers like distribution: absolute URLs built from the
// Host it was addressed by (and its path prefix), which the proxy must
// point back at itself.
type fakeRegistry struct {
	prefix string
	mu     sync.Mutex
	seen   []string
}

func (f *fakeRegistry) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.seen = append(f.seen, r.Method+" "+r.URL.RequestURI())
	f.mu.Unlock()
	self := "http://" + r.Host + f.prefix
	path := strings.TrimPrefix(r.URL.Path, f.prefix)
	switch {
	case r.Method == http.MethodPost && path == "/v2/foo/blobs/uploads/":
		w.Header().Set("Location", self+"/v2/foo/blobs/uploads/abc?_state=x%2Fy")
		w.WriteHeader(http.StatusAccepted)
	case r.Method == http.MethodPatch && path == "/v2/foo/blobs/uploads/abc":
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Location", f.prefix+"/v2/foo/blobs/uploads/abc?_state=z") // relative: kept
		w.WriteHeader(http.StatusAccepted)
	case path == "/v2/_catalog":
		w.Header().Add("Link", `<`+self+`/v2/_catalog?last=a&n=1>; rel="next"`)
		w.Header().Add("Link", `</v2/_catalog?last=b&n=1>; rel="next"`)
		_, _ = io.WriteString(w, `{"repositories":["a"]}`)
	case path == "/elsewhere":
		w.Header().Set("Location", "http://example.com/v2/foo/blobs/sha256:00")
		w.WriteHeader(http.StatusTemporaryRedirect)
	default:
		http.NotFound(w, r)
	}
}

func TestLocationRewrite(t *testing.T) {
	for _, prefix := range []string{"", "/reg"} {
		t.Run("prefix="+prefix, func(t *testing.T) {
			f := &fakeRegistry{prefix: prefix}
			s := httptest.NewServer(f)
			t.Cleanup(s.Close)
			p, addr := faultproxy.Start(t, s.URL+prefix)
			proxy := "http://" + addr

			resp, _ := get(t, freshConns, http.MethodPost, addr, "/v2/foo/blobs/uploads/")
			assert.Equal(t, http.StatusAccepted, resp.StatusCode)
			loc := resp.Header.Get("Location")
			assert.Equal(t, proxy+"/v2/foo/blobs/uploads/abc?_state=x%2Fy", loc)

			// Following the Location goes through the proxy.
			req, err := http.NewRequest(http.MethodPatch, loc, strings.NewReader("data"))
			require.NoError(t, err)
			resp, err = freshConns.Do(req)
			require.NoError(t, err)
			resp.Body.Close()
			assert.Equal(t, http.StatusAccepted, resp.StatusCode)
			assert.Equal(t, prefix+"/v2/foo/blobs/uploads/abc?_state=z", resp.Header.Get("Location"))
			assert.Equal(t, "PATCH /v2/foo/blobs/uploads/abc", p.Stats().Log[1].Method+" "+p.Stats().Log[1].Path)
			assert.Contains(t, f.seen, "PATCH "+prefix+"/v2/foo/blobs/uploads/abc?_state=x%2Fy")

			resp, _ = get(t, freshConns, http.MethodGet, addr, "/v2/_catalog")
			assert.Equal(t, []string{
				`<` + proxy + `/v2/_catalog?last=a&n=1>; rel="next"`,
				`</v2/_catalog?last=b&n=1>; rel="next"`,
			}, resp.Header.Values("Link"))

			resp, _ = get(t, freshConns, http.MethodGet, addr, "/elsewhere")
			assert.Equal(t, "http://example.com/v2/foo/blobs/sha256:00", resp.Header.Get("Location"))
		})
	}
}
