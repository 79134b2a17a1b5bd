package sbom_test

import (
	"context"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/moby/buildkit/client"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/imgctl/imgctl/pkg/build"
	"github.com/imgctl/imgctl/pkg/regclient"
	"github.com/imgctl/imgctl/pkg/sbom"
)

func writeBinaries(t *testing.T, dir, content string, archs ...string) {
	t.Helper()
	if len(archs) == 0 {
		archs = []string{"linux_amd64", "linux_arm64"}
	}
	for _, p := range archs {
		require.NoError(t, os.MkdirAll(filepath.Join(dir, p), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(dir, p, sbom.Binary), []byte(content+p), 0o755))
	}
}

func TestFindLocal(t *testing.T) {
	dir := t.TempDir()
	_, err := sbom.FindLocal(dir)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "the SBOM scanner is not built")
	assert.Contains(t, err.Error(), "hack/scanner.sh")

	// One architecture is enough (the daemons' own).
	writeBinaries(t, dir, "v0", "linux_amd64")
	one, err := sbom.FindLocal(dir)
	require.NoError(t, err)
	assert.True(t, one.Covers("linux/amd64"))
	assert.False(t, one.Covers("linux/arm64"))

	writeBinaries(t, dir, "v1")
	l, err := sbom.FindLocal(dir)
	require.NoError(t, err)
	assert.Regexp(t, `^sbom-scanner-[0-9a-f]{16}$`, l.Tag)
	assert.Equal(t, filepath.Join(dir, "linux_arm64", sbom.Binary), l.Binaries["linux/arm64"])
	again, err := sbom.FindLocal(dir)
	require.NoError(t, err)
	assert.Equal(t, l.Tag, again.Tag, "same binaries, same tag")

	writeBinaries(t, dir, "v2")
	other, err := sbom.FindLocal(dir)
	require.NoError(t, err)
	assert.NotEqual(t, l.Tag, other.Tag, "other binaries, another tag")
	assert.NotEqual(t, one.Tag, l.Tag, "another set of platforms, another tag")

	require.NoError(t, os.Chmod(filepath.Join(dir, "linux_arm64", sbom.Binary), 0o644))
	_, err = sbom.FindLocal(dir)
	assert.ErrorContains(t, err, "is not an executable file")
}

// fakeBuilder pushes a random image where BuildBinary would push the
// scanner; its daemon's platforms are plats (default linux/amd64).
type fakeBuilder struct {
	t     *testing.T
	calls int
	got   build.BinaryImage
	plats []string
}

func (b *fakeBuilder) Capabilities(context.Context) (build.Capabilities, error) {
	plats := b.plats
	if plats == nil {
		plats = []string{"linux/amd64", "linux/arm64"}
	}
	return build.Capabilities{Platforms: plats, Native: plats[:1]}, nil
}

func (b *fakeBuilder) BuildBinary(_ context.Context, bi build.BinaryImage, _ chan *client.SolveStatus) (build.Result, error) {
	b.calls++
	b.got = bi
	img, err := random.Image(64, 1)
	require.NoError(b.t, err)
	repo, err := name.NewRepository(bi.Repository, name.Insecure)
	require.NoError(b.t, err)
	d, err := img.Digest()
	require.NoError(b.t, err)
	require.NoError(b.t, remote.Write(repo.Digest(d.String()), img))
	return build.Result{Digest: d.String()}, nil
}

func TestEnsureAndResolve(t *testing.T) {
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	repo := strings.TrimPrefix(srv.URL, "http://") + "/lib/imgctl-cache"
	dir := t.TempDir()
	writeBinaries(t, dir, "v1")
	l, err := sbom.FindLocal(dir)
	require.NoError(t, err)
	ctx := context.Background()
	reg := regclient.New()
	b := &fakeBuilder{t: t}

	ref, pushed, err := l.Ensure(ctx, reg, b, repo, true, nil)
	require.NoError(t, err)
	assert.True(t, pushed)
	assert.Equal(t, 1, b.calls)
	assert.Equal(t, sbom.ImagePath, b.got.Path)
	assert.Equal(t, l.Binaries, b.got.Binaries)
	assert.True(t, b.got.Insecure)
	assert.Regexp(t, `^`+repo+`@sha256:[0-9a-f]{64}$`, ref)
	d, err := reg.Head(ctx, repo+":"+l.Tag)
	require.NoError(t, err)
	assert.Equal(t, repo+"@"+d.Digest.String(), ref, "tagged by content")

	again, pushed, err := l.Ensure(ctx, reg, b, repo, true, nil)
	require.NoError(t, err)
	assert.False(t, pushed)
	assert.Equal(t, ref, again)
	assert.Equal(t, 1, b.calls, "not pushed twice")

	// Without a daemon, a missing scanner is an error that says so.
	writeBinaries(t, dir, "v2")
	l2, err := sbom.FindLocal(dir)
	require.NoError(t, err)
	_, _, err = l2.Ensure(ctx, reg, nil, repo, true, nil)
	assert.ErrorContains(t, err, "is not in the registry and there is no BuildKit daemon")

	// A daemon whose own platform the scanner lacks is refused up front.
	arm := t.TempDir()
	writeBinaries(t, arm, "v3", "linux_amd64")
	l3, err := sbom.FindLocal(arm)
	require.NoError(t, err)
	armb := &fakeBuilder{t: t, plats: []string{"linux/arm64", "linux/amd64"}}
	_, _, err = l3.Ensure(ctx, reg, armb, repo, true, nil)
	assert.ErrorContains(t, err, "the SBOM scanner is not built for linux/arm64, the BuildKit daemon's own platform")
	assert.ErrorContains(t, err, "hack/scanner.sh arm64")
	assert.Zero(t, armb.calls)

	// The native platform is the workers' first, not the sorted list's:
	// an amd64 daemon that also builds linux/386 runs the amd64 scanner.
	x86b := &fakeBuilder{t: t, plats: []string{"linux/amd64", "linux/386", "linux/arm64"}}
	_, _, err = l3.Ensure(ctx, reg, x86b, repo, true, nil)
	require.NoError(t, err)
	assert.Equal(t, 1, x86b.calls)

	// A pinned scanner resolves to its digest, by tag or by digest.
	got, err := sbom.Resolve(ctx, reg, repo+":"+l.Tag)
	require.NoError(t, err)
	assert.Equal(t, ref, got)
	got, err = sbom.Resolve(ctx, reg, ref)
	require.NoError(t, err)
	assert.Equal(t, ref, got)
	_, err = sbom.Resolve(ctx, reg, repo+":missing")
	assert.ErrorIs(t, err, regclient.ErrNotFound)

	s := &sbom.Source{Pinned: repo + ":" + l.Tag, Registry: reg}
	got, err = s.Generator(ctx)
	require.NoError(t, err)
	assert.Equal(t, ref, got)
}
