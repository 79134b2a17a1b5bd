package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/sync/errgroup"

	"github.com/imgctl/imgctl/pkg/published"

	"github.com/imgctl/imgctl/pkg/build"
	"github.com/imgctl/imgctl/pkg/buildpool"
	"github.com/imgctl/imgctl/pkg/imagetest"
	"github.com/imgctl/imgctl/pkg/publish"
	"github.com/imgctl/imgctl/pkg/readmodel"
	"github.com/imgctl/imgctl/pkg/regclient"
	"github.com/imgctl/imgctl/pkg/spec"
)

// suiteTester runs a publish's spec tests with imagetest on a daemon of
// the pool (the one that built the image, when it is up), reading each
// platform's config through the registry client.
type suiteTester struct{ suites suiteFor }

// suiteFor gives the imagetest suite to test the image ref for platforms
// with.
type suiteFor func(ref string, platforms []string) (*imagetest.Suite, error)

// poolSuites runs suites on the daemons of pool.
func poolSuites(pool *buildpool.Pool, c *regclient.Client) suiteFor {
	return func(ref string, platforms []string) (*imagetest.Suite, error) {
		b, err := pool.Daemon(ref, platforms)
		if err != nil {
			return nil, err
		}
		bc, ok := b.(*build.Client)
		if !ok {
			return nil, fmt.Errorf("testing %s: the builder %T has no BuildKit client", ref, b)
		}
		return &imagetest.Suite{BuildKit: bc.BuildKit(), Configs: imagetest.RemoteConfig{Remote: c.ReadOptions}}, nil
	}
}

func newTester(pool *buildpool.Pool, c *regclient.Client) publish.Tester {
	if pool == nil {
		return nil // nothing is built, nothing is tested
	}
	return suiteTester{poolSuites(pool, c)}
}

func (t suiteTester) Test(ctx context.Context, ref string, platforms, commands []string) error {
	s, err := t.suites(ref, platforms)
	if err != nil {
		return err
	}
	_, err = s.Run(ctx, ref, platforms, commands)
	return err
}

// testFormatVersion versions imgctl test --json.
const testFormatVersion = "1"

type testReport struct {
	FormatVersion string       `json:"format_version"`
	Registry      string       `json:"registry"`
	OK            bool         `json:"ok"`
	Images        []testResult `json:"images"`
}

type testResult struct {
	Image    string              `json:"image"`
	Version  string              `json:"version,omitempty"`
	Digest   string              `json:"digest,omitempty"`
	OK       bool                `json:"ok"`
	Skipped  string              `json:"skipped,omitempty"`
	Outcomes []imagetest.Outcome `json:"outcomes"`
}

