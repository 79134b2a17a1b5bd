package e2etest

import (
	"testing"

	"github.com/imgctl/imgctl/internal/faultproxy"
)

// FaultProxy starts a fault-injecting proxy (package faultproxy) in front of
// the registry at addr, as returned by [Registry] or [InProcessRegistry],
// and returns it and its own address "127.0.0.1:PORT". It passes every
// request through until rules are set with SetRules. t.Cleanup stops it.
func FaultProxy(t testing.TB, addr string, opts ...faultproxy.Option) (*faultproxy.Proxy, string) {
	t.Helper()
	return faultproxy.Start(t, "http://"+addr, opts...)
}
