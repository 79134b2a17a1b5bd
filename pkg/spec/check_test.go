package spec

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestLoadPackageAndPlatformErrors checks that package, platform and policy
// errors are all reported in one load, each at the list element (or field)
// in error.
func TestLoadPackageAndPlatformErrors(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "a.cue", `package x

registry: "r.example/x"
policy: {
	source:    "file:///srv/specs"
	cacheRepo: "https://cache.example/x"
	sbomScanner: "Not A Ref"
}
images: a: {
	from: "debian:12"
	platforms: ["linux/amd64", "toaster/9000", "linux/amd64"]
	apt: ["python3", "-y"]
	pip: packages: ["numpy>=1.2,<2", "pandas=="]
	r: {packages: ["ggplot2@3.4"]}
}
_base: apt: ["Bad"]
images: b: _base & {from: "debian:12"}
images: c: {
	from: "debian:12"
	apt: [for p in ["x y"] {p}]
}
images: d: {
	from: "debian:12"
	pip: {packages: ["numpy"], credentialsEnv: "PIP_CREDS"}
}
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
		assert.Equal(t, filepath.Join(dir, "a.cue"), e.Pos.Filename)
		got = append(got, at{e.Pos.Line, e.Pos.Column, e.Msg})
	}
	assert.Equal(t, []at{
		{5, 13, `policy.source: "file:///srv/specs" is a local path: never publish a local filesystem path; use the repository's remote URL (https://…, ssh://… or git@host:path)`},
		{6, 13, `policy.cacheRepo: "https://cache.example/x" is not host[:port]/path (no scheme; lowercase path components)`},
		{7, 15, `policy.sbomScanner: "Not A Ref" is not an image reference host[:port]/repo:tag or …@sha256:…: could not parse reference: Not A Ref`},
		{11, 29, `images.a.platforms[1]: "toaster/9000" is not a known platform: OS "toaster" (want linux: only linux images are built); architecture "9000" (want one of amd64, arm64, arm, 386, ppc64le, s390x, riscv64, mips64le, loong64)`},
		{11, 45, `images.a.platforms[2]: "linux/amd64" is listed twice (also platforms[0])`},
		{12, 19, `images.a.apt[1]: "-y": apt-get options are not packages (imgctl runs apt-get install -y; see aptRecommends)`},
		{13, 35, `images.a.pip.packages[1]: "pandas==" is not a PEP 508 requirement: missing version after "=="`},
		{14, 17, `images.a.r.packages[0]: "ggplot2@3.4": R package versions are not supported; list the name "ggplot2" and pin versions with a dated snapshot repository in r.repo`},
		// Set through _base: the field's position, as for other composed fields.
		{16, 8, `images.b.apt[0]: "Bad" is not a Debian package name (lowercase letters, digits, '+', '-' and '.', starting with a letter or digit, at least two characters; optionally =VERSION or /RELEASE)`},
		// A comprehension: the list field's position.
		{20, 2, `images.c.apt[0]: "x y" is not a Debian package name: give one package per entry`},
		{24, 2, `images.d.pip.credentialsEnv: PIP_CREDS holds credentials for pip.index, which is not set: name the private index (pip.index) or drop credentialsEnv`},
	}, got)
}

func TestLoadPolicy(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "a.cue", `package x

registry: "r.example/x"
policy: source: "git@github.com:example/images.git"
policy: cacheRepo: "cache.example:5000/x/cache"
images: a: {from: "debian:12", platforms: ["linux/amd64", "linux/arm64/v8"]}
`)
	lib, err := Load(dir)
	require.NoError(t, err)
	assert.Equal(t, "git@github.com:example/images.git", lib.Policy.Source)
	assert.Equal(t, Pos{Filename: filepath.Join(dir, "a.cue"), Line: 4, Column: 17}, lib.Policy.SourcePos)
	assert.Equal(t, "cache.example:5000/x/cache", lib.Policy.CacheRepo)
	assert.Equal(t, Pos{Filename: filepath.Join(dir, "a.cue"), Line: 5, Column: 20}, lib.Policy.CacheRepoPos)
	assert.Equal(t, 30, lib.Policy.GraceDays)
	assert.Equal(t, []string{"linux/amd64", "linux/arm64"}, lib.Image("a").Platforms, "normalised")
	// Attestations and signing: the defaults.
	assert.True(t, lib.Policy.SBOM)
	assert.Equal(t, ProvenanceMin, lib.Policy.Provenance)
	assert.False(t, lib.Policy.Sign)
	assert.Equal(t, DefaultSignKeyEnv, lib.Policy.SignKeyEnv)
}

func TestLoadPolicyAttestations(t *testing.T) {
	for _, tc := range []struct {
		policy     string
		sbom       bool
		provenance string
		sign       bool
		keyEnv     string
	}{
		{`sbom: false, provenance: false`, false, "", false, DefaultSignKeyEnv},
		{`provenance: true`, true, ProvenanceMin, false, DefaultSignKeyEnv},
		{`provenance: "max", sign: true, signKeyEnv: "CI_COSIGN_KEY"`, true, ProvenanceMax, true, "CI_COSIGN_KEY"},
	} {
		dir := t.TempDir()
		write(t, dir, "a.cue", "package x\n\nregistry: \"r.example/x\"\npolicy: {"+tc.policy+", sbomScanner: \"r.example/scan@sha256:"+strings.Repeat("a", 64)+"\"}\nimages: a: from: \"debian:12\"\n")
		lib, err := Load(dir)
		require.NoError(t, err, tc.policy)
		assert.Equal(t, tc.sbom, lib.Policy.SBOM, tc.policy)
		assert.Equal(t, tc.provenance, lib.Policy.Provenance, tc.policy)
		assert.Equal(t, tc.sign, lib.Policy.Sign, tc.policy)
		assert.Equal(t, tc.keyEnv, lib.Policy.SignKeyEnv, tc.policy)
		assert.Equal(t, "r.example/scan@sha256:"+strings.Repeat("a", 64), lib.Policy.SBOMScanner)
		if tc.sign {
			assert.Equal(t, 4, lib.Policy.SignPos.Line)
		}
	}
	dir := t.TempDir()
	write(t, dir, "a.cue", "package x\n\nregistry: \"r.example/x\"\npolicy: provenance: \"full\"\nimages: a: from: \"debian:12\"\n")
	_, err := Load(dir)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "a.cue:4:")
}
