package e2etest

import (
	"context"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/registry"
)

// registryConfig is the docker-registry configuration: filesystem storage,
// deletes disabled unless asked for (RegistryOptions.Delete), loopback only.
// Keep it in step with hack/registry.sh.
const registryConfig = `version: 0.1
log:
  level: info
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: %s
  cache:
    blobdescriptor: inmemory
  delete:
    enabled: %t
http:
  addr: %s
`

// Registry starts a fresh Debian distribution registry (the docker-registry
// binary, distribution 2.8) on a free loopback port, with its storage in
// t.TempDir(), and returns its address "127.0.0.1:PORT". t.Cleanup stops
// it. It speaks plain HTTP, has no referrers API, lists tags unsorted and
// overwrites tags silently.
func Registry(t testing.TB) string {
	t.Helper()
	addr, _ := RegistryWithStorage(t)
	return addr
}

// RegistryWithStorage is [Registry], also returning the directory of its
// filesystem storage (docker/registry/v2/… below it), for tests that make
// states no API call makes (a tag whose manifest revision is gone).
func RegistryWithStorage(t testing.TB) (addr, storage string) {
	t.Helper()
	return RegistryWith(t, RegistryOptions{})
}

// RegistryOptions configure a distribution registry.
type RegistryOptions struct {
	// Delete enables deleting manifests (storage.delete.enabled). The
	// default is false, distribution's own default.
	Delete bool
}

// RegistryWith is [RegistryWithStorage] configured by o.
func RegistryWith(t testing.TB, o RegistryOptions) (addr, storage string) {
	t.Helper()
	skipShort(t)
	bin, err := exec.LookPath("docker-registry")
	if err != nil {
		missing(t, "docker-registry not found in PATH (Debian package docker-registry)")
	}
	dir := t.TempDir()
	var lastErr error
	for range 5 { // another process may take the free port before we bind it
		addr, err := freeAddr()
		if err != nil {
			t.Fatal(err)
		}
		d, err := startRegistry(bin, dir, addr, o.Delete)
		if err == nil {
			t.Cleanup(func() { d.stop(10 * time.Second) })
			return addr, filepath.Join(dir, "storage")
		}
		lastErr = err
		if !strings.Contains(tail(d.logPath, 5), "address already in use") {
			break
		}
	}
	t.Fatalf("starting docker-registry: %v", lastErr)
	return "", ""
}

// startRegistry starts docker-registry on addr with state in dir. It
// returns the daemon even on error, so callers can read its log.
func startRegistry(bin, dir, addr string, del bool) (*daemon, error) {
	cfg := filepath.Join(dir, "config.yml")
	storage := filepath.Join(dir, "storage")
	if err := os.WriteFile(cfg, fmt.Appendf(nil, registryConfig, storage, del, addr), 0o644); err != nil {
		return &daemon{logPath: filepath.Join(dir, "registry.log")}, err
	}
	logPath := filepath.Join(dir, "registry.log")
	_ = os.Truncate(logPath, 0)
	d, err := startDaemon(bin, logPath, syscall.SIGKILL, "serve", cfg)
	if err != nil {
		return &daemon{logPath: logPath}, err
	}
	url := "http://" + addr + "/v2/"
	err = d.waitReady(30*time.Second, func(ctx context.Context) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("GET %s: %s", url, resp.Status)
		}
		return nil
	})
	return d, err
}

// freeAddr returns a loopback address with a port that was free a moment ago.
func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("finding a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// InProcessRegistry starts go-containerregistry's in-memory registry
// (pkg/registry) on an httptest server and returns its "127.0.0.1:PORT".
// referrers turns on its OCI 1.1 referrers API (it then reports a
// manifest's config.mediaType as the artifact type). t.Cleanup stops it.
func InProcessRegistry(t testing.TB, referrers bool) string {
	t.Helper()
	s := httptest.NewServer(registry.New(
		registry.WithReferrersSupport(referrers),
		registry.Logger(log.New(io.Discard, "", 0)),
	))
	t.Cleanup(s.Close)
	return strings.TrimPrefix(s.URL, "http://")
}

// PeakRegistry starts go-containerregistry's in-memory registry (referrers
// on) behind a handler that records the most requests it had in flight at
// once in peak; each request waits 2 ms first so that concurrent ones
// overlap. It returns the registry's "127.0.0.1:PORT"; t.Cleanup stops it.
// For tests of concurrency bounds; no daemon.
func PeakRegistry(t testing.TB) (addr string, peak *atomic.Int64) {
	t.Helper()
	var cur atomic.Int64
	peak = &atomic.Int64{}
	reg := registry.New(registry.WithReferrersSupport(true), registry.Logger(log.New(io.Discard, "", 0)))
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := cur.Add(1)
		defer cur.Add(-1)
		for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
		}
		time.Sleep(2 * time.Millisecond)
		reg.ServeHTTP(w, r)
	}))
	t.Cleanup(s.Close)
	return strings.TrimPrefix(s.URL, "http://"), peak
}
