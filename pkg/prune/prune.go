package prune

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"

	"golang.org/x/sync/errgroup"

	"github.com/imgctl/imgctl/pkg/published"
	"github.com/imgctl/imgctl/pkg/regclient"
	"github.com/imgctl/imgctl/pkg/retention"
)

// ErrStalePlan is returned when a version's tag no longer points at the
// digest the plan saw.
var ErrStalePlan = errors.New("plan is stale")

// ErrTagRemains is returned when a tag survived the deletion of its
// manifest on a registry that deletes tags by digest only.
var ErrTagRemains = errors.New("tag remains after its manifest was deleted")

// Registry is what prune needs of a registry (regclient.Client). Deletes
// and lookups of what is gone answer published.ErrNotFound.
type Registry interface {
	// CheckDelete reports whether repo's registry deletes manifests,
	// deleting nothing.
	CheckDelete(ctx context.Context, repo string) error
	// Delete deletes the manifest with digest from repo.
	Delete(ctx context.Context, repo, digest string) error
	// Untag deletes a tag; registries that delete by digest only answer
	// regclient.ErrTagDeleteUnsupported, after which the tag is resolved
	// to check it went with its manifest.
	Untag(ctx context.Context, repo, tag string) error
	// Referrers lists the digests referring to repo@digest.
	Referrers(ctx context.Context, repo, digest string) ([]string, error)
	ListTags(ctx context.Context, repo string) ([]string, error)
	// Resolve returns the digest ref (repo:tag) points at.
	Resolve(ctx context.Context, ref string) (string, error)
	// PutArtifact writes an annotation-only artifact manifest under tag.
	PutArtifact(ctx context.Context, repo, tag string, raw []byte) error
}

// Options configure Apply.
type Options struct {
	// Jobs bounds the versions deleted at once; the default is 1.
	Jobs int
	// Log, when set, gets one line per version deleted.
	Log io.Writer
}

// Result counts what Apply deleted.
type Result struct {
	Versions  int `json:"versions"`
	Manifests int `json:"manifests"`
	Referrers int `json:"referrers"`
	Tags      int `json:"tags"`
}

// work is one version (or the rest of an interrupted prune) to delete.
type work struct {
	repo, version, digest string
	del                   *retention.Deletion // nil: the index is gone
}

// Apply deletes what p chose, in the order the package documentation
// explains. It checks first that every registry deletes and that the plan
// is current; then nothing is left half done that a re-run would not
// finish.
func Apply(ctx context.Context, reg Registry, p *retention.Plan, opts Options) (Result, error) {
	var todo []work
	repos := map[string]bool{}
	var order []string
	for _, im := range p.Images {
		for _, v := range im.Versions {
			if v.Action == retention.Delete && v.Delete != nil {
				todo = append(todo, work{repo: im.Repository, version: v.Version, digest: v.Digest, del: v.Delete})
			}
		}
		for _, u := range im.Unfinished {
			todo = append(todo, work{repo: im.Repository, digest: u.Digest})
		}
	}
	for _, w := range todo {
		if !repos[w.repo] {
			repos[w.repo] = true
			order = append(order, w.repo)
		}
	}
	var res Result
	if len(todo) == 0 {
		return res, nil
	}
	for _, repo := range order {
		if err := reg.CheckDelete(ctx, repo); err != nil {
			return res, err
		}
	}
	for _, w := range todo {
		if w.del == nil {
			continue
		}
		d, err := reg.Resolve(ctx, w.repo+":"+w.version)
		if err != nil && !errors.Is(err, published.ErrNotFound) {
			return res, err
		}
		if d != "" && d != w.digest {
			return res, fmt.Errorf("%s:%s points at %s, the plan saw %s: %w", w.repo, w.version, d, w.digest, ErrStalePlan)
		}
	}
	tags := map[string][]string{}
	for _, repo := range order {
		ts, err := reg.ListTags(ctx, repo)
		if err != nil {
			return res, err
		}
		tags[repo] = ts
	}

	var mu sync.Mutex
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(max(1, opts.Jobs))
	for _, w := range todo {
		g.Go(func() error {
			a := &applier{reg: reg, repo: w.repo, tags: tags[w.repo], seen: map[string]bool{}}
			if err := a.version(gctx, w); err != nil {
				return err
			}
			mu.Lock()
			defer mu.Unlock()
			res.Manifests += a.res.Manifests
			res.Referrers += a.res.Referrers
			res.Tags += a.res.Tags
			if w.del != nil {
				res.Versions++
			}
			if opts.Log != nil {
				what := w.version
				if w.del == nil {
					what = "the rest of an interrupted prune of " + published.ShortDigest(w.digest)
				}
				fmt.Fprintf(opts.Log, "deleted %s from %s: %d manifests, %d referrers, %d tags\n", what, w.repo, a.res.Manifests, a.res.Referrers, a.res.Tags)
			}
			return nil
		})
	}
	return res, g.Wait()
}

// applier deletes one version.
type applier struct {
	reg  Registry
	repo string
	tags []string        // the repository's tags when Apply started
	seen map[string]bool // referrers already deleted (or being)
	res  Result
}

