package browser_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/imgctl/imgctl/internal/e2etest"
)

func TestMain(m *testing.M) { e2etest.Main(m) }

// TestProblems: what the catalog tests rely on to see a broken page — a
// console error, an uncaught exception and a failed request — is recorded,
// and a clean page records nothing.
func TestProblems(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Chromium")
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/clean.html":
			fmt.Fprint(w, `<!doctype html><html lang="en"><head><link rel="icon" href="data:,"><title>ok</title></head><body><p>fine</p><script>console.log("just a log")</script></body></html>`)
		case "/broken.html":
			fmt.Fprint(w, `<!doctype html><html lang="en"><head><link rel="icon" href="data:,"><title>broken</title></head><body><img src="missing.png" alt=""><script>console.error("boom"); throw new Error("bang")</script></body></html>`)
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	b := e2etest.Browser(t, 800, 600)

	require.NoError(t, b.Open(srv.URL+"/clean.html"))
	assert.Empty(t, b.Problems())
	shot := filepath.Join(t.TempDir(), "clean.png")
	require.NoError(t, b.Screenshot(shot))
	png, err := os.ReadFile(shot)
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(string(png), "\x89PNG"), "a PNG")

	require.NoError(t, b.Open(srv.URL+"/broken.html"))
	p := strings.Join(b.Problems(), "\n")
	assert.Contains(t, p, `console.error: "boom"`)
	assert.Contains(t, p, "bang")
	assert.Contains(t, p, "404")
	assert.Empty(t, b.Problems(), "Problems forgets what it returned")
}
