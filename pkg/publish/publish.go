package publish

import (
	"context"
	"errors"
	"fmt"
	"github.com/imgctl/imgctl/pkg/lock"
	"io"
	"log/slog"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/moby/buildkit/client"
	"golang.org/x/sync/errgroup"

	"github.com/imgctl/imgctl/pkg/build"
	"github.com/imgctl/imgctl/pkg/lifecycle"
	"github.com/imgctl/imgctl/pkg/mirror"
	"github.com/imgctl/imgctl/pkg/plan"
	"github.com/imgctl/imgctl/pkg/regclient"
	"github.com/imgctl/imgctl/pkg/sizebudget"
	"github.com/imgctl/imgctl/pkg/spec"
)

// ErrStalePlan is returned when the registry moved since the plan was made.
var ErrStalePlan = errors.New("plan is stale")

// ErrSpecMismatch is returned when the specs on disk no longer produce the plan.
var ErrSpecMismatch = errors.New("plan does not match the specs")

// Builder builds one image and pushes it by digest. Its errors name the
// image and the failing step. Capabilities says what it can build: Apply
// refuses, before any build, a plan with an image for a platform it lacks,
// and starts Slots builds at once (when not 0) instead of Jobs.
type Builder interface {
	Build(ctx context.Context, req build.Request, status chan *client.SolveStatus) (build.Result, error)
	Capabilities(ctx context.Context) (build.Capabilities, error)
}

// Marker attaches lifecycle markers to a manifest, or to an index and
// every manifest in it.
type Marker interface {
	MarkAll(ctx context.Context, repo name.Repository, subject v1.Descriptor, m lifecycle.Marker) (int, error)
}

// ErrPlatformUnsupported is returned when the BuildKit daemon cannot
// build a platform the plan needs.
var ErrPlatformUnsupported = errors.New("platform not supported by the BuildKit daemon")

var (
	_ Builder = (*build.Client)(nil)
	_ Marker  = (*lifecycle.Writer)(nil)
)

// Publisher applies plans.
type Publisher struct {
	Builder  Builder
	Registry *regclient.Client
	Marker   Marker
	// Jobs bounds concurrent builds and registry writes; a Builder whose
	// Capabilities have Slots sets the bound of builds itself.
	Jobs int
	// Insecure says the target registry is plain HTTP (for BuildKit's push).
	Insecure bool
	// Source and Revision go into org.opencontainers.image.source/revision.
	Source, Revision string
	// Getenv looks up the environment variables specs name for secrets
	// (pip.credentialsEnv). The default finds none.
	Getenv func(string) (string, bool)
	// CacheRepo is the prefix of the build cache repositories: image NAME
	// caches in CacheRepo/NAME:buildcache, never in its own repository.
	// "" disables the registry build cache. See DefaultCacheRepo.
	CacheRepo string
	// Attest is what BuildKit attaches to every platform built (SBOM,
	// provenance); the zero value attaches nothing.
	Attest Attest
	// Signer, when set, signs the digest of every version a tag of the
	// plan points at, after the builds and before any tag is written: no
	// tag ever points at an unsigned image.
	Signer Signer
	// Tester runs each built image's spec tests inside the new version,
	// on every platform, before any tag moves; a failure fails the image
	// like a failed build. Without a Tester, a plan with tests is refused.
	Tester Tester
	// Refresher compares a refresh (plan.ImageStep.Refresh) with the
	// newest version; without one, a plan with refreshes is refused.
	Refresher Refresher
	// LockChecker, when set, checks each locked image's new version
	// against its lock (from its SBOMs) before any tag moves: a locked
	// package missing or at another version fails the image. Without
	// SBOMs (policy.sbom false) there is nothing to check against.
	LockChecker LockChecker
	// VulnGate, when set, scans every new version (policy.vulnerabilities.fail).
	VulnGate VulnGate
	// SizeGate, when set, judges every new version whose step has a size
	// budget (plan.ImageStep.SizeBudget) before any tag moves: a version
	// over budget fails the image like a failed test, unless the step
	// allows growth (--allow-growth). Without one, budgets are not checked.
	SizeGate SizeGate
	// Changelog, when set, sums up each version built against the version
	// it supersedes for the summary ("+3 −1 ↑12 packages").
	Changelog Changelogger
	// Mirror, with policy.mirror, copies each external base a build
	// needs into the mirror before any build; the builds are FROM the
	// copies. A plan that builds on an external base with policy.mirror
	// set and no Mirror is refused.
	Mirror BaseMirror
	Log    *slog.Logger
}

