package publish

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/moby/buildkit/client"
	"golang.org/x/sync/errgroup"

	"github.com/imgctl/imgctl/pkg/published"

	"github.com/imgctl/imgctl/pkg/build"
	"github.com/imgctl/imgctl/pkg/lock"
	"github.com/imgctl/imgctl/pkg/plan"
	"github.com/imgctl/imgctl/pkg/regclient"
	"github.com/imgctl/imgctl/pkg/sizebudget"
	"github.com/imgctl/imgctl/pkg/spec"
)

// BuildError says which image failed to build. Its message is the
// builder's, which names the image and the failing step.
type BuildError struct {
	Image string
	Err   error
}

func (e *BuildError) Error() string { return e.Err.Error() }
func (e *BuildError) Unwrap() error { return e.Err }

// result is one image's build outcome, awaited by its children.
type result struct {
	done  chan struct{}
	built Built
	err   error
}

// buildAll builds every Build step; a child starts as soon as its parent is
// pushed, FROM the digest the parent was pushed as; an image on an
// external base in mirrored is built FROM the copy. It returns what was
// built.
func (pub *Publisher) buildAll(ctx context.Context, lib *spec.Library, p *plan.Plan, attest build.Attestations, builderSlots int, mirrored map[string]string, status chan *client.SolveStatus) (map[string]Built, error) {
	results := map[string]*result{}
	for _, st := range p.Images {
		if st.Action == plan.Build {
			results[st.Name] = &result{done: make(chan struct{})}
		}
	}
	g, gctx := errgroup.WithContext(ctx)
	slots := pub.Jobs
	if builderSlots > 0 {
		slots = builderSlots
	}
	sem := make(chan struct{}, max(1, slots))
	for _, st := range p.Images {
		if st.Action != plan.Build {
			continue
		}
		r := results[st.Name]
		g.Go(func() error {
			defer close(r.done)
			baseDigest := st.Base.Digest
			parentUnchanged := false
			if st.Base.RebuiltInPlan {
				pr := results[st.Base.Image]
				select { // wait for the parent, or give up with everyone else
				case <-pr.done:
				case <-gctx.Done():
					r.err = gctx.Err()
					return nil
				}
				if pr.err != nil {
					r.err = pr.err
					return nil
				}
				baseDigest = pr.built.Digest
				if pr.built.Unchanged {
					// The parent's refresh published nothing: this image
					// is built, if at all, on the parent's newest version.
					parentUnchanged, baseDigest = true, pr.built.Previous
					if !st.Refresh {
						r.built = Built{Image: st.Name, Unchanged: true, Previous: st.Previous.Digest,
							Changes: "unchanged: parent " + st.Base.Image + " refreshed with no change"}
						return nil
					}
				}
			}
			select {
			case sem <- struct{}{}:
			case <-gctx.Done():
				r.err = gctx.Err()
				return nil
			}
			defer func() { <-sem }()
			copyRef := ""
			if st.Base.Image == "" {
				copyRef = mirrored[st.Base.Ref]
			}
			r.built, r.err = pub.buildOne(gctx, lib, st, baseDigest, copyRef, !st.Base.RebuiltInPlan || parentUnchanged, attest, status)
			if r.err != nil {
				r.err = &BuildError{Image: st.Name, Err: r.err}
				return r.err
			}
			return nil
		})
	}
	err := g.Wait()
	out := map[string]Built{}
	for n, r := range results {
		if r.err == nil && (r.built.Digest != "" || r.built.Unchanged) {
			out[n] = r.built
		}
	}
	return out, err
}

