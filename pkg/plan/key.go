package plan

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"reflect"
	"sort"

	"github.com/imgctl/imgctl/pkg/published"
	"github.com/imgctl/imgctl/pkg/spec"
)

// KeyFormat versions the content key: bump it when the way images are built
// from specs changes, so every image is rebuilt once. v2: a files entry's
// missing directories are made 0755 instead of getting the file's mode.
const KeyFormat = "imgctl-key/v2"

// keyedSpec is what of a spec determines an image's content, field by
// field: each non-empty field is a part of the key ("field:<json name>").
// Every field of spec.Image is either here or in unkeyedFields
// (TestEveryImageFieldIsClassified): a new field cannot enter or leave the
// key unnoticed. The JSON names and omitempty are those of spec.Image, so
// the parts are the bytes older imgctl versions digested.
type keyedSpec struct {
	From          string            `json:"from,omitempty"`
	Parent        string            `json:"parent,omitempty"`
	Description   string            `json:"description,omitempty"`
	Rootfs        string            `json:"rootfs,omitempty"`
	Apt           []string          `json:"apt,omitempty"`
	AptRecommends bool              `json:"aptRecommends,omitempty"`
	Pip           *keyedPip         `json:"pip,omitempty"`
	R             *spec.R           `json:"r,omitempty"`
	Run           []string          `json:"run,omitempty"`
	Env           map[string]string `json:"env,omitempty"`
	User          string            `json:"user,omitempty"`
	Workdir       string            `json:"workdir,omitempty"`
	Entrypoint    []string          `json:"entrypoint,omitempty"`
	Cmd           []string          `json:"cmd,omitempty"`
	Ports         []int             `json:"ports,omitempty"`
	Labels        map[string]string `json:"labels,omitempty"`
	Platforms     []string          `json:"platforms,omitempty"`
}

// keyedPip is what of spec.Pip is keyed: not CredentialsEnv, the name of
// a variable holding the index's credentials (they never reach the image).
type keyedPip struct {
	Packages []string `json:"packages"`
	Index    string   `json:"index,omitempty"`
	// CredentialsEnv is set only for the legacy key (see Key.Legacy).
	CredentialsEnv string `json:"credentialsEnv,omitempty"`
}

// unkeyedFields are the fields of spec.Image that are not parts of the
// key as fields, and why.
var unkeyedFields = map[string]string{
	"Name":               "the image's name is its repository, not its content",
	"Pos":                "where the spec is",
	"FieldPos":           "where the spec is",
	"ParentVersion":      "the pinned version's digest is the base part",
	"Team":               "metadata",
	"Family":             "metadata",
	"Files":              "a part per file (mode and content digest)",
	"RootfsDigest":       "the rootfs part",
	"RootfsByPlatform":   "a rootfs part per platform",
	"Test":               "tests check a version; they do not make it",
	"Sizes":              "size presets are how sessions run a version, not what it holds",
	"Server":             "which launcher lists offer a version, not what it holds",
	"MaxSize":            "a size budget judges a version; it does not make it",
	"MaxGrowth":          "a size budget judges a version; it does not make it",
	"PlatformsInherited": "Platforms holds the effective platforms",
	"Tags":               "moving tags point at versions; they do not make them",
	"Deprecated":         "retirement marks versions; it does not make them",
	"Lock":               "the lock part: the lock file's digest",
	"VersionTags":        "moving tags point at versions; they do not make them",
	"LockTags":           "moving tags point at versions; they do not make them",
	"LockTagErr":         "moving tags point at versions; they do not make them",
	"LockFile":           "where the lock is",
	"LockInputs":         "the lock records their digest; the lock part covers it",
	"LockStale":          "a stale lock is refused before a key is needed",
}

// keyedPipFields are the fields of spec.Pip in the key (the others:
// CredentialsEnv).
var keyedPipFields = []string{"Packages", "Index"}

// KeyClassification maps every classified field ("Image.From",
// "Pip.CredentialsEnv", …) to whether it is keyed, for the test that no
// field of spec.Image or spec.Pip goes unclassified.
func KeyClassification() map[string]bool {
	m := map[string]bool{}
	t := reflect.TypeOf(keyedSpec{})
	for i := range t.NumField() {
		m["Image."+t.Field(i).Name] = true
	}
	for f := range unkeyedFields {
		m["Image."+f] = false
	}
	for _, f := range keyedPipFields {
		m["Pip."+f] = true
	}
	m["Pip.CredentialsEnv"] = false
	return m
}

// keyedOf is im's keyed fields; legacy keeps pip.credentialsEnv, as keys
// made before it left the key did.
func keyedOf(im *spec.Image, legacy bool) keyedSpec {
	k := keyedSpec{
		From: im.From, Parent: im.Parent, Description: im.Description, Rootfs: im.Rootfs,
		Apt: im.Apt, AptRecommends: im.AptRecommends, R: im.R, Run: im.Run, Env: im.Env,
		User: im.User, Workdir: im.Workdir, Entrypoint: im.Entrypoint, Cmd: im.Cmd,
		Ports: im.Ports, Labels: im.Labels, Platforms: im.Platforms,
	}
	if im.Pip != nil {
		k.Pip = &keyedPip{Packages: im.Pip.Packages, Index: im.Pip.Index}
		if legacy {
			k.Pip.CredentialsEnv = im.Pip.CredentialsEnv
		}
	}
	return k
}