func (a *applier) version(ctx context.Context, w work) error {
	tomb := published.PruneTag(w.digest)
	if w.del != nil {
		raw, err := Tombstone(w.repo, w.version, w.digest)
		if err != nil {
			return err
		}
		if err := a.reg.PutArtifact(ctx, w.repo, tomb, raw); err != nil {
			return fmt.Errorf("writing the tombstone of %s:%s: %w", w.repo, w.version, err)
		}
		for _, m := range w.del.Manifests {
			if m.Kind == retention.IndexManifest {
				continue
			}
			if err := a.referrers(ctx, m.Digest); err != nil {
				return err
			}
			if err := a.deleteManifest(ctx, m.Digest, &a.res.Manifests); err != nil {
				return err
			}
		}
		if err := a.referrers(ctx, w.digest); err != nil {
			return err
		}
		if err := a.deleteManifest(ctx, w.digest, &a.res.Manifests); err != nil {
			return err
		}
		for _, t := range w.del.Tags {
			if err := a.untag(ctx, t, w.digest); err != nil {
				return err
			}
		}
	} else if err := a.referrers(ctx, w.digest); err != nil { // the index is gone
		return err
	}
	d, err := a.reg.Resolve(ctx, w.repo+":"+tomb)
	switch {
	case errors.Is(err, published.ErrNotFound):
		return nil
	case err != nil:
		return err
	}
	if err := a.deleteManifest(ctx, d, nil); err != nil {
		return err
	}
	return a.untag(ctx, tomb, d)
}

// referrers deletes everything that refers to subject: the referrers
// listed (through the API or the fallback index), each after its own
// referrers; the artifacts tagged sha256-<hex>.<suffix> (signatures,
// attestations); and the fallback index, after the entries it lists.
func (a *applier) referrers(ctx context.Context, subject string) error {
	refs, err := a.reg.Referrers(ctx, a.repo, subject)
	if err != nil {
		return err
	}
	for _, r := range refs {
		if a.seen[r] {
			continue
		}
		a.seen[r] = true
		if err := a.referrers(ctx, r); err != nil {
			return err
		}
		if err := a.deleteManifest(ctx, r, &a.res.Referrers); err != nil {
			return err
		}
	}
	var fallback string
	for _, t := range a.tags {
		d, suffix, ok := published.ArtifactSubject(t)
		if !ok || d != subject || suffix == published.PruneSuffix {
			continue
		}
		if suffix == "" {
			fallback = t
			continue
		}
		if err := a.tagged(ctx, t); err != nil {
			return err
		}
	}
	if fallback != "" {
		return a.tagged(ctx, fallback)
	}
	return nil
}

// tagged deletes the artifact tag t: its referrers, its manifest, the tag.
func (a *applier) tagged(ctx context.Context, t string) error {
	d, err := a.reg.Resolve(ctx, a.repo+":"+t)
	switch {
	case errors.Is(err, published.ErrNotFound):
		return nil
	case err != nil:
		return err
	}
	if !a.seen[d] {
		a.seen[d] = true
		if err := a.referrers(ctx, d); err != nil {
			return err
		}
	}
	if err := a.deleteManifest(ctx, d, &a.res.Referrers); err != nil {
		return err
	}
	return a.untag(ctx, t, d)
}

// deleteManifest deletes digest; one already gone counts as done (and is
// not counted).
func (a *applier) deleteManifest(ctx context.Context, digest string, n *int) error {
	err := a.reg.Delete(ctx, a.repo, digest)
	switch {
	case errors.Is(err, published.ErrNotFound):
		return nil
	case err != nil:
		return err
	}
	if n != nil {
		*n++
	}
	return nil
}

// untag removes tag, which pointed at digest (deleted already). On a
// registry that removed it with the manifest the tag is simply gone.
func (a *applier) untag(ctx context.Context, tag, digest string) error {
	err := a.reg.Untag(ctx, a.repo, tag)
	if err == nil {
		a.res.Tags++
		return nil
	}
	if errors.Is(err, regclient.ErrTagDeleteUnsupported) {
		// Deleting by name unsupported: the tag must have gone with the
		// manifest.
		d, rerr := a.reg.Resolve(ctx, a.repo+":"+tag)
		if errors.Is(rerr, published.ErrNotFound) {
			return nil
		}
		if rerr != nil {
			return rerr
		}
		return fmt.Errorf("%s:%s (at %s): %w: %v", a.repo, tag, d, ErrTagRemains, err)
	}
	if errors.Is(err, published.ErrNotFound) {
		return nil
	}
	return err
}

// TombstoneType is the artifactType (and config media type) of a
// tombstone.
const TombstoneType = "application/vnd.imgctl.prune.v1"

// Annotations on a tombstone.
const (
	AnnotationVersion = "io.imgctl.prune.version"
	AnnotationSubject = "io.imgctl.prune.subject"
)

// Tombstone is the manifest recording that a prune is deleting version
// (index digest) of repo: annotations only, no subject (it must not be a
// referrer of what it outlives), the same bytes every time.
func Tombstone(repo, version, digest string) ([]byte, error) {
	type desc struct {
		MediaType string `json:"mediaType"`
		Digest    string `json:"digest"`
		Size      int    `json:"size"`
	}
	empty := "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
	m := struct {
		SchemaVersion int               `json:"schemaVersion"`
		MediaType     string            `json:"mediaType"`
		ArtifactType  string            `json:"artifactType"`
		Config        desc              `json:"config"`
		Layers        []desc            `json:"layers"`
		Annotations   map[string]string `json:"annotations"`
	}{
		SchemaVersion: 2,
		MediaType:     "application/vnd.oci.image.manifest.v1+json",
		ArtifactType:  TombstoneType,
		Config:        desc{MediaType: TombstoneType, Digest: empty, Size: 2},
		Layers:        []desc{{MediaType: "application/vnd.oci.empty.v1+json", Digest: empty, Size: 2}},
		Annotations:   map[string]string{AnnotationVersion: repo + ":" + version, AnnotationSubject: digest},
	}
	return json.Marshal(m)
}
