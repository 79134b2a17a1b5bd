package cli

import (
	"github.com/spf13/cobra"

	"github.com/imgctl/imgctl/pkg/capacity"
)

func newSizesCmd(s streams) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "sizes [DIR] [--json]",
		Short: "Show how the size presets pack on the node pools: sessions per node and what is left idle",
		Long: `sizes reads the library in DIR (default images/) and prints, for every size
preset (sizes:) and node pool (policy.nodePools), how many sessions of the
preset fit one node and the share of the node's CPU, memory and GPUs they leave
idle, with the images that offer the preset (* where it is the default). It
reads no registry.`,
		Args: maxArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			lib, err := loadLibrary(s, dirArg(args))
			if err != nil {
				return err
			}
			r := capacity.Of(lib)
			if asJSON {
				return r.WriteJSON(s.out)
			}
			return r.WriteText(s.out)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the report as JSON")
	return cmd
}
