package plan

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"

	"golang.org/x/sync/errgroup"

	"github.com/imgctl/imgctl/pkg/lock"
	"github.com/imgctl/imgctl/pkg/published"
	"github.com/imgctl/imgctl/pkg/spec"
)

// Snapshot is what Observe saw in the registry: the only registry input of
// Compute.
type Snapshot struct {
	Registry string                 `json:"registry"`
	Images   map[string]*ImageState `json:"images"`
	// Bases maps an external base reference to the digest it resolved to.
	Bases map[string]string `json:"bases"`
	// BasePlatforms maps an external base reference to the platforms it
	// provides ("linux/amd64", …), when the registry can tell (see
	// PlatformResolver); absent, the base is not checked.
	BasePlatforms map[string][]string `json:"base_platforms,omitempty"`
	// BaseMirrors maps an external base reference that could not be
	// resolved upstream (unreachable, or the tag gone) to the mirror copy
	// (policy.mirror) its digest came from instead: PREFIX/<path>@<digest>.
	BaseMirrors map[string]string `json:"base_mirrors,omitempty"`
}

// PlatformResolver is the optional ability of a Registry to resolve a
// reference and list the platforms it provides, so that a plan says which
// platform an external base lacks before anything is built.
type PlatformResolver interface {
	Platforms(ctx context.Context, ref string) (digest string, platforms []string, err error)
}

// UnlockedReader is the optional ability of a Registry to list what a
// version built from a lock holds beyond that lock (its annotation) and
// its base, from their SBOMs: packages a run: step installed outside the
// lock, which the plan lists. None when the SBOMs cannot tell.
type UnlockedReader interface {
	Unlocked(ctx context.Context, repo string, version *Published) ([]lock.Unlocked, error)
}

// ImageState is what the registry holds for one image.
type ImageState struct {
	Repository string `json:"repository"`
	// Tags are all tags of the repository, sorted.
	Tags []string `json:"tags"`
	// Newest is the newest dated version, with its annotations.
	Newest *Published `json:"newest,omitempty"`
	// Pinned holds versions children pin, by version (nil: absent, or not
	// an imgctl version; see Foreign).
	Pinned map[string]*Published `json:"pinned,omitempty"`
	// Unmarked are superseded versions (not Newest) not yet marked
	// deprecated, with their digests.
	Unmarked []Version `json:"unmarked,omitempty"`
	// NewestMarked says Newest already carries a lifecycle marker (only
	// observed for retired images).
	NewestMarked bool `json:"newest_marked,omitempty"`
	// TagDigests holds what the moving tags (latest and the spec's tags)
	// that exist point at.
	TagDigests map[string]string `json:"tag_digests,omitempty"`
	// TagVersions names the dated version a moving tag points at when that
	// is not Newest (an interrupted publish), if one of the versions
	// before Newest has its digest.
	TagVersions map[string]string `json:"tag_versions,omitempty"`
	// Foreign are the dated and moving tags read whose manifests imgctl
	// did not write or that are missing, newest first for dated ones.
	// Newest, Unmarked and Pinned never hold a foreign version.
	Foreign []ForeignTag `json:"foreign,omitempty"`
	// Unlocked are the packages Newest holds beyond the lock it was built
	// from and its base (UnlockedReader); observed for versions built
	// from a lock.
	Unlocked []lock.Unlocked `json:"unlocked,omitempty"`
}

// foreign records a tag imgctl did not write.
func (st *ImageState) foreign(tag, digest, note string) {
	st.Foreign = append(st.Foreign, ForeignTag{Tag: tag, Digest: digest, Note: note})
}

// IsForeign reports whether Observe found tag to be foreign.
func (st *ImageState) IsForeign(tag string) bool {
	for _, f := range st.Foreign {
		if f.Tag == tag {
			return true
		}
	}
	return false
}

// readVersion reads the manifest of a dated tag: nil with no error when
// the tag is foreign (recorded in st.Foreign) — its manifest is not
// imgctl's, or gone.
func readVersion(ctx context.Context, reg Registry, st *ImageState, v string) (*Published, error) {
	p, err := reg.Manifest(ctx, st.Repository+":"+v)
	switch {
	case errors.Is(err, published.ErrNotFound):
		st.foreign(v, "", ForeignMissing)
		return nil, nil
	case err != nil:
		return nil, err
	case !p.Written():
		st.foreign(v, p.Digest, ForeignImage)
		return nil, nil
	}
	p.Version = v
	return p, nil
}

// Published is a published manifest or index (the vocabulary's
// published.Manifest).
type Published = published.Manifest

