package cli

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/spf13/cobra"

	"github.com/imgctl/imgctl/pkg/published"

	"github.com/imgctl/imgctl/pkg/changelog"
	"github.com/imgctl/imgctl/pkg/inventory"
	"github.com/imgctl/imgctl/pkg/lock"
	"github.com/imgctl/imgctl/pkg/readmodel"
	"github.com/imgctl/imgctl/pkg/regclient"
	"github.com/imgctl/imgctl/pkg/spec"
)

func newDiffCmd(s streams) *cobra.Command {
	var (
		f      registryFlags
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "diff [DIR] NAME [FROM [TO]]",
		Short: "Show what changed between two versions of an image: packages, config, base, size",
		Long: `diff reads two published versions of image NAME from the registry (their SBOM
attestations, configs and manifests; no local state) and shows what changed:
packages added (+), removed (−), upgraded (↑) and downgraded (↓), grouped by
ecosystem (deb, python, R, other) with old → new versions; changes of the image
config (env, entrypoint, cmd, user, workdir, ports, labels); the base it was
built on; and the compressed size per platform.

FROM and TO are dated versions (2026.11.24, 2026.11.24.1). Without them diff
compares the version before latest with latest; with FROM only, FROM with
latest. Packages are unknown when a version has no SBOM (published with
policy.sbom false, or before imgctl made SBOMs); the rest is still shown.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := f.validate(); err != nil {
				return err
			}
			dir := "images"
			if len(args) > 0 && isDir(args[0]) {
				dir, args = args[0], args[1:]
			}
			if len(args) < 1 || len(args) > 3 {
				return usageErr("diff takes an image NAME and at most two versions, FROM and TO")
			}
			lib, _, _, err := libraryArgs(s, append([]string{dir}, args[:1]...))
			if err != nil {
				return err
			}
			image := args[0]
			for _, v := range args[1:] {
				if !spec.ValidVersion(v) {
					return usageErr("%q is not a dated version (YYYY.MM.DD or YYYY.MM.DD.N)", v)
				}
			}
			registry := lib.Registry
			if f.registry != "" {
				registry = f.registry
			}
			ctx := cmd.Context()
			c := f.readClient(s)
			repo := registry + "/" + image
			from, to, err := diffVersions(ctx, c, repo, args[1:])
			if err != nil {
				return fmt.Errorf("image %s: %w", image, err)
			}
			rd := inventory.Reader{Remote: c.ReadOptions}
			var vs [2]*inventory.Version
			for i, v := range []string{from, to} {
				d, err := c.Head(ctx, repo+":"+v)
				if errors.Is(err, regclient.ErrNotFound) {
					return fmt.Errorf("image %s has no version %s in %s", image, v, registry)
				}
				if err != nil {
					return fmt.Errorf("image %s: %w", image, err)
				}
				ref, err := name.NewDigest(repo+"@"+d.Digest.String(), name.Insecure)
				if err != nil {
					return err
				}
				if vs[i], err = rd.Read(ctx, ref, inventory.Options{Config: true, Packages: true, Jobs: f.jobs}); err != nil {
					return fmt.Errorf("image %s %s: %w", image, v, err)
				}
			}
			d := changelog.Compute(image, vs[0], vs[1], from, to)
			if asJSON {
				return d.WriteJSON(s.out)
			}
			return d.WriteText(s.out)
		},
	}
	f.add(cmd)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the changes as JSON")
	return cmd
}

// diffVersions picks FROM and TO: the ones given, else latest for TO and
// the version imgctl published before TO for FROM. Tags imgctl did not
// write (a hand-pushed latest, a dated-looking tag on a foreign image, a
// tag whose manifest is gone) are never picked: a named one is compared
// as asked.
func diffVersions(ctx context.Context, c *regclient.Client, repo string, given []string) (from, to string, err error) {
	if len(given) == 2 {
		return given[0], given[1], nil
	}
	tags, err := c.ListTags(ctx, repo)
	if err != nil {
		return "", "", err
	}
	vs := published.VersionTags(tags) // oldest first
	if len(vs) == 0 {
		return "", "", fmt.Errorf("no published version in %s", repo)
	}
	remote := readmodel.Remote{C: c}
	written := func(v string) (bool, error) {
		m, err := remote.Manifest(ctx, repo+":"+v)
		if errors.Is(err, regclient.ErrNotFound) {
			return false, nil // a dangling tag
		}
		return m.Written(), err
	}
	if m, err := remote.Manifest(ctx, repo+":latest"); err == nil && !m.Written() {
		return "", "", fmt.Errorf("latest points at an image imgctl did not publish (%s): name FROM and TO", published.ShortDigest(m.Digest))
	}
	if to, err = latestVersion(ctx, c, repo, vs); err != nil {
		return "", "", err
	}
	if len(given) == 1 {
		return given[0], to, nil
	}
	for i := slices.Index(vs, to) - 1; i >= 0; i-- {
		switch ok, err := written(vs[i]); {
		case err != nil:
			return "", "", err
		case ok:
			return vs[i], to, nil
		}
	}
	return "", "", fmt.Errorf("latest is %s, the first version: nothing to compare it with (name FROM and TO)", to)
}

// registryChangelog counts, for the publish summary, the package changes
// between two versions from their SBOMs in the registry; "" when either
// has none.
type registryChangelog struct{ r inventory.Reader }

func (c registryChangelog) Counts(ctx context.Context, repo, from, to string) (string, error) {
	var vs [2]*inventory.Version
	for i, d := range []string{from, to} {
		ref, err := name.NewDigest(repo+"@"+d, name.Insecure)
		if err != nil {
			return "", err
		}
		if vs[i], err = c.r.Read(ctx, ref, inventory.Options{Packages: true}); err != nil {
			return "", err
		}
		if !vs[i].HasPackages() {
			return "", nil
		}
	}
	return changelog.ComparePackages(vs[0].Packages(), vs[1].Packages()).Counts.String(), nil
}

// CheckLock reads the SBOMs of repo@digest and compares them with l; what
// the version holds beyond l and its base's SBOMs is unlocked.
func (c registryChangelog) CheckLock(ctx context.Context, repo, digest string, l *lock.Lock) ([]lock.Unlocked, error) {
	ref, err := name.NewDigest(repo+"@"+digest, name.Insecure)
	if err != nil {
		return nil, err
	}
	v, err := c.r.Read(ctx, ref, inventory.Options{Packages: true})
	if err != nil {
		return nil, err
	}
	if bad := inventory.CheckLock(v, l); len(bad) > 0 {
		return nil, fmt.Errorf("the version does not install its lock:\n  %s", strings.Join(bad, "\n  "))
	}
	unlocked, _, err := inventory.ReadUnlocked(ctx, c.r, v, l)
	return unlocked, err
}

// Same says whether refreshed holds the same packages as newest, on every
// platform, from their SBOMs; without SBOMs it cannot tell and says so (a
// new version is then published).
func (c registryChangelog) Same(ctx context.Context, repo, newest, refreshed string) (bool, string, error) {
	var vs [2]*inventory.Version
	for i, d := range []string{newest, refreshed} {
		ref, err := name.NewDigest(repo+"@"+d, name.Insecure)
		if err != nil {
			return false, "", err
		}
		if vs[i], err = c.r.Read(ctx, ref, inventory.Options{Packages: true}); err != nil {
			return false, "", err
		}
	}
	switch {
	case !vs[0].HasPackages():
		return false, "the newest version has no SBOM to compare with", nil
	case !vs[1].HasPackages():
		return false, "the refresh has no SBOM (policy.sbom is false?)", nil
	}
	for _, p := range vs[1].Platforms {
		old := vs[0].Platform(p.Platform)
		if old == nil {
			return false, "new platform " + p.Platform, nil
		}
		if c := changelog.ComparePackages(old.Packages, p.Packages).Counts; !c.Zero() {
			return false, p.Platform + ": " + c.String(), nil
		}
	}
	return true, "", nil
}
