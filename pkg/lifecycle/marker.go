package lifecycle

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// ArtifactType is the artifactType of every lifecycle marker. It is also used
// as the marker's config media type, because some registries (ggcr's
// in-process registry among them) report config.mediaType as the artifact
// type in referrers listings.
const ArtifactType = "application/vnd.microsoft.artifact.lifecycle"

// Annotation keys written on a marker manifest.
const (
	// AnnotationEndOfLife is the end-of-life date, YYYY-MM-DD (Microsoft's
	// convention; other writers may use RFC 3339 here).
	AnnotationEndOfLife = "vnd.microsoft.artifact.lifecycle.end-of-life.date"
	// AnnotationDeprecatedDate is the date the image was superseded or
	// retired, YYYY-MM-DD.
	AnnotationDeprecatedDate = "io.imgctl.deprecated.date"
	// AnnotationReason is a human-readable reason.
	AnnotationReason = "io.imgctl.reason"
	// AnnotationSupersededByTag is the tag of the image that superseded
	// this one; absent for a retirement.
	AnnotationSupersededByTag = "io.imgctl.superseded-by.tag"
	// AnnotationSupersededByDigest is the manifest digest of the image that
	// superseded this one; absent for a retirement.
	AnnotationSupersededByDigest = "io.imgctl.superseded-by.digest"
	// AnnotationReplacement names a retired image's replacement, if any.
	AnnotationReplacement = "io.imgctl.replacement"
)

// emptyJSON is the content of the OCI empty descriptor.
var emptyJSON = []byte("{}")

// emptyDigest is the sha256 digest of emptyJSON.
var emptyDigest = v1.Hash{
	Algorithm: "sha256",
	Hex:       "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a",
}

// dateLayout is the only date shape Manifest accepts.
const dateLayout = "2006-01-02"

// ErrInvalidMarker is wrapped by every error Manifest returns for a Marker
// that cannot be written.
var ErrInvalidMarker = errors.New("invalid lifecycle marker")

// Marker is one deprecation record attached to an image.
type Marker struct {
	// Subject is the deprecated manifest or index. Only its MediaType,
	// Digest and Size are written.
	Subject v1.Descriptor
	// EndOfLife is the end-of-life date, YYYY-MM-DD.
	EndOfLife string
	// Date is when the image was superseded or retired, YYYY-MM-DD.
	Date string
	// Reason says why, e.g. "superseded by 2026.11.24".
	Reason string
	// SupersededByTag is the successor's tag; empty for a retirement.
	SupersededByTag string
	// SupersededByDigest is the successor's manifest digest
	// ("sha256:…"); empty for a retirement.
	SupersededByDigest string
	// Replacement names a retired image's replacement; optional.
	Replacement string
	// Digest is the marker manifest's own digest. Read sets it; Manifest
	// and Writer.Mark ignore it.
	Digest v1.Hash
}

// descriptor is the JSON form of an OCI descriptor as this package writes
// it. It is a local type, not v1.Descriptor, so that a new field in a ggcr
// upgrade cannot change marker bytes (and so digests) silently.
type descriptor struct {
	MediaType types.MediaType `json:"mediaType"`
	Digest    v1.Hash         `json:"digest"`
	Size      int64           `json:"size"`
}

// manifest is the JSON form of a marker. Field order is the byte order.
type manifest struct {
	SchemaVersion int64             `json:"schemaVersion"`
	MediaType     types.MediaType   `json:"mediaType"`
	ArtifactType  string            `json:"artifactType"`
	Config        descriptor        `json:"config"`
	Layers        []descriptor      `json:"layers"`
	Subject       descriptor        `json:"subject"`
	Annotations   map[string]string `json:"annotations"`
}

