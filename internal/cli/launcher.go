package cli

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/imgctl/imgctl/pkg/launcher"
	"github.com/imgctl/imgctl/pkg/readmodel"
	"github.com/imgctl/imgctl/pkg/spec"
	"github.com/imgctl/imgctl/pkg/status"
)

func newLauncherCmd(s streams) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "launcher",
		Short: "Write the session launchers' image lists (JupyterHub, Kubeflow, JSON) from what is published",
		Long: `launcher reads the registry once and writes what data scientists start sessions
from, in step with what was published: every published image that is not
retired, pinned by digest, its latest version first and then every deprecated
version still before its end of life, with the size presets it offers (the
default first). Regenerate after each publish (see docs/launchers.md).`,
	}
	for _, kind := range []struct{ use, short string }{
		{"jupyterhub", "Helm values for zero-to-jupyterhub: singleuser.profileList in KubeSpawner's format"},
		{"kubeflow", "a Kubeflow Notebooks spawner_ui_config.yaml"},
		{"json", "the launcher data as JSON (format_version \"1\", docs/launchers.md)"},
	} {
		var (
			f    registryFlags
			out  string
			date string
		)
		sub := &cobra.Command{
			Use:   kind.use + " [DIR] [--out FILE]",
			Short: kind.short,
			Args:  maxArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				if err := f.validate(); err != nil {
					return err
				}
				day := time.Now().UTC().Format("2006-01-02")
				if date != "" {
					d, err := time.Parse("2006-01-02", date)
					if err != nil {
						return usageErr("--date %q is not YYYY-MM-DD", date)
					}
					day = d.Format("2006-01-02")
				}
				lib, err := loadLibrary(s, dirArg(args))
				if err != nil {
					return err
				}
				c := f.readClient(s)
				rep, err := status.Collect(cmd.Context(), lib, readmodel.Remote{C: c}, status.Options{Registry: f.registry, Jobs: f.jobs})
				if err != nil {
					return err
				}
				ls := launcher.Of(lib, rep, day)
				if len(ls.Images) == 0 {
					// An empty list is valid output (nothing to offer yet),
					// but usually a library that names no server.
					servers := 0
					for _, im := range lib.Images {
						if lib.ServerOf(im) != spec.ServerNone {
							servers++
						}
					}
					if servers == 0 {
						fmt.Fprintln(s.errOut, "imgctl: warning: no image starts a session server, so none is offered: set server: \"jupyter\" (or vscode, rstudio) on the images sessions start from (docs/launchers.md)")
					} else {
						fmt.Fprintf(s.errOut, "imgctl: warning: none of the %d images that start a session server has a current published version to offer\n", servers)
					}
				}
				write := func(w io.Writer) error {
					switch kind.use {
					case "jupyterhub":
						return ls.WriteJupyterHub(w)
					case "kubeflow":
						return ls.WriteKubeflow(w)
					}
					return ls.WriteJSON(w)
				}
				if out == "" || out == "-" {
					return write(s.out)
				}
				return writeFileAtomic(out, write)
			},
		}
		f.add(sub)
		sub.Flags().StringVar(&out, "out", "", "write to FILE (replaced atomically) instead of stdout")
		sub.Flags().StringVar(&date, "date", "", "judge end-of-life dates on this day (YYYY-MM-DD; default today)")
		cmd.AddCommand(sub)
	}
	return cmd
}

// writeFileAtomic writes path through a temporary file in its directory,
// renamed over it: a reader never sees half a file.
func writeFileAtomic(path string, write func(io.Writer) error) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := write(tmp); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}
