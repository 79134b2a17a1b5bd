package cli

import (
	"context"
	"log/slog"
	"net/url"
	"os"
	"slices"
	"strings"

	"github.com/containerd/platforms"
	"github.com/spf13/cobra"

	"github.com/imgctl/imgctl/pkg/build"
	"github.com/imgctl/imgctl/pkg/buildpool"
	"github.com/imgctl/imgctl/pkg/plan"
	"github.com/imgctl/imgctl/pkg/spec"
)

// defaultBuildKit is the daemon used when neither --buildkit nor
// BUILDKIT_HOST names one.
const defaultBuildKit = "unix:///run/buildkit/buildkitd.sock"

// buildkitFlags select and secure the BuildKit daemons: one, or a pool.
type buildkitFlags struct {
	addrs                     []string
	ca, cert, key, serverName string
}

func (f *buildkitFlags) add(cmd *cobra.Command) {
	cmd.Flags().StringArrayVar(&f.addrs, "buildkit", nil, "BuildKit daemon: unix://, tcp://, docker-container://, kube-pod://; repeat for a pool of daemons; a tcp:// address may carry its own TLS files: ?tlsca=F&tlscert=F&tlskey=F&tlsservername=NAME (default $BUILDKIT_HOST, comma-separated for a pool, else "+defaultBuildKit+")")
	cmd.Flags().StringVar(&f.ca, "buildkit-tls-ca", "", "CA certificate for every tcp:// daemon")
	cmd.Flags().StringVar(&f.cert, "buildkit-tls-cert", "", "client certificate for every tcp:// daemon")
	cmd.Flags().StringVar(&f.key, "buildkit-tls-key", "", "client key for every tcp:// daemon")
	cmd.Flags().StringVar(&f.serverName, "buildkit-tls-server-name", "", "server name to verify for every tcp:// daemon (default: the host of its address)")
}

// addresses are the daemons: --buildkit, else $BUILDKIT_HOST (a
// comma-separated list), else the default socket.
func (f *buildkitFlags) addresses() []string {
	if len(f.addrs) > 0 {
		return f.addrs
	}
	var out []string
	for _, a := range strings.Split(os.Getenv("BUILDKIT_HOST"), ",") {
		if a = strings.TrimSpace(a); a != "" {
			out = append(out, a)
		}
	}
	if len(out) == 0 {
		return []string{defaultBuildKit}
	}
	return out
}

// tlsQuery are the query parameters of a tcp:// address that give that
// daemon its own TLS files, overriding the --buildkit-tls-* flags.
var tlsQuery = []string{"tlsca", "tlscert", "tlskey", "tlsservername"}

// targets are the daemons to dial, each with its TLS options.
func (f *buildkitFlags) targets() ([]buildpool.Target, error) {
	var out []buildpool.Target
	for _, a := range f.addresses() {
		addr, tls, err := f.daemonTLS(a)
		if err != nil {
			return nil, err
		}
		t := buildpool.Target{Addr: addr}
		if tls != nil {
			t.Options = []build.Option{build.WithTLS(*tls)}
		}
		out = append(out, t)
	}
	return out, nil
}

// daemonTLS splits a --buildkit address into the address BuildKit dials
// and its TLS settings: those of its query (a tcp:// daemon's own files),
// else the --buildkit-tls-* flags for any tcp:// daemon, else none.
func (f *buildkitFlags) daemonTLS(addr string) (string, *build.TLS, error) {
	u, err := url.Parse(addr)
	if err != nil {
		return "", nil, usageErr("--buildkit %q: %v", addr, err)
	}
	if u.Scheme != "tcp" {
		// unix:// has no TLS; kube-pod:// and docker-container:// have
		// their own parameters (namespace=, context=, container=).
		return addr, nil, nil
	}
	if u.RawQuery != "" {
		q := u.Query()
		for k := range q {
			if !slices.Contains(tlsQuery, k) {
				return "", nil, usageErr("--buildkit %q: unknown parameter %q (want %s)", addr, k, strings.Join(tlsQuery, ", "))
			}
		}
		u.RawQuery = ""
		return u.String(), &build.TLS{CACert: q.Get("tlsca"), Cert: q.Get("tlscert"), Key: q.Get("tlskey"), ServerName: q.Get("tlsservername")}, nil
	}
	global := build.TLS{CACert: f.ca, Cert: f.cert, Key: f.key, ServerName: f.serverName}
	if global == (build.TLS{}) {
		return addr, nil, nil
	}
	return addr, &global, nil
}

// pool connects to the daemons, at most jobs builds at a time on each;
// warnings about unreachable and lost daemons go to log.
func (f *buildkitFlags) pool(ctx context.Context, jobs int, log *slog.Logger) (*buildpool.Pool, error) {
	targets, err := f.targets()
	if err != nil {
		return nil, err
	}
	return buildpool.Dial(ctx, targets, buildpool.WithJobs(jobs), buildpool.WithLogger(log))
}

// poolNeeds are the platforms each image p builds needs of one daemon.
func poolNeeds(lib *spec.Library, p *plan.Plan) ([]buildpool.Need, error) {
	var out []buildpool.Need
	for _, st := range p.Images {
		if st.Action != plan.Build {
			continue
		}
		im := lib.Image(st.Name)
		if im == nil {
			continue // publish reports the spec mismatch
		}
		ps, err := build.Platforms(im)
		if err != nil {
			return nil, err
		}
		n := buildpool.Need{Image: st.Name}
		for _, pf := range ps {
			n.Platforms = append(n.Platforms, platforms.Format(pf))
		}
		slices.Sort(n.Platforms)
		out = append(out, n)
	}
	return out, nil
}
