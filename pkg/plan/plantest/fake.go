package plantest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/imgctl/imgctl/pkg/plan"
	"github.com/imgctl/imgctl/pkg/published"
	"github.com/imgctl/imgctl/pkg/regclient"
	"github.com/imgctl/imgctl/pkg/spec"
)

// Registry is an in-memory registry: repositories of tags pointing at
// manifests with annotations. It counts requests.
type Registry struct {
	mu        sync.Mutex
	repos     map[string]map[string]string // repo -> tag -> digest
	manifests map[string]map[string]string // digest -> annotations
	marked    map[string]bool              // repo@digest -> has marker
	platforms map[string][]string          // digest -> platforms (default linux/amd64)
	deleted   map[string]bool              // digest -> manifest deleted, tags kept
	Requests  int
}

var (
	_ plan.Registry         = (*Registry)(nil)
	_ plan.PlatformResolver = (*Registry)(nil)
)

// New returns an empty registry.
func New() *Registry {
	return &Registry{repos: map[string]map[string]string{}, manifests: map[string]map[string]string{}, marked: map[string]bool{}, platforms: map[string][]string{}, deleted: map[string]bool{}}
}

// PutManifest stores a manifest with annotations in repo, untagged.
func (r *Registry) PutManifest(repo, digest string, ann map[string]string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.repos[repo] == nil {
		r.repos[repo] = map[string]string{}
	}
	r.manifests[digest] = ann
}

// Put points repo:tag at digest, storing the manifest's annotations when
// ann is not nil.
func (r *Registry) Put(repo, tag, digest string, ann map[string]string) {
	if ann != nil {
		r.PutManifest(repo, digest, ann)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.repos[repo] == nil {
		r.repos[repo] = map[string]string{}
	}
	r.repos[repo][tag] = digest
	if r.manifests[digest] == nil {
		r.manifests[digest] = map[string]string{}
	}
}

// DeleteManifest deletes the manifest digest but keeps the tags pointing
// at it: they are listed and resolve, and reading the manifest fails
// with regclient.ErrNotFound (a registry whose tag outlived its
// manifest).
func (r *Registry) DeleteManifest(digest string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.deleted[digest] = true
}

// DeleteRepository deletes repo and its tags (an upstream that removed
// an image); the manifests other repositories name stay.
func (r *Registry) DeleteRepository(repo string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.repos, repo)
}

// Mark attaches a lifecycle marker to repo@digest.
func (r *Registry) Mark(repo, digest string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.marked[repo+"@"+digest] = true
}

// TagDigest returns what repo:tag points at ("" when absent).
func (r *Registry) TagDigest(repo, tag string) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.repos[repo][tag]
}

// ListTags implements plan.Registry.
func (r *Registry) ListTags(_ context.Context, repo string) ([]string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.Requests++
	var out []string
	for t := range r.repos[repo] {
		out = append(out, t)
	}
	sort.Strings(out)
	return out, nil
}

// Manifest implements plan.Registry.
func (r *Registry) Manifest(_ context.Context, ref string) (*published.Manifest, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.Requests++
	d, err := r.resolve(ref)
	if err != nil {
		return nil, err
	}
	if r.deleted[d] {
		return nil, fmt.Errorf("%s: manifest %s: %w", ref, d, regclient.ErrNotFound)
	}
	ann := map[string]string{}
	for k, v := range r.manifests[d] {
		ann[k] = v
	}
	return &published.Manifest{Digest: d, Annotations: ann}, nil
}

// Resolve implements plan.Registry.
func (r *Registry) Resolve(_ context.Context, ref string) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.Requests++
	return r.resolve(ref)
}

func (r *Registry) resolve(ref string) (string, error) {
	if repo, d, ok := strings.Cut(ref, "@"); ok {
		if _, ok := r.manifests[d]; ok && r.repos[repo] != nil {
			return d, nil
		}
		return "", fmt.Errorf("%s: %w", ref, regclient.ErrNotFound)
	}
	i := strings.LastIndex(ref, ":")
	if i < 0 || strings.Contains(ref[i:], "/") {
		ref, i = ref+":latest", len(ref)
	}
	if d, ok := r.repos[ref[:i]][ref[i+1:]]; ok {
		return d, nil
	}
	return "", fmt.Errorf("%s: %w", ref, regclient.ErrNotFound)
}

// SetPlatforms says which platforms the manifest digest provides (sorted,
// "os/arch"); without it, linux/amd64.
func (r *Registry) SetPlatforms(digest string, plats ...string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.platforms[digest] = plats
}

// Platforms implements plan.PlatformResolver: one request.
func (r *Registry) Platforms(_ context.Context, ref string) (string, []string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.Requests++
	d, err := r.resolve(ref)
	if err != nil {
		return "", nil, err
	}
	if p, ok := r.platforms[d]; ok {
		return d, p, nil
	}
	return d, []string{"linux/amd64"}, nil
}

// Marked implements plan.Registry.
func (r *Registry) Marked(_ context.Context, repo, digest string) (bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.Requests++
	return r.marked[repo+"@"+digest], nil
}

// Apply publishes p into r as imgctl publish would, without building: each
// built image gets a digest derived from its content key, then its tags;
// superseded versions are marked and tagged. It returns the new digests.
func Apply(r *Registry, lib *spec.Library, p *plan.Plan) map[string]string {
	built := map[string]string{}
	for _, st := range p.Images {
		if st.Action != plan.Build {
			continue
		}
		base := st.Base.Digest
		if st.Base.RebuiltInPlan {
			base = built[st.Base.Image]
		}
		ann := plan.Annotations(lib.Image(st.Name), st.Base.Ref, base)
		sum := sha256.Sum256([]byte(st.Repository + ann[published.AnnotationContentKey]))
		d := "sha256:" + hex.EncodeToString(sum[:])
		built[st.Name] = d
		r.PutManifest(st.Repository, d, ann)
	}
	for _, t := range p.Tags {
		d := t.Digest
		if d == "" {
			d = built[t.Image]
		}
		r.Put(t.Repository, t.Tag, d, nil)
	}
	for _, d := range p.Deprecations {
		r.Mark(d.Repository, d.Digest)
		if d.Tag != "" {
			r.Put(d.Repository, d.Tag, d.Digest, nil)
		}
	}
	return built
}
