package cli

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/imgctl/imgctl/pkg/inventory"
	"github.com/imgctl/imgctl/pkg/readmodel"
	"github.com/imgctl/imgctl/pkg/regclient"
	"github.com/imgctl/imgctl/pkg/spec"
	"github.com/imgctl/imgctl/pkg/status"
	"github.com/imgctl/imgctl/pkg/vulndb"
	"github.com/imgctl/imgctl/pkg/vulns"
)

func newVulnsCmd(s streams) *cobra.Command {
	var (
		f        registryFlags
		feedDir  string
		all      bool
		ids      []string
		severity string
		asJSON   bool
		vex      bool
		date     string
	)
	cmd := &cobra.Command{
		Use:   "vulns [DIR] [NAME[@VERSION]...] [--all-versions] [--id ID...] [--severity LEVEL] [--json] [--vex]",
		Short: "Report the known vulnerabilities of published versions, from their SBOMs and an offline feed",
		Long: `vulns reads the SBOM attestations of published versions from the registry (it
never builds or pulls layers) and matches their packages against an OSV feed
read offline: --vulndb DIR (DIR/<Ecosystem>/all.zip, as OSV serves them), else
the artifact policy.vulnDB names (written by imgctl vulndb push). Debian
packages are matched as Debian:N by their source package, Python distributions
as PyPI and R packages as CRAN; modules a Debian package installed count as
that Debian package.

By default it reports the latest version of every image of the library in DIR
(default images/) or of the NAMEs given; NAME@VERSION names a version,
--all-versions every dated version, and --id ID (repeatable; an OSV id or an
alias such as a CVE) every published version of every image that contains it.
Findings an entry of policy.vulnerabilities.ignore covers are reported as
ignored, never dropped; --vex writes them as OpenVEX instead of the report.

The exit status is 0 whatever the findings, unless --severity LEVEL (critical,
high, medium, low) is given: then 1 when a finding not ignored is at LEVEL or
above.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := f.validate(); err != nil {
				return err
			}
			if severity != "" && vulndb.Rank(severity) < 1 {
				return usageErr("--severity %q: want critical, high, medium or low", severity)
			}
			day := time.Now().UTC().Format("2006-01-02")
			if date != "" {
				d, err := time.Parse("2006-01-02", date)
				if err != nil {
					return usageErr("--date %q is not YYYY-MM-DD", date)
				}
				day = d.Format("2006-01-02")
			}
			lib, _, names, versions, err := vulnArgs(s, args)
			if err != nil {
				return err
			}
			c := f.readClient(s)
			feed, source, err := loadFeed(cmd.Context(), lib, c, feedDir)
			if err != nil {
				return err
			}
			st, err := status.Collect(cmd.Context(), lib, readmodel.Remote{C: c}, status.Options{Registry: f.registry, Names: names, Jobs: f.jobs})
			if err != nil {
				return err
			}
			targets, err := vulnTargets(st, names, versions, all || len(ids) > 0)
			if err != nil {
				return err
			}
			images, err := vulns.Scan(cmd.Context(), feed, inventory.Reader{Remote: c.ReadOptions}, targets, lib.Policy.Vulnerabilities.Ignore, day, f.jobs)
			if err != nil {
				return err
			}
			images = vulns.Filter(images, ids)
			r := &vulns.Report{FormatVersion: vulns.FormatVersion, Feed: vulns.FeedOf(feed, source), Day: day, Images: images}
			switch {
			case vex:
				err = r.WriteVEX(s.out, st.Registry, time.Now())
			case asJSON:
				err = r.WriteJSON(s.out)
			default:
				err = r.WriteText(s.out)
			}
			if err != nil {
				return err
			}
			if severity != "" {
				n := 0
				for _, im := range images {
					n += len(vulns.AtOrAbove(im, severity, false))
				}
				if n > 0 {
					what := "findings"
					if n == 1 {
						what = "finding"
					}
					return &exitError{code: ExitError, err: fmt.Errorf("%d %s at %s or above", n, what, strings.ToLower(severity))}
				}
			}
			return nil
		},
	}
	f.add(cmd)
	cmd.Flags().StringVar(&feedDir, "vulndb", "", "read the feed from DIR/<Ecosystem>/all.zip instead of policy.vulnDB")
	cmd.Flags().BoolVar(&all, "all-versions", false, "every dated version, not only latest")
	cmd.Flags().StringArrayVar(&ids, "id", nil, "only findings known by this id or alias (CVE-…, GHSA-…), in every published version; repeatable")
	cmd.Flags().StringVar(&severity, "severity", "", "exit 1 when a finding not ignored is at this severity or above (critical, high, medium, low)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the report as JSON (docs/vulnerabilities.md)")
	cmd.Flags().BoolVar(&vex, "vex", false, "write the ignored findings as an OpenVEX document instead")
	cmd.Flags().StringVar(&date, "date", "", "judge the accepted risks' expiry on this day (YYYY-MM-DD; default today)")
	return cmd
}

// vulnArgs reads [DIR] [NAME[@VERSION]...].
func vulnArgs(s streams, args []string) (*spec.Library, string, []string, map[string][]string, error) {
	var plain []string
	versions := map[string][]string{}
	for _, a := range args {
		n, v, ok := strings.Cut(a, "@")
		if ok && !spec.ValidVersion(v) {
			return nil, "", nil, nil, usageErr("%s: %q is not a dated version (YYYY.MM.DD or YYYY.MM.DD.N)", a, v)
		}
		if ok {
			versions[n] = append(versions[n], v)
		}
		plain = append(plain, n)
	}
	lib, dir, names, err := libraryArgs(s, plain)
	return lib, dir, names, versions, err
}

// loadFeed reads the feed from dir, else from policy.vulnDB.
func loadFeed(ctx context.Context, lib *spec.Library, c *regclient.Client, dir string) (*vulndb.Feed, string, error) {
	if dir != "" {
		f, err := vulndb.LoadDir(dir)
		return f, dir, err
	}
	if lib.Policy.VulnDB == "" {
		return nil, "", usageErr("no vulnerability feed: give --vulndb DIR, or set policy.vulnDB to the artifact imgctl vulndb push wrote (%s/%s:latest)", lib.Registry, vulndb.Repository)
	}
	ref, err := c.Reference(lib.Policy.VulnDB)
	if err != nil {
		return nil, "", err
	}
	opts, err := c.ReadOptions(ctx, ref.Context())
	if err != nil {
		return nil, "", err
	}
	f, err := vulndb.Pull(ctx, ref, opts...)
	return f, lib.Policy.VulnDB, err
}

// vulnTargets are the versions to scan: of each image asked for (every
// image when none is), the versions named, else every dated version with
// all, else latest.
func vulnTargets(st *status.Report, names []string, versions map[string][]string, all bool) ([]vulns.Target, error) {
	asked := map[string]bool{}
	for _, n := range names {
		asked[n] = true
	}
	var out []vulns.Target
	for _, im := range st.Images {
		if len(asked) > 0 && !asked[im.Name] {
			continue // a parent status read to link versions
		}
		want := versions[im.Name]
		found := map[string]bool{}
		for _, v := range im.Versions {
			switch {
			case len(want) > 0:
				if !slices.Contains(want, v.Version) {
					continue
				}
			case !all && !v.Latest:
				continue
			}
			found[v.Version] = true
			out = append(out, vulns.Target{Image: im.Name, Repository: im.Repository, Version: v.Version, Digest: v.Digest, Latest: v.Latest})
		}
		for _, v := range want {
			if !found[v] {
				return nil, fmt.Errorf("%s has no version %s", im.Name, v)
			}
		}
	}
	return out, nil
}
