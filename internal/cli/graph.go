package cli

import (
	"strings"

	"github.com/spf13/cobra"

	"github.com/imgctl/imgctl/pkg/graph"
	"github.com/imgctl/imgctl/pkg/spec"
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
			return libraryGraph(lib).Render(s.out, format, func(n string) string {
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

// libraryGraph is the dependency graph of a loaded library.
func libraryGraph(lib *spec.Library) *graph.Graph {
	parents := make(map[string]string, len(lib.Images))
	for _, im := range lib.Images {
		if im.IsExternal() {
			parents[im.Name] = im.From
		} else {
			parents[im.Name] = im.Parent
		}
	}
	return graph.New(parents)
}
