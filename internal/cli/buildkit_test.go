package cli

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/imgctl/imgctl/pkg/build"
)

func TestBuildKitAddresses(t *testing.T) {
	t.Setenv("BUILDKIT_HOST", "")
	assert.Equal(t, []string{defaultBuildKit}, (&buildkitFlags{}).addresses())
	t.Setenv("BUILDKIT_HOST", " tcp://bk-0:1234, tcp://bk-1:1234,,unix:///run/bk.sock ")
	assert.Equal(t, []string{"tcp://bk-0:1234", "tcp://bk-1:1234", "unix:///run/bk.sock"}, (&buildkitFlags{}).addresses())
	f := &buildkitFlags{addrs: []string{"unix:///a.sock", "kube-pod://buildkitd-0?namespace=ci"}}
	assert.Equal(t, f.addrs, f.addresses(), "--buildkit wins over BUILDKIT_HOST")
}

func TestBuildKitTLSPerDaemon(t *testing.T) {
	global := &buildkitFlags{ca: "/certs/ca.pem", cert: "/certs/client.pem", key: "/certs/client-key.pem"}
	for _, c := range []struct {
		name  string
		flags *buildkitFlags
		addr  string
		want  string
		tls   *build.TLS
		err   string
	}{
		{"unix has no TLS", global, "unix:///run/bk.sock", "unix:///run/bk.sock", nil, ""},
		{"tcp without flags", &buildkitFlags{}, "tcp://bk-0:1234", "tcp://bk-0:1234", nil, ""},
		{"tcp gets the flags", global, "tcp://bk-0:1234", "tcp://bk-0:1234", &build.TLS{CACert: "/certs/ca.pem", Cert: "/certs/client.pem", Key: "/certs/client-key.pem"}, ""},
		{"its own files win", global, "tcp://10.0.0.7:1234?tlsca=/x/ca.pem&tlscert=/x/c.pem&tlskey=/x/k.pem&tlsservername=buildkitd-1.buildkitd", "tcp://10.0.0.7:1234",
			&build.TLS{CACert: "/x/ca.pem", Cert: "/x/c.pem", Key: "/x/k.pem", ServerName: "buildkitd-1.buildkitd"}, ""},
		{"kube-pod keeps its own query", global, "kube-pod://buildkitd-0?namespace=ci", "kube-pod://buildkitd-0?namespace=ci", nil, ""},
		{"an unknown tcp parameter", global, "tcp://bk-0:1234?tlsca=/x&ca=/y", "", nil, `--buildkit "tcp://bk-0:1234?tlsca=/x&ca=/y": unknown parameter "ca" (want tlsca, tlscert, tlskey, tlsservername)`},
	} {
		t.Run(c.name, func(t *testing.T) {
			addr, tls, err := c.flags.daemonTLS(c.addr)
			if c.err != "" {
				assert.EqualError(t, err, c.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, c.want, addr)
			assert.Equal(t, c.tls, tls)
		})
	}
}
