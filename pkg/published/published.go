package published

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Manifest annotations imgctl writes on every version and reads back.
const (
	AnnotationContentKey = "io.imgctl.content-key"
	AnnotationFields     = "io.imgctl.fields"
	// AnnotationLock is the lock the version was built from, as compact
	// JSON (pkg/lock): plan compares it with the lock in git to show the
	// package changes before building.
	AnnotationLock        = "io.imgctl.lock"
	AnnotationImage       = "io.imgctl.image"
	AnnotationSource      = "org.opencontainers.image.source"
	AnnotationRevision    = "org.opencontainers.image.revision"
	AnnotationBaseName    = "org.opencontainers.image.base.name"
	AnnotationBaseDigest  = "org.opencontainers.image.base.digest"
	AnnotationDescription = "org.opencontainers.image.description"
)

// DeprecatedSuffix marks a superseded version's extra tag
// (VERSION-deprecated, with policy.deprecatedTag).
const DeprecatedSuffix = "-deprecated"

// ErrNotFound is a registry reader's answer for a repository, tag or
// manifest that does not exist (regclient.ErrNotFound is this error).
var ErrNotFound = errors.New("not found")

// Latest is the moving tag every image has.
const Latest = "latest"

// Manifest is a published manifest or image index, as read from a
// registry.
type Manifest struct {
	// Version is the dated tag it was read at ("" when read otherwise).
	Version     string            `json:"version"`
	Digest      string            `json:"digest"`
	Annotations map[string]string `json:"annotations,omitempty"`
	// Platforms are the platforms of an image index ("linux/amd64", …);
	// nil for a single image manifest.
	Platforms []string `json:"platforms,omitempty"`
	// Manifests are the manifests an image index names, in its order
	// (nil for a single image manifest).
	Manifests []Child `json:"manifests,omitempty"`
}

// Written reports whether imgctl published m: every version it writes
// carries its content key. A manifest without one (pushed by hand, by
// another tool, a Helm chart) is foreign: imgctl never supersedes, marks
// or retires it.
func (m *Manifest) Written() bool {
	return m != nil && m.Annotations[AnnotationContentKey] != ""
}

// ForeignTag is a tag of an image's repository that imgctl did not write,
// as a reader found it.
type ForeignTag struct {
	Tag string `json:"tag"`
	// Digest is what it points at, when read ("" for a tag not read and
	// for a missing manifest).
	Digest string `json:"digest,omitempty"`
	// Note: ForeignImage, ForeignMissing or ForeignTagOnly.
	Note string `json:"note"`
}

// The notes of a ForeignTag.
const (
	// ForeignImage: a dated-looking or moving tag on a manifest without
	// imgctl's content key.
	ForeignImage = "an image imgctl did not publish"
	// ForeignMissing: a listed tag whose manifest is gone.
	ForeignMissing = "its manifest is missing"
	// ForeignTagOnly: a tag imgctl never writes (v1, 0.1.0), not read.
	ForeignTagOnly = "a tag imgctl does not write"
)

// Version is a dated version: the day it was published and, for the
// second and later versions of one day, a sequence number (2026.12.07,
// 2026.12.07.1, …). The zero value is no version.
type Version struct {
	day time.Time
	seq int
}

// ParseVersion parses a dated version tag: YYYY.MM.DD of a real day,
// optionally followed by .N with N ≥ 1 and no leading zero.
func ParseVersion(s string) (Version, error) {
	bad := func() (Version, error) {
		return Version{}, fmt.Errorf("%q is not a dated version (YYYY.MM.DD or YYYY.MM.DD.N)", s)
	}
	if len(s) < 10 || s[4] != '.' || s[7] != '.' {
		return bad()
	}
	for _, i := range []int{0, 1, 2, 3, 5, 6, 8, 9} {
		if s[i] < '0' || s[i] > '9' {
			return bad()
		}
	}
	day, err := time.Parse("2006.01.02", s[:10])
	if err != nil {
		return bad()
	}
	v := Version{day: day}
	if rest := s[10:]; rest != "" {
		n, ok := strings.CutPrefix(rest, ".")
		if !ok || n == "" || n[0] == '0' || len(n) > 9 {
			return bad()
		}
		for _, c := range n {
			if c < '0' || c > '9' {
				return bad()
			}
		}
		v.seq, _ = strconv.Atoi(n)
	}
	return v, nil
}

