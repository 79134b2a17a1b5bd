package build

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/imgctl/imgctl/internal/e2etest"
	"github.com/imgctl/imgctl/pkg/spec"
)

// TestE2EMultiPlatform builds a two-platform image (busybox per platform,
// then a RUN of `uname -m`, arm64 through QEMU) as one index, reads each
// platform's layer back with go-containerregistry, and rebuilds after a
// prune (same digests) and from the registry cache (every platform's steps
// cached).
func TestE2EMultiPlatform(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end: BuildKit with QEMU")
	}
	c := newClient(t)
	e2etest.RequirePlatforms(t, c.addr, "linux/arm64")
	reg := e2etest.Registry(t)
	amd, arm := e2etest.BusyboxRootfsFor(t, "amd64"), e2etest.BusyboxRootfsFor(t, "arm64")
	dir := t.TempDir()
	for _, f := range []struct{ from, to string }{{amd, "busybox-amd64.tar"}, {arm, "busybox-arm64.tar"}} {
		e2etest.LinkOrCopy(t, f.from, filepath.Join(dir, f.to))
	}
	req := Request{
		Image: &spec.Image{
			Name: "arch", From: "scratch",
			Platforms: []string{"linux/amd64", "linux/arm64"},
			RootfsByPlatform: map[string]spec.RootfsFile{
				"linux/amd64": {Src: "busybox-amd64.tar", Digest: digestOf(t, amd)},
				"linux/arm64": {Src: "busybox-arm64.tar", Digest: digestOf(t, arm)},
			},
			Env: map[string]string{"PATH": "/bin"},
			Run: []string{"uname -m > /arch"},
		},
		SpecDir:     dir,
		Repository:  reg + "/mp/arch",
		Insecure:    true,
		Annotations: map[string]string{"io.imgctl.content-key": "sha256:test"},
		CacheRef:    reg + "/mp/imgctl-cache/arch:buildcache",
	}
	first := mustBuild(t, c, req)

	// One index, exactly the two platforms, annotated.
	idx := index(t, req.Repository+"@"+first)
	got := map[string]string{} // platform -> manifest digest
	for _, m := range idx.Manifests {
		got[m.Platform.OS+"/"+m.Platform.Architecture] = m.Digest.String()
	}
	if len(idx.Manifests) != 2 || got["linux/amd64"] == "" || got["linux/arm64"] == "" {
		t.Fatalf("index manifests = %+v, want linux/amd64 and linux/arm64", idx.Manifests)
	}
	if idx.Annotations["io.imgctl.content-key"] != "sha256:test" {
		t.Errorf("index annotations = %v", idx.Annotations)
	}
	for pf, want := range map[string]string{"linux/amd64": "x86_64", "linux/arm64": "aarch64"} {
		os, arch, _ := strings.Cut(pf, "/")
		p := pull(t, req.Repository+"@"+got[pf], remote.WithPlatform(v1.Platform{OS: os, Architecture: arch}))
		if a := strings.TrimSpace(string(p.files["arch"].content)); a != want {
			t.Errorf("%s: uname -m in the RUN step = %q, want %q", pf, a, want)
		}
		if p.config.Architecture != arch {
			t.Errorf("%s: config architecture %q", pf, p.config.Architecture)
		}
		if p.manifest.Annotations["io.imgctl.content-key"] != "sha256:test" {
			t.Errorf("%s: manifest annotations = %v", pf, p.manifest.Annotations)
		}
	}

	// A fresh daemon state gives the same digests, index and platforms.
	prune(t, c)
	if d := mustBuild(t, c, req); d != first {
		t.Errorf("rebuild after prune: %s, first build %s", d, first)
	}

	// With provenance (the solve goes through the Dockerfile frontend so
	// that BuildKit records the commit): the same platform manifests, an
	// index of its own, and the commit in each platform's provenance.
	attested := req
	attested.Attest = Attestations{Provenance: "min", BuilderID: DefaultBuilderID, VCSSource: "https://git.example.com/specs.git", VCSRevision: "0123456789abcdef0123456789abcdef01234567"}
	withProv := mustBuild(t, c, attested)
	if withProv == first {
		t.Errorf("with provenance: the index %s is the one without", withProv)
	}
	pidx := index(t, req.Repository+"@"+withProv)
	provs := 0
	for _, m := range pidx.Manifests {
		if m.Annotations["vnd.docker.reference.type"] == "attestation-manifest" {
			provs++
			continue
		}
		if pf := m.Platform.OS + "/" + m.Platform.Architecture; got[pf] != m.Digest.String() {
			t.Errorf("with provenance: %s manifest %s, without %s", pf, m.Digest, got[pf])
		}
	}
	if provs != 2 {
		t.Errorf("with provenance: %d attestation manifests, want 2", provs)
	}
	for _, pf := range []string{"linux/amd64", "linux/arm64"} {
		var prov struct {
			RunDetails struct {
				Builder  struct{ ID string } `json:"builder"`
				Metadata struct {
					BuildKit struct {
						VCS map[string]string `json:"vcs"`
					} `json:"buildkit_metadata"`
				} `json:"metadata"`
			} `json:"runDetails"`
		}
		provenanceOf(t, req.Repository, pidx, got[pf], &prov)
		if r := prov.RunDetails.Metadata.BuildKit.VCS["revision"]; r != attested.Attest.VCSRevision {
			t.Errorf("%s: provenance revision %q, want %q", pf, r, attested.Attest.VCSRevision)
		}
		if s := prov.RunDetails.Metadata.BuildKit.VCS["source"]; s != attested.Attest.VCSSource {
			t.Errorf("%s: provenance source %q", pf, s)
		}
		if prov.RunDetails.Builder.ID != DefaultBuilderID {
			t.Errorf("%s: builder id %q", pf, prov.RunDetails.Builder.ID)
		}
	}

	// Built again from nothing, with provenance: the index differs (build
	// times, invocation id), the platform manifests do not.
	prune(t, c)
	again := mustBuild(t, c, attested)
	if again == withProv {
		t.Errorf("two builds with provenance gave one index %s", again)
	}
	for _, m := range index(t, req.Repository+"@"+again).Manifests {
		if m.Annotations["vnd.docker.reference.type"] == "attestation-manifest" {
			continue
		}
		if pf := m.Platform.OS + "/" + m.Platform.Architecture; got[pf] != m.Digest.String() {
			t.Errorf("rebuilt with provenance: %s manifest %s, first build %s", pf, m.Digest, got[pf])
		}
	}

	// From the registry cache after a prune: both platforms' steps cached.
	prune(t, c)
	req.CacheImport = true
	res, statuses, err := build(t, c, req)
	if err != nil {
		t.Fatal(err)
	}
	if res.Digest != first {
		t.Errorf("build from the registry cache: %s, want %s", res.Digest, first)
	}
	if ran := ranAgain(statuses); len(ran) > 0 {
		t.Errorf("steps ran again despite the registry cache: %v", ran)
	}
}

