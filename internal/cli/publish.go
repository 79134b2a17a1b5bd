package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"os/exec"
	"strings"

	"github.com/moby/buildkit/client"
	"github.com/moby/buildkit/util/progress/progressui"
	"github.com/spf13/cobra"

	"github.com/imgctl/imgctl/pkg/buildpool"
	"github.com/imgctl/imgctl/pkg/buildretry"
	"github.com/imgctl/imgctl/pkg/inventory"
	"github.com/imgctl/imgctl/pkg/lifecycle"
	"github.com/imgctl/imgctl/pkg/mirror"
	"github.com/imgctl/imgctl/pkg/plan"
	"github.com/imgctl/imgctl/pkg/publish"
	"github.com/imgctl/imgctl/pkg/sizebudget"
	"github.com/imgctl/imgctl/pkg/spec"
	"github.com/imgctl/imgctl/pkg/vulns"
)

func newPublishCmd(s streams) *cobra.Command {
	var (
		f         planFlags
		bk        buildkitFlags
		planFile  string
		vulnDir   string
		progress  string
		noCache   bool
		source    string
		cacheRepo string
		asJSON    bool
		af        attestFlags
	)
	cmd := &cobra.Command{
		Use:   "publish [DIR]",
		Short: "Build what changed with BuildKit, push by digest, then tag and deprecate",
		Long: `publish plans (or reads a saved plan with --plan) and applies it: every image to
build is built with BuildKit in graph order and pushed by digest; only when all
builds succeeded are the dated tags written, then latest and the moving tags,
then superseded versions are marked deprecated. A failed build moves no tag; a
re-run finishes the job. Publishing right after a success does nothing.

A blocked image (a platform its external base lacks, a pinned parent that is
not published, a blocked parent) cannot be built until the specs change:
publish does everything else, then names each blocked image and why, and exits
1.

Exit status: 0 published (or nothing to do); 1 error or blocked images;
2 usage.`,
		Args: maxArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := f.validate(); err != nil {
				return err
			}
			if !validProgress(progress) {
				return usageErr("--progress %q: want auto, tty, plain, rawjson or quiet", progress)
			}
			if cacheRepo != "" && !spec.ValidRegistry(cacheRepo) {
				return usageErr("--cache-repo %q: want HOST[:PORT]/PATH", cacheRepo)
			}
			if source != "" && publicSource(source) != source {
				return usageErr("--source %q: want a network URL of the spec repository without credentials (https://, ssh://, git@host:path), never a local path", source)
			}
			if planFile != "" && (len(args) > 0 || len(f.targets) > 0 || cmd.Flags().Changed("date") || f.registry != "" || len(f.allowGrowth) > 0) {
				return usageErr("--plan applies a saved plan as it is: no DIR, --target, --date, --registry or --allow-growth (give --allow-growth to imgctl plan)")
			}
			ctx := cmd.Context()
			c := f.client(s)
			var (
				lib *spec.Library
				p   *plan.Plan
				err error
			)
			if planFile != "" {
				lib, p, err = readPlan(s, planFile)
			} else {
				lib, p, err = makePlan(ctx, s, dirArg(args), &f, c)
			}
			if err != nil {
				return err
			}
			// A key that is required or named must work before anything
			// else happens.
			signer, err := af.signer(lib, c)
			if err != nil {
				return err
			}
			// So must the vulnerability gate's feed.
			var gate publish.VulnGate
			if pol := lib.Policy.Vulnerabilities; pol.Fail != "" && p.Summary.Build > 0 {
				feed, _, err := loadFeed(ctx, lib, c, vulnDir)
				if err != nil {
					return fmt.Errorf("policy.vulnerabilities.fail (%s) needs the feed: %w", relPath(pol.FailPos.String()), err)
				}
				gate = &vulns.Gate{Feed: feed, Reader: inventory.Reader{Remote: c.ReadOptions}, Fail: pol.Fail, Fixable: pol.Fixable,
					Ignore: pol.Ignore, Day: p.Date}
			}
			if progress != "rawjson" && progress != "quiet" {
				if err := p.WriteText(s.errOut); err != nil {
					return err
				}
			}
			if !p.HasChanges() {
				berr := blockedError(p)
				switch {
				case asJSON:
					if err := (*publish.Result)(nil).Report(p, berr).WriteJSON(s.out); err != nil {
						return err
					}
				case berr != nil:
					fmt.Fprintln(s.out, "Nothing to publish.")
				default:
					fmt.Fprintln(s.out, "Nothing to do: every image is up to date.")
				}
				return berr
			}
			warn := slog.New(slog.NewTextHandler(s.errOut, &slog.HandlerOptions{Level: slog.LevelWarn}))
			var (
				builder publish.Builder
				pool    *buildpool.Pool
			)
			if p.Summary.Build > 0 {
				if pool, err = startPool(ctx, s, &bk, lib, p, f.jobs, warn, progress); err != nil {
					return err
				}
				defer pool.Close()
				builder = buildretry.New(pool, f.retries, retryLog(s))
			}
			attest, err := af.attest(lib, p, c, pool, cacheRepo)
			if err != nil {
				return err
			}
			target, err := c.Repository(p.Registry)
			if err != nil {
				return err
			}
			wopts, err := c.WriteOptions(ctx, target)
			if err != nil {
				return err
			}
			pub := &publish.Publisher{
				Builder:     builder,
				Registry:    c,
				Marker:      lifecycle.NewWriter(wopts...),
				Jobs:        f.jobs,
				Insecure:    c.PlainHTTP(p.Registry),
				CacheRepo:   cacheRepoOf(lib, p, cacheRepo, noCache),
				Getenv:      os.LookupEnv,
				Attest:      attest,
				Signer:      signer,
				Changelog:   registryChangelog{inventory.Reader{Remote: c.ReadOptions}},
				Tester:      newTester(pool, c),
				Refresher:   registryChangelog{inventory.Reader{Remote: c.ReadOptions}},
				LockChecker: registryChangelog{inventory.Reader{Remote: c.ReadOptions}},
				VulnGate:    gate,
				SizeGate:    &sizebudget.Gate{Reader: inventory.Reader{Remote: c.ReadOptions}},
				Log:         warn,
			}
			if lib.Policy.Mirror != "" {
				pub.Mirror = &mirror.Mirror{Prefix: lib.Policy.Mirror, Registry: c, Log: warn}
			}
			pub.Source, pub.Revision = gitSource(lib.Dir)
			switch {
			case source != "":
				pub.Source = source
			case lib.Policy.Source != "":
				pub.Source = lib.Policy.Source
			}
			res, err := applyWithProgress(ctx, s, pub, lib, p, progress)
			if err == nil {
				err = blockedError(p)
			}
			switch {
			case asJSON:
				if jerr := res.Report(p, err).WriteJSON(s.out); jerr != nil && err == nil {
					err = jerr
				}
			case res != nil:
				res.WriteTable(s.out)
			}
			if err != nil {
				var be *publish.BuildError
				if errors.As(err, &be) {
					return fmt.Errorf("%w\nno tag was moved; fix the problem and run publish again", err)
				}
				// Everything else was published: blocked images still fail
				// the command, so that CI does not go green on them.
				return err
			}
			return nil
		},
	}
	f.add(cmd)
	cmd.Flags().Lookup("jobs").Usage = "registry requests in flight (per registry, reads and writes), and builds per BuildKit daemon (a pool of N daemons runs N×jobs builds)"
	bk.add(cmd)
	cmd.Flags().StringVar(&planFile, "plan", "", "apply exactly this saved plan (from imgctl plan --out)")
	cmd.Flags().StringVar(&vulnDir, "vulndb", "", "the vulnerability feed of policy.vulnerabilities.fail from DIR/<Ecosystem>/all.zip instead of policy.vulnDB")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print what was published, per image, as JSON on stdout instead of the table (docs/publish-format.md)")
	cmd.Flags().StringVar(&progress, "progress", "auto", "build progress: auto, tty, plain, rawjson or quiet")
	cmd.Flags().StringVar(&source, "source", "", "spec repository URL recorded as org.opencontainers.image.source (default: the git origin remote when it is a network URL; a local path is never recorded)")
	af.add(cmd)
	cmd.Flags().BoolVar(&noCache, "no-cache", false, "do not export or import the registry build cache")
	cmd.Flags().StringVar(&cacheRepo, "cache-repo", "", "registry build cache of image NAME at PREFIX/NAME:buildcache (default policy.cacheRepo, else REGISTRY/"+publish.CacheRepoName+")")
	return cmd
}