// Registry is the read access Observe needs.
type Registry interface {
	// ListTags lists a repository's tags; none when it does not exist.
	ListTags(ctx context.Context, repo string) ([]string, error)
	// Manifest fetches the manifest at ref (repo:tag or repo@digest); an
	// absent one is an error wrapping regclient.ErrNotFound.
	Manifest(ctx context.Context, ref string) (*Published, error)
	// Resolve returns the digest ref points at.
	Resolve(ctx context.Context, ref string) (string, error)
	// Marked reports whether the manifest digest in repo has a lifecycle marker.
	Marked(ctx context.Context, repo, digest string) (bool, error)
}

// ObserveOptions configure Observe.
type ObserveOptions struct {
	// Registry overrides the library's registry ("" keeps it).
	Registry string
	// Targets restricts observation to these images and their ancestors.
	Targets []string
	// Jobs bounds concurrent registry reads (default 16).
	Jobs int
	// Unlocked reads, for each locked image's newest version, what it
	// holds outside its lock (UnlockedReader; SBOM reads: imgctl plan
	// shows them, publish does not need them).
	Unlocked bool
}

// Observe reads, for every image in scope, its tags and newest version's
// manifest, the versions children pin, and the digests external bases
// resolve to. Reads are concurrent and bounded.
func Observe(ctx context.Context, lib *spec.Library, reg Registry, opts ObserveOptions) (*Snapshot, error) {
	registry := lib.Registry
	if opts.Registry != "" {
		registry = opts.Registry
	}
	jobs := opts.Jobs
	if jobs <= 0 {
		jobs = 16
	}
	names, err := scope(lib, opts.Targets)
	if err != nil {
		return nil, err
	}
	snap := &Snapshot{Registry: registry, Images: map[string]*ImageState{}, Bases: map[string]string{}}
	pins := map[string][]string{} // parent -> pinned versions
	bases := map[string]bool{}
	for _, n := range names {
		im := lib.Image(n)
		snap.Images[n] = &ImageState{Repository: registry + "/" + n}
		if v := im.ParentVersion; v != "" && !slices.Contains(pins[im.Parent], v) {
			pins[im.Parent] = append(pins[im.Parent], v)
		}
		if im.IsExternal() && im.From != "scratch" {
			bases[im.From] = true
		}
	}

	// slots bounds an image's reads besides the caller's (see fanOut).
	observe := func(ctx context.Context, slots *errgroup.Group, n string) error {
		if err := observeImage(ctx, slots, reg, snap.Images[n], lib.Image(n), lib.Policy, pins[n], opts.Unlocked); err != nil {
			return fmt.Errorf("image %s: %w", n, err)
		}
		return nil
	}
	// The first image alone: an unreachable registry or denied read is
	// reported once, for a predictable image, before fanning out. Its
	// reads after the tag list share jobs-1 slots besides this goroutine.
	if len(names) > 0 {
		var first errgroup.Group
		first.SetLimit(jobs - 1)
		if err := observe(ctx, &first, names[0]); err != nil {
			return nil, err
		}
	}
	// One bound for every other read: images, their reads after the tag
	// list (on free slots of g, see fanOut) and external bases.
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(jobs)
	for _, n := range names[min(1, len(names)):] {
		g.Go(func() error { return observe(gctx, g, n) })
	}
	var mu sync.Mutex
	for ref := range bases {
		g.Go(func() error {
			d, plats, err := resolveBase(gctx, reg, ref)
			fromMirror := ""
			if err != nil && lib.Policy.Mirror != "" {
				d, plats, fromMirror, err = resolveMirrored(gctx, reg, lib.Policy.Mirror, ref, err)
			}
			if err != nil {
				return fmt.Errorf("resolving external base %s: %w", ref, err)
			}
			mu.Lock()
			defer mu.Unlock()
			snap.Bases[ref] = d
			if fromMirror != "" {
				if snap.BaseMirrors == nil {
					snap.BaseMirrors = map[string]string{}
				}
				snap.BaseMirrors[ref] = fromMirror
			}
			if plats != nil {
				if snap.BasePlatforms == nil {
					snap.BasePlatforms = map[string][]string{}
				}
				snap.BasePlatforms[ref] = plats
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return snap, nil
}

// resolveBase resolves an external base and, when the registry can tell,
// the platforms it provides (one GET instead of a HEAD).
func resolveBase(ctx context.Context, reg Registry, ref string) (string, []string, error) {
	if pr, ok := reg.(PlatformResolver); ok {
		return pr.Platforms(ctx, ref)
	}
	if _, d, ok := strings.Cut(ref, "@"); ok {
		return d, nil, nil
	}
	d, err := reg.Resolve(ctx, ref)
	return d, nil, err
}

// resolveMirrored resolves an external base that upstream did not
// (upErr) from its copy in the mirror: the mirror's record of the tag,
// or the digest itself. It returns the copy as PREFIX/<path>@<digest>.
func resolveMirrored(ctx context.Context, reg Registry, mirror, ref string, upErr error) (string, []string, string, error) {
	u, err := published.ParseUpstream(ref)
	if err != nil {
		return "", nil, "", upErr
	}
	repo := u.MirrorRepository(mirror)
	at := repo + ":" + u.Tag
	if u.Digest != "" {
		at = repo + "@" + u.Digest
	}
	d, plats, err := resolveBase(ctx, reg, at)
	if err != nil {
		return "", nil, "", fmt.Errorf("%w (and the mirror: %v)", upErr, err)
	}
	return d, plats, repo + "@" + d, nil
}

// observeImage reads one image's state. After the tag list, the newest
// manifest and the moving tags are read concurrently, each on a free slot
// of slots or else in the caller's (see fanOut): a plan of few images
// waits for two round trips per image rather than one per read.
func observeImage(ctx context.Context, slots *errgroup.Group, reg Registry, st *ImageState, im *spec.Image, pol spec.Policy, pinned []string, unlocked bool) error {
	tags, err := reg.ListTags(ctx, st.Repository)
	if err != nil {
		return err
	}
	sort.Strings(tags)
	st.Tags = tags
	versions := published.VersionTags(tags)
	var moving []string
	for _, t := range MovingTags(im) {
		if has(tags, t) {
			moving = append(moving, t)
		}
	}
	digests := make([]string, len(moving))
	reads := make([]func() error, 0, 1+len(moving))
	if len(versions) > 0 {
		reads = append(reads, func() error { return observeNewest(ctx, reg, st, im, versions, pol, unlocked) })
	}
	for i, t := range moving {
		reads = append(reads, func() (err error) {
			digests[i], err = reg.Resolve(ctx, st.Repository+":"+t)
			return err
		})
	}
	if err := fanOut(slots, reads); err != nil {
		return err
	}
	if err := observeMoving(ctx, reg, st, moving, digests, versions); err != nil {
		return err
	}
	for _, v := range pinned {
		if st.Pinned == nil {
			st.Pinned = map[string]*Published{}
		}
		if !has(tags, v) {
			st.Pinned[v] = nil
			continue
		}
		if st.Newest != nil && st.Newest.Version == v {
			st.Pinned[v] = st.Newest // already read
			continue
		}
		if st.IsForeign(v) {
			st.Pinned[v] = nil
			continue
		}
		p, err := readVersion(ctx, reg, st, v)
		if err != nil {
			return err
		}
		st.Pinned[v] = p // nil: foreign or missing
	}
	return nil
}

// observeNewest reads the newest version imgctl wrote (newer dated tags
// whose manifests are foreign or missing are recorded and passed over),
// the superseded versions not yet marked and, for a retired image, whether
// the newest is marked.
func observeNewest(ctx context.Context, reg Registry, st *ImageState, im *spec.Image, versions []string, pol spec.Policy, unlocked bool) error {
	for i := len(versions) - 1; i >= 0; i-- {
		p, err := readVersion(ctx, reg, st, versions[i])
		if err != nil {
			return err
		}
		if p == nil {
			continue
		}
		st.Newest = p
		// What the newest holds outside its lock is read while the older
		// versions' markers are.
		var uerr error
		done := make(chan struct{})
		go func() {
			defer close(done)
			if ur, ok := reg.(UnlockedReader); ok && unlocked && p.Annotations[published.AnnotationLock] != "" {
				if st.Unlocked, uerr = ur.Unlocked(ctx, st.Repository, p); uerr != nil {
					uerr = fmt.Errorf("reading what %s holds outside its lock: %w", p.Version, uerr)
				}
			}
		}()
		err = observeUnmarked(ctx, reg, st, versions[:i], pol)
		<-done
		if err != nil {
			return err
		}
		if uerr != nil {
			return uerr
		}
		if im.Deprecated != nil {
			st.NewestMarked, err = marked(ctx, reg, st, p.Version, p.Digest, pol)
		}
		return err
	}
	return nil
}

// fanOut runs reads concurrently: each on g when g has a free slot, the
// rest one after the other in the caller's goroutine, so that they stay
// within g's bound and never wait for a slot the caller may hold. It waits
// for all and returns the first error; failures are not reported to g, the
// caller reports them with its context.
func fanOut(g *errgroup.Group, reads []func() error) error {
	errs := make([]error, len(reads))
	var wg sync.WaitGroup
	for i, read := range reads {
		if i == len(reads)-1 { // the caller's slot is free for the last one
			errs[i] = read()
			break
		}
		wg.Add(1)
		if !g.TryGo(func() error { defer wg.Done(); errs[i] = read(); return nil }) {
			wg.Done()
			errs[i] = read()
		}
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// MovingTags are the tags that follow an image's newest version: latest,
// then the spec's tags and the version tags of its lock, sorted.
func MovingTags(im *spec.Image) []string {
	return append([]string{"latest"}, sortedCopy(append(append([]string{}, im.Tags...), im.LockTags...))...)
}

// namedVersions bounds how many older versions observeMoving resolves to
// name the version a stray moving tag points at.
const namedVersions = 4

// observeMoving records where the moving tags that exist point (read by
// observeImage, one HEAD each), so that a plan repairs tags an interrupted
// publish left behind. For a tag not on the newest version it resolves a
// few older versions, newest first, to name the one it is on; when none
// is, it reads the manifest the tag points at: one imgctl did not write is
// recorded as foreign (a hand-pushed latest).
func observeMoving(ctx context.Context, reg Registry, st *ImageState, moving, digests, versions []string) error {
	for i, t := range moving {
		d := digests[i]
		if st.TagDigests == nil {
			st.TagDigests = map[string]string{}
		}
		st.TagDigests[t] = d
		if st.Newest != nil && d == st.Newest.Digest {
			continue
		}
		older := versions
		if st.Newest != nil {
			older = versions[:slices.Index(versions, st.Newest.Version)]
		}
		named := false
		for i := len(older) - 1; i >= 0 && i >= len(older)-namedVersions; i-- {
			if st.IsForeign(older[i]) {
				continue
			}
			vd, err := versionDigest(ctx, reg, st, older[i])
			if err != nil {
				return err
			}
			if vd == d {
				if st.TagVersions == nil {
					st.TagVersions = map[string]string{}
				}
				st.TagVersions[t] = older[i]
				named = true
				break
			}
		}
		if named {
			continue
		}
		p, err := reg.Manifest(ctx, st.Repository+"@"+d)
		switch {
		case errors.Is(err, published.ErrNotFound):
			st.foreign(t, d, ForeignMissing)
		case err != nil:
			return err
		case !p.Written():
			st.foreign(t, d, ForeignImage)
		}
	}
	return nil
}

// versionDigest is the digest of a dated version, from what was read
// already when possible.
func versionDigest(ctx context.Context, reg Registry, st *ImageState, v string) (string, error) {
	for _, u := range st.Unmarked {
		if u.Tag == v {
			return u.Digest, nil
		}
	}
	return reg.Resolve(ctx, st.Repository+":"+v)
}

// observeUnmarked finds superseded versions whose marking was interrupted,
// among the dated versions older than the newest (older). With the
// deprecated-tag policy the "-deprecated" tag, written after the marker,
// tells without a request (a version lacking it is read, and re-marked
// when imgctl wrote it: marking is idempotent); otherwise the referrers of
// the previous version imgctl wrote are read. Foreign versions are
// recorded and never marked.
func observeUnmarked(ctx context.Context, reg Registry, st *ImageState, older []string, pol spec.Policy) error {
	if pol.DeprecatedTag {
		for _, v := range older {
			if has(st.Tags, v+published.DeprecatedSuffix) {
				continue
			}
			p, err := readVersion(ctx, reg, st, v)
			if err != nil {
				return err
			}
			if p != nil {
				st.Unmarked = append(st.Unmarked, Version{Tag: v, Digest: p.Digest})
			}
		}
		return nil
	}
	for i := len(older) - 1; i >= 0; i-- {
		p, err := readVersion(ctx, reg, st, older[i])
		if err != nil {
			return err
		}
		if p == nil {
			continue
		}
		ok, err := reg.Marked(ctx, st.Repository, p.Digest)
		if err != nil || ok {
			return err
		}
		st.Unmarked = append(st.Unmarked, Version{Tag: older[i], Digest: p.Digest})
		return nil
	}
	return nil
}

func marked(ctx context.Context, reg Registry, st *ImageState, v, digest string, pol spec.Policy) (bool, error) {
	if pol.DeprecatedTag && has(st.Tags, v+published.DeprecatedSuffix) {
		return true, nil
	}
	return reg.Marked(ctx, st.Repository, digest)
}

func has(sorted []string, s string) bool {
	i := sort.SearchStrings(sorted, s)
	return i < len(sorted) && sorted[i] == s
}

// scope returns the images to plan: all, or the targets and their
// ancestors, in graph order.
func scope(lib *spec.Library, targets []string) ([]string, error) {
	g := lib.Graph()
	if len(targets) == 0 {
		return g.Order(), nil
	}
	for _, t := range targets {
		if lib.Image(t) == nil {
			return nil, fmt.Errorf("--target %s: no such image in the library", t)
		}
	}
	return g.Closure(targets), nil
}

// Make observes the registry and computes the plan.
func Make(ctx context.Context, lib *spec.Library, reg Registry, obs ObserveOptions, opts Options) (*Plan, *Snapshot, error) {
	snap, err := Observe(ctx, lib, reg, obs)
	if err != nil {
		return nil, nil, err
	}
	p, err := Compute(lib, snap, opts)
	return p, snap, err
}
