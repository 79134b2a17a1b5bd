package spec

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestNormalizePlatform(t *testing.T) {
	for _, tt := range []struct{ in, want, err string }{
		{in: "linux/amd64", want: "linux/amd64"},
		{in: "linux/arm64", want: "linux/arm64"},
		{in: "linux/arm64/v8", want: "linux/arm64"},
		{in: "linux/arm", want: "linux/arm/v7"},
		{in: "linux/arm/v6", want: "linux/arm/v6"},
		{in: "linux/amd64/v3", want: "linux/amd64/v3"},
		{in: "linux/riscv64", want: "linux/riscv64"},
		{in: "linux/aarch64", err: `"linux/aarch64" is not a known platform: architecture "aarch64"`},
		{in: "darwin/arm64", err: `OS "darwin"`},
		{in: "arm64", err: `"arm64" is not a platform`},
	} {
		t.Run(tt.in, func(t *testing.T) {
			got, err := NormalizePlatform(tt.in)
			if tt.err != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

// TestPlatformsInherited checks the effective platforms: written
// (normalised, sorted), inherited down the graph, also through a pinned
// parent, and policy.platforms for roots.
func TestPlatformsInherited(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "a.cue", `package x

registry: "r.example/x"
policy: platforms: ["linux/arm64/v8", "linux/amd64"]
images: debian: from: "scratch"
images: py: parent: "debian"
images: team: parent: "py@2026.11.01"
images: arm: {parent: "py", platforms: ["linux/arm64"]}
images: armkid: parent: "arm"
images: cuda: {from: "nvidia/cuda:12", platforms: ["linux/amd64"]}
images: empty: {from: "scratch", platforms: []}
`)
	lib, err := Load(dir)
	require.NoError(t, err)
	assert.Equal(t, []string{"linux/amd64", "linux/arm64"}, lib.Policy.Platforms)
	assert.Equal(t, Pos{Filename: filepath.Join(dir, "a.cue"), Line: 4, Column: 20}, lib.Policy.PlatformsPos)
	for _, tt := range []struct {
		name      string
		want      []string
		inherited bool
	}{
		{"debian", []string{"linux/amd64", "linux/arm64"}, true},
		{"py", []string{"linux/amd64", "linux/arm64"}, true},
		{"team", []string{"linux/amd64", "linux/arm64"}, true},
		{"arm", []string{"linux/arm64"}, false},
		{"armkid", []string{"linux/arm64"}, true},
		{"cuda", []string{"linux/amd64"}, false},
		{"empty", []string{"linux/amd64", "linux/arm64"}, true}, // [] is unset
	} {
		im := lib.Image(tt.name)
		assert.Equal(t, tt.want, im.Platforms, tt.name)
		assert.Equal(t, tt.inherited, im.PlatformsInherited, tt.name)
	}

	// Without policy.platforms, roots get DefaultPlatforms; a child's
	// platforms are not aliased to its parent's.
	write(t, dir, "a.cue", `package x

registry: "r.example/x"
images: debian: from: "scratch"
images: py: parent: "debian"
`)
	lib, err = Load(dir)
	require.NoError(t, err)
	assert.Nil(t, lib.Policy.Platforms)
	assert.Equal(t, DefaultPlatforms, lib.Image("debian").Platforms)
	assert.Equal(t, DefaultPlatforms, lib.Image("py").Platforms)
	lib.Image("py").Platforms[0] = "changed"
	assert.Equal(t, "linux/amd64", lib.Image("debian").Platforms[0])
	assert.Equal(t, "linux/amd64", DefaultPlatforms[0])
}

// TestPlatformsKey checks what the content key sees: the effective,
// sorted platforms and the per-platform archives with their digests, not
// whether platforms were written.
func TestPlatformsKey(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "a.cue", `package x

registry: "r.example/x"
images: a: {from: "scratch", platforms: ["linux/arm64", "linux/amd64"], rootfs: {"linux/arm64/v8": "arm64.tar", "linux/amd64": "amd64.tar"}}
images: b: {parent: "a"}
`)
	write(t, dir, "amd64.tar", "amd64")
	write(t, dir, "arm64.tar", "arm64")
	lib, err := Load(dir)
	require.NoError(t, err)
	a, b := lib.Image("a"), lib.Image("b")
	ja, err := json.Marshal(a)
	require.NoError(t, err)
	jb, err := json.Marshal(b)
	require.NoError(t, err)
	var fa, fb map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(ja, &fa))
	require.NoError(t, json.Unmarshal(jb, &fb))
	assert.JSONEq(t, `["linux/amd64","linux/arm64"]`, string(fa["platforms"]))
	assert.JSONEq(t, string(fa["platforms"]), string(fb["platforms"]), "inherited platforms are keyed like written ones")
	amd, _ := FileDigest(filepath.Join(dir, "amd64.tar"))
	arm, _ := FileDigest(filepath.Join(dir, "arm64.tar"))
	assert.JSONEq(t, `{"linux/amd64": {"src": "amd64.tar", "digest": "`+amd+`"}, "linux/arm64": {"src": "arm64.tar", "digest": "`+arm+`"}}`, string(fa["rootfsByPlatform"]))
	assert.NotContains(t, fa, "rootfs")
	assert.NotContains(t, fb, "platformsInherited")
	assert.NotContains(t, fb, "PlatformsInherited")
}

func TestRootfsFor(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "a.cue", `package x

registry: "r.example/x"
policy: platforms: ["linux/amd64", "linux/arm64"]
images: multi: {from: "scratch", rootfs: {"linux/amd64": "amd64.tar", "linux/arm64": "arm64.tar"}}
images: single: {from: "scratch", rootfs: "amd64.tar"}
images: none: parent: "single"
`)
	write(t, dir, "amd64.tar", "amd64")
	write(t, dir, "arm64.tar", "arm64")
	lib, err := Load(dir)
	require.NoError(t, err)
	amd, _ := FileDigest(filepath.Join(dir, "amd64.tar"))
	arm, _ := FileDigest(filepath.Join(dir, "arm64.tar"))

	multi := lib.Image("multi")
	assert.True(t, multi.HasRootfs())
	assert.Empty(t, multi.Rootfs)
	assert.Equal(t, Pos{Filename: filepath.Join(dir, "a.cue"), Line: 5, Column: 71}, multi.RootfsByPlatform["linux/arm64"].Pos)
	for _, tt := range []struct {
		im, platform, src, digest string
		ok                        bool
	}{
		{"multi", "linux/amd64", "amd64.tar", amd, true},
		{"multi", "linux/arm64", "arm64.tar", arm, true},
		{"multi", "linux/arm64/v8", "arm64.tar", arm, true},
		{"multi", "linux/s390x", "", "", false},
		{"single", "linux/amd64", "amd64.tar", amd, true},
		{"single", "linux/arm64", "amd64.tar", amd, true},
		{"none", "linux/amd64", "", "", false},
	} {
		src, digest, ok := lib.Image(tt.im).RootfsFor(tt.platform)
		assert.Equal(t, tt.ok, ok, "%s %s", tt.im, tt.platform)
		assert.Equal(t, tt.src, src, "%s %s", tt.im, tt.platform)
		assert.Equal(t, tt.digest, digest, "%s %s", tt.im, tt.platform)
	}
	assert.True(t, lib.Image("single").HasRootfs())
	assert.Equal(t, amd, lib.Image("single").RootfsDigest)
	assert.False(t, lib.Image("none").HasRootfs())
}

