package e2etest

import (
	"archive/tar"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/moby/buildkit/client"
	"github.com/moby/buildkit/client/llb"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/tonistiigi/fsutil"
)

func TestMain(m *testing.M) { Main(m) }

// inspect is the part of `skopeo inspect` output the tests read.
type inspect struct {
	Digest string   `json:"Digest"`
	Layers []string `json:"Layers"`
	Os     string   `json:"Os"`
}

func skopeoInspect(t *testing.T, ref string) inspect {
	t.Helper()
	var got inspect
	out := Skopeo(t, "inspect", "--tls-verify=false", "docker://"+ref)
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("decoding skopeo inspect output: %v\n%s", err, out)
	}
	return got
}

func TestRegistry(t *testing.T) {
	addr := Registry(t)
	ref, err := name.NewTag(addr+"/test/random:v1", name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	img, err := random.Image(1024, 2)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, img); err != nil {
		t.Fatalf("pushing %s: %v", ref, err)
	}
	want, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}

	got := skopeoInspect(t, ref.String())
	if got.Digest != want.String() {
		t.Errorf("skopeo inspect digest = %s, want %s", got.Digest, want)
	}
	if len(got.Layers) != 2 {
		t.Errorf("skopeo inspect: %d layers, want 2", len(got.Layers))
	}
	tags := Skopeo(t, "list-tags", "--tls-verify=false", "docker://"+ref.Context().String())
	if !strings.Contains(string(tags), `"v1"`) {
		t.Errorf("skopeo list-tags = %s, want v1 listed", tags)
	}
}

