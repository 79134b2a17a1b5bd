package build

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/imgctl/imgctl/internal/e2etest"
	"github.com/imgctl/imgctl/pkg/spec"
	"github.com/moby/buildkit/client"
)

func TestMain(m *testing.M) { e2etest.Main(m) }

// newClient connects to the shared test daemon.
func newClient(t *testing.T) *Client {
	t.Helper()
	addr := e2etest.BuildKit(t)
	c, err := New(context.Background(), addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// build runs c.Build, collecting the statuses, and logs how long it took.
func build(t *testing.T, c *Client, req Request) (Result, []*client.SolveStatus, error) {
	t.Helper()
	ch := make(chan *client.SolveStatus)
	var got []*client.SolveStatus
	done := make(chan struct{})
	go func() {
		defer close(done)
		for s := range ch {
			got = append(got, s)
		}
	}()
	res, err := c.Build(context.Background(), req, ch)
	close(ch) // Build never closes it.
	<-done
	if err == nil {
		t.Logf("built %s in %v: %s", req.Image.Name, res.Duration.Round(time.Millisecond), res.Digest)
	}
	return res, got, err
}

func mustBuild(t *testing.T, c *Client, req Request) string {
	t.Helper()
	res, _, err := build(t, c, req)
	if err != nil {
		t.Fatal(err)
	}
	return res.Digest
}

// prune empties the daemon's build cache, so the next build starts fresh.
func prune(t *testing.T, c *Client) {
	t.Helper()
	if err := c.bk.Prune(context.Background(), nil, client.PruneAll); err != nil {
		t.Fatalf("pruning: %v", err)
	}
}

func digestOf(t *testing.T, path string) string {
	t.Helper()
	d, err := spec.FileDigest(path)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// busyboxBase returns the request of a scratch image from the busybox rootfs.
func busyboxBase(t *testing.T, repo string) Request {
	tarPath := e2etest.BusyboxRootfs(t)
	return Request{
		Image: &spec.Image{
			Name: "busybox", From: "scratch",
			Rootfs: filepath.Base(tarPath), RootfsDigest: digestOf(t, tarPath),
			Cmd: []string{"/bin/sh"},
		},
		SpecDir:    filepath.Dir(tarPath),
		Repository: repo,
		Insecure:   true,
	}
}

type fileEntry struct {
	mode    int64
	uid     int
	content []byte
}

// pulled is an image read back from the registry with ggcr.
type pulled struct {
	manifest *v1.Manifest
	config   *v1.ConfigFile
	rawCfg   []byte
	files    map[string]fileEntry // by path without leading "/", last layer wins
	layers   [][]byte             // uncompressed layer tars
}

// pull reads ref with ggcr; from an index, the platform opts ask for
// (remote.WithPlatform), linux/amd64 by default.
func pull(t *testing.T, ref string, opts ...remote.Option) pulled {
	t.Helper()
	d, err := name.NewDigest(ref, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	img, err := remote.Image(d, opts...)
	if err != nil {
		t.Fatalf("pulling %s: %v", ref, err)
	}
	p := pulled{files: map[string]fileEntry{}}
	if p.manifest, err = img.Manifest(); err != nil {
		t.Fatal(err)
	}
	if p.config, err = img.ConfigFile(); err != nil {
		t.Fatal(err)
	}
	if p.rawCfg, err = img.RawConfigFile(); err != nil {
		t.Fatal(err)
	}
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range layers {
		rc, err := l.Uncompressed()
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		p.layers = append(p.layers, b)
		tr := tar.NewReader(bytes.NewReader(b))
		for {
			h, err := tr.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			content, _ := io.ReadAll(tr)
			p.files[strings.TrimPrefix(strings.TrimPrefix(h.Name, "./"), "/")] = fileEntry{mode: h.Mode, uid: h.Uid, content: content}
		}
	}
	return p
}

// ranAgain lists the RUN steps that ran instead of coming from a cache. A
// vertex restored from the cache is reported cached; it shows up again
// uncached while its layer is fetched for the export.
func ranAgain(statuses []*client.SolveStatus) map[string]bool {
	ran := map[string]bool{}
	for _, s := range statuses {
		for _, v := range s.Vertexes {
			if strings.Contains(v.Name, "RUN ") {
				ran[v.Name] = ran[v.Name] || !v.Cached
			}
		}
	}
	for _, s := range statuses {
		for _, v := range s.Vertexes {
			if v.Cached {
				delete(ran, v.Name)
			}
		}
	}
	return ran
}

func TestE2EBuild(t *testing.T) {
	c := newClient(t)
	reg := e2etest.Registry(t)

	base := busyboxBase(t, reg+"/datasci/busybox")
	baseDigest := mustBuild(t, c, base)

	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "data"), 0o755); err != nil {
		t.Fatal(err)
	}
	csv := filepath.Join(dir, "data", "segments.csv")
	if err := os.WriteFile(csv, []byte("id,segment\n1,gold\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	childRepo := reg + "/datasci/child"
	child := Request{
		Image: &spec.Image{
			Name: "child", Parent: "busybox",
			Run: []string{
				"echo hi > /hello",
				`mkdir -p /out && echo "$GREETING from $(pwd) as $(id -u)" > /out/greeting`,
			},
			Files:   []spec.File{{Src: "data/segments.csv", Dest: "/opt/data/segments.csv", Mode: 0o444, Digest: digestOf(t, csv)}},
			Env:     map[string]string{"GREETING": "hello world"},
			User:    "1000:1000",
			Workdir: "/tmp",
			Cmd:     []string{"sh", "-c", "cat /hello"},
			Ports:   []int{8888},
			Labels:  map[string]string{"org.example.team": "marketing"},
		},
		SpecDir:    dir,
		Base:       base.Repository + "@" + baseDigest,
		Repository: childRepo,
		Insecure:   true,
		Annotations: map[string]string{
			"io.imgctl.content-key":              "sha256:0123",
			"org.opencontainers.image.base.name": base.Repository,
		},
	}
	d1 := mustBuild(t, c, child)

	p := pull(t, childRepo+"@"+d1)
	for k, v := range child.Annotations {
		if p.manifest.Annotations[k] != v {
			t.Errorf("manifest annotation %s = %q, want %q", k, p.manifest.Annotations[k], v)
		}
	}
	if n := len(p.manifest.Layers); n != 4 {
		t.Errorf("%d layers, want 4 (rootfs, file, 2 runs)", n)
	}
	cfg := p.config.Config
	if cfg.User != "1000:1000" || cfg.WorkingDir != "/tmp" || strings.Join(cfg.Cmd, " ") != "sh -c cat /hello" ||
		cfg.Labels["org.example.team"] != "marketing" {
		t.Errorf("config = %+v", cfg)
	}
	if _, ok := cfg.ExposedPorts["8888/tcp"]; !ok {
		t.Errorf("exposed ports = %v", cfg.ExposedPorts)
	}
	if env := strings.Join(cfg.Env, " "); !strings.Contains(env, "PATH="+DefaultPath) || !strings.Contains(env, "GREETING=hello world") {
		t.Errorf("env = %q", cfg.Env)
	}
	if !p.config.Created.Time.Equal(time.Unix(0, 0)) {
		t.Errorf("created = %v, want the epoch", p.config.Created)
	}
	nonEmpty := 0
	for _, h := range p.config.History {
		if !h.EmptyLayer {
			nonEmpty++
		}
		if strings.HasPrefix(h.CreatedBy, "imported") || h.Created.Time.After(time.Unix(0, 0)) {
			t.Errorf("history entry %+v", h)
		}
	}
	if nonEmpty != len(p.manifest.Layers) {
		t.Errorf("%d non-empty history entries for %d layers", nonEmpty, len(p.manifest.Layers))
	}
	if f := p.files["opt/data/segments.csv"]; string(f.content) != "id,segment\n1,gold\n" || f.mode&0o7777 != 0o444 || f.uid != 0 {
		t.Errorf("/opt/data/segments.csv = %q mode %o uid %d, want the file, mode 444, root", f.content, f.mode, f.uid)
	}
	if f := p.files["hello"]; string(f.content) != "hi\n" {
		t.Errorf("/hello = %q", f.content)
	}
	if f := p.files["out/greeting"]; string(f.content) != "hello world from /tmp as 0\n" {
		t.Errorf("/out/greeting = %q, want the image env, workdir and root", f.content)
	}
	if out := e2etest.Skopeo(t, "inspect", "--tls-verify=false", "--raw", "docker://"+childRepo+"@"+d1); !bytes.Contains(out, []byte("io.imgctl.content-key")) {
		t.Errorf("skopeo sees no annotation in %s", out)
	}

	t.Run("rebuild", func(t *testing.T) {
		if d := mustBuild(t, c, child); d != d1 {
			t.Errorf("cached rebuild: digest %s, first build %s", d, d1)
		}
	})
	t.Run("fresh", func(t *testing.T) {
		// Another day, another daemon: nothing cached, same digests.
		time.Sleep(1100 * time.Millisecond) // new file timestamps differ by at least a second
		prune(t, c)
		if d := mustBuild(t, c, base); d != baseDigest {
			t.Errorf("fresh base build: digest %s, first build %s", d, baseDigest)
		}
		if d := mustBuild(t, c, child); d != d1 {
			t.Errorf("fresh child build: digest %s, first build %s", d, d1)
		}
	})
	t.Run("registry cache", func(t *testing.T) {
		withCache := child
		withCache.CacheRef = childRepo + "-cache:buildcache"
		// The cache does not exist yet: only exported.
		if d := mustBuild(t, c, withCache); d != d1 {
			t.Errorf("build exporting the cache: digest %s, want %s", d, d1)
		}
		withCache.CacheImport = true
		prune(t, c)
		res, statuses, err := build(t, c, withCache)
		if err != nil {
			t.Fatal(err)
		}
		if res.Digest != d1 {
			t.Errorf("build from the registry cache: digest %s, want %s", res.Digest, d1)
		}
		if ran := ranAgain(statuses); len(ran) > 0 {
			t.Errorf("steps ran again despite the registry cache: %v", ran)
			for _, s := range statuses {
				for _, v := range s.Vertexes {
					t.Logf("vertex %s cached=%v started=%v completed=%v err=%q", v.Name, v.Cached, v.Started != nil, v.Completed != nil, v.Error)
				}
				for _, l := range s.Logs {
					t.Logf("log %s: %q", l.Vertex, l.Data)
				}
				for _, st := range s.Statuses {
					t.Logf("status %s %s", st.ID, st.Name)
				}
			}
		}
	})
	t.Run("changed file", func(t *testing.T) {
		if err := os.WriteFile(csv, []byte("tampered\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		_, _, err := build(t, c, child)
		if err == nil || !strings.Contains(err.Error(), "changed since the spec was loaded") {
			t.Errorf("error = %v, want a refusal", err)
		}
	})
	t.Run("failing step", func(t *testing.T) {
		failing := child
		im := *child.Image
		im.Files = nil
		im.Run = []string{"echo first", "for i in $(seq 1 40); do echo progress line $i; done; echo 'fatal: no such dataset' >&2; exit 3", "echo never"}
		failing.Image = &im
		_, _, err := build(t, c, failing)
		var se *StepError
		if !errors.As(err, &se) {
			t.Fatalf("error %v is not a StepError", err)
		}
		msg := err.Error()
		t.Logf("error:\n%s", msg)
		for _, want := range []string{"building child: step 2/3 (run[1]) failed", "exit code: 3", "| fatal: no such dataset", "| progress line 40"} {
			if !strings.Contains(msg, want) {
				t.Errorf("error lacks %q", want)
			}
		}
		if strings.Contains(msg, "progress line 10\n") || len(se.Output) > tailLines {
			t.Errorf("error holds more than the tail: %d lines", len(se.Output))
		}
	})
}

func TestE2EUnreachable(t *testing.T) {
	addr := "unix://" + filepath.Join(t.TempDir(), "nothing.sock")
	start := time.Now()
	_, err := New(context.Background(), addr, WithDialTimeout(3*time.Second))
	if err == nil || !strings.HasPrefix(err.Error(), "connecting to BuildKit at "+addr+": ") || strings.Contains(err.Error(), "\n") {
		t.Fatalf("error = %v, want one line naming the address", err)
	}
	t.Logf("%v after %v", err, time.Since(start).Round(time.Millisecond))
}

func TestE2EPipPrivateIndex(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: needs a Debian base with python3-pip (debootstrap on first run, apt-get from the Debian mirror); run without -short")
	}
	c := newClient(t)
	reg := e2etest.Registry(t)
	const user, password, pkg = "alice", "p@ss:W0rd-9f3kq", "imgctltestpkg"
	idx := e2etest.ServePyPI(t, user, password, pkg)

	tarPath := e2etest.DebianRootfs(t)
	debian := Request{
		Image: &spec.Image{
			Name: "debian", From: "scratch",
			Rootfs: filepath.Base(tarPath), RootfsDigest: digestOf(t, tarPath),
			Env: map[string]string{"LANG": "C.UTF-8"},
			Apt: []string{"python3-pip"},
		},
		SpecDir: filepath.Dir(tarPath), Repository: reg + "/datasci/python3", Insecure: true,
	}
	baseDigest := mustBuild(t, c, debian)

	// An apt step is reproducible too: nothing cached, same digest (while
	// the mirror serves the same packages).
	prune(t, c)
	if d := mustBuild(t, c, debian); d != baseDigest {
		t.Errorf("fresh rebuild of the apt step: digest %s, first build %s", d, baseDigest)
	}
	// Byte-code compiled by the packages' install scripts is hash-based
	// (SOURCE_DATE_EPOCH), so it stays valid with the layer timestamps
	// clamped to the epoch. (Python's import cache writes timestamp-based
	// files, e.g. for debpython itself; those are only a cache.)
	pycs := 0
	for name, f := range pull(t, debian.Repository+"@"+baseDigest).files {
		if strings.HasPrefix(name, "usr/lib/python3/dist-packages/pip/") && strings.HasSuffix(name, ".pyc") && len(f.content) >= 8 {
			pycs++
			if f.content[4]&1 == 0 {
				t.Errorf("%s is timestamp-based byte-code", name)
			}
		}
	}
	if pycs == 0 {
		t.Error("no .pyc files in the python3-pip image")
	}

	repo := reg + "/datasci/private"
	req := Request{
		Image: &spec.Image{
			Name: "private", Parent: "python3",
			Pip: &spec.Pip{Packages: []string{pkg}, Index: idx.URL + "/simple/", CredentialsEnv: "PIP_CREDS"},
			Run: []string{`python3 -c "import ` + pkg + `; print(` + pkg + `.VALUE)" > /private-value`},
		},
		Base: debian.Repository + "@" + baseDigest, Repository: repo, Insecure: true,
		Secrets: map[string][]byte{PipCredentialsSecret: []byte(user + ":" + password)},
	}
	res, statuses, err := build(t, c, req)
	if err != nil {
		t.Fatal(err)
	}
	if served, refused := idx.Served(); served == 0 {
		t.Errorf("the index saw no authorised request (%d refused)", refused)
	}
	p := pull(t, repo+"@"+res.Digest)
	if got := string(p.files["private-value"].content); got != "from the private index\n" {
		t.Errorf("/private-value = %q", got)
	}
	secrets := []string{password, userinfo(user + ":" + password), "W0rd-9f3kq"}
	for _, s := range secrets {
		for i, l := range p.layers {
			if bytes.Contains(l, []byte(s)) {
				t.Errorf("layer %d holds the credential %q", i, s)
			}
		}
		if bytes.Contains(p.rawCfg, []byte(s)) {
			t.Errorf("the config holds the credential %q", s)
		}
		for _, st := range statuses {
			for _, l := range st.Logs {
				if bytes.Contains(l.Data, []byte(s)) {
					t.Errorf("a progress log holds the credential %q: %q", s, l.Data)
				}
			}
		}
	}
	// Wrong credentials: the pip step fails and says so, without the
	// secret. (Secrets are not part of BuildKit's cache key: the same step
	// with other credentials would be a cache hit, so ask for pkg==1.0.)
	bad := req
	bad.Secrets = map[string][]byte{PipCredentialsSecret: []byte(user + ":wrong-password-xyz")}
	bad.Image = &spec.Image{Name: "private", Parent: "python3", Pip: &spec.Pip{Packages: []string{pkg + "==1.0"}, Index: idx.URL + "/simple/", CredentialsEnv: "PIP_CREDS"}}
	_, _, err = build(t, c, bad)
	var se *StepError
	if !errors.As(err, &se) || se.Field != "pip" {
		t.Fatalf("error = %v, want the pip step's StepError", err)
	}
	t.Logf("error:\n%v", err)
	if strings.Contains(err.Error(), "wrong-password-xyz") {
		t.Errorf("the error holds the credential")
	}
}