// LockChecker says whether the version repo@digest installs exactly l
// (an error when not), and lists what it holds beyond l and its base:
// packages a run: step installed outside the lock, not fatal.
type LockChecker interface {
	CheckLock(ctx context.Context, repo, digest string, l *lock.Lock) ([]lock.Unlocked, error)
}

// VulnGate checks a new version (repo@digest) for known vulnerabilities
// before any tag moves: an error fails the image like a failed test
// (vulns.Gate).
type VulnGate interface {
	Check(ctx context.Context, image, version, repo, digest string) error
}

// SizeGate judges the version st built (pushed as digest) against
// st.SizeBudget: an error fails the image like a failed test
// (sizebudget.Gate). overridden is the message of a version over budget
// let through by --allow-growth, "" otherwise.
type SizeGate interface {
	CheckSize(ctx context.Context, st plan.ImageStep, digest string) (overridden string, err error)
}

var _ SizeGate = (*sizebudget.Gate)(nil)

// Tester runs test commands inside ref (repo@digest) on each platform.
// A failing command is an error carrying its output.
type Tester interface {
	Test(ctx context.Context, ref string, platforms, commands []string) error
}

// Refresher says whether a version built by a refresh holds the same
// packages as the newest version (then nothing is published), and if not,
// why.
type Refresher interface {
	Same(ctx context.Context, repo, newest, refreshed string) (same bool, why string, err error)
}

// Changelogger counts the package changes from one digest of repo to
// another (pkg/changelog over SBOMs read from the registry).
type Changelogger interface {
	Counts(ctx context.Context, repo, from, to string) (string, error)
}

// Attest configures the attestations of every build.
type Attest struct {
	// SBOM names the scanner image; nil makes no SBOM. It is asked once,
	// before the first build, and only when something is built.
	SBOM Generator
	// Provenance is the SLSA provenance mode, "min" or "max"; "" makes none.
	Provenance string
	// BuilderID names imgctl in the provenance (build.DefaultBuilderID).
	BuilderID string
}

// Generator gives the digest reference of the SBOM scanner image BuildKit
// runs (pushing it first if need be; see pkg/sbom).
type Generator interface {
	Generator(ctx context.Context) (string, error)
}

// Signer signs an image (index) digest; signing one already signed with
// the same key writes nothing new. Its errors never contain key material.
type Signer interface {
	Sign(ctx context.Context, ref name.Digest) error
}

// CacheRepoName is the path under the registry where build caches live
// by default; spec validation reserves it, so no image repository is ever
// a cache repository.
const CacheRepoName = spec.ReservedName

// DefaultCacheRepo is the build cache prefix for registry (host/prefix).
func DefaultCacheRepo(registry string) string { return registry + "/" + CacheRepoName }

// Result is what a publish did.
type Result struct {
	Images []Built
	// Tags and Marked count the tags written and versions marked.
	Tags, Marked int
	// Signed counts the digests signed.
	Signed int
	// TagsWritten and MarkersWritten are the tag steps written (with the
	// digest each points at) and the deprecations marked, in plan order:
	// whole phases only (a phase that failed adds nothing).
	TagsWritten    []plan.TagStep
	MarkersWritten []plan.DeprecationStep
	// Mirrored are the external bases copied to (or found in) the mirror
	// before the builds, by reference (policy.mirror).
	Mirrored []mirror.Copied
}

// Built is one image built and pushed.
type Built struct {
	Image    string
	Version  string
	Digest   string
	Duration time.Duration
	// Daemon is the BuildKit daemon that built it ("" when unknown).
	Daemon string
	// Changes sums up the package changes against the version superseded
	// ("+3 −1 ↑12 packages"); "" when not known.
	Changes string
	// Tests counts the test commands that passed (each platform once).
	Tests int
	// Unchanged says a refresh published nothing (its packages came out
	// as the newest version's, or its parent's did); Previous is that
	// version's digest. Version and Digest are then empty.
	Unchanged bool
	Previous  string
	// Unlocked are the packages a locked image's run: steps installed
	// outside its lock (LockChecker).
	Unlocked []lock.Unlocked
	// BudgetOverridden is why the version was published over its size
	// budget (--allow-growth): its sizes and largest packages added; ""
	// when it was within budget or has none.
	BudgetOverridden string
}

