package faultproxy

import (
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// Start serves a new proxy to target on a free loopback port and returns
// it and its address "127.0.0.1:PORT". target is the registry's base URL,
// or a bare "host:port" meaning http://host:port. t.Cleanup closes the
// proxy, its client connections and its server.
func Start(t testing.TB, target string, opts ...Option) (*Proxy, string) {
	t.Helper()
	if !strings.Contains(target, "://") {
		target = "http://" + target
	}
	u, err := url.Parse(target)
	if err != nil {
		t.Fatalf("parsing registry URL %q: %v", target, err)
	}
	p := New(u, opts...)
	s := httptest.NewServer(p)
	t.Cleanup(func() {
		p.Close()
		s.CloseClientConnections()
		s.Close()
	})
	return p, strings.TrimPrefix(s.URL, "http://")
}
