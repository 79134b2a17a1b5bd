package publish_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/imgctl/imgctl/internal/e2etest"
	"github.com/imgctl/imgctl/pkg/mirror"
	"github.com/imgctl/imgctl/pkg/plan"
	"github.com/imgctl/imgctl/pkg/published"
)

const mirrorLib = `package lib

registry: "REGISTRY/ds"
policy: mirror: "REGISTRY/mirror"
images: base: {from: "UPSTREAM/library/debian:bookworm", env: A: "1"}
images: py: {parent: "base", run: ["echo py"]}
`

// upstreamBase is a two-platform index pushed to an upstream registry,
// with a cosign-style signature tag and an OCI referrer.
type upstreamBase struct {
	repo, digest, sig, referrer string
	children                    []string
}

func pushUpstream(t *testing.T, repo string) upstreamBase {
	t.Helper()
	r, err := name.NewRepository(repo)
	require.NoError(t, err)
	var adds []mutate.IndexAddendum
	u := upstreamBase{repo: repo}
	for _, arch := range []string{"amd64", "arm64"} {
		img, err := random.Image(256, 1)
		require.NoError(t, err)
		d, err := img.Digest()
		require.NoError(t, err)
		u.children = append(u.children, d.String())
		adds = append(adds, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: arch}}})
	}
	idx := mutate.AppendManifests(empty.Index, adds...)
	require.NoError(t, remote.WriteIndex(r.Tag("bookworm"), idx))
	d, err := idx.Digest()
	require.NoError(t, err)
	u.digest = d.String()
	sig, err := random.Image(32, 1)
	require.NoError(t, err)
	require.NoError(t, remote.Write(r.Tag("sha256-"+d.Hex+".sig"), sig))
	sd, _ := sig.Digest()
	u.sig = sd.String()
	desc, err := remote.Head(r.Digest(u.digest))
	require.NoError(t, err)
	ref, err := random.Image(32, 1)
	require.NoError(t, err)
	ref = mutate.MediaType(ref, types.OCIManifestSchema1)
	ref = mutate.ConfigMediaType(ref, "application/vnd.example.report")
	ref = mutate.Subject(ref, *desc).(v1.Image)
	rd, err := ref.Digest()
	require.NoError(t, err)
	require.NoError(t, remote.Write(r.Digest(rd.String()), ref))
	u.referrer = rd.String()
	return u
}

