package cli

import (
	"github.com/spf13/cobra"

	"github.com/imgctl/imgctl/pkg/regclient"
)

// registryFlags are the flags of every command that talks to a registry.
type registryFlags struct {
	registry string
	insecure []string
	jobs     int
}

func (f *registryFlags) add(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.registry, "registry", "", "publish to HOST[:PORT]/PREFIX instead of the spec's registry")
	cmd.Flags().StringArrayVar(&f.insecure, "insecure-registry", nil, "allow plain HTTP to HOST[:PORT] (loopback registries always are); repeatable")
	cmd.Flags().IntVar(&f.jobs, "jobs", 8, "concurrent registry reads and builds")
}

func (f *registryFlags) validate() error {
	if f.jobs < 1 {
		return usageErr("--jobs must be at least 1")
	}
	return nil
}

func (f *registryFlags) client(opts ...regclient.Option) *regclient.Client {
	return regclient.New(append([]regclient.Option{regclient.WithInsecure(f.insecure...)}, opts...)...)
}
