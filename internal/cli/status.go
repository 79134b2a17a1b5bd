package cli

import (
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/imgctl/imgctl/pkg/inventory"
	"github.com/imgctl/imgctl/pkg/readmodel"
	"github.com/imgctl/imgctl/pkg/retention"
	"github.com/imgctl/imgctl/pkg/spec"
	"github.com/imgctl/imgctl/pkg/status"
	"github.com/imgctl/imgctl/pkg/verify"
	"github.com/imgctl/imgctl/pkg/vulns"
)

func newStatusCmd(s streams) *cobra.Command {
	var (
		f        registryFlags
		asJSON   bool
		packages bool
		version  string
		feedDir  string
	)
	cmd := &cobra.Command{
		Use:   "status [DIR] [NAME...] [--packages [--version V]]",
		Short: "Show every image's versions, latest, deprecations and end-of-life dates from the registry",
		Long: `status reads the registry (not local state) and shows, for every image of the
library in DIR (default images/) or only the NAMEs given: its dated versions with
digest and date, which one is latest, which are deprecated with their end-of-life
date and successor, a retired image's replacement, the parent version each
version was built on, each version's compressed size per platform, and whether
it is signed and carries an SBOM and provenance for its platforms (imgctl verify
checks the signature with a key). With policy.retention, the versions the next
imgctl prune would delete say so, and why (without --in-use files: prune may
keep more).

With --packages, status lists instead the packages of the latest version (or
--version V) of each NAME, grouped by ecosystem (deb, python, R, other), as its
SBOM attestations record them; with --json the report carries them as the
version's "packages".`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := f.validate(); err != nil {
				return err
			}
			lib, _, args, err := libraryArgs(s, args)
			if err != nil {
				return err
			}
			switch {
			case version != "" && !packages:
				return usageErr("--version selects the version of --packages")
			case version != "" && !spec.ValidVersion(version):
				return usageErr("--version %q is not a dated version (YYYY.MM.DD or YYYY.MM.DD.N)", version)
			case packages && len(args) == 0:
				return usageErr("--packages lists one version's packages: name the images (status NAME --packages)")
			}
			c := f.readClient(s)
			opts := status.Options{
				Registry: f.registry, Names: args, Jobs: f.jobs,
				Trust:     &verify.Checker{Registry: c},
				Inventory: inventory.Reader{Remote: c.ReadOptions},
				Packages:  packages, PackagesOf: version,
			}
			if feedDir != "" || lib.Policy.VulnDB != "" {
				feed, _, err := loadFeed(cmd.Context(), lib, c, feedDir)
				if err != nil {
					return err
				}
				opts.Vulns = &vulns.Counter{Feed: feed, Reader: inventory.Reader{Remote: c.ReadOptions},
					Ignore: lib.Policy.Vulnerabilities.Ignore, Day: time.Now().UTC().Format("2006-01-02")}
			}
			r, err := status.Collect(cmd.Context(), lib, readmodel.Remote{C: c}, opts)
			if err != nil {
				return err
			}
			// What the next prune deletes, judged on the whole library
			// (a version may be the base of one not asked for).
			if lib.Policy.Retention != nil && len(args) == 0 && !packages {
				obs, err := retention.ObserveTargets(cmd.Context(), lib, readmodel.Remote{C: c}, r, f.jobs)
				if err != nil {
					return err
				}
				r.SetPrune(retention.Compute(retention.Input{Library: lib, Observation: obs, Day: time.Now().UTC()}).Deletions())
			}
			switch {
			case asJSON:
				return r.WriteJSON(s.out)
			case packages:
				return r.WritePackages(s.out)
			}
			return r.WriteText(s.out)
		},
	}
	f.add(cmd)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the report as JSON")
	cmd.Flags().BoolVar(&packages, "packages", false, "list the packages of each NAME's latest version (from its SBOM), grouped by ecosystem")
	cmd.Flags().StringVar(&version, "version", "", "with --packages: the dated version to list instead of latest")
	cmd.Flags().StringVar(&feedDir, "vulndb", "", "count each version's known vulnerabilities with the feed in DIR/<Ecosystem>/all.zip (default policy.vulnDB, when set)")
	return cmd
}

// libraryArgs reads the arguments [DIR] [NAME...] of the commands that
// read a library's images from the registry: DIR when the first argument
// is a directory (default images/), and the NAMEs that follow, each of
// which must be an image of the library (a usage error otherwise).
func libraryArgs(s streams, args []string) (*spec.Library, string, []string, error) {
	dir := "images"
	if len(args) > 0 && isDir(args[0]) {
		dir, args = args[0], args[1:]
	}
	lib, err := loadLibrary(s, dir)
	if err != nil {
		return nil, dir, nil, err
	}
	for _, n := range args {
		if lib.Image(n) == nil {
			return nil, dir, nil, usageErr("no image %q in %s", n, displayDir(dir))
		}
	}
	return lib, dir, args, nil
}

func isDir(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.IsDir()
}