// TestMirroredBaseSurvivesUpstreamDeletion: publish copies the external
// base into policy.mirror by digest — every platform, its signature and
// referrer — and builds FROM the copy, recording both references; once
// the upstream repository is deleted, plan resolves the base from the
// mirror with the warning, and a changed spec still rebuilds.
func TestMirroredBaseSurvivesUpstreamDeletion(t *testing.T) {
	type regs struct {
		target, upstream string
		deleteUpstream   func(t *testing.T, u upstreamBase)
	}
	modes := map[string]func(t *testing.T) regs{
		"distribution-2.8": func(t *testing.T) regs {
			up, storage := e2etest.RegistryWithStorage(t)
			return regs{target: e2etest.Registry(t), upstream: up, deleteUpstream: func(t *testing.T, _ upstreamBase) {
				// What an operator deleting the repository leaves: nothing.
				require.NoError(t, os.RemoveAll(filepath.Join(storage, "docker/registry/v2/repositories/library")))
			}}
		},
		"ggcr-referrers": func(t *testing.T) regs {
			return regs{target: e2etest.InProcessRegistry(t, true), upstream: e2etest.InProcessRegistry(t, true), deleteUpstream: func(t *testing.T, u upstreamBase) {
				r, err := name.NewRepository(u.repo)
				require.NoError(t, err)
				tags, err := remote.List(r)
				require.NoError(t, err)
				for _, tag := range tags {
					require.NoError(t, remote.Delete(r.Tag(tag)))
				}
				for _, d := range append([]string{u.digest, u.sig, u.referrer}, u.children...) {
					_ = remote.Delete(r.Digest(d)) // some are only under their tags
				}
			}}
		},
	}
	for mode, start := range modes {
		t.Run(mode, func(t *testing.T) {
			rg := start(t)
			ctx := context.Background()
			up := pushUpstream(t, rg.upstream+"/library/debian")
			e := newEnv(t, rg.target)
			e.pub.Mirror = &mirror.Mirror{Prefix: rg.target + "/mirror", Registry: e.c}
			e.write(strings.ReplaceAll(mirrorLib, "UPSTREAM", rg.upstream))
			copyRepo := rg.target + "/mirror/library/debian"
			upstreamRef := rg.upstream + "/library/debian:bookworm"

			p, res, err := e.publish("2026-11-01")
			require.NoError(t, err)
			assert.Empty(t, p.Warnings)
			require.Len(t, res.Mirrored, 1)
			assert.False(t, res.Mirrored[0].Present)
			assert.Equal(t, 2, res.Mirrored[0].Artifacts, "the signature and the referrer")
			// The copy: the upstream's digest, every platform, the signature,
			// the referrer, and the mirror's record of the tag.
			d, plats, err := e.c.Platforms(ctx, copyRepo+"@"+up.digest)
			require.NoError(t, err)
			assert.Equal(t, up.digest, d)
			assert.Equal(t, []string{"linux/amd64", "linux/arm64"}, plats)
			for _, c := range up.children {
				mustHead(t, e.c, copyRepo+"@"+c)
			}
			assert.Equal(t, up.sig, mustHead(t, e.c, copyRepo+":sha256-"+strings.TrimPrefix(up.digest, "sha256:")+".sig"))
			refs, err := e.c.Referrers(ctx, copyRepo, up.digest)
			require.NoError(t, err)
			assert.Contains(t, refs, up.referrer)
			assert.Equal(t, up.digest, mustHead(t, e.c, copyRepo+":bookworm"))
			// Built FROM the copy; the annotations name both.
			assert.Equal(t, copyRepo+"@"+up.digest, e.b.bases["base"])
			m, err := e.c.Get(ctx, rg.target+"/ds/base:2026.11.01")
			require.NoError(t, err)
			assert.Equal(t, upstreamRef, m.Annotations[published.AnnotationBaseName])
			assert.Equal(t, up.digest, m.Annotations[published.AnnotationBaseDigest])
			assert.Equal(t, copyRepo+"@"+up.digest, m.Annotations[published.AnnotationBaseMirror])

			// A second publish copies nothing.
			_, res, err = e.publish("2026-11-01")
			require.NoError(t, err)
			assert.Empty(t, res.Mirrored, "nothing built, nothing to mirror")

			rg.deleteUpstream(t, up)
			_, err = e.c.Head(ctx, upstreamRef)
			require.ErrorIs(t, err, published.ErrNotFound, "upstream is gone")

			want := "upstream " + upstreamRef + " is gone; building from mirror " + copyRepo + "@" + up.digest
			_, p = e.plan("2026-11-02")
			assert.False(t, p.HasChanges())
			require.Len(t, p.Warnings, 1)
			assert.Equal(t, want, p.Warnings[0].Message)

			// A changed spec still rebuilds, from the mirror.
			e.write(strings.ReplaceAll(strings.Replace(mirrorLib, `A: "1"`, `A: "2"`, 1), "UPSTREAM", rg.upstream))
			p, res, err = e.publish("2026-11-02")
			require.NoError(t, err)
			assert.Equal(t, plan.Build, p.Step("base").Action)
			require.Len(t, p.Warnings, 1)
			assert.Equal(t, want, p.Warnings[0].Message)
			require.Len(t, res.Mirrored, 1)
			assert.True(t, res.Mirrored[0].Present)
			assert.Equal(t, copyRepo+"@"+up.digest, e.b.bases["base"])
			assert.Equal(t, e.digest("base", "2026.11.02"), e.digest("base", "latest"))
		})
	}
}
