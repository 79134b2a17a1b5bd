package cli

import (
	"strings"

	"github.com/spf13/cobra"

	"github.com/imgctl/imgctl/pkg/graph"
)

func newGraphCmd(s streams) *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "graph [DIR]",
		Short: "Print the image dependency tree, external bases as roots",
		Args:  maxArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if !validFormat(format) {
				return usageErr("--format %q: want one of %s", format, strings.Join(graph.Formats, ", "))
			}
			lib, err := loadLibrary(s, dirArg(args))
			if err != nil {
				return err
			}
			return lib.Graph().Render(s.out, format, func(n string) string {
				im := lib.Image(n)
				if im.ParentVersion != "" {
					return n + " (pinned to " + im.Parent + "@" + im.ParentVersion + ")"
				}
				if im.Deprecated != nil {
					return n + " (retired)"
				}
				return n
			})
		},
	}
	cmd.Flags().StringVar(&format, "format", "text", "output format: text, dot or mermaid")
	return cmd
}

func validFormat(f string) bool {
	for _, g := range graph.Formats {
		if f == g {
			return true
		}
	}
	return false
}
