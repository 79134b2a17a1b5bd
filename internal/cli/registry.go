package cli

import (
	"log/slog"

	"github.com/spf13/cobra"

	"github.com/imgctl/imgctl/pkg/regclient"
)

// registryFlags are the flags of every command that talks to a registry.
type registryFlags struct {
	registry string
	insecure []string
	jobs     int
	retries  int
}

func (f *registryFlags) add(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.registry, "registry", "", "publish to HOST[:PORT]/PREFIX instead of the spec's registry")
	cmd.Flags().StringArrayVar(&f.insecure, "insecure-registry", nil, "allow plain HTTP to HOST[:PORT] (loopback registries always are); repeatable")
	cmd.Flags().IntVar(&f.jobs, "jobs", 8, "registry requests in flight (per registry, nested reads included) and concurrent builds")
	cmd.Flags().IntVar(&f.retries, "retries", regclient.DefaultRetries, "retry each registry request (and a build whose pull or push failed) this often on 429, 5xx, connection resets and timeouts, with backoff; 0 disables")
}

func (f *registryFlags) validate() error {
	if f.jobs < 1 {
		return usageErr("--jobs must be at least 1")
	}
	if f.retries < 0 {
		return usageErr("--retries must not be negative")
	}
	return nil
}

// client is the registry client of the flags; retries are logged to s.errOut.
func (f *registryFlags) client(s streams, opts ...regclient.Option) *regclient.Client {
	return regclient.New(append([]regclient.Option{
		regclient.WithInsecure(f.insecure...),
		regclient.WithRetries(f.retries),
		regclient.WithLogger(retryLog(s)),
		// One bound for every request the command makes, however deep.
		regclient.WithMaxInFlight(f.jobs),
	}, opts...)...)
}

// retryLog is where retries are reported: info level on stderr.
func retryLog(s streams) *slog.Logger {
	return slog.New(slog.NewTextHandler(s.errOut, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

// readClient is the client of a command that writes nothing to the
// registry: manifests read by digest are answered from what it already
// read (regclient.WithManifestCache).
func (f *registryFlags) readClient(s streams) *regclient.Client {
	return f.client(s, regclient.WithManifestCache())
}
