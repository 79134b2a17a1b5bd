package e2etest

import (
	"runtime"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// PushRootfs pushes a single-layer OCI image made from the rootfs tarball
// at tarPath (e.g. [BusyboxRootfs] or [DebianRootfs]) to ref over plain
// HTTP, the way Debian's own images are made: FROM scratch plus the rootfs
// unpacked at /. The config sets PATH and Cmd ["/bin/sh"] and a zero
// creation time, so the same tarball gives the same digest. It returns the
// pushed image as "repo@sha256:…", ready for llb.Image.
func PushRootfs(t testing.TB, tarPath, ref string) string {
	t.Helper()
	tag, err := name.NewTag(ref, name.Insecure)
	if err != nil {
		t.Fatalf("parsing %q: %v", ref, err)
	}
	layer, err := tarball.LayerFromFile(tarPath, tarball.WithMediaType(types.OCILayer))
	if err != nil {
		t.Fatalf("reading rootfs %s: %v", tarPath, err)
	}
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	img, err = mutate.Append(img, mutate.Addendum{
		Layer:   layer,
		History: v1.History{CreatedBy: "rootfs " + tarPath, Created: v1.Time{Time: time.Unix(0, 0).UTC()}},
	})
	if err != nil {
		t.Fatalf("building image from %s: %v", tarPath, err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", runtime.GOARCH
	cf.Created = v1.Time{Time: time.Unix(0, 0).UTC()}
	cf.Config.Env = []string{"PATH=" + DefaultPath}
	cf.Config.Cmd = []string{"/bin/sh"}
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(tag, img); err != nil {
		t.Fatalf("pushing %s: %v", tag, err)
	}
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return tag.Context().Digest(d.String()).String()
}

// DefaultPath is the PATH of images made by [PushRootfs], the usual
// Debian one.
const DefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
