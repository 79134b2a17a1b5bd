package published_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/imgctl/imgctl/pkg/published"
)

func TestParseVersion(t *testing.T) {
	for _, s := range []string{"2026.12.07", "2026.12.07.1", "2026.12.07.10", "2024.02.29"} {
		v, err := published.ParseVersion(s)
		require.NoError(t, err, s)
		assert.Equal(t, s, v.String())
	}
	for _, s := range []string{"", "latest", "v1", "2026.12.7", "2026.13.01", "2023.02.29", "2026.12.07.0", "2026.12.07.01",
		"2026.12.07.", "2026.12.07.1a", "2026-12-07", "2026.12.07-deprecated", "12026.12.07", "2026.12.07.1.2"} {
		_, err := published.ParseVersion(s)
		assert.Error(t, err, s)
		assert.False(t, published.IsVersion(s), s)
	}
	v, _ := published.ParseVersion("2026.12.07.3")
	assert.Equal(t, "2026-12-07", v.Date())
	assert.Equal(t, time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC), v.Day())
}

func TestVersionsOrder(t *testing.T) {
	tags := []string{"latest", "2026.12.07.10", "2026.12.08", "2026.12.07", "v1", "2026.12.07.2", "2025.01.31", "2026.12.07-deprecated"}
	assert.Equal(t, []string{"2025.01.31", "2026.12.07", "2026.12.07.2", "2026.12.07.10", "2026.12.08"}, published.VersionTags(tags))
}

func TestNext(t *testing.T) {
	day := time.Date(2026, 12, 7, 15, 4, 5, 0, time.UTC)
	for _, c := range []struct {
		tags []string
		want string
	}{
		{nil, "2026.12.07"},
		{[]string{"2026.12.06", "latest"}, "2026.12.07"},
		{[]string{"2026.12.07"}, "2026.12.07.1"},
		{[]string{"2026.12.07", "2026.12.07.1"}, "2026.12.07.2"},
		{[]string{"2026.12.07.4"}, "2026.12.07.5"}, // a gap is never filled below the highest
		{[]string{"2026.12.07.9", "2026.12.07.10"}, "2026.12.07.11"},
		{[]string{"2026.12.07-deprecated"}, "2026.12.07"},
	} {
		assert.Equal(t, c.want, published.Next(c.tags, day).String(), "%v", c.tags)
	}
}

func TestClassify(t *testing.T) {
	hex := "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	moving := []string{"3.11"}
	for tag, want := range map[string]published.TagKind{
		"latest":                 published.TagMoving,
		"3.11":                   published.TagMoving,
		"2026.12.07":             published.TagVersion,
		"2026.12.07.1":           published.TagVersion,
		"2026.12.07-deprecated":  published.TagDeprecated,
		"sha256-" + hex:          published.TagArtifact,
		"sha256-" + hex + ".sig": published.TagArtifact,
		"sha256-" + hex[:60]:     published.TagOther,
		"sha256-" + hex + "x":    published.TagOther,
		"v1":                     published.TagOther,
		"0.1.0":                  published.TagOther,
		"2026.12.7":              published.TagOther,
		"buildcache":             published.TagOther,
		"latest-deprecated":      published.TagOther,
	} {
		assert.Equal(t, want, published.Classify(tag, moving), tag)
	}
}

func TestWritten(t *testing.T) {
	assert.False(t, (*published.Manifest)(nil).Written())
	assert.False(t, (&published.Manifest{Annotations: map[string]string{published.AnnotationImage: "x"}}).Written())
	assert.True(t, (&published.Manifest{Annotations: map[string]string{published.AnnotationContentKey: "k"}}).Written())
}

func TestShortDigest(t *testing.T) {
	assert.Equal(t, "sha256:0123456789ab", published.ShortDigest("sha256:0123456789abcdef"))
	assert.Equal(t, "", published.ShortDigest(""))
	assert.Equal(t, "sha256:abc", published.ShortDigest("sha256:abc"))
}

func TestBaseOf(t *testing.T) {
	for _, c := range []struct {
		ann    map[string]string
		ref    string
		rootfs bool
	}{
		{map[string]string{published.AnnotationBaseName: "localhost:5000/datasci/debian:2026.12.07", published.AnnotationBaseDigest: "sha256:aa"}, "localhost:5000/datasci/debian@sha256:aa", false},
		{map[string]string{published.AnnotationBaseName: "localhost:5000/mirror/debian@sha256:bb", published.AnnotationBaseDigest: "sha256:bb"}, "localhost:5000/mirror/debian@sha256:bb", false},
		{map[string]string{published.AnnotationBaseName: "debian", published.AnnotationBaseDigest: "sha256:cc"}, "debian@sha256:cc", false},
		{map[string]string{published.AnnotationFields: `{"field:apt":"x","rootfs:linux/amd64":"y"}`}, "", true},
		{map[string]string{published.AnnotationFields: `{"field:apt":"x"}`}, "", false},
		{nil, "", false},
	} {
		ref, rootfs, err := published.BaseOf(c.ann)
		if err != nil || ref != c.ref || rootfs != c.rootfs {
			t.Errorf("published.BaseOf(%v) = %q, %v, %v; want %q, %v", c.ann, ref, rootfs, err, c.ref, c.rootfs)
		}
	}
	if _, _, err := published.BaseOf(map[string]string{published.AnnotationBaseDigest: "sha256:aa"}); err == nil {
		t.Error("a base digest without a name is an error")
	}
}

func TestArtifactSubject(t *testing.T) {
	hex := "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	for tag, want := range map[string][2]string{
		"sha256-" + hex:                     {"sha256:" + hex, ""},
		"sha256-" + hex + ".sig":            {"sha256:" + hex, ".sig"},
		published.PruneTag("sha256:" + hex): {"sha256:" + hex, published.PruneSuffix},
	} {
		d, suffix, ok := published.ArtifactSubject(tag)
		assert.True(t, ok, tag)
		assert.Equal(t, want, [2]string{d, suffix}, tag)
	}
	for _, tag := range []string{"latest", "2026.12.07", "sha256-" + hex[:60], "v1"} {
		_, _, ok := published.ArtifactSubject(tag)
		assert.False(t, ok, tag)
	}
}