// WriteTable renders the summary table: image, tag, digest, build time,
// the daemon that built it (with a pool of daemons) and the changes.
func (r *Result) WriteTable(w io.Writer) {
	if len(r.Images) == 0 {
		fmt.Fprintf(w, "Nothing built. %d tags written, %d versions marked deprecated.\n", r.Tags, r.Marked)
		return
	}
	width, daemons, changes := len("IMAGE"), 0, false
	for _, b := range r.Images {
		width = max(width, len(b.Image))
		if b.Daemon != "" {
			daemons = max(daemons, len("DAEMON"), len(b.Daemon))
		}
		changes = changes || b.Changes != ""
	}
	row := func(image, tag, digest, took, daemon, change string) {
		line := fmt.Sprintf("%-*s  %-13s  %-71s  %-10s", width, image, tag, digest, took)
		if daemons > 0 {
			line += fmt.Sprintf("  %-*s", daemons, daemon)
		}
		if changes {
			line += "  " + change
		}
		fmt.Fprintln(w, strings.TrimRight(line, " "))
	}
	row("IMAGE", "TAG", "DIGEST", "BUILD TIME", "DAEMON", "CHANGES")
	for _, b := range r.Images {
		row(b.Image, orDash(b.Version), orDash(b.Digest), fmt.Sprintf("%.1fs", b.Duration.Seconds()), orDash(b.Daemon), orDash(b.Changes))
	}
	unchanged := 0
	for _, b := range r.Images {
		if b.Unchanged {
			unchanged++
		}
	}
	if unchanged > 0 {
		fmt.Fprintf(w, "%d images built (%d refreshed with nothing changed: no new version), %d tags written, %d versions marked deprecated.\n", len(r.Images), unchanged, r.Tags, r.Marked)
	} else {
		fmt.Fprintf(w, "%d images built, %d tags written, %d versions marked deprecated.\n", len(r.Images), r.Tags, r.Marked)
	}
	if r.Signed > 0 {
		fmt.Fprintf(w, "%d versions signed before their tags were written.\n", r.Signed)
	}
	if len(r.Mirrored) > 0 {
		copied := 0
		for _, m := range r.Mirrored {
			if !m.Present {
				copied++
			}
		}
		fmt.Fprintf(w, "%d external bases built from the mirror (%d copied first).\n", len(r.Mirrored), copied)
	}
	tested, runs := 0, 0
	for _, b := range r.Images {
		if b.Tests > 0 {
			tested++
			runs += b.Tests
		}
	}
	if tested > 0 {
		fmt.Fprintf(w, "%d images passed their tests (%d runs) before their tags were written.\n", tested, runs)
	}
	for _, b := range r.Images {
		if b.BudgetOverridden != "" {
			fmt.Fprintf(w, "%s\n", b.BudgetOverridden)
		}
	}
	for _, b := range r.Images {
		if len(b.Unlocked) > 0 {
			fmt.Fprintf(w, "%s %s: %s.\n", b.Image, b.Version, lock.UnlockedSummary(b.Unlocked, 5))
		}
	}
}

