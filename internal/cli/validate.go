package cli

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"
)

func newValidateCmd(s streams) *cobra.Command {
	return &cobra.Command{
		Use:   "validate [DIR]",
		Short: "Check the specs in DIR (default images/) and report every problem",
		Long: `validate loads the CUE package in DIR, checks it against the imgctl schema and
runs the graph and file checks. Every problem is printed as file:line:col: message;
the exit status is 1 when there is any, 2 for usage errors.`,
		Args: maxArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := dirArg(args)
			lib, err := loadBuildable(s, dir)
			if err != nil {
				return err
			}
			roots := 0
			for _, im := range lib.Images {
				if im.IsExternal() {
					roots++
				}
			}
			fmt.Fprintf(s.out, "ok: %d images (%d on external bases) in %s, registry %s\n",
				len(lib.Images), roots, displayDir(dir), lib.Registry)
			for _, w := range lib.Policy.Vulnerabilities.IgnoreWarnings(time.Now()) {
				fmt.Fprintf(s.errOut, "warning: %s: %s\n", relPath(w.Pos.String()), w.Msg)
			}
			return nil
		},
	}
}
