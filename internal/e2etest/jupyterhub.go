package e2etest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// hubConfig is the part of jupyterhub_config.py every test hub shares: the
// hub, its proxy (Debian's configurable-http-proxy, started by the hub)
// and its state on loopback in the test's directory, any user name
// accepted (DummyAuthenticator), and an admin service whose token the
// test uses for the REST API. The test's own configuration follows it.
const hubConfig = `# written by the imgctl end-to-end harness (internal/e2etest)
c = get_config()  # noqa
c.JupyterHub.bind_url = "http://127.0.0.1:%d"
c.JupyterHub.hub_bind_url = "http://127.0.0.1:%d"
c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:%d"
c.ConfigurableHTTPProxy.auth_token = %q
c.ConfigurableHTTPProxy.command = ["configurable-http-proxy"]
c.JupyterHub.db_url = "sqlite:///" + %q
c.JupyterHub.cookie_secret_file = %q
c.JupyterHub.pid_file = %q
c.ConfigurableHTTPProxy.pid_file = %q
c.JupyterHub.authenticator_class = "dummy"
c.JupyterHub.services = [{"name": "imgctl-test", "api_token": %q, "admin": True}]
c.JupyterHub.cleanup_servers = True
c.Spawner.start_timeout = 300
c.Spawner.http_timeout = 120
`

// Hub is a running JupyterHub.
type Hub struct {
	URL   string // the proxy's public URL: http://127.0.0.1:PORT
	Token string // an admin service token for the REST API
	Log   string // the hub's log file (the proxy's lines are in it too)
	t     testing.TB
}

// JupyterHub starts Debian's jupyterhub (3.0) with the harness's
// configuration followed by config (Python), PYTHONPATH set to pythonPath
// (for a spawner the test brings), its state (every path absolute) in a
// directory of its own. It waits
// until the hub answers through its proxy; t.Cleanup stops it with SIGTERM,
// so that it stops its servers and its proxy.
func JupyterHub(t testing.TB, config string, pythonPath ...string) *Hub {
	t.Helper()
	skipShort(t)
	for _, bin := range []string{"jupyterhub", "configurable-http-proxy"} {
		if _, err := exec.LookPath(bin); err != nil {
			missing(t, bin+" not found in PATH (Debian package jupyterhub; hack/install-deps.sh apt)")
		}
	}
	dir := t.TempDir()
	ports := make([]int, 3)
	for i := range ports {
		addr, err := freeAddr()
		if err != nil {
			t.Fatal(err)
		}
		_, err = fmt.Sscanf(addr[strings.LastIndexByte(addr, ':')+1:], "%d", &ports[i])
		if err != nil {
			t.Fatal(err)
		}
	}
	token := fmt.Sprintf("imgctl-test-%d", time.Now().UnixNano())
	cfg := fmt.Sprintf(hubConfig, ports[0], ports[1], ports[2], token+"-proxy",
		filepath.Join(dir, "jupyterhub.sqlite"), filepath.Join(dir, "cookie_secret"),
		filepath.Join(dir, "jupyterhub.pid"), filepath.Join(dir, "proxy.pid"), token) + "\n" + config
	cfgPath := filepath.Join(dir, "jupyterhub_config.py")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	// NODE_PATH: Debian's configurable-http-proxy finds its modules in
	// /usr/share/nodejs, which Debian's node searches and other builds of
	// node (NodeSource's, which some machines have instead) do not.
	env := append(os.Environ(), "PYTHONPATH="+strings.Join(pythonPath, ":"), "NODE_PATH=/usr/share/nodejs")
	logPath := filepath.Join(dir, "jupyterhub.log")
	d, err := startDaemonEnv("jupyterhub", logPath, syscall.SIGTERM, env, "-f", cfgPath, "--debug")
	if err != nil {
		t.Fatal(err)
	}
	h := &Hub{URL: fmt.Sprintf("http://127.0.0.1:%d", ports[0]), Token: token, Log: logPath, t: t}
	t.Cleanup(func() {
		if !d.stop(30 * time.Second) {
			t.Logf("jupyterhub did not stop within 30 s; last lines of %s:\n%s", logPath, tail(logPath, 20))
		}
	})
	if err := d.waitReady(90*time.Second, func(ctx context.Context) error {
		_, err := h.do(ctx, http.MethodGet, "/hub/api/", nil)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return h
}

// API calls the hub's REST API (path below /hub/api) with the admin token
// and returns the response body; a status of 400 or more fails the test.
func (h *Hub) API(method, path string, body any) []byte {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := h.do(ctx, method, "/hub/api"+path, body)
	if err != nil {
		h.t.Fatalf("%v; last lines of %s:\n%s", err, h.Log, tail(h.Log, 30))
	}
	return out
}

// Get is a GET through the hub's proxy (a path such as /user/NAME/api)
// with the admin token. It returns the status and the body.
func (h *Hub) Get(path string) (int, []byte, error) {
	req, err := http.NewRequest(http.MethodGet, h.URL+path, nil)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", "token "+h.Token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

// WaitReady polls the hub until user's default server is ready, failing
// the test after timeout with the hub's last log lines.
func (h *Hub) WaitReady(user string, timeout time.Duration) {
	h.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		var u struct {
			Servers map[string]struct {
				Ready   bool `json:"ready"`
				Pending *string
			} `json:"servers"`
		}
		if err := json.Unmarshal(h.API(http.MethodGet, "/users/"+user, nil), &u); err != nil {
			h.t.Fatal(err)
		}
		if s, ok := u.Servers[""]; ok && s.Ready {
			return
		}
		if _, ok := u.Servers[""]; !ok {
			h.t.Fatalf("%s's server is gone (its start failed); last lines of %s:\n%s", user, h.Log, tail(h.Log, 40))
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("%s's server not ready after %v; last lines of %s:\n%s", user, timeout, h.Log, tail(h.Log, 40))
		}
		time.Sleep(500 * time.Millisecond)
	}
}

func (h *Hub) do(ctx context.Context, method, path string, body any) ([]byte, error) {
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, h.URL+path, r)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "token "+h.Token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode >= 400 {
		return nil, fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, bytes.TrimSpace(b))
	}
	return b, nil
}

// Try is [Hub.API] returning the error (a status of 400 or more, with the
// hub's message) instead of failing the test.
func (h *Hub) Try(method, path string, body any) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	return h.do(ctx, method, "/hub/api"+path, body)
}