func TestRegistryIsolated(t *testing.T) {
	a, b := Registry(t), Registry(t)
	if a == b {
		t.Fatalf("two registries share the address %s", a)
	}
	img, err := random.Image(64, 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(mustRef(t, a+"/only/here:x"), img); err != nil {
		t.Fatal(err)
	}
	if _, err := remote.Head(mustRef(t, b+"/only/here:x")); err == nil {
		t.Fatalf("image pushed to %s is visible in %s", a, b)
	}
}

func TestInProcessRegistry(t *testing.T) {
	for _, tc := range []struct {
		referrers bool
		want      int
	}{
		{referrers: false, want: http.StatusNotFound},
		{referrers: true, want: http.StatusOK},
	} {
		t.Run(fmt.Sprintf("referrers=%v", tc.referrers), func(t *testing.T) {
			addr := InProcessRegistry(t, tc.referrers)
			img, err := random.Image(64, 1)
			if err != nil {
				t.Fatal(err)
			}
			if err := remote.Write(mustRef(t, addr+"/test/img:v1"), img); err != nil {
				t.Fatal(err)
			}
			d, err := img.Digest()
			if err != nil {
				t.Fatal(err)
			}
			resp, err := http.Get("http://" + addr + "/v2/test/img/referrers/" + d.String())
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.want {
				t.Errorf("GET referrers: %s, want %d", resp.Status, tc.want)
			}
		})
	}
}

// imageConfig is the minimal OCI image config a plain LLB solve needs;
// BuildKit fills in rootfs and history.
func imageConfig(t *testing.T) string {
	t.Helper()
	b, err := json.Marshal(ocispec.Image{
		Platform: ocispec.Platform{OS: "linux", Architecture: runtime.GOARCH},
		Config: ocispec.ImageConfig{
			Env: []string{"PATH=" + DefaultPath},
			Cmd: []string{"/bin/sh"},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// solvePush solves st on BuildKit and pushes the result to ref, returning
// the manifest digest. BuildKit's logs are shown when the solve fails.
func solvePush(t *testing.T, st llb.State, locals map[string]string, ref string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	def, err := st.Marshal(ctx, llb.LinuxAmd64)
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.New(ctx, BuildKit(t))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	mounts := map[string]fsutil.FS{}
	for k, dir := range locals {
		if mounts[k], err = fsutil.NewFS(dir); err != nil {
			t.Fatal(err)
		}
	}
	ch := make(chan *client.SolveStatus)
	logs := make(chan string, 1)
	go func() {
		var b strings.Builder
		for s := range ch {
			for _, v := range s.Vertexes {
				if v.Error != "" {
					fmt.Fprintf(&b, "vertex %q: %s\n", v.Name, v.Error)
				}
			}
			for _, l := range s.Logs {
				b.Write(l.Data)
			}
		}
		logs <- b.String()
	}()
	resp, err := c.Solve(ctx, def, client.SolveOpt{
		LocalMounts: mounts,
		Exports: []client.ExportEntry{{
			Type: client.ExporterImage,
			Attrs: map[string]string{
				"name":                  ref,
				"push":                  "true",
				"registry.insecure":     "true",
				"oci-mediatypes":        "true",
				"containerimage.config": imageConfig(t),
			},
		}},
	}, ch)
	out := <-logs
	if err != nil {
		t.Fatalf("solving %s: %v\nbuild output:\n%s", ref, err, out)
	}
	d := resp.ExporterResponse["containerimage.digest"]
	if d == "" {
		t.Fatalf("solving %s: no containerimage.digest in %v", ref, resp.ExporterResponse)
	}
	return d
}

// fileInImage returns the content of path in ref's filesystem.
func fileInImage(t *testing.T, ref, path string) (string, error) {
	t.Helper()
	img, err := remote.Image(mustRef(t, ref))
	if err != nil {
		t.Fatal(err)
	}
	rc := mutate.Extract(img)
	defer rc.Close()
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return "", os.ErrNotExist
		}
		if err != nil {
			t.Fatal(err)
		}
		if strings.TrimPrefix(h.Name, "./") == strings.TrimPrefix(path, "/") {
			b, err := io.ReadAll(tr)
			return string(b), err
		}
	}
}

func TestBuildKitBusybox(t *testing.T) {
	addr := Registry(t)
	rootfs := BusyboxRootfs(t)
	// The local context is the rootfs cache directory, of which only the
	// tarball is sent; AttemptUnpack unpacks it at / like ADD in a Dockerfile.
	tarName := filepath.Base(rootfs)
	st := llb.Scratch().
		File(llb.Copy(llb.Local("ctx", llb.FollowPaths([]string{tarName})), tarName, "/",
			&llb.CopyInfo{AttemptUnpack: true})).
		Run(llb.Shlex(`sh -c 'echo hi > /hello'`), llb.AddEnv("PATH", DefaultPath)).Root()
	ref := addr + "/test/busybox:t"

	d := solvePush(t, st, map[string]string{"ctx": filepath.Dir(rootfs)}, ref)

	got := skopeoInspect(t, ref)
	if got.Digest != d {
		t.Errorf("skopeo inspect digest = %s, BuildKit reported %s", got.Digest, d)
	}
	if len(got.Layers) != 2 {
		t.Errorf("skopeo inspect: %d layers, want 2 (rootfs, RUN)", len(got.Layers))
	}
	if hello, err := fileInImage(t, ref, "/hello"); err != nil || hello != "hi\n" {
		t.Errorf("/hello in %s = %q, %v; want \"hi\\n\"", ref, hello, err)
	}
}

func TestBuildKitDebianApt(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: debootstrap (first run), apt-get update and install from the Debian mirror")
	}
	addr := Registry(t)
	base := PushRootfs(t, DebianRootfs(t), addr+"/debian:bookworm")
	st := llb.Image(base).
		Run(llb.Shlex(`sh -c 'apt-get update -qq && apt-get install -y -qq --no-install-recommends python3-numpy && python3 -c "import numpy; print(numpy.__version__)" > /numpy-version'`),
			llb.AddEnv("PATH", DefaultPath),
			llb.AddEnv("DEBIAN_FRONTEND", "noninteractive")).Root()
	ref := addr + "/test/numpy:t"

	d := solvePush(t, st, nil, ref)

	got := skopeoInspect(t, ref)
	if got.Digest != d {
		t.Errorf("skopeo inspect digest = %s, BuildKit reported %s", got.Digest, d)
	}
	if len(got.Layers) != 2 {
		t.Errorf("skopeo inspect: %d layers, want 2 (rootfs, RUN)", len(got.Layers))
	}
	v, err := fileInImage(t, ref, "/numpy-version")
	if err != nil || !strings.HasPrefix(v, "1.") {
		t.Errorf("/numpy-version in %s = %q, %v; want a numpy 1.x version", ref, v, err)
	}
	t.Logf("numpy %s", strings.TrimSpace(v))
}

// fakeTB records Skipf and Fatalf instead of stopping the goroutine.
type fakeTB struct {
	testing.TB
	skipped, failed bool
}

func (f *fakeTB) Helper()               {}
func (f *fakeTB) Skipf(string, ...any)  { f.skipped = true }
func (f *fakeTB) Fatalf(string, ...any) { f.failed = true }

func TestMissing(t *testing.T) {
	for _, tc := range []struct {
		env        string
		skip, fail bool
	}{
		{env: "", skip: true},
		{env: "0", skip: true},
		{env: "false", skip: true},
		{env: "1", fail: true},
		{env: "true", fail: true},
		{env: "yes", fail: true},
	} {
		t.Run("IMGCTL_E2E="+tc.env, func(t *testing.T) {
			t.Setenv(EnvRequire, tc.env)
			f := &fakeTB{TB: t}
			missing(f, "thing not found")
			if f.skipped != tc.skip || f.failed != tc.fail {
				t.Errorf("skipped, failed = %v, %v; want %v, %v", f.skipped, f.failed, tc.skip, tc.fail)
			}
		})
	}
}

func TestRepoRoot(t *testing.T) {
	root := RepoRoot(t)
	if _, err := os.Stat(filepath.Join(root, "hack", "rootfs.sh")); err != nil {
		t.Errorf("RepoRoot = %s, which has no hack/rootfs.sh: %v", root, err)
	}
}

func mustRef(t *testing.T, s string) name.Reference {
	t.Helper()
	ref, err := name.ParseReference(s, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	return ref
}
