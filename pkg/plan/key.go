package plan

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"sort"

	"github.com/imgctl/imgctl/pkg/published"
	"github.com/imgctl/imgctl/pkg/spec"
)

// KeyFormat versions the content key: bump it when the way images are built
// from specs changes, so every image is rebuilt once. v2: a files entry's
// missing directories are made 0755 instead of getting the file's mode.
const KeyFormat = "imgctl-key/v2"

// excluded spec fields do not determine an image's content.
var excluded = map[string]bool{
	"tags": true, "deprecated": true, "team": true, "family": true, "parentVersion": true, "files": true,
	"test":             true, // tests check a version; they do not make it
	"rootfsByPlatform": true, // a part per platform, below
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
}

// ComputeKey computes the key of im built on baseDigest (the parent's or the
// external base's manifest digest; "" for scratch).
func ComputeKey(im *spec.Image, baseDigest string) Key {
	parts := specParts(im)
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

// specParts digests each content-determining part of the spec.
func specParts(im *spec.Image) map[string]string {
	b, err := json.Marshal(im)
	if err != nil {
		panic(err) // plain data: cannot fail
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(b, &fields); err != nil {
		panic(err)
	}
	parts := map[string]string{}
	for k, v := range fields {
		if !excluded[k] {
			parts["field:"+k] = short(string(v))
		}
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
	return a
}
