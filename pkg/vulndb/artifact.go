package vulndb

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// The OCI artifact of a feed: an image manifest whose config says what
// it is and whose layers are the ecosystems' archives, each titled
// <Ecosystem>/all.zip.
const (
	ArtifactType   = "application/vnd.imgctl.vulndb.v1+json"
	ArchiveType    = "application/zip"
	titleAnnot     = "org.opencontainers.image.title"
	DateAnnotation = "io.imgctl.vulndb.date"
	// Repository is the feed's repository under the library's registry.
	Repository = "imgctl-vulndb"
)

type artifactConfig struct {
	Date       string   `json:"date"`
	Ecosystems []string `json:"ecosystems"`
	Records    int      `json:"records"`
	Digest     string   `json:"digest"`
}

// Artifact is the OCI artifact holding archives (f is what Load made of
// them).
func Artifact(archives []Archive, f *Feed) (v1.Image, error) {
	cfg, err := json.Marshal(artifactConfig{Date: f.Date.Format("2006-01-02"), Ecosystems: f.Ecosystems, Records: f.Records, Digest: f.Digest})
	if err != nil {
		return nil, err
	}
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.MediaType(ArtifactType))
	for _, a := range archives {
		img, err = mutate.Append(img, mutate.Addendum{
			Layer:       static.NewLayer(a.Zip, ArchiveType),
			Annotations: map[string]string{titleAnnot: a.Ecosystem + "/all.zip"},
		})
		if err != nil {
			return nil, err
		}
	}
	img = mutate.Annotations(img, map[string]string{DateAnnotation: f.Date.Format("2006-01-02")}).(v1.Image)
	return &rawConfig{Image: img, cfg: cfg}, nil
}

// rawConfig replaces an image's config blob with cfg (an artifact's
// config is not an image configuration).
type rawConfig struct {
	v1.Image
	cfg []byte
}

func (r *rawConfig) RawConfigFile() ([]byte, error) { return r.cfg, nil }

func (r *rawConfig) ConfigName() (v1.Hash, error) {
	h, _, err := v1.SHA256(strings.NewReader(string(r.cfg)))
	return h, err
}

func (r *rawConfig) Manifest() (*v1.Manifest, error) {
	m, err := r.Image.Manifest()
	if err != nil {
		return nil, err
	}
	m = m.DeepCopy()
	h, err := r.ConfigName()
	if err != nil {
		return nil, err
	}
	m.Config = v1.Descriptor{MediaType: types.MediaType(ArtifactType), Size: int64(len(r.cfg)), Digest: h}
	return m, nil
}

func (r *rawConfig) RawManifest() ([]byte, error) {
	m, err := r.Manifest()
	if err != nil {
		return nil, err
	}
	return json.Marshal(m)
}

func (r *rawConfig) Digest() (v1.Hash, error) {
	b, err := r.RawManifest()
	if err != nil {
		return v1.Hash{}, err
	}
	h, _, err := v1.SHA256(strings.NewReader(string(b)))
	return h, err
}

func (r *rawConfig) Size() (int64, error) {
	b, err := r.RawManifest()
	return int64(len(b)), err
}

// Pull reads the feed artifact at ref: its archives, loaded.
func Pull(ctx context.Context, ref name.Reference, opts ...remote.Option) (*Feed, error) {
	opts = append(append([]remote.Option{}, opts...), remote.WithContext(ctx))
	img, err := remote.Image(ref, opts...)
	if err != nil {
		return nil, fmt.Errorf("reading the vulnerability feed %s: %w", ref, err)
	}
	m, err := img.Manifest()
	if err != nil {
		return nil, err
	}
	if string(m.Config.MediaType) != ArtifactType {
		return nil, fmt.Errorf("%s is not an imgctl vulnerability feed (config %s, want %s; write one with imgctl vulndb push)", ref, m.Config.MediaType, ArtifactType)
	}
	var archives []Archive
	for _, d := range m.Layers {
		eco, ok := strings.CutSuffix(d.Annotations[titleAnnot], "/all.zip")
		if !ok || d.MediaType != ArchiveType {
			continue
		}
		l, err := remote.Layer(ref.Context().Digest(d.Digest.String()), opts...)
		if err != nil {
			return nil, err
		}
		rc, err := l.Compressed() // the archive as stored (no layer compression)
		if err != nil {
			return nil, err
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			return nil, fmt.Errorf("reading %s of %s: %w", eco, ref, err)
		}
		if h, _, _ := v1.SHA256(strings.NewReader(string(b))); h != d.Digest {
			return nil, fmt.Errorf("%s of %s: digest %s, want %s", eco, ref, h, d.Digest)
		}
		archives = append(archives, Archive{Ecosystem: eco, Zip: b})
	}
	if len(archives) == 0 {
		return nil, fmt.Errorf("%s holds no archive", ref)
	}
	return Load(archives)
}