// Manifest returns the marker manifest for m: deterministic bytes that
// depend on nothing but m (annotation keys sorted, no timestamps), so the
// same Marker always has the same digest. m.Digest is ignored.
//
// The config is the OCI empty blob `{}` with media type ArtifactType, and
// the single layer is the OCI empty descriptor, which registries that
// predate OCI 1.1 (distribution 2.8) accept.
func Manifest(m Marker) ([]byte, error) {
	if err := m.validate(); err != nil {
		return nil, err
	}
	ann := map[string]string{
		AnnotationEndOfLife:      m.EndOfLife,
		AnnotationDeprecatedDate: m.Date,
		AnnotationReason:         m.Reason,
	}
	for k, v := range map[string]string{
		AnnotationSupersededByTag:    m.SupersededByTag,
		AnnotationSupersededByDigest: m.SupersededByDigest,
		AnnotationReplacement:        m.Replacement,
	} {
		if v != "" {
			ann[k] = v
		}
	}
	mf := manifest{
		SchemaVersion: 2,
		MediaType:     types.OCIManifestSchema1,
		ArtifactType:  ArtifactType,
		Config:        descriptor{MediaType: ArtifactType, Digest: emptyDigest, Size: int64(len(emptyJSON))},
		Layers:        []descriptor{{MediaType: types.OCIEmptyJSON, Digest: emptyDigest, Size: int64(len(emptyJSON))}},
		Subject:       descriptor{MediaType: m.Subject.MediaType, Digest: m.Subject.Digest, Size: m.Subject.Size},
		Annotations:   ann,
	}
	// encoding/json writes struct fields in declaration order and map keys
	// sorted; disable HTML escaping so reasons read as written.
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(mf); err != nil {
		return nil, fmt.Errorf("encoding marker manifest: %w", err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// digestOf returns the manifest bytes of m and their digest.
func digestOf(m Marker) ([]byte, v1.Hash, error) {
	b, err := Manifest(m)
	if err != nil {
		return nil, v1.Hash{}, err
	}
	h, _, err := v1.SHA256(bytes.NewReader(b))
	if err != nil {
		return nil, v1.Hash{}, fmt.Errorf("hashing marker manifest: %w", err)
	}
	return b, h, nil
}

func (m Marker) validate() error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: "+format, append([]any{ErrInvalidMarker}, args...)...))
	}
	switch {
	case m.Subject.Digest.Algorithm == "" || m.Subject.Digest.Hex == "":
		bad("subject has no digest")
	case !m.Subject.MediaType.IsImage() && !m.Subject.MediaType.IsIndex():
		bad("subject media type %q is not an image manifest or index", m.Subject.MediaType)
	case m.Subject.Size <= 0:
		bad("subject %s has size %d", m.Subject.Digest, m.Subject.Size)
	}
	for _, d := range []struct{ field, value string }{
		{"end-of-life date", m.EndOfLife},
		{"deprecation date", m.Date},
	} {
		if _, err := time.Parse(dateLayout, d.value); err != nil {
			bad("%s %q is not YYYY-MM-DD", d.field, d.value)
		}
	}
	if m.Reason == "" {
		bad("reason is empty")
	}
	if m.SupersededByDigest != "" {
		if _, err := v1.NewHash(m.SupersededByDigest); err != nil {
			bad("superseded-by digest %q: %v", m.SupersededByDigest, err)
		}
	}
	return errors.Join(errs...)
}

// parseMarker turns the raw bytes of a referrer into a Marker. ok is false
// when the manifest is not a lifecycle marker for subject. Annotation values
// are taken as written (other tools may write RFC 3339 end-of-life dates).
func parseMarker(raw []byte, digest, subject v1.Hash) (m Marker, ok bool, err error) {
	var mf struct {
		MediaType    types.MediaType   `json:"mediaType"`
		ArtifactType string            `json:"artifactType"`
		Config       v1.Descriptor     `json:"config"`
		Subject      *v1.Descriptor    `json:"subject"`
		Annotations  map[string]string `json:"annotations"`
	}
	if err := json.Unmarshal(raw, &mf); err != nil {
		return Marker{}, false, fmt.Errorf("decoding referrer %s: %w", digest, err)
	}
	at := mf.ArtifactType
	if at == "" {
		at = string(mf.Config.MediaType)
	}
	if at != ArtifactType || mf.Subject == nil || mf.Subject.Digest != subject {
		return Marker{}, false, nil
	}
	a := mf.Annotations
	return Marker{
		Subject: v1.Descriptor{
			MediaType: mf.Subject.MediaType,
			Digest:    mf.Subject.Digest,
			Size:      mf.Subject.Size,
		},
		EndOfLife:          a[AnnotationEndOfLife],
		Date:               a[AnnotationDeprecatedDate],
		Reason:             a[AnnotationReason],
		SupersededByTag:    a[AnnotationSupersededByTag],
		SupersededByDigest: a[AnnotationSupersededByDigest],
		Replacement:        a[AnnotationReplacement],
		Digest:             digest,
	}, true, nil
}