// IsVersion reports whether tag is a dated version.
func IsVersion(tag string) bool {
	_, err := ParseVersion(tag)
	return err == nil
}

// First is the first version of day.
func First(day time.Time) Version {
	y, m, d := day.Date()
	return Version{day: time.Date(y, m, d, 0, 0, 0, 0, time.UTC)}
}

// IsZero reports whether v is no version.
func (v Version) IsZero() bool { return v.day.IsZero() }

// String formats v as its tag.
func (v Version) String() string {
	if v.IsZero() {
		return ""
	}
	s := v.day.Format("2006.01.02")
	if v.seq > 0 {
		s += "." + strconv.Itoa(v.seq)
	}
	return s
}

// Day is the day v was published, at midnight UTC.
func (v Version) Day() time.Time { return v.day }

// Date is v's day as YYYY-MM-DD.
func (v Version) Date() string {
	if v.IsZero() {
		return ""
	}
	return v.day.Format("2006-01-02")
}

// Compare returns -1, 0 or +1 as v sorts before, with or after w: by day,
// then sequence (2026.12.07 < 2026.12.07.1 < 2026.12.07.10 < 2026.12.08).
func (v Version) Compare(w Version) int {
	if c := v.day.Compare(w.day); c != 0 {
		return c
	}
	switch {
	case v.seq < w.seq:
		return -1
	case v.seq > w.seq:
		return 1
	}
	return 0
}

// Versions returns the tags that are dated versions, oldest first.
func Versions(tags []string) []Version {
	var vs []Version
	for _, t := range tags {
		if v, err := ParseVersion(t); err == nil {
			vs = append(vs, v)
		}
	}
	slices.SortFunc(vs, Version.Compare)
	return slices.CompactFunc(vs, func(a, b Version) bool { return a.Compare(b) == 0 })
}

// VersionTags is Versions as tags.
func VersionTags(tags []string) []string {
	vs := Versions(tags)
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = v.String()
	}
	return out
}

// Next is the version a publish on day writes: the day's first version
// when no tag of that day exists, else the one after the highest taken.
// Every tag counts, whoever wrote it: an existing tag is never
// overwritten.
func Next(tags []string, day time.Time) Version {
	next := First(day)
	taken := false
	for _, v := range Versions(tags) {
		if v.day.Equal(next.day) {
			taken = true
			next.seq = max(next.seq, v.seq)
		}
	}
	if taken {
		next.seq++
	}
	return next
}

// TagKind is what a tag in an image's repository is to imgctl.
type TagKind string

const (
	// TagVersion: a dated version (imgctl's unless its manifest says
	// otherwise, see Manifest.Written).
	TagVersion TagKind = "version"
	// TagMoving: latest or one of the spec's moving tags.
	TagMoving TagKind = "moving"
	// TagDeprecated: VERSION-deprecated, written after a version's
	// lifecycle marker (policy.deprecatedTag).
	TagDeprecated TagKind = "deprecated"
	// TagArtifact: sha256-HEX[.sig|.att|.sbom|…], the tag schema that
	// attaches signatures and referrers to a digest where the registry
	// has no referrers API.
	TagArtifact TagKind = "artifact"
	// TagOther: any other tag (v1, a Helm chart's 0.1.0, …): imgctl did
	// not write it and leaves it as it is.
	TagOther TagKind = "other"
)