// index reads the OCI index at ref with go-containerregistry.
func index(t *testing.T, ref string) *v1.IndexManifest {
	t.Helper()
	d, err := name.NewDigest(ref, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	desc, err := remote.Get(d)
	if err != nil {
		t.Fatal(err)
	}
	if !desc.MediaType.IsIndex() {
		t.Fatalf("%s is a %s, want an image index", ref, desc.MediaType)
	}
	var im v1.IndexManifest
	if err := json.Unmarshal(desc.Manifest, &im); err != nil {
		t.Fatal(err)
	}
	return &im
}

// provenanceOf decodes the SLSA provenance predicate about the platform
// manifest subject in idx.
func provenanceOf(t *testing.T, repo string, idx *v1.IndexManifest, subject string, into any) {
	t.Helper()
	for _, m := range idx.Manifests {
		if m.Annotations["vnd.docker.reference.digest"] != subject {
			continue
		}
		d, err := name.NewDigest(repo+"@"+m.Digest.String(), name.Insecure)
		if err != nil {
			t.Fatal(err)
		}
		img, err := remote.Image(d)
		if err != nil {
			t.Fatal(err)
		}
		mf, err := img.Manifest()
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range mf.Layers {
			if l.Annotations["in-toto.io/predicate-type"] != "https://slsa.dev/provenance/v1" {
				continue
			}
			layer, err := img.LayerByDigest(l.Digest)
			if err != nil {
				t.Fatal(err)
			}
			rc, err := layer.Compressed()
			if err != nil {
				t.Fatal(err)
			}
			defer rc.Close()
			var st struct {
				Predicate json.RawMessage `json:"predicate"`
			}
			if err := json.NewDecoder(rc).Decode(&st); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(st.Predicate, into); err != nil {
				t.Fatal(err)
			}
			return
		}
	}
	t.Fatalf("no provenance about %s", subject)
}