// buildOne builds st on baseDigest. sameBase says the base is the one the
// newest version was built on: a refresh is then compared with it.
// copyRef, when not "", is the mirror's copy of the external base
// (PREFIX/<path>@<digest>): the build is FROM it, and its annotations
// record it beside the upstream reference.
func (pub *Publisher) buildOne(ctx context.Context, lib *spec.Library, st plan.ImageStep, baseDigest, copyRef string, sameBase bool, attest build.Attestations, status chan *client.SolveStatus) (Built, error) {
	im := lib.Image(st.Name)
	baseRef, err := baseReference(st.Base, baseDigest)
	if err != nil {
		return Built{}, err
	}
	ann := plan.Annotations(im, st.Base.Ref, baseDigest)
	if copyRef != "" {
		baseRef = copyRef
		ann[published.AnnotationBaseMirror] = copyRef
	}
	if pub.Source != "" {
		ann[published.AnnotationSource] = pub.Source
	}
	if pub.Revision != "" {
		ann[published.AnnotationRevision] = pub.Revision
	}
	secrets, err := pub.secrets(im)
	if err != nil {
		return Built{}, err
	}
	req := build.Request{
		Image:       im,
		SpecDir:     lib.Dir,
		Base:        baseRef,
		Repository:  st.Repository,
		Annotations: ann,
		Insecure:    pub.Insecure,
		BaseRead:    pub.Registry.ReadOptions,
		Secrets:     secrets,
		Attest:      attest,
		Refresh:     st.Refresh,
	}
	if pub.CacheRepo != "" {
		req.CacheRef = pub.CacheRepo + "/" + st.Name + ":buildcache"
		// Import only a cache that exists: a first build's missing cache
		// is expected, and BuildKit would show it as an error.
		_, err := pub.Registry.Head(ctx, req.CacheRef)
		switch {
		case err == nil:
			req.CacheImport = true
		case !errors.Is(err, regclient.ErrNotFound):
			return Built{}, fmt.Errorf("reading build cache %s: %w", req.CacheRef, err)
		}
		pub.premountCache(ctx, st.Name, baseRef, req.CacheRef)
	}
	start := time.Now()
	res, err := pub.Builder.Build(ctx, req, status)
	if err != nil {
		return Built{}, err
	}
	b := Built{Image: st.Name, Version: st.Version, Digest: res.Digest, Duration: time.Since(start), Daemon: res.Daemon}
	if st.Refresh && sameBase && st.Previous != nil {
		same, why, err := pub.Refresher.Same(ctx, st.Repository, st.Previous.Digest, res.Digest)
		if err != nil {
			return Built{}, fmt.Errorf("comparing the refresh of %s with %s: %w", st.Name, st.Previous.Tag, err)
		}
		if same {
			// Pushed by digest and left untagged: nothing is published.
			pub.logger().Info("refreshed: nothing changed", "image", st.Name, "newest", st.Previous.Tag)
			return Built{Image: st.Name, Unchanged: true, Previous: st.Previous.Digest, Duration: b.Duration, Daemon: b.Daemon,
				Changes: "refreshed: nothing changed since " + st.Previous.Tag}, nil
		}
		pub.logger().Info("refreshed: publishing a new version", "image", st.Name, "why", why)
	}
	if im.Locked() && pub.LockChecker != nil && pub.Attest.SBOM != nil {
		unlocked, err := pub.LockChecker.CheckLock(ctx, st.Repository, res.Digest, im.Lock)
		if err != nil {
			return Built{}, fmt.Errorf("checking %s %s against its lock: %w", st.Name, st.Version, err)
		}
		if len(unlocked) > 0 {
			b.Unlocked = unlocked
			pub.logger().Warn("unlocked packages", "image", st.Name, "version", st.Version, "what", lock.UnlockedSummary(unlocked, 5))
		}
	}
	if pub.VulnGate != nil {
		if err := pub.VulnGate.Check(ctx, st.Name, st.Version, st.Repository, res.Digest); err != nil {
			return Built{}, fmt.Errorf("checking %s %s for vulnerabilities: %w", st.Name, st.Version, err)
		}
	}
	if pub.SizeGate != nil && st.SizeBudget != nil {
		// Like a failed test: pushed by digest, no tag moves to it, its
		// children are not built.
		over, err := pub.SizeGate.CheckSize(ctx, st, res.Digest)
		if err != nil {
			if over := (*sizebudget.OverBudgetError)(nil); errors.As(err, &over) {
				return Built{}, fmt.Errorf("%s %s is %w", st.Name, st.Version, err)
			}
			return Built{}, fmt.Errorf("checking the size budget of %s %s: %w", st.Name, st.Version, err)
		}
		if over != "" {
			b.BudgetOverridden = over
			pub.logger().Warn("size budget overridden", "image", st.Name, "version", st.Version)
		}
	}
	if len(st.Tests) > 0 {
		// Pushed by digest, tagged nowhere: the tests decide whether any
		// tag may move to it, and whether the children build on it.
		t0 := time.Now()
		if err := pub.Tester.Test(ctx, st.Repository+"@"+res.Digest, im.Platforms, st.Tests); err != nil {
			return Built{}, fmt.Errorf("testing %s %s: %w", st.Name, st.Version, err)
		}
		b.Tests = len(st.Tests) * len(im.Platforms)
		pub.logger().Info("tested", "image", st.Name, "version", st.Version, "runs", b.Tests, "seconds", time.Since(t0).Seconds())
	}
	return b, nil
}

// premountCache mounts the layers of the base (REPO@DIGEST) into the
// image's cache repository before the build: BuildKit's registry cache
// export uploads every layer of the result that the cache repository
// lacks, base layers included, and never mounts them, so without this a
// child's cache export uploads its parent's layers again — most of what a
// cold publish of a deep library sends. A mount copies no data. It is an
// optimisation only: a registry that refuses it costs the upload, never
// the build.
func (pub *Publisher) premountCache(ctx context.Context, image, baseRef, cacheRef string) {
	if baseRef == "" {
		return
	}
	ref, err := name.ParseReference(cacheRef)
	if err != nil {
		return
	}
	if _, err := pub.Registry.MountLayers(ctx, baseRef, ref.Context().Name()); err != nil && ctx.Err() == nil {
		pub.logger().Info("build cache: base layers not mounted; the cache export uploads them", "image", image, "base", baseRef, "error", err)
	}
}

// baseReference is the digest reference an image is built FROM ("" for scratch).
func baseReference(b plan.Base, digest string) (string, error) {
	if b.Image == "" && b.Ref == "scratch" {
		return "", nil
	}
	if digest == "" {
		return "", fmt.Errorf("base %s has no resolved digest", b.Ref)
	}
	ref, err := name.ParseReference(b.Ref)
	if err != nil {
		return "", fmt.Errorf("parsing base %q: %w", b.Ref, err)
	}
	return ref.Context().Name() + "@" + digest, nil
}

// secrets collects the secrets im's build needs from the environment.
func (pub *Publisher) secrets(im *spec.Image) (map[string][]byte, error) {
	if im.Pip == nil || im.Pip.CredentialsEnv == "" {
		return nil, nil
	}
	env := im.Pip.CredentialsEnv
	var v string
	ok := false
	if pub.Getenv != nil {
		v, ok = pub.Getenv(env)
	}
	if !ok || v == "" {
		return nil, fmt.Errorf("pip.credentialsEnv: environment variable %s is not set (want user:password for %s)", env, im.Pip.Index)
	}
	return map[string][]byte{build.PipCredentialsSecret: []byte(v)}, nil
}