func newTestCmd(s streams) *cobra.Command {
	var (
		f       registryFlags
		bk      buildkitFlags
		asJSON  bool
		version string
	)
	cmd := &cobra.Command{
		Use:   "test [DIR] [NAME...]",
		Short: "Run the spec tests of published images (latest, or --version) and report per image",
		Long: `test runs each image's test commands (the spec's test field) inside its
published latest version, or --version V, on every platform of that version, as
the image's user, in its workdir, with its env, through BuildKit; nothing is
built, pushed or tagged. publish runs the same tests in every new version before
any tag moves to it; test checks what is already published, e.g. after the
tests changed (tests are not part of the content key: changing one rebuilds
nothing) or to see that a version still works.

It reports per image and per platform; the exit code is 1 when any test failed.
Images without tests, or without the version, are reported as skipped.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := f.validate(); err != nil {
				return err
			}
			if version != "" && !spec.ValidVersion(version) {
				return usageErr("--version %q is not a dated version (YYYY.MM.DD or YYYY.MM.DD.N)", version)
			}
			lib, _, names, err := libraryArgs(s, args)
			if err != nil {
				return err
			}
			if len(names) == 0 {
				names = lib.Graph().Order()
			}
			registry := lib.Registry
			if f.registry != "" {
				registry = f.registry
			}
			ctx := cmd.Context()
			c := f.client(s)
			pool, err := bk.pool(ctx, f.jobs, slog.New(slog.NewTextHandler(s.errOut, &slog.HandlerOptions{Level: slog.LevelWarn})))
			if err != nil {
				return err
			}
			defer pool.Close()
			suite := poolSuites(pool, c)
			results := make([]testResult, len(names))
			g, gctx := errgroup.WithContext(ctx)
			g.SetLimit(f.jobs)
			for i, n := range names {
				g.Go(func() error {
					r, err := testImage(gctx, c, suite, lib.Image(n), registry+"/"+n, version)
					if err != nil {
						return fmt.Errorf("image %s: %w", n, err)
					}
					results[i] = r
					return nil
				})
			}
			if err := g.Wait(); err != nil {
				return err
			}
			rep := testReport{FormatVersion: testFormatVersion, Registry: registry, OK: true, Images: results}
			failed := 0
			for _, r := range results {
				if !r.OK {
					rep.OK = false
					failed++
				}
			}
			if asJSON {
				if err := writeTestJSON(s.out, rep); err != nil {
					return err
				}
			} else {
				writeTestText(s.out, rep)
			}
			if failed > 0 {
				return &exitError{code: ExitError, err: fmt.Errorf("%d of %d images failed their tests", failed, len(results))}
			}
			return nil
		},
	}
	f.add(cmd)
	bk.add(cmd)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the report as JSON")
	cmd.Flags().StringVar(&version, "version", "", "the dated version to test instead of latest")
	return cmd
}

// testImage runs im's tests in its latest (or version) in repo.
func testImage(ctx context.Context, c *regclient.Client, suites suiteFor, im *spec.Image, repo, version string) (testResult, error) {
	r := testResult{Image: im.Name, OK: true, Outcomes: []imagetest.Outcome{}}
	if len(im.Test) == 0 {
		r.Skipped = "no tests in its spec"
		return r, nil
	}
	tag := version
	if tag == "" {
		tag = "latest"
	}
	m, err := readmodel.Remote{C: c}.Manifest(ctx, repo+":"+tag)
	if errors.Is(err, regclient.ErrNotFound) {
		r.Skipped = "no version " + tag + " published"
		return r, nil
	}
	if err != nil {
		return r, err
	}
	if !m.Written() {
		// A hand-pushed latest, a dated-looking tag of another tool: the
		// spec's tests are not its tests.
		r.Skipped = tag + " points at an image imgctl did not publish (" + published.ShortDigest(m.Digest) + ")"
		return r, nil
	}
	r.Digest = m.Digest
	plats := m.Platforms
	r.Version = version
	if version == "" {
		tags, err := c.ListTags(ctx, repo)
		if err != nil {
			return r, err
		}
		if r.Version, err = latestVersion(ctx, c, repo, published.VersionTags(tags)); err != nil {
			r.Version = "" // latest points at no dated version: test it anyway
		}
	}
	if len(plats) == 0 { // a single manifest: the platform its config says
		plats = im.Platforms
	}
	suite, err := suites(repo+"@"+r.Digest, plats)
	if err != nil {
		return r, err
	}
	out, err := suite.Run(ctx, repo+"@"+r.Digest, plats, im.Test)
	r.Outcomes = append(r.Outcomes, out...)
	var se *imagetest.SuiteError
	switch {
	case errors.As(err, &se):
		r.OK = false
	case err != nil:
		return r, err
	}
	return r, nil
}

// writeTestJSON renders the report as indented JSON (format_version 1).
func writeTestJSON(w io.Writer, rep testReport) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(rep)
}

// writeTestText renders the report: per image its result and each
// platform's commands, a failure's output indented below it, then the
// counts.
func writeTestText(w io.Writer, rep testReport) {
	for _, r := range rep.Images {
		switch {
		case r.Skipped != "":
			fmt.Fprintf(w, "SKIP  %s: %s\n", r.Image, r.Skipped)
			continue
		case r.OK:
			fmt.Fprintf(w, "ok    %s %s: %d passed\n", r.Image, r.Version, len(r.Outcomes))
		default:
			fmt.Fprintf(w, "FAIL  %s %s\n", r.Image, r.Version)
		}
		for _, o := range r.Outcomes {
			mark := "ok  "
			if !o.OK {
				mark = "FAIL"
			}
			fmt.Fprintf(w, "      %s %s %s (%.1fs)\n", mark, o.Platform, oneLineCmd(o.Command), o.Duration.Seconds())
			if !o.OK {
				fmt.Fprintf(w, "%s\n", indentBlock(strings.TrimRight(o.Output, "\n"), "        "))
			}
		}
	}
	passed, failed, skipped := 0, 0, 0
	for _, r := range rep.Images {
		switch {
		case r.Skipped != "":
			skipped++
		case r.OK:
			passed++
		default:
			failed++
		}
	}
	fmt.Fprintf(w, "%d images passed, %d failed, %d skipped.\n", passed, failed, skipped)
}

// oneLineCmd shows a multi-line test command by its first line.
func oneLineCmd(c string) string {
	c = strings.TrimSpace(c)
	if i := strings.IndexByte(c, '\n'); i >= 0 {
		return c[:i] + " …"
	}
	return c
}

func indentBlock(s, prefix string) string {
	if s == "" {
		return prefix + "(no output)"
	}
	return prefix + strings.ReplaceAll(s, "\n", "\n"+prefix)
}
