package cli

import (
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/imgctl/imgctl/pkg/catalog"
	"github.com/imgctl/imgctl/pkg/readmodel"
	"github.com/imgctl/imgctl/pkg/signing"
	"github.com/imgctl/imgctl/pkg/verify"
)

// catalogClock is when a catalog says it was generated; tests replace it.
var catalogClock = time.Now

func newCatalogCmd(s streams) *cobra.Command {
	var (
		f        registryFlags
		out      string
		jsonOnly bool
		key      string
		feedDir  string
		specURL  string
	)
	cmd := &cobra.Command{
		Use:   "catalog [DIR] --out SITE_DIR",
		Short: "Write a static web catalog of the images (and catalog.json) from the registry",
		Long: `catalog reads the registry (the single source of truth) for every image of the
library in DIR (default images/) and writes a self-contained static site to
SITE_DIR: a home page listing every image by family and by team with its latest
version, platforms, size, deprecation or retirement and pull commands, a search
box, the dependency graph; one page per image with its versions, their status,
the parent version each was built on, signature, SBOM and provenance, package
lists and what changed between consecutive versions. catalog.json holds the
same data (docs/catalog.md). Links are relative: open index.html from disk or
serve the directory under any path.

SITE_DIR is replaced as a whole, atomically; it must be missing, empty, or a
catalog written before (every file listed in its .imgctl-catalog), else
catalog refuses and deletes nothing. --json writes catalog.json alone (to
stdout with --out -). --key checks signatures with a cosign public key.
--spec-url links each image to its spec in the repository's web view.`,
		Args: maxArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := f.validate(); err != nil {
				return err
			}
			if out == "" {
				return usageErr("--out SITE_DIR is required")
			}
			if out == "-" && !jsonOnly {
				return usageErr("--out - (stdout) needs --json")
			}
			if specURL != "" {
				if u, err := url.Parse(specURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
					return usageErr("--spec-url: want an http(s) URL template with {file}, {line}, {column}, got %q", specURL)
				}
			}
			dir := dirArg(args)
			lib, err := loadLibrary(s, dir)
			if err != nil {
				return err
			}
			c := f.readClient(s)
			trust := &verify.Checker{Registry: c}
			if key != "" {
				v, err := signing.LoadVerifier(key)
				if err != nil {
					return usageErr("--key: %v", err)
				}
				trust.Key = v
			}
			obs, err := catalog.Observe(cmd.Context(), lib, readmodel.Remote{C: c}, catalog.RegistryContents{C: c}, catalog.Options{Trust: trust, Registry: f.registry, Jobs: f.jobs})
			if err != nil {
				return err
			}
			if feedDir != "" || lib.Policy.VulnDB != "" {
				feed, source, err := loadFeed(cmd.Context(), lib, c, feedDir)
				if err != nil {
					return err
				}
				obs.Vulns = &catalog.VulnFeed{Feed: feed, Source: source, Ignore: lib.Policy.Vulnerabilities.Ignore,
					Day: catalogClock().UTC().Format("2006-01-02")}
			}
			cat := catalog.Compute(lib, obs, catalog.Meta{Generated: catalogClock(), SpecURL: specURL})
			if out == "-" {
				return cat.WriteJSON(s.out)
			}
			if err := catalog.WriteSite(out, cat, catalog.SiteOptions{JSONOnly: jsonOnly}); err != nil {
				if errors.Is(err, catalog.ErrNotCatalog) {
					return usageErr("--out %v", err)
				}
				return err
			}
			abs, err := filepath.Abs(out)
			if err != nil {
				abs = out
			}
			if jsonOnly {
				fmt.Fprintln(s.out, filepath.Join(abs, "catalog.json"))
				return nil
			}
			fmt.Fprintln(s.out, "file://"+filepath.ToSlash(filepath.Join(abs, "index.html")))
			return nil
		},
	}
	f.add(cmd)
	cmd.Flags().StringVar(&out, "out", "", "write the site to SITE_DIR (replaced atomically; - with --json: stdout)")
	cmd.Flags().BoolVar(&jsonOnly, "json", false, "write catalog.json only, no HTML")
	cmd.Flags().StringVar(&specURL, "spec-url", "", "link each image's spec position: URL template with {file} (relative to DIR), {line}, {column}, e.g. https://git.example/org/images/blob/main/images/{file}#L{line}")
	cmd.Flags().StringVar(&feedDir, "vulndb", "", "show each version's known vulnerabilities from the feed in DIR/<Ecosystem>/all.zip (default policy.vulnDB, when set)")
	cmd.Flags().StringVar(&key, "key", "", "cosign public key file (PEM) to check signatures with; without it a signature is only seen")
	return cmd
}