// TestPlatformErrorsPositions checks platform errors of composed and
// generated specs, and that a library with a cycle and several platform and
// rootfs mistakes reports all of them in one load.
func TestPlatformErrorsPositions(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "x.tar"), []byte("x"), 0o644))
	write(t, dir, "a.cue", `package x

registry: "r.example/x"
_arm: platforms: ["linux/arm64"]
images: base: from: "debian:12"
images: a: _arm & {parent: "base"}
images: gen: {
	from: "scratch"
	rootfs: {for p in ["linux/amd64", "linux/arm64"] {(p): "x.tar"}}
}
images: c1: {parent: "c2", platforms: ["linux/arm64"]}
images: c2: {parent: "c1"}
images: c3: parent: "c1"
images: t: {from: "scratch", rootfs: 3}
images: u: {from: "scratch", rootfs: {"linux/amd64": "x.tar", "linux/arm64": "x.tar"}, platforms: ["linux/arm64", "linux/mips"]}
`)
	_, err := Load(dir)
	var errs Errors
	require.True(t, errors.As(err, &errs), "%v", err)
	type at struct {
		line, col int
		msg       string
	}
	var got []at
	for _, e := range errs {
		got = append(got, at{e.Pos.Line, e.Pos.Column, e.Msg})
	}
	assert.Equal(t, []at{
		// Set through _arm: the field's position, as for other composed fields.
		{4, 7, `images.a.platforms: linux/arm64 is not built for parent base (its platforms: linux/amd64, the default)`},
		// Generated entries: the rootfs field's position.
		{9, 2, `images.gen.rootfs: linux/arm64 is not one of the image's platforms (linux/amd64, the default)`},
		{11, 22, `images.c1.parent: dependency cycle: c1 -> c2 -> c1`},
		{14, 38, `images.t.rootfs: got int (3), want string or struct`},
		{15, 115, `images.u.platforms[1]: "linux/mips" is not a known platform: architecture "mips" (want one of amd64, arm64, arm, 386, ppc64le, s390x, riscv64, mips64le, loong64)`},
	}, got)
}
