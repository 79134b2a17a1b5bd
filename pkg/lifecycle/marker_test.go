package lifecycle

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func testSubject() v1.Descriptor {
	return v1.Descriptor{
		MediaType:   types.OCIManifestSchema1,
		Digest:      v1.Hash{Algorithm: "sha256", Hex: "1111111111111111111111111111111111111111111111111111111111111111"},
		Size:        1234,
		Annotations: map[string]string{"not": "written"},
		Platform:    &v1.Platform{OS: "linux", Architecture: "amd64"},
	}
}

func supersession() Marker {
	return Marker{
		Subject:            testSubject(),
		EndOfLife:          "2027-05-24",
		Date:               "2026-11-24",
		Reason:             "superseded by 2026.11.24",
		SupersededByTag:    "2026.11.24",
		SupersededByDigest: "sha256:2222222222222222222222222222222222222222222222222222222222222222",
	}
}

func TestEmptyDigest(t *testing.T) {
	sum := sha256.Sum256(emptyJSON)
	assert.Equal(t, hex.EncodeToString(sum[:]), emptyDigest.Hex)
}

// TestManifestBytes pins the exact marker format: any change here changes
// every marker digest, so re-marking after an upgrade would write again.
func TestManifestBytes(t *testing.T) {
	tests := []struct {
		name   string
		marker Marker
		want   string
	}{
		{
			name:   "supersession",
			marker: supersession(),
			want: `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",` +
				`"artifactType":"application/vnd.microsoft.artifact.lifecycle",` +
				`"config":{"mediaType":"application/vnd.microsoft.artifact.lifecycle","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2},` +
				`"layers":[{"mediaType":"application/vnd.oci.empty.v1+json","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2}],` +
				`"subject":{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:1111111111111111111111111111111111111111111111111111111111111111","size":1234},` +
				`"annotations":{"io.imgctl.deprecated.date":"2026-11-24","io.imgctl.reason":"superseded by 2026.11.24",` +
				`"io.imgctl.superseded-by.digest":"sha256:2222222222222222222222222222222222222222222222222222222222222222",` +
				`"io.imgctl.superseded-by.tag":"2026.11.24","vnd.microsoft.artifact.lifecycle.end-of-life.date":"2027-05-24"}}`,
		},
		{
			name: "retirement with replacement, no html escaping",
			marker: Marker{
				Subject:     testSubject(),
				EndOfLife:   "2026-12-31",
				Date:        "2026-11-24",
				Reason:      "retired: python<3.12 & numpy 1.x",
				Replacement: "python-3.13",
			},
			want: `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",` +
				`"artifactType":"application/vnd.microsoft.artifact.lifecycle",` +
				`"config":{"mediaType":"application/vnd.microsoft.artifact.lifecycle","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2},` +
				`"layers":[{"mediaType":"application/vnd.oci.empty.v1+json","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2}],` +
				`"subject":{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:1111111111111111111111111111111111111111111111111111111111111111","size":1234},` +
				`"annotations":{"io.imgctl.deprecated.date":"2026-11-24","io.imgctl.reason":"retired: python<3.12 & numpy 1.x",` +
				`"io.imgctl.replacement":"python-3.13","vnd.microsoft.artifact.lifecycle.end-of-life.date":"2026-12-31"}}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Manifest(tt.marker)
			require.NoError(t, err)
			assert.Equal(t, tt.want, string(got))
			assert.True(t, json.Valid(got))
			assert.NotContains(t, string(got), "org.opencontainers.image.created")

			// Same value, same bytes; Digest is ignored.
			m := tt.marker
			m.Digest = v1.Hash{Algorithm: "sha256", Hex: "ff"}
			again, err := Manifest(m)
			require.NoError(t, err)
			assert.True(t, bytes.Equal(got, again))
		})
	}
}

func TestManifestRoundTrip(t *testing.T) {
	m := supersession()
	raw, digest, err := digestOf(m)
	require.NoError(t, err)
	got, ok, err := parseMarker(raw, digest, m.Subject.Digest)
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, digest, got.Digest)
	got.Digest = v1.Hash{}
	again, err := Manifest(got)
	require.NoError(t, err)
	assert.Equal(t, string(raw), string(again), "Manifest(parse(x)) == x")

	_, ok, err = parseMarker(raw, digest, v1.Hash{Algorithm: "sha256", Hex: "33"})
	require.NoError(t, err)
	assert.False(t, ok, "a marker for another subject is not returned")
}

func TestManifestInvalid(t *testing.T) {
	tests := []struct {
		name   string
		modify func(*Marker)
		want   string
	}{
		{"no subject digest", func(m *Marker) { m.Subject.Digest = v1.Hash{} }, "subject has no digest"},
		{"subject is a layer", func(m *Marker) { m.Subject.MediaType = types.OCILayer }, "not an image manifest or index"},
		{"subject size", func(m *Marker) { m.Subject.Size = 0 }, "has size 0"},
		{"eol missing", func(m *Marker) { m.EndOfLife = "" }, `end-of-life date "" is not YYYY-MM-DD`},
		{"eol rfc3339", func(m *Marker) { m.EndOfLife = "2027-05-24T00:00:00Z" }, "end-of-life date"},
		{"date shape", func(m *Marker) { m.Date = "2026.11.24" }, "deprecation date"},
		{"date impossible", func(m *Marker) { m.Date = "2026-02-30" }, "deprecation date"},
		{"reason", func(m *Marker) { m.Reason = "" }, "reason is empty"},
		{"successor digest", func(m *Marker) { m.SupersededByDigest = "2026.11.24" }, "superseded-by digest"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := supersession()
			tt.modify(&m)
			_, err := Manifest(m)
			require.ErrorIs(t, err, ErrInvalidMarker)
			assert.ErrorContains(t, err, tt.want)
		})
	}

	t.Run("all problems reported", func(t *testing.T) {
		_, err := Manifest(Marker{Subject: testSubject()})
		require.ErrorIs(t, err, ErrInvalidMarker)
		for _, want := range []string{"end-of-life date", "deprecation date", "reason is empty"} {
			assert.ErrorContains(t, err, want)
		}
	})
}