// Classify says what tag is in a repository whose moving tags are moving
// (latest and the spec's tags).
func Classify(tag string, moving []string) TagKind {
	switch {
	case tag == Latest || slices.Contains(moving, tag):
		return TagMoving
	case IsVersion(tag):
		return TagVersion
	case strings.HasSuffix(tag, DeprecatedSuffix) && IsVersion(strings.TrimSuffix(tag, DeprecatedSuffix)):
		return TagDeprecated
	case isArtifactTag(tag):
		return TagArtifact
	}
	return TagOther
}

// isArtifactTag matches sha256-<64 hex>, alone or with a suffix.
func isArtifactTag(tag string) bool {
	hex, ok := strings.CutPrefix(tag, "sha256-")
	if !ok || len(hex) < 64 {
		return false
	}
	for _, c := range hex[:64] {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return len(hex) == 64 || hex[64] == '.'
}

// ShortDigest abbreviates a digest to its algorithm and 12 hex digits
// (sha256:0123456789ab); anything else is returned as it is.
func ShortDigest(d string) string {
	if alg, hex, ok := strings.Cut(d, ":"); ok && len(hex) > 12 {
		return alg + ":" + hex[:12]
	}
	return d
}

// BaseOf is the base a version was built FROM, from its annotations: the
// name@digest reference of its base image, or "" for one built FROM
// scratch; rootfs says it was built FROM scratch on a root filesystem
// archive (a rootfs part in io.imgctl.fields), whose packages no SBOM
// lists.
//
// A version built from a mirrored base (AnnotationBaseMirror) names the
// copy it was built FROM: it outlives the upstream.
func BaseOf(ann map[string]string) (ref string, rootfs bool, err error) {
	if d, m := ann[AnnotationBaseDigest], ann[AnnotationBaseMirror]; d != "" && strings.HasSuffix(m, "@"+d) {
		return m, false, nil
	}
	if d := ann[AnnotationBaseDigest]; d != "" {
		name := ann[AnnotationBaseName]
		// Drop the tag or digest of the reference it was named by
		// (host:port/repo:tag, repo@sha256:…).
		if i := strings.Index(name, "@"); i >= 0 {
			name = name[:i]
		}
		if i := strings.LastIndex(name, ":"); i > strings.LastIndex(name, "/") {
			name = name[:i]
		}
		if name == "" {
			return "", false, fmt.Errorf("base digest %s without a base name", d)
		}
		return name + "@" + d, false, nil
	}
	var parts map[string]string
	if json.Unmarshal([]byte(ann[AnnotationFields]), &parts) == nil {
		for k := range parts {
			if k == "rootfs" || strings.HasPrefix(k, "rootfs:") {
				return "", true, nil
			}
		}
	}
	return "", false, nil
}

// Child is a manifest an image index names: a platform's image manifest,
// or an attestation manifest (BuildKit's SBOM and provenance, platform
// "unknown/unknown", annotation vnd.docker.reference.type).
type Child struct {
	Digest string `json:"digest"`
	// Platform is the normalised platform of an image manifest; "" for
	// an attestation manifest.
	Platform string `json:"platform,omitempty"`
	// Attestation says the manifest is an attestation manifest.
	Attestation bool `json:"attestation,omitempty"`
}

// PruneSuffix ends the tag of a prune's tombstone, sha256-<hex of the
// version's index>.imgctl-prune: written before a prune deletes anything
// of a version and deleted last, so that an interrupted prune is finished
// by the next one (see package prune).
const PruneSuffix = ".imgctl-prune"

// PruneTag is the tombstone tag of the version whose index is digest.
func PruneTag(digest string) string {
	return strings.Replace(digest, ":", "-", 1) + PruneSuffix
}

// ArtifactSubject is the digest an artifact tag (sha256-<hex>[.suffix])
// attaches to, and the suffix after the hex ("" for the OCI fallback
// index, ".sig", ".att", PruneSuffix, …); ok is false for other tags.
func ArtifactSubject(tag string) (digest, suffix string, ok bool) {
	if !isArtifactTag(tag) {
		return "", "", false
	}
	hex := strings.TrimPrefix(tag, "sha256-")
	return "sha256:" + hex[:64], hex[64:], true
}
