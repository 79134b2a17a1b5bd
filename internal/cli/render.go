package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/imgctl/imgctl/pkg/build"
)

func newRenderCmd(s streams) *cobra.Command {
	var registry string
	cmd := &cobra.Command{
		Use:   "render [DIR] NAME",
		Short: "Print a Dockerfile equivalent to an image's spec, for debugging",
		Long: `render prints a Dockerfile that builds what imgctl would build for image NAME
of the library in DIR (default images/). imgctl itself never uses it: it builds
from LLB, FROM the parent's digest. The parent appears as its latest tag, or its
pinned version.`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) < 1 || len(args) > 2 {
				return usageErr("render takes [DIR] NAME")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			dir, name := "images", args[0]
			if len(args) == 2 {
				dir, name = args[0], args[1]
			}
			lib, err := loadLibrary(s, dir)
			if err != nil {
				return err
			}
			im := lib.Image(name)
			if im == nil {
				return usageErr("no image %q in %s", name, displayDir(dir))
			}
			reg := lib.Registry
			if registry != "" {
				reg = registry
			}
			base := ""
			switch {
			case !im.IsExternal() && im.ParentVersion != "":
				base = fmt.Sprintf("%s/%s:%s", reg, im.Parent, im.ParentVersion)
			case !im.IsExternal():
				base = fmt.Sprintf("%s/%s:latest", reg, im.Parent)
			case im.From != "scratch":
				base = im.From
			}
			_, err = fmt.Fprint(s.out, build.Dockerfile(build.Request{Image: im, SpecDir: lib.Dir, Base: base, Repository: reg + "/" + im.Name}))
			return err
		},
	}
	cmd.Flags().StringVar(&registry, "registry", "", "render parents in HOST[:PORT]/PREFIX instead of the spec's registry")
	return cmd
}
