package cli

import (
	"archive/tar"
	"compress/gzip"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/imgctl/imgctl/internal/e2etest"
)

// twoPlatforms is a busybox chain for linux/amd64 and linux/arm64: the
// base has a rootfs per platform, mid inherits both platforms, and amdonly
// asks for one of them.
const twoPlatforms = `package lib

registry: "REGISTRY/e2e"
images: base: {
	from:      "scratch"
	platforms: ["linux/amd64", "linux/arm64"]
	rootfs: {"linux/amd64": "busybox-amd64.tar", "linux/arm64": "busybox-arm64.tar"}
	env: PATH: "/bin"
}
images: mid: {parent: "base", run: ["uname -m > /arch"]}
images: amdonly: {parent: "base", platforms: ["linux/amd64"], run: ["uname -m > /arch"]}
`

// rawIndex is an OCI index as skopeo inspect --raw prints it.
type rawIndex struct {
	MediaType string
	Manifests []rawEntry
}

type rawEntry struct {
	Digest      string
	Platform    struct{ OS, Architecture string }
	Annotations map[string]string
}

// images are the index's platform images, without BuildKit's attestation
// manifests (SBOM, provenance).
func (x rawIndex) images() []rawEntry {
	var out []rawEntry
	for _, m := range x.Manifests {
		if m.Annotations["vnd.docker.reference.type"] != "attestation-manifest" {
			out = append(out, m)
		}
	}
	return out
}

func (x rawIndex) platforms() []string {
	var out []string
	for _, m := range x.images() {
		out = append(out, m.Platform.OS+"/"+m.Platform.Architecture)
	}
	sort.Strings(out)
	return out
}

// TestPublishTwoPlatforms publishes the chain twice (the second time mid
// changes, superseding its first version) into distribution 2.8 and into
// go-containerregistry's registry with the referrers API, and checks with
// skopeo and go-containerregistry (not imgctl) that each version is one
// index with exactly its platforms, that each platform ran its own
// architecture, and that the superseded version is marked on its index
// and on every platform manifest.
func TestPublishTwoPlatforms(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("end-to-end: BuildKit with QEMU")
	}
	e2etest.RequirePlatforms(t, useBuildKit(t), "linux/arm64")
	for mode, start := range map[string]func(*testing.T) string{
		"distribution-2.8": func(t *testing.T) string { return e2etest.Registry(t) },
		"ggcr-referrers":   func(t *testing.T) string { return e2etest.InProcessRegistry(t, true) },
	} {
		t.Run(mode, func(t *testing.T) {
			e := newE2E(t)
			e.reg = start(t)
			e.src = twoPlatforms
			e.write()
			for arch, f := range map[string]string{"amd64": "busybox-amd64.tar", "arm64": "busybox-arm64.tar"} {
				e2etest.LinkOrCopy(t, e2etest.BusyboxRootfsFor(t, arch), filepath.Join(e.dir, f))
			}
			built, stdout, stderr, code := e.publish("2026-11-01")
			require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", stdout, stderr)
			assert.Len(t, built, 3)

			inspect := func(image, tag string) rawIndex {
				var x rawIndex
				require.NoError(t, json.Unmarshal(e2etest.Skopeo(t, "inspect", "--raw", "--tls-verify=false", "docker://"+e.reg+"/e2e/"+image+":"+tag), &x))
				require.Equal(t, "application/vnd.oci.image.index.v1+json", x.MediaType, "%s:%s is an index", image, tag)
				return x
			}
			assert.Equal(t, []string{"linux/amd64", "linux/arm64"}, inspect("base", "latest").platforms())
			assert.Equal(t, []string{"linux/amd64", "linux/arm64"}, inspect("mid", "latest").platforms(), "mid inherits the platforms")
			assert.Equal(t, []string{"linux/amd64"}, inspect("amdonly", "latest").platforms())
			for arch, want := range map[string]string{"amd64": "x86_64", "arm64": "aarch64"} {
				out := e2etest.Skopeo(t, "inspect", "--tls-verify=false", "--override-arch", arch, "docker://"+e.reg+"/e2e/mid:latest")
				var insp struct{ Architecture string }
				require.NoError(t, json.Unmarshal(out, &insp))
				assert.Equal(t, arch, insp.Architecture)
				assert.Equal(t, want, archFile(t, e.reg+"/e2e/mid:latest", arch), "mid's RUN on %s", arch)
			}

			// status shows the platforms of each version.
			code, stdout, stderr = e.run("status", e.dir, "mid")
			require.Equal(t, 0, code, stderr)
			assert.Contains(t, stdout, "linux/amd64,linux/arm64")

			first := inspect("mid", "2026.11.01")
			firstDigest, _ := e.manifest("mid", "2026.11.01")
			e.edit("uname -m > /arch", "uname -m > /arch; echo v2 > /v")
			built, stdout, stderr, code = e.publish("2026-11-02")
			require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", stdout, stderr)
			assert.Equal(t, map[string]string{"mid": "2026.11.02"}, built)

			// The superseded version is marked on its index and on each
			// platform manifest, as go-containerregistry reads referrers
			// (the API, or the OCI 1.1 fallback tag).
			subjects := []string{firstDigest}
			for _, m := range first.images() {
				subjects = append(subjects, m.Digest)
			}
			require.Len(t, subjects, 3)
			for _, d := range subjects {
				ref, err := name.NewDigest(e.reg+"/e2e/mid@"+d, name.Insecure)
				require.NoError(t, err)
				idx, err := remote.Referrers(ref)
				require.NoError(t, err)
				im, err := idx.IndexManifest()
				require.NoError(t, err)
				n := 0
				for _, m := range im.Manifests {
					if m.ArtifactType == "application/vnd.microsoft.artifact.lifecycle" {
						n++
					}
				}
				assert.Equal(t, 1, n, "lifecycle marker on mid@%s", d)
			}
		})
	}
}

// archFile reads /arch of ref's arch image with go-containerregistry.
func archFile(t *testing.T, ref, arch string) string {
	t.Helper()
	dir := t.TempDir()
	out := filepath.Join(dir, "img")
	e2etest.Skopeo(t, "copy", "--src-tls-verify=false", "--override-arch", arch, "docker://"+ref, "dir:"+out)
	var m struct{ Layers []struct{ Digest string } }
	b, err := os.ReadFile(filepath.Join(out, "manifest.json"))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, &m))
	last := m.Layers[len(m.Layers)-1].Digest
	blob := filepath.Join(out, strings.TrimPrefix(last, "sha256:"))
	return strings.TrimSpace(string(untarFile(t, blob, "arch")))
}

// untarFile returns the content of file name in the gzip-compressed layer
// tar at path.
func untarFile(t *testing.T, path, name string) []byte {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	zr, err := gzip.NewReader(f)
	require.NoError(t, err)
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		require.NoError(t, err, "%s not in the layer", name)
		if strings.TrimPrefix(strings.TrimPrefix(h.Name, "./"), "/") == name {
			b, err := io.ReadAll(tr)
			require.NoError(t, err)
			return b
		}
	}
}