// Apply executes p for lib. status receives BuildKit progress (may be nil;
// Apply closes it when all builds are done).
func (pub *Publisher) Apply(ctx context.Context, lib *spec.Library, p *plan.Plan, status chan *client.SolveStatus) (*Result, error) {
	log := pub.logger()
	// The progress display ends when status is closed: right after the
	// builds, or on any early return.
	closeStatus := sync.OnceFunc(func() {
		if status != nil {
			close(status)
		}
	})
	defer closeStatus()
	if err := checkSpecs(lib, p); err != nil {
		return nil, err
	}
	if pub.Tester == nil && p.Summary.Tested > 0 {
		return nil, errors.New("the plan has images with tests and the publisher has no tester")
	}
	if pub.Refresher == nil && p.Summary.Refresh > 0 {
		return nil, errors.New("the plan refreshes images and the publisher cannot compare refreshes")
	}
	if err := pub.checkSecrets(lib, p); err != nil {
		return nil, err
	}
	var caps build.Capabilities
	if p.Summary.Build > 0 {
		var err error
		if caps, err = pub.Builder.Capabilities(ctx); err != nil {
			return nil, err
		}
	}
	if err := checkPlatforms(caps, lib, p); err != nil {
		return nil, err
	}
	if err := pub.checkFresh(ctx, p); err != nil {
		return nil, err
	}
	res := &Result{}
	attest, err := pub.attestations(ctx, p)
	if err != nil {
		return res, err
	}
	mirrored, copied, err := pub.mirrorBases(ctx, lib, p)
	res.Mirrored = copied
	if err != nil {
		return res, err
	}
	digests, err := pub.buildAll(ctx, lib, p, attest, caps.Slots, mirrored, status)
	closeStatus()
	for _, st := range p.Images {
		if b, ok := digests[st.Name]; ok {
			res.Images = append(res.Images, b)
		}
	}
	if err != nil {
		return res, err
	}
	// Refreshes that changed nothing publish nothing: no tag, no marker.
	p = withoutUnchanged(p, digests)
	target := func(image, digest string) string {
		if digest != "" {
			return digest
		}
		return digests[image].Digest
	}
	// Still phase one: sign what the tags will point at.
	if res.Signed, err = pub.signAll(ctx, p, target); err != nil {
		return res, err
	}
	// Phase two: every build succeeded. Re-check, then tag.
	if err := pub.checkFresh(ctx, p); err != nil {
		return res, err
	}
	if res.Tags, err = pub.tagAll(ctx, p, target); err != nil {
		return res, err
	}
	for _, t := range p.Tags {
		t.Digest = target(t.Image, t.Digest)
		res.TagsWritten = append(res.TagsWritten, t)
	}
	// Then the markers: serialised per repository by the lifecycle writer.
	err = pub.each(ctx, len(p.Deprecations), func(ctx context.Context, i int) error {
		d := p.Deprecations[i]
		if err := pub.deprecate(ctx, d, versionDigest(p, d, digests)); err != nil {
			return fmt.Errorf("marking %s:%s deprecated: %w", d.Image, d.Version, err)
		}
		log.Info("deprecated", "image", d.Image, "version", d.Version, "end_of_life", d.EndOfLife)
		return nil
	})
	if err != nil {
		return res, err
	}
	res.Marked = len(p.Deprecations)
	res.MarkersWritten = append(res.MarkersWritten, p.Deprecations...)
	pub.changelogs(ctx, p, res)
	return res, nil
}

// withoutUnchanged is p without the tag and deprecation steps of the images
// whose refresh published nothing.
func withoutUnchanged(p *plan.Plan, built map[string]Built) *plan.Plan {
	skip := map[string]bool{}
	for n, b := range built {
		if b.Unchanged {
			skip[n] = true
		}
	}
	if len(skip) == 0 {
		return p
	}
	q := *p
	q.Tags = nil
	for _, t := range p.Tags {
		if !skip[t.Image] {
			q.Tags = append(q.Tags, t)
		}
	}
	q.Deprecations = nil
	for _, d := range p.Deprecations {
		if !skip[d.Image] {
			q.Deprecations = append(q.Deprecations, d)
		}
	}
	return &q
}

