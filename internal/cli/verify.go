package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/spf13/cobra"
	"golang.org/x/sync/errgroup"

	"github.com/imgctl/imgctl/pkg/published"
	"github.com/imgctl/imgctl/pkg/readmodel"

	"github.com/imgctl/imgctl/pkg/regclient"
	"github.com/imgctl/imgctl/pkg/signing"
	"github.com/imgctl/imgctl/pkg/verify"
)

// verifyFormatVersion versions verify's JSON report.
const verifyFormatVersion = "1"

// verifyResult is one version's verdict.
type verifyResult struct {
	Image   string `json:"image"`
	Version string `json:"version"`
	Digest  string `json:"digest"`
	OK      bool   `json:"ok"`
	*verify.Report
}

type verifyReport struct {
	FormatVersion string         `json:"format_version"`
	Registry      string         `json:"registry"`
	OK            bool           `json:"ok"`
	Results       []verifyResult `json:"results"`
}

func newVerifyCmd(s streams) *cobra.Command {
	var (
		f      registryFlags
		key    string
		asJSON bool
		latest bool
	)
	cmd := &cobra.Command{
		Use:   "verify [DIR] [NAME[@VERSION]...] --key cosign.pub",
		Short: "Check from the registry that versions are signed and carry an SBOM and provenance",
		Long: `verify reads the registry and checks, for every published version of the images
of the library in DIR (default images/), or of the NAMEs given, or exactly the
NAME@VERSIONs given:
  - a cosign signature on the version's index digest is valid for --key
    (offline: no transparency log);
  - every platform has an SBOM and a SLSA provenance attestation, and they are
    about that platform's manifest;
  - each provenance names the spec commit the image's annotations record
    (org.opencontainers.image.revision).
Exit status 1 when any version fails; each failure names the image, the
version and what failed.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := f.validate(); err != nil {
				return err
			}
			if key == "" {
				return usageErr("--key: the cosign public key file (cosign.pub) is required")
			}
			dir := "images"
			if len(args) > 0 && isDir(args[0]) {
				dir, args = args[0], args[1:]
			}
			lib, err := loadLibrary(s, dir)
			if err != nil {
				return err
			}
			type target struct{ image, version string }
			var targets []target
			for _, a := range args {
				n, v, _ := strings.Cut(a, "@")
				if v != "" && latest {
					return usageErr("%s: --latest checks the latest version; name no version", a)
				}
				if lib.Image(n) == nil {
					return usageErr("no image %q in %s", n, displayDir(dir))
				}
				targets = append(targets, target{n, v})
			}
			if len(targets) == 0 {
				for _, n := range lib.Graph().Order() {
					targets = append(targets, target{image: n})
				}
			}
			v, err := signing.LoadVerifier(key)
			if err != nil {
				return usageErr("--key: %v", err)
			}
			registry := lib.Registry
			if f.registry != "" {
				registry = f.registry
			}
			ctx := cmd.Context()
			c := f.readClient(s)
			remote := readmodel.Remote{C: c}
			// The versions to check, in the order asked for.
			type job struct {
				image, version, ref string
				// listed: found among the repository's tags, not asked
				// for; a foreign one is passed over, not failed.
				listed bool
			}
			var jobs []job
			for _, t := range targets {
				repo := registry + "/" + t.image
				if t.version != "" {
					jobs = append(jobs, job{image: t.image, version: t.version, ref: repo + ":" + t.version})
					continue
				}
				tags, err := c.ListTags(ctx, repo)
				if err != nil {
					return fmt.Errorf("image %s: %w", t.image, err)
				}
				vs := published.VersionTags(tags)
				if len(vs) == 0 {
					return fmt.Errorf("image %s: no published version in %s", t.image, repo)
				}
				if latest {
					ver, err := latestVersion(ctx, c, repo, vs)
					if err != nil {
						return fmt.Errorf("image %s: %w", t.image, err)
					}
					jobs = append(jobs, job{image: t.image, version: ver, ref: repo + ":" + ver})
					continue
				}
				for _, ver := range slices.Backward(vs) {
					jobs = append(jobs, job{t.image, ver, repo + ":" + ver, true})
				}
			}
			checker := &verify.Checker{Registry: c, Key: v, Deep: true}
			results := make([]verifyResult, len(jobs))
			g, gctx := errgroup.WithContext(ctx)
			g.SetLimit(f.jobs)
			for i, j := range jobs {
				g.Go(func() error {
					m, err := remote.Manifest(gctx, j.ref)
					if j.listed && (errors.Is(err, regclient.ErrNotFound) || err == nil && !m.Written()) {
						return nil // a tag imgctl did not write (status lists it): not a version to verify
					}
					if errors.Is(err, regclient.ErrNotFound) {
						return fmt.Errorf("%s has no version %s in %s", j.image, j.version, registry)
					}
					if err != nil {
						return fmt.Errorf("%s@%s: %w", j.image, j.version, err)
					}
					ref, err := c.Reference(j.ref)
					if err != nil {
						return err
					}
					d, err := name.NewDigest(ref.Context().Name()+"@"+m.Digest, name.Insecure)
					if err != nil {
						return err
					}
					rep, err := checker.Check(gctx, d, m.Annotations[published.AnnotationRevision])
					if err != nil {
						return fmt.Errorf("%s@%s: %w", j.image, j.version, err)
					}
					results[i] = verifyResult{Image: j.image, Version: j.version, Digest: m.Digest, OK: rep.OK(), Report: rep}
					return nil
				})
			}
			if err := g.Wait(); err != nil {
				return err
			}
			results = slices.DeleteFunc(results, func(r verifyResult) bool { return r.Report == nil })
			if len(results) == 0 {
				return fmt.Errorf("no version imgctl published to verify in %s", registry)
			}
			r := verifyReport{FormatVersion: verifyFormatVersion, Registry: registry, OK: true, Results: results}
			for _, res := range results {
				r.OK = r.OK && res.OK
			}
			if asJSON {
				if err := writeVerifyJSON(s.out, r); err != nil {
					return err
				}
			} else {
				writeVerifyText(s.out, r)
			}
			if !r.OK {
				failed := 0
				for _, res := range results {
					if !res.OK {
						failed++
						if asJSON { // the text already lists them
							for _, msg := range res.Failures {
								fmt.Fprintf(s.errOut, "%s@%s: %s\n", res.Image, res.Version, msg)
							}
						}
					}
				}
				return &exitError{code: ExitError, err: fmt.Errorf("%d of %d versions failed verification", failed, len(results))}
			}
			return nil
		},
	}
	f.add(cmd)
	cmd.Flags().StringVar(&key, "key", "", "cosign public key file (PEM) the signatures must verify with")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the report as JSON")
	cmd.Flags().BoolVar(&latest, "latest", false, "check only the version each image's latest tag points at (what users pull), not every version")
	return cmd
}

// latestVersion is the dated version of repo that its latest tag points at.
func latestVersion(ctx context.Context, c *regclient.Client, repo string, versions []string) (string, error) {
	d, err := c.Head(ctx, repo+":latest")
	if err != nil {
		return "", fmt.Errorf("reading %s:latest: %w", repo, err)
	}
	for _, v := range slices.Backward(versions) { // usually the newest
		dv, err := c.Head(ctx, repo+":"+v)
		if err != nil {
			return "", err
		}
		if dv.Digest == d.Digest {
			return v, nil
		}
	}
	return "", fmt.Errorf("%s:latest (%s) is no dated version", repo, d.Digest)
}

// writeVerifyJSON renders the report as indented JSON.
func writeVerifyJSON(w io.Writer, r verifyReport) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// writeVerifyText renders the report: one row per version, then each
// failure as IMAGE@VERSION: what failed.
func writeVerifyText(w io.Writer, r verifyReport) {
	rows := [][]string{{"IMAGE", "VERSION", "DIGEST", "SIGNATURE", "SBOM", "PROVENANCE", "RESULT"}}
	for _, res := range r.Results {
		result := "ok"
		if !res.OK {
			result = "FAIL"
		}
		rows = append(rows, []string{res.Image, res.Version, published.ShortDigest(res.Digest), res.Signature,
			orDash(strings.Join(res.SBOMPlatforms(), ",")), orDash(strings.Join(res.ProvenancePlatforms(), ",")), result})
	}
	widths := make([]int, len(rows[0]))
	for _, row := range rows {
		for i, c := range row {
			widths[i] = max(widths[i], len(c))
		}
	}
	for _, row := range rows {
		var b strings.Builder
		for i, c := range row {
			if i == len(row)-1 {
				b.WriteString(c)
			} else {
				fmt.Fprintf(&b, "%-*s  ", widths[i], c)
			}
		}
		fmt.Fprintln(w, b.String())
	}
	failed := 0
	for _, res := range r.Results {
		if !res.OK {
			failed++
		}
		for _, msg := range res.Failures {
			fmt.Fprintf(w, "%s@%s: %s\n", res.Image, res.Version, msg)
		}
	}
	if failed == 0 {
		fmt.Fprintf(w, "%d versions verified: signed, with an SBOM and provenance for every platform.\n", len(r.Results))
	} else {
		fmt.Fprintf(w, "%d of %d versions failed verification.\n", failed, len(r.Results))
	}
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