// blockedError names every blocked image of p and why, or is nil. A
// blocked image can never be built as the specs stand (a platform its
// external base lacks, a pinned parent that is not published, a blocked
// parent): publish exits 1 on it after doing everything else.
func blockedError(p *plan.Plan) error {
	var lines []string
	for _, st := range p.Images {
		if st.Action != plan.Blocked {
			continue
		}
		why := make([]string, 0, len(st.Reasons))
		for _, r := range st.Reasons {
			why = append(why, r.Message)
		}
		lines = append(lines, fmt.Sprintf("  %s: %s", st.Name, strings.Join(why, "; ")))
	}
	if len(lines) == 0 {
		return nil
	}
	return fmt.Errorf("%d %s blocked and cannot be published until the specs change:\n%s",
		len(lines), map[bool]string{true: "image is", false: "images are"}[len(lines) == 1], strings.Join(lines, "\n"))
}

// startPool connects to the BuildKit daemons of the flags, checks that
// those reached can build what p builds (an unreachable daemon is dropped
// with a warning when they can), and reports the pool in one line.
func startPool(ctx context.Context, s streams, bk *buildkitFlags, lib *spec.Library, p *plan.Plan, jobs int, warn *slog.Logger, progress string) (*buildpool.Pool, error) {
	pool, err := bk.pool(ctx, jobs, warn)
	if err != nil {
		return nil, err
	}
	needs, err := poolNeeds(lib, p)
	if err == nil {
		err = pool.Require(needs)
	}
	if err != nil {
		pool.Close()
		return nil, err
	}
	if progress != "rawjson" && progress != "quiet" {
		fmt.Fprintln(s.errOut, pool.String())
	}
	return pool, nil
}