// changelogs fills each built version's package changes against the
// version it supersedes. It only informs: a failure is logged.
func (pub *Publisher) changelogs(ctx context.Context, p *plan.Plan, res *Result) {
	if pub.Changelog == nil {
		return
	}
	prev := map[string]*plan.ImageStep{}
	for i := range p.Images {
		prev[p.Images[i].Name] = &p.Images[i]
	}
	_ = pub.each(ctx, len(res.Images), func(ctx context.Context, i int) error {
		b := &res.Images[i]
		if b.Unchanged {
			return nil // says so already
		}
		st := prev[b.Image]
		if st == nil || st.Previous == nil {
			b.Changes = "first version"
			return nil
		}
		c, err := pub.Changelog.Counts(ctx, st.Repository, st.Previous.Digest, b.Digest)
		if err != nil {
			pub.logger().Warn("changelog unavailable", "image", b.Image, "err", err)
			return nil
		}
		b.Changes = c + " since " + st.Previous.Tag
		return nil
	})
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// attestations resolves what every build of p attaches: the SBOM
// scanner is asked for only when something is built.
func (pub *Publisher) attestations(ctx context.Context, p *plan.Plan) (build.Attestations, error) {
	a := build.Attestations{
		Provenance:  pub.Attest.Provenance,
		BuilderID:   pub.Attest.BuilderID,
		VCSSource:   pub.Source,
		VCSRevision: pub.Revision,
	}
	if pub.Attest.SBOM != nil && p.Summary.Build > 0 {
		gen, err := pub.Attest.SBOM.Generator(ctx)
		if err != nil {
			return a, err
		}
		a.SBOMGenerator = gen
		pub.logger().Info("SBOM scanner", "image", gen)
	}
	return a, nil
}

// signAll signs, when there is a signer, every digest a tag step of p
// points at (the versions built and any existing version a tag is
// repaired to), each once. It returns how many it signed.
func (pub *Publisher) signAll(ctx context.Context, p *plan.Plan, target func(image, digest string) string) (int, error) {
	if pub.Signer == nil {
		return 0, nil
	}
	seen := map[string]bool{}
	var refs []name.Digest
	for _, t := range p.Tags {
		ref := t.Repository + "@" + target(t.Image, t.Digest)
		if seen[ref] {
			continue
		}
		seen[ref] = true
		r, err := name.NewDigest(ref, name.Insecure)
		if err != nil {
			return 0, fmt.Errorf("signing %s:%s: %w", t.Image, t.Version, err)
		}
		refs = append(refs, r)
	}
	err := pub.each(ctx, len(refs), func(ctx context.Context, i int) error {
		if err := pub.Signer.Sign(ctx, refs[i]); err != nil {
			return fmt.Errorf("signing %s: %w; no tag was moved", refs[i], err)
		}
		pub.logger().Info("signed", "image", refs[i].String())
		return nil
	})
	if err != nil {
		return 0, err
	}
	return len(refs), nil
}

// logger is pub.Log, or a logger that discards.
func (pub *Publisher) logger() *slog.Logger {
	if pub.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return pub.Log
}

// tagAll writes the dated tags, reads them back, then moves latest and the
// moving tags. It returns how many tags it wrote.
func (pub *Publisher) tagAll(ctx context.Context, p *plan.Plan, target func(image, digest string) string) (int, error) {
	log := pub.logger()
	n := 0
	for _, kinds := range [][]plan.TagKind{{plan.TagDated}, {plan.TagLatest, plan.TagMoving}} {
		var steps []plan.TagStep
		for _, t := range p.Tags {
			for _, k := range kinds {
				if t.Kind == k {
					steps = append(steps, t)
				}
			}
		}
		err := pub.inWaves(ctx, p, steps, func(ctx context.Context, t plan.TagStep) error {
			want := target(t.Image, t.Digest)
			if t.Kind == plan.TagDated {
				// A dated tag is written once, ever: re-check right before
				// writing, so a concurrent publish that took the same
				// version first keeps it.
				written, err := pub.checkDated(ctx, t, want)
				if err != nil || written {
					return err
				}
			}
			if err := pub.Registry.Tag(ctx, t.Repository, t.Tag, want); err != nil {
				return fmt.Errorf("tagging %s:%s: %w", t.Image, t.Tag, err)
			}
			log.Info("tagged", "image", t.Image, "tag", t.Tag, "version", t.Version)
			return nil
		})
		if err != nil {
			return n, err
		}
		if kinds[0] == plan.TagDated {
			// Registries have no conditional tag write: a concurrent
			// publish that checked at the same moment may have written
			// the same dated tag. Read them back before anything moves.
			if err := pub.verifyDated(ctx, steps, target); err != nil {
				return n, err
			}
		}
		n += len(steps)
	}
	return n, nil
}

// inWaves runs f for every tag step, at most Jobs at a time, parents
// before children: an image's steps start only after those of its parent
// built in this plan succeeded. So an interrupted publish never leaves a
// child's dated version on a parent version that has no dated tag (the
// next plan would rebuild the parent and give the child a second version
// of the same content).
func (pub *Publisher) inWaves(ctx context.Context, p *plan.Plan, steps []plan.TagStep, f func(context.Context, plan.TagStep) error) error {
	depth := map[string]int{}
	var depthOf func(string) int
	depthOf = func(image string) int {
		if d, ok := depth[image]; ok {
			return d
		}
		d := 0
		if st := p.Step(image); st != nil && st.Base.RebuiltInPlan {
			d = depthOf(st.Base.Image) + 1
		}
		depth[image] = d
		return d
	}
	waves := map[int][]plan.TagStep{}
	last := 0
	for _, t := range steps {
		d := depthOf(t.Image)
		waves[d] = append(waves[d], t)
		last = max(last, d)
	}
	for d := 0; d <= last; d++ {
		wave := waves[d]
		if err := pub.each(ctx, len(wave), func(ctx context.Context, i int) error { return f(ctx, wave[i]) }); err != nil {
			return err
		}
	}
	return nil
}

// checkSecrets checks, before anything is built, that every secret the
// images to build name is set: a missing one fails the publish with every
// image that needs it, not one image's build after its parents were
// pushed.
func (pub *Publisher) checkSecrets(lib *spec.Library, p *plan.Plan) error {
	var missing []string
	for _, st := range p.Images {
		if st.Action != plan.Build {
			continue
		}
		if _, err := pub.secrets(lib.Image(st.Name)); err != nil {
			missing = append(missing, fmt.Sprintf("%s: %v", st.Name, err))
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("nothing was built: secrets the specs name are not set:\n  %s", strings.Join(missing, "\n  "))
	}
	return nil
}

// checkPlatforms fails with one line when an image to build needs a
// platform the builder lacks (caps.Platforms nil: it cannot tell).
func checkPlatforms(caps build.Capabilities, lib *spec.Library, p *plan.Plan) error {
	have := caps.Platforms
	if have == nil || p.Summary.Build == 0 {
		return nil
	}
	needs := map[string][]string{} // platform -> images
	for _, st := range p.Images {
		if st.Action != plan.Build {
			continue
		}
		for _, pf := range lib.Image(st.Name).Platforms {
			if !slices.Contains(have, pf) {
				needs[pf] = append(needs[pf], st.Name)
			}
		}
	}
	if len(needs) == 0 {
		return nil
	}
	var missing []string
	for pf, images := range needs {
		missing = append(missing, fmt.Sprintf("%s (for %s)", pf, strings.Join(images, ", ")))
	}
	sort.Strings(missing)
	return fmt.Errorf("%w: BuildKit at %s cannot build %s; it builds %s",
		ErrPlatformUnsupported, caps.Addr, strings.Join(missing, ", "), strings.Join(have, ", "))
}

// checkDated reads the dated tag t right before it is written: absent is
// the expected case; already on want (a re-run) needs no write; on
// anything else the plan is stale.
func (pub *Publisher) checkDated(ctx context.Context, t plan.TagStep, want string) (written bool, err error) {
	d, err := pub.Registry.Head(ctx, t.Repository+":"+t.Tag)
	switch {
	case errors.Is(err, regclient.ErrNotFound):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("checking %s:%s before writing it: %w", t.Image, t.Tag, err)
	case d.Digest.String() == want:
		return true, nil
	}
	return false, fmt.Errorf("%w: %s:%s appeared since the plan was made, on %s (another publish?); it is never rewritten: make a new plan", ErrStalePlan, t.Image, t.Tag, d.Digest)
}

// verifyDated reads the dated tags just written back and fails with
// ErrStalePlan when one holds another publish's digest.
func (pub *Publisher) verifyDated(ctx context.Context, steps []plan.TagStep, target func(image, digest string) string) error {
	return pub.each(ctx, len(steps), func(ctx context.Context, i int) error {
		t := steps[i]
		d, err := pub.Registry.Head(ctx, t.Repository+":"+t.Tag)
		if err != nil {
			return fmt.Errorf("reading back %s:%s: %w", t.Image, t.Tag, err)
		}
		if got, want := d.Digest.String(), target(t.Image, t.Digest); got != want {
			return fmt.Errorf("%w: %s:%s was written by another publish at the same time (it holds %s, this publish built %s); no other tag was moved: make a new plan", ErrStalePlan, t.Image, t.Tag, got, want)
		}
		return nil
	})
}

// versionDigest is the digest of the version superseding d.
func versionDigest(p *plan.Plan, d plan.DeprecationStep, built map[string]Built) string {
	if b, ok := built[d.Image]; ok && b.Version == d.SupersededBy {
		return b.Digest
	}
	for _, t := range p.Tags {
		if t.Image == d.Image && t.Version == d.SupersededBy && t.Digest != "" {
			return t.Digest
		}
	}
	return ""
}

func (pub *Publisher) deprecate(ctx context.Context, d plan.DeprecationStep, byDigest string) error {
	repo, err := pub.Registry.Repository(d.Repository)
	if err != nil {
		return err
	}
	desc, err := pub.Registry.Head(ctx, d.Repository+"@"+d.Digest)
	if err != nil {
		return err
	}
	subject := v1.Descriptor{MediaType: desc.MediaType, Size: desc.Size, Digest: desc.Digest}
	m := lifecycle.Marker{
		Subject:            subject,
		EndOfLife:          d.EndOfLife,
		Date:               d.Date,
		Reason:             d.Reason,
		SupersededByTag:    d.SupersededBy,
		SupersededByDigest: byDigest,
		Replacement:        d.Replacement,
	}
	if _, err := pub.Marker.MarkAll(ctx, repo, subject, m); err != nil {
		return err
	}
	if d.Tag != "" {
		return pub.Registry.Tag(ctx, d.Repository, d.Tag, d.Digest)
	}
	return nil
}

// each runs f for 0..n-1 with at most Jobs at a time.
func (pub *Publisher) each(ctx context.Context, n int, f func(context.Context, int) error) error {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(max(1, pub.Jobs))
	for i := 0; i < n; i++ {
		g.Go(func() error { return f(gctx, i) })
	}
	return g.Wait()
}

// checkSpecs verifies the specs on disk still produce the plan's spec keys.
func checkSpecs(lib *spec.Library, p *plan.Plan) error {
	var bad []string
	for _, st := range p.Images {
		if st.Action != plan.Build {
			continue
		}
		im := lib.Image(st.Name)
		if im == nil || plan.ComputeKey(im, st.Base.Digest).Spec != st.SpecKey {
			bad = append(bad, st.Name)
		}
	}
	if len(bad) > 0 {
		return fmt.Errorf("%w: %s changed since the plan was made; make a new plan", ErrSpecMismatch, strings.Join(bad, ", "))
	}
	return nil
}

// checkFresh re-reads every tag the plan observed (and the versions it
// deprecates) and fails with ErrStalePlan when any moved.
func (pub *Publisher) checkFresh(ctx context.Context, p *plan.Plan) error {
	type check struct{ ref, want, what string }
	var checks []check
	for _, t := range p.Tags {
		checks = append(checks, check{t.Repository + ":" + t.Tag, t.Observed, fmt.Sprintf("%s:%s", t.Image, t.Tag)})
	}
	for _, d := range p.Deprecations {
		checks = append(checks, check{d.Repository + ":" + d.Version, d.Digest, fmt.Sprintf("%s:%s", d.Image, d.Version)})
	}
	var mu sync.Mutex
	var stale []string
	err := pub.each(ctx, len(checks), func(ctx context.Context, i int) error {
		c := checks[i]
		got := ""
		d, err := pub.Registry.Head(ctx, c.ref)
		switch {
		case errors.Is(err, regclient.ErrNotFound):
		case err != nil:
			return err
		default:
			got = d.Digest.String()
		}
		if got != c.want {
			mu.Lock()
			stale = append(stale, fmt.Sprintf("%s is %s, the plan saw %s", c.what, orAbsent(got), orAbsent(c.want)))
			mu.Unlock()
		}
		return nil
	})
	if err != nil {
		return err
	}
	if len(stale) > 0 {
		sort.Strings(stale)
		return fmt.Errorf("%w: the registry moved since it was made (%s); make a new plan", ErrStalePlan, strings.Join(stale, "; "))
	}
	return nil
}

func orAbsent(d string) string {
	if d == "" {
		return "absent"
	}
	return d
}
