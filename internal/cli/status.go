package cli

import (
	"os"

	"github.com/spf13/cobra"

	"github.com/imgctl/imgctl/pkg/plan"
	"github.com/imgctl/imgctl/pkg/status"
	"github.com/imgctl/imgctl/pkg/verify"
)

func newStatusCmd(s streams) *cobra.Command {
	var (
		f      registryFlags
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "status [DIR] [NAME...]",
		Short: "Show every image's versions, latest, deprecations and end-of-life dates from the registry",
		Long: `status reads the registry (not local state) and shows, for every image of the
library in DIR (default images/) or only the NAMEs given: its dated versions with
digest and date, which one is latest, which are deprecated with their end-of-life
date and successor, a retired image's replacement, the parent version each
version was built on, and whether it is signed and carries an SBOM and
provenance for its platforms (imgctl verify checks the signature with a key).`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := f.validate(); err != nil {
				return err
			}
			dir := "images"
			if len(args) > 0 && isDir(args[0]) {
				dir, args = args[0], args[1:]
			}
			lib, err := loadLibrary(s, dir)
			if err != nil {
				return err
			}
			for _, n := range args {
				if lib.Image(n) == nil {
					return usageErr("no image %q in %s", n, displayDir(dir))
				}
			}
			c := f.client(s)
			r, err := status.Collect(cmd.Context(), lib, plan.Remote{C: c}, status.Options{Registry: f.registry, Names: args, Jobs: f.jobs, Trust: &verify.Checker{Registry: c}})
			if err != nil {
				return err
			}
			if asJSON {
				return r.WriteJSON(s.out)
			}
			return r.WriteText(s.out)
		},
	}
	f.add(cmd)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the report as JSON")
	return cmd
}

func isDir(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.IsDir()
}