// cacheRepoOf is the build cache prefix: --cache-repo, else the spec's
// policy.cacheRepo, else beside the images in the plan's registry; "" with
// --no-cache.
func cacheRepoOf(lib *spec.Library, p *plan.Plan, flag string, off bool) string {
	switch {
	case off:
		return ""
	case flag != "":
		return flag
	case lib.Policy.CacheRepo != "":
		return lib.Policy.CacheRepo
	}
	return publish.DefaultCacheRepo(p.Registry)
}

func validProgress(p string) bool {
	switch p {
	case "auto", "tty", "plain", "rawjson", "quiet":
		return true
	}
	return false
}

// applyWithProgress runs the publish with BuildKit's progress display on stderr.
func applyWithProgress(ctx context.Context, s streams, pub *publish.Publisher, lib *spec.Library, p *plan.Plan, mode string) (*publish.Result, error) {
	d, err := progressui.NewDisplay(s.errOut, progressui.DisplayMode(mode))
	if err != nil {
		return nil, fmt.Errorf("progress display: %w", err)
	}
	ch := make(chan *client.SolveStatus)
	done := make(chan struct{})
	go func() {
		defer close(done)
		// The display must drain the channel until it is closed, even
		// after ctx is cancelled, or builds would block sending to it.
		_, _ = d.UpdateFrom(context.WithoutCancel(ctx), ch)
	}()
	res, err := pub.Apply(ctx, lib, p, ch)
	<-done
	return res, err
}

// readPlan reads a saved plan and loads the specs it was made from.
func readPlan(s streams, path string) (*spec.Library, *plan.Plan, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, usageErr("reading plan: %v", err)
	}
	var p plan.Plan
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, nil, fmt.Errorf("reading plan %s: %w", path, err)
	}
	if p.FormatVersion != plan.FormatVersion {
		return nil, nil, fmt.Errorf("reading plan %s: format version %q, this imgctl reads %q", path, p.FormatVersion, plan.FormatVersion)
	}
	lib, err := loadBuildable(s, p.SpecDir)
	if err != nil {
		return nil, nil, err
	}
	return lib, &p, nil
}

// gitSource returns the spec repository's commit and its origin remote
// URL, when that is a network URL: a local path or file:// remote is
// never published (it names a directory of the machine that ran publish),
// and credentials in an https remote are dropped.
func gitSource(dir string) (source, revision string) {
	git := func(args ...string) string {
		out, err := exec.Command("git", append([]string{"-C", dir}, args...)...).Output()
		if err != nil {
			return ""
		}
		return strings.TrimSpace(string(out))
	}
	return publicSource(git("config", "--get", "remote.origin.url")), git("rev-parse", "HEAD")
}

// publicSource is remote as a URL that can be published, or "": network
// URLs (https, http, ssh, git, scp-like "git@host:path") without
// credentials; never a local path.
func publicSource(remote string) string {
	if remote == "" {
		return ""
	}
	if u, err := url.Parse(remote); err == nil && u.Scheme != "" && u.Host != "" {
		switch u.Scheme {
		case "https", "http", "ssh", "git":
			if u.Scheme != "ssh" {
				u.User = nil // a token in the URL stays in the CI job
			}
			return u.String()
		}
		return ""
	}
	// scp-like syntax: [user@]host:path, where host has no slash.
	if i := strings.IndexByte(remote, ':'); i > 0 && i < len(remote)-1 &&
		!strings.Contains(remote[:i], "/") && !strings.Contains(remote, "://") {
		return remote
	}
	return ""
}
