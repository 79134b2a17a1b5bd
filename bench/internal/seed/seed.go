package seed

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"golang.org/x/sync/errgroup"

	"github.com/imgctl/imgctl/pkg/plan"
	"github.com/imgctl/imgctl/pkg/published"
	"github.com/imgctl/imgctl/pkg/regclient"
	"github.com/imgctl/imgctl/pkg/spec"
)

// Options say what to seed.
type Options struct {
	// Version is the dated version every image is published as, e.g.
	// "2026.11.01". Pinned parents must pin Version or Previous.
	Version string
	// Previous, when set, is an older version published first with other
	// base digests (as if each parent had moved on since) and already
	// superseded: tagged "<Previous>-deprecated", as publish leaves it.
	Previous string
	// Jobs bounds concurrent pushes; the default is 16.
	Jobs int
}

// Result counts what was written.
type Result struct {
	Images    int
	Manifests int
	Tags      int
}

// version is one image's seeded manifest.
type version struct {
	img    v1.Image
	digest string
}

// Seed publishes lib into its registry through c. Manifests are computed in
// graph order (a child's annotations name its parent's digest), then pushed
// concurrently.
func Seed(ctx context.Context, lib *spec.Library, c *regclient.Client, o Options) (Result, error) {
	if !spec.ValidVersion(o.Version) || (o.Previous != "" && !spec.ValidVersion(o.Previous)) {
		return Result{}, fmt.Errorf("seeding: versions %q, %q: want YYYY.MM.DD", o.Version, o.Previous)
	}
	if o.Previous != "" && o.Previous >= o.Version {
		return Result{}, fmt.Errorf("seeding: previous version %s does not sort before %s", o.Previous, o.Version)
	}
	jobs := o.Jobs
	if jobs <= 0 {
		jobs = 16
	}
	base, err := baseImage()
	if err != nil {
		return Result{}, err
	}
	order := lib.Graph().Order()
	// seeded[name][version] is the manifest pushed for that version.
	seeded := make(map[string]map[string]version, len(order))
	for _, n := range order {
		im := lib.Image(n)
		if im.Deprecated != nil {
			return Result{}, fmt.Errorf("seeding %s: deprecated images are not supported", n)
		}
		seeded[n] = map[string]version{}
		for _, v := range []string{o.Previous, o.Version} {
			if v == "" {
				continue
			}
			ref, digest, err := baseOf(lib, im, seeded, v, o)
			if err != nil {
				return Result{}, fmt.Errorf("seeding %s: %w", n, err)
			}
			img := mutate.Annotations(base, plan.Annotations(im, ref, digest)).(v1.Image)
			d, err := img.Digest()
			if err != nil {
				return Result{}, fmt.Errorf("seeding %s: %w", n, err)
			}
			seeded[n][v] = version{img: img, digest: d.String()}
		}
	}

	// One pusher: one handshake per repository, blobs checked once per repository.
	target, err := c.Repository(lib.Registry)
	if err != nil {
		return Result{}, fmt.Errorf("seeding: %w", err)
	}
	wopts, err := c.WriteOptions(ctx, target)
	if err != nil {
		return Result{}, fmt.Errorf("seeding: %w", err)
	}
	pusher, err := remote.NewPusher(wopts...)
	if err != nil {
		return Result{}, fmt.Errorf("seeding: %w", err)
	}
	var res Result
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(jobs)
	counts := make([]Result, len(order))
	for i, n := range order {
		g.Go(func() error {
			r, err := push(gctx, pusher, c, lib.Registry+"/"+n, lib.Image(n), seeded[n], o)
			if err != nil {
				return fmt.Errorf("seeding %s: %w", n, err)
			}
			counts[i] = r
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return Result{}, err
	}
	for _, r := range counts {
		res.Manifests += r.Manifests
		res.Tags += r.Tags
	}
	res.Images = len(order)
	return res, nil
}

// baseOf returns the base reference and digest version v of im is built on,
// as publish records them: the external reference and its digest for a
// root, the parent's repository and seeded digest otherwise.
func baseOf(lib *spec.Library, im *spec.Image, seeded map[string]map[string]version, v string, o Options) (string, string, error) {
	if im.IsExternal() {
		if im.From == "scratch" {
			return "scratch", "", nil
		}
		_, d, ok := strings.Cut(im.From, "@")
		if !ok {
			return "", "", fmt.Errorf("external base %q is not given by digest", im.From)
		}
		if v != o.Version {
			d = olderDigest(d)
		}
		return im.From, d, nil
	}
	pv := v
	if im.ParentVersion != "" {
		pv = im.ParentVersion
	}
	p, ok := seeded[im.Parent][pv]
	if !ok {
		return "", "", fmt.Errorf("parent %s@%s is not seeded (pins must name %s or %s)", im.Parent, pv, o.Version, o.Previous)
	}
	return lib.Registry + "/" + im.Parent, p.digest, nil
}

// olderDigest stands for what an external base pointed at before: a
// digest derived from the current one.
func olderDigest(d string) string {
	sum := sha256.Sum256([]byte("previous " + d))
	return "sha256:" + hex.EncodeToString(sum[:])
}

func push(ctx context.Context, pusher *remote.Pusher, c *regclient.Client, repo string, im *spec.Image, vs map[string]version, o Options) (Result, error) {
	var r Result
	// write pushes the image (blobs and manifest) under its first tag.
	write := func(t string, v version) error {
		ref, err := c.Reference(repo + ":" + t)
		if err != nil {
			return err
		}
		r.Manifests++
		r.Tags++
		return pusher.Push(ctx, ref, v.img)
	}
	// tag puts the already pushed manifest under another tag.
	tag := func(t string, v version) error {
		ref, err := c.Reference(repo + ":" + t)
		if err != nil {
			return err
		}
		r.Tags++
		return pusher.Put(ctx, ref, v.img)
	}
	if o.Previous != "" {
		prev := vs[o.Previous]
		if err := write(o.Previous, prev); err != nil {
			return r, err
		}
		if err := tag(o.Previous+published.DeprecatedSuffix, prev); err != nil {
			return r, err
		}
	}
	cur := vs[o.Version]
	if err := write(o.Version, cur); err != nil {
		return r, err
	}
	for _, t := range append([]string{"latest"}, im.Tags...) {
		if err := tag(t, cur); err != nil {
			return r, err
		}
	}
	return r, nil
}

// Upstream pushes, as repo:12, a tiny image standing for the library's
// external base, on the platform of a root that sets none
// (spec.DefaultPlatforms), and returns its reference by digest, for
// genlib.Options.RootFrom: plan reads the manifest and platforms of
// external bases, so they must be served.
func Upstream(ctx context.Context, c *regclient.Client, repo string) (string, error) {
	img, err := baseImage()
	if err != nil {
		return "", err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return "", fmt.Errorf("making the upstream image: %w", err)
	}
	cf = cf.DeepCopy()
	p, err := v1.ParsePlatform(spec.DefaultPlatforms[0])
	if err != nil {
		return "", fmt.Errorf("making the upstream image: %w", err)
	}
	cf.OS, cf.Architecture, cf.Variant = p.OS, p.Architecture, p.Variant
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		return "", fmt.Errorf("making the upstream image: %w", err)
	}
	d, err := img.Digest()
	if err != nil {
		return "", fmt.Errorf("making the upstream image: %w", err)
	}
	ref, err := c.Reference(repo + ":12")
	if err != nil {
		return "", err
	}
	wopts, err := c.WriteOptions(ctx, ref.Context())
	if err != nil {
		return "", fmt.Errorf("pushing %s: %w", ref, err)
	}
	if err := remote.Write(ref, img, wopts...); err != nil {
		return "", fmt.Errorf("pushing %s: %w", ref, err)
	}
	return repo + "@" + d.String(), nil
}

// baseImage is the image every seeded manifest shares: an OCI image with
// one tiny layer. Only the manifest annotations differ between images.
func baseImage() (v1.Image, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	body := []byte("seeded by imgctl bench/cmd/seed\n")
	if err := tw.WriteHeader(&tar.Header{Name: "etc/imgctl-bench", Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg}); err != nil {
		return nil, err
	}
	if _, err := tw.Write(body); err != nil {
		return nil, err
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	img, err := mutate.AppendLayers(img, static.NewLayer(buf.Bytes(), types.OCIUncompressedLayer))
	if err != nil {
		return nil, fmt.Errorf("making the seed image: %w", err)
	}
	return img, nil
}