// Key is an image's content key and the per-part digests it is made of, so a
// later plan can say which part changed.
type Key struct {
	// Spec digests the spec and file contents, without the base.
	Spec string
	// Content adds the base identity: the key recorded on the image.
	Content string
	// Parts maps "field:<name>", "file:<dest>", "rootfs" (or
	// "rootfs:<platform>" per platform), "base" to short digests.
	Parts map[string]string
	// Legacy is the content key imgctl computed before
	// pip.credentialsEnv left the key, when it differs from Content (a
	// spec that sets it); LegacyParts its parts. A version recorded with
	// it is unchanged: upgrading imgctl rebuilds nothing.
	Legacy      string            `json:",omitempty"`
	LegacySpec  string            `json:",omitempty"`
	LegacyParts map[string]string `json:",omitempty"`
}

// ComputeKey computes the key of im built on baseDigest (the parent's or the
// external base's manifest digest; "" for scratch).
func ComputeKey(im *spec.Image, baseDigest string) Key {
	k := computeKey(im, baseDigest, false)
	if im.Pip != nil && im.Pip.CredentialsEnv != "" {
		legacy := computeKey(im, baseDigest, true)
		k.Legacy, k.LegacySpec, k.LegacyParts = legacy.Content, legacy.Spec, legacy.Parts
	}
	return k
}

func computeKey(im *spec.Image, baseDigest string, legacy bool) Key {
	parts := specParts(im, legacy)
	specSum := digestJSON(struct {
		Format string            `json:"format"`
		Parts  map[string]string `json:"parts"`
	}{KeyFormat, parts})
	parts["base"] = short(baseDigest)
	content := digestJSON(struct {
		Format string `json:"format"`
		Spec   string `json:"spec"`
		Base   string `json:"base"`
	}{KeyFormat, specSum, baseDigest})
	return Key{Spec: specSum, Content: content, Parts: parts}
}

// Matches reports whether a version recorded with content key recorded is
// what the key describes (with the current key or the legacy one).
func (k Key) Matches(recorded string) bool {
	return recorded != "" && (recorded == k.Content || recorded == k.Legacy)
}

// specParts digests each content-determining part of the spec.
func specParts(im *spec.Image, legacy bool) map[string]string {
	b, err := json.Marshal(keyedOf(im, legacy))
	if err != nil {
		panic(err) // plain data: cannot fail
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(b, &fields); err != nil {
		panic(err)
	}
	parts := map[string]string{}
	for k, v := range fields {
		parts["field:"+k] = short(string(v))
	}
	for _, f := range im.Files {
		parts["file:"+f.Dest] = short(digestJSON(struct {
			Mode   int    `json:"mode"`
			Digest string `json:"digest"`
		}{f.Mode, f.Digest}))
	}
	if im.Rootfs != "" {
		parts["rootfs"] = short(im.RootfsDigest)
	}
	for pf, f := range im.RootfsByPlatform {
		parts["rootfs:"+pf] = short(f.Digest)
	}
	// Only a locked image has the part, so the keys of unlocked images
	// are those older imgctl versions computed.
	if im.Lock != nil {
		parts["lock"] = short(im.Lock.Digest())
	}
	return parts
}

func digestJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// short is a 16-hex-digit digest of s, enough to tell parts apart.
func short(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:8])
}

// EncodeParts renders parts for the fields annotation (sorted keys).
func EncodeParts(parts map[string]string) string {
	b, _ := json.Marshal(parts) // map keys are sorted by encoding/json
	return string(b)
}

// decodeParts parses the fields annotation; nil when absent or malformed.
func decodeParts(s string) map[string]string {
	var m map[string]string
	if json.Unmarshal([]byte(s), &m) != nil {
		return nil
	}
	return m
}

// changedParts lists the parts that differ between old and new, sorted.
func changedParts(old, new map[string]string) []string {
	var out []string
	for k, v := range new {
		if old[k] != v {
			out = append(out, k)
		}
	}
	for k := range old {
		if _, ok := new[k]; !ok {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

// Annotations returns the manifest annotations of an image built from im on
// baseDigest: the content key, its parts, and the standard OCI base and
// description annotations. Never the date or the tag.
func Annotations(im *spec.Image, baseRef, baseDigest string) map[string]string {
	key := ComputeKey(im, baseDigest)
	a := map[string]string{
		published.AnnotationContentKey: key.Content,
		published.AnnotationFields:     EncodeParts(key.Parts),
		published.AnnotationImage:      im.Name,
	}
	if baseDigest != "" {
		a[published.AnnotationBaseName] = baseRef
		a[published.AnnotationBaseDigest] = baseDigest
	}
	if im.Description != "" {
		a[published.AnnotationDescription] = im.Description
	}
	if im.Lock != nil {
		a[published.AnnotationLock] = im.Lock.Compact()
	}
	return a
}
