package build

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/imgctl/imgctl/pkg/spec"
	"github.com/moby/buildkit/client"
	"github.com/moby/buildkit/solver/pb"
	digest "github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

const (
	testBase   = "127.0.0.1:5000/datasci/python3@sha256:1111111111111111111111111111111111111111111111111111111111111111"
	testSecret = "alice:s3cret-Pa55"
)

// representative is a team image using every step kind.
func representative() Request {
	return Request{
		Image: &spec.Image{
			Name:          "marketing",
			Parent:        "python3",
			Description:   "Marketing analytics",
			Apt:           []string{"python3-sklearn", "libfoo=1.2-3"},
			AptRecommends: false,
			Pip: &spec.Pip{
				Packages:       []string{"pandas==2.2.1", "scikit-learn>=1.4"},
				Index:          "http://127.0.0.1:8080/simple/",
				CredentialsEnv: "PIP_CREDS",
			},
			R:   &spec.R{Packages: []string{"ggplot2", `we"ird`}},
			Run: []string{"echo 'hello world' > /etc/motd", "python3 -c 'import sklearn'"},
			Files: []spec.File{
				{Src: "data/segments.csv", Dest: "/opt/data/segments.csv", Mode: 0o444, Digest: "sha256:x"},
				{Src: "conf/app.ini", Dest: "/etc/app/", Mode: 0o600, Digest: "sha256:y"},
			},
			Env:        map[string]string{"SEGMENTS_CSV": "/opt/data/segments.csv", "HOME": "/home/ds", "GREETING": "hello $USER"},
			User:       "1000:1000",
			Workdir:    "/home/ds",
			Entrypoint: nil,
			Cmd:        []string{"python3"},
			Ports:      []int{8888, 8080},
			Labels:     map[string]string{"org.example.team": "marketing"},
			Platforms:  []string{"linux/amd64"},
		},
		SpecDir:     "/specs",
		Base:        testBase,
		Repository:  "127.0.0.1:5000/datasci/marketing",
		Annotations: map[string]string{"io.imgctl.content-key": "sha256:abc"},
		Secrets:     map[string][]byte{PipCredentialsSecret: []byte(testSecret)},
	}
}

func baseImage() *ocispec.Image {
	created := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	return &ocispec.Image{
		Created:  &created,
		Platform: ocispec.Platform{OS: "linux", Architecture: "amd64"},
		Config: ocispec.ImageConfig{
			Env:    []string{"PATH=/usr/local/bin:/usr/bin:/bin", "HOME=/root", "LANG=C.UTF-8"},
			Cmd:    []string{"/bin/bash"},
			Labels: map[string]string{"org.opencontainers.image.vendor": "Example"},
		},
		RootFS: ocispec.RootFS{Type: "layers", DiffIDs: []digest.Digest{
			"sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
			"sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb",
		}},
		History: []ocispec.History{
			{Created: &created, CreatedBy: "ADD build/debian-bookworm.tar /"},
			{Created: &created, CreatedBy: "ENV PATH=/usr/local/bin:/usr/bin:/bin", EmptyLayer: true},
			{CreatedBy: "RUN /bin/sh -c apt-get install python3"},
		},
	}
}

// ops decodes a definition into its ops, in order.
func ops(t *testing.T, def [][]byte) []*pb.Op {
	t.Helper()
	var out []*pb.Op
	for _, dt := range def {
		var op pb.Op
		if err := op.UnmarshalVT(dt); err != nil {
			t.Fatal(err)
		}
		out = append(out, &op)
	}
	return out
}

var amd64 = ocispec.Platform{OS: "linux", Architecture: "amd64"}

func TestDefinitionLLB(t *testing.T) {
	req := representative()
	def, _, err := Definition(context.Background(), req, baseImage(), amd64)
	if err != nil {
		t.Fatal(err)
	}
	all := bytes.Join(def.Def, nil)
	for _, secret := range []string{testSecret, "s3cret-Pa55", "s3cret-Pa55"} {
		if bytes.Contains(all, []byte(secret)) {
			t.Errorf("the definition contains the secret %q", secret)
		}
	}
	for _, md := range def.Metadata {
		if b, _ := json.Marshal(md); bytes.Contains(b, []byte("s3cret")) {
			t.Errorf("definition metadata contains the secret")
		}
	}

	var (
		images, locals []string
		scripts        []string
		execs          []*pb.ExecOp
		copies         []*pb.FileActionCopy
		mkdirs         []*pb.FileActionMkDir
	)
	for _, op := range ops(t, def.Def) {
		if p := op.GetPlatform(); p != nil && (p.OS != "linux" || p.Architecture != "amd64") {
			t.Errorf("op platform = %s/%s", p.OS, p.Architecture)
		}
		switch {
		case op.GetSource() != nil:
			src := op.GetSource()
			switch {
			case strings.HasPrefix(src.Identifier, "docker-image://"):
				images = append(images, src.Identifier)
			case strings.HasPrefix(src.Identifier, "local://"):
				locals = append(locals, src.Identifier)
				if got := src.Attrs["local.includepattern"]; got != `["data/segments.csv","conf/app.ini"]` {
					t.Errorf("local include patterns = %s", got)
				}
			}
		case op.GetExec() != nil:
			e := op.GetExec()
			execs = append(execs, e)
			args := e.Meta.Args
			if len(args) != 3 || args[0] != "/bin/sh" || args[1] != "-c" {
				t.Fatalf("exec args = %q, want /bin/sh -c SCRIPT", args)
			}
			scripts = append(scripts, args[2])
			if e.Meta.User != "0:0" || e.Meta.Cwd != "/home/ds" {
				t.Errorf("exec %q runs as %q in %q, want 0:0 in /home/ds", args[2], e.Meta.User, e.Meta.Cwd)
			}
			env := strings.Join(e.Meta.Env, "\n")
			for _, want := range []string{"PATH=/usr/local/bin:/usr/bin:/bin", "HOME=/home/ds", "LANG=C.UTF-8", "GREETING=hello $USER", "SOURCE_DATE_EPOCH=0"} {
				if !strings.Contains("\n"+env+"\n", "\n"+want+"\n") {
					t.Errorf("exec %q env lacks %q:\n%s", args[2], want, env)
				}
			}
		case op.GetFile() != nil:
			for _, a := range op.GetFile().Actions {
				if c := a.GetCopy(); c != nil {
					copies = append(copies, c)
				}
				if m := a.GetMkdir(); m != nil {
					mkdirs = append(mkdirs, m)
				}
			}
		}
	}
	if len(images) != 1 || images[0] != "docker-image://"+testBase {
		t.Errorf("image sources = %q, want the base by digest", images)
	}
	if len(locals) != 1 || locals[0] != "local://spec" {
		t.Errorf("local sources = %q, want one local://spec", locals)
	}
	wantScripts := []string{
		"export DEBIAN_FRONTEND=noninteractive && apt-get update && apt-get install -y --no-install-recommends python3-sklearn libfoo=1.2-3 && apt-get clean && rm -rf " + aptCleanup,
		`PIP_BREAK_SYSTEM_PACKAGES=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_ROOT_USER_ACTION=ignore pip install --no-cache-dir --index-url http://"${PIP_INDEX_CREDENTIALS}"@127.0.0.1:8080/simple/ --trusted-host 127.0.0.1:8080 pandas==2.2.1 'scikit-learn>=1.4'`,
		`Rscript -e 'pkgs <- c("ggplot2", "we\"ird"); install.packages(pkgs, repos = "https://cloud.r-project.org"); missing <- pkgs[!vapply(pkgs, requireNamespace, logical(1), quietly = TRUE)]; if (length(missing) > 0) stop("R packages not installed: ", paste(missing, collapse = ", "))'`,
		"echo 'hello world' > /etc/motd",
		"python3 -c 'import sklearn'",
	}
	if strings.Join(scripts, "\n") != strings.Join(wantScripts, "\n") {
		t.Errorf("scripts:\n%s\nwant:\n%s", strings.Join(scripts, "\n"), strings.Join(wantScripts, "\n"))
	}
	for i, e := range execs {
		var ids []string
		for _, s := range e.Secretenv {
			ids = append(ids, s.ID+"->"+s.Name)
			if s.Optional {
				t.Errorf("secret %s is optional", s.ID)
			}
		}
		want := ""
		if i == 1 {
			want = PipCredentialsSecret + "->" + PipCredentialsEnv
		}
		if strings.Join(ids, ",") != want {
			t.Errorf("exec %d secrets = %q, want %q", i, ids, want)
		}
	}
	if len(copies) != 2 {
		t.Fatalf("%d copies, want 2", len(copies))
	}
	for i, want := range []struct {
		src, dest string
		mode      int32
	}{{"/data/segments.csv", "/opt/data/segments.csv", 0o444}, {"/conf/app.ini", "/etc/app/", 0o600}} {
		c := copies[i]
		if c.Src != want.src || c.Dest != want.dest || c.Mode != want.mode || !c.CreateDestPath || !c.FollowSymlink {
			t.Errorf("copy %d = %s -> %s mode %o, want %s -> %s mode %o", i, c.Src, c.Dest, c.Mode, want.src, want.dest, want.mode)
		}
	}
	// The directories a copy needs are made 0755 and root-owned before it,
	// whatever the file's mode (a 0444 file in a new directory must stay
	// reachable for the image's user).
	if len(mkdirs) != 2 {
		t.Fatalf("%d mkdirs, want one before each copy", len(mkdirs))
	}
	for i, want := range []string{"/opt/data", "/etc/app"} {
		m := mkdirs[i]
		owner := m.GetOwner()
		if m.Path != want || m.Mode != 0o755 || !m.MakeParents || owner == nil ||
			owner.User.GetByID() != 0 || owner.Group.GetByID() != 0 || m.Timestamp != 0 {
			t.Errorf("mkdir %d = %s mode %o parents %v owner %v time %d, want %s mode 755 parents, root, epoch 0",
				i, m.Path, m.Mode, m.MakeParents, owner, m.Timestamp, want)
		}
	}
}

func TestDefinitionScratchRootfs(t *testing.T) {
	req := Request{
		Image: &spec.Image{
			Name: "debian", From: "scratch", Rootfs: "build/debian.tar",
			Env: map[string]string{"LANG": "C.UTF-8"},
			Run: []string{"true"},
		},
		SpecDir: "/specs", Repository: "r/debian",
	}
	def, cfg, err := Definition(context.Background(), req, nil, amd64)
	if err != nil {
		t.Fatal(err)
	}
	var unpack *pb.FileActionCopy
	var env []string
	for _, op := range ops(t, def.Def) {
		if src := op.GetSource(); src != nil && strings.HasPrefix(src.Identifier, "docker-image://") {
			t.Errorf("scratch image pulls %s", src.Identifier)
		}
		if f := op.GetFile(); f != nil {
			unpack = f.Actions[0].GetCopy()
		}
		if e := op.GetExec(); e != nil {
			env = e.Meta.Env
		}
	}
	if unpack == nil || unpack.Src != "/build/debian.tar" || unpack.Dest != "/" || !unpack.AttemptUnpackDockerCompatibility {
		t.Errorf("rootfs copy = %+v, want build/debian.tar unpacked at /", unpack)
	}
	if !strings.Contains(strings.Join(env, " "), "PATH="+DefaultPath) {
		t.Errorf("run env %q lacks the default PATH", env)
	}
	var img ocispec.Image
	if err := json.Unmarshal(cfg, &img); err != nil {
		t.Fatal(err)
	}
	var hist []string
	for _, h := range img.History {
		hist = append(hist, h.CreatedBy)
	}
	want := []string{"ADD build/debian.tar /", "ENV PATH=" + DefaultPath + " LANG=C.UTF-8", "RUN /bin/sh -c true"}
	if strings.Join(hist, "|") != strings.Join(want, "|") {
		t.Errorf("history = %q, want %q", hist, want)
	}
	if img.Config.Env[0] != "PATH="+DefaultPath {
		t.Errorf("env = %q, want the default PATH first", img.Config.Env)
	}
}

func TestImageConfigGolden(t *testing.T) {
	req := representative()
	_, cfg, err := Definition(context.Background(), req, baseImage(), amd64)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(cfg, []byte("s3cret")) {
		t.Fatal("the image config contains the secret")
	}
	var pretty bytes.Buffer
	if err := json.Indent(&pretty, cfg, "", "  "); err != nil {
		t.Fatal(err)
	}
	pretty.WriteByte('\n')
	golden(t, "config.golden.json", pretty.Bytes())

	// The layer history matches the layers: 2 base + 7 new.
	var img ocispec.Image
	if err := json.Unmarshal(cfg, &img); err != nil {
		t.Fatal(err)
	}
	layers := 0
	for _, h := range img.History {
		if h.Created == nil || !h.Created.Equal(time.Unix(0, 0)) && !h.Created.Equal(time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)) {
			t.Errorf("history %q created %v", h.CreatedBy, h.Created)
		}
		if !h.EmptyLayer {
			layers++
		}
	}
	if layers != 2+7 {
		t.Errorf("%d non-empty history entries, want 9", layers)
	}

	// The same input gives the same bytes; the base is not modified.
	b := baseImage()
	_, cfg2, err := Definition(context.Background(), req, b, amd64)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(cfg, cfg2) {
		t.Error("two definitions of the same request differ")
	}
	if b.History[2].Created != nil || len(b.Config.Env) != 3 {
		t.Error("Definition modified the base config")
	}
}

func TestDockerfileGolden(t *testing.T) {
	golden(t, "Dockerfile.golden", []byte(Dockerfile(representative())))
	req := Request{Image: &spec.Image{
		Name: "debian", From: "scratch", Rootfs: "build/debian-bookworm.tar",
		Env: map[string]string{"LANG": "C.UTF-8"}, Run: []string{"mkdir -p /home/ds && chown 1000:1000 /home/ds"},
		Cmd: []string{"/bin/bash"}, Labels: map[string]string{"org.opencontainers.image.vendor": "Example Data Science Platform"},
	}}
	golden(t, "Dockerfile-scratch.golden", []byte(Dockerfile(req)))
}

func TestDefinitionErrors(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(*Request)
		want   string
	}{
		{"base by tag", func(r *Request) { r.Base = "127.0.0.1:5000/datasci/python3:latest" }, "not a digest reference"},
		{"unresolved base", func(r *Request) { r.Base = "" }, "base is not resolved"},
		{"credentials in index", func(r *Request) { r.Image.Pip.Index = "https://bob:pw@pypi.example.com/simple" }, "holds credentials"},
		{"credentials without index", func(r *Request) { r.Image.Pip.Index = "" }, "pip.index is not"},
		{"relative spec dir", func(r *Request) { r.SpecDir = "specs" }, "not absolute"},
		{"wrong base platform", func(r *Request) { r.Image.Platforms = []string{"linux/arm64"} }, "base is linux/amd64, image marketing is built for linux/arm64"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := representative()
			tc.change(&req)
			plats, err := Platforms(req.Image)
			if err != nil {
				t.Fatal(err)
			}
			_, _, err = Definition(context.Background(), req, baseImage(), plats[0])
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error = %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestStepSecrets(t *testing.T) {
	req := representative()
	req.Secrets = map[string][]byte{PipCredentialsSecret: []byte("alice:p@ss:w/rd")}
	p, err := prepare(req, baseImage(), amd64)
	if err != nil {
		t.Fatal(err)
	}
	got, err := stepSecrets(req, p.steps)
	if err != nil {
		t.Fatal(err)
	}
	if s := string(got[PipCredentialsSecret]); s != "alice:p%40ss%3Aw%2Frd" {
		t.Errorf("encoded credentials = %q", s)
	}
	req.Secrets = nil
	if _, err := stepSecrets(req, p.steps); err == nil || !strings.Contains(err.Error(), `needs secret "pip-index-credentials" (pip.credentialsEnv PIP_CREDS)`) {
		t.Errorf("missing secret: error = %v", err)
	}
}

func TestVerifyFiles(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "a.txt")
	if err := os.WriteFile(path, []byte("one\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	d, err := spec.FileDigest(path)
	if err != nil {
		t.Fatal(err)
	}
	req := Request{SpecDir: dir, Image: &spec.Image{Name: "x", Files: []spec.File{{Src: "a.txt", Dest: "/a", Digest: d}}}}
	if err := verifyFiles(req); err != nil {
		t.Fatalf("unchanged file: %v", err)
	}
	if err := os.WriteFile(path, []byte("two\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := verifyFiles(req); err == nil || !strings.Contains(err.Error(), `files[0] "a.txt" changed since the spec was loaded`) {
		t.Errorf("changed file: error = %v", err)
	}
	req.Image.Files[0].Digest = ""
	if err := verifyFiles(req); err == nil || !strings.Contains(err.Error(), "no digest") {
		t.Errorf("file without digest: error = %v", err)
	}
}

func TestTrackerMasksAndFails(t *testing.T) {
	req := representative()
	p, err := prepare(req, baseImage(), amd64)
	if err != nil {
		t.Fatal(err)
	}
	var pipName string
	for name, i := range p.names {
		if p.steps[i].field == "pip" {
			pipName = name
		}
	}
	tr := newTracker(secretValues(map[string][]byte{PipCredentialsSecret: []byte(testSecret)}))
	v := digest.FromString("pip")
	var lines []string
	for i := range 30 {
		lines = append(lines, "line "+string(rune('a'+i%26)))
	}
	out := tr.add(&client.SolveStatus{
		Vertexes: []*client.Vertex{{Digest: v, Name: pipName}},
		Logs: []*client.VertexLog{
			{Vertex: v, Data: []byte(strings.Join(lines, "\n") + "\nLooking in http://alice:s3cret-Pa55@host\n")},
			{Vertex: v, Data: []byte("ERROR: no matching distribution")},
		},
	})
	if bytes.Contains(out.Logs[0].Data, []byte("s3cret")) {
		t.Errorf("forwarded log holds the secret: %q", out.Logs[0].Data)
	}
	tr.add(&client.SolveStatus{Vertexes: []*client.Vertex{{Digest: v, Name: pipName, Error: "exit code: 1"}}})
	err = tr.failure("marketing", p, errors.New(`process "/bin/sh -c pip" did not complete successfully: exit code: 1`))
	var se *StepError
	if !errors.As(err, &se) {
		t.Fatalf("error %T %v is not a StepError", err, err)
	}
	if se.Field != "pip" || se.Step != 2 || se.Steps != 7 || len(se.Output) != tailLines {
		t.Errorf("StepError = %+v", se)
	}
	msg := err.Error()
	for _, want := range []string{"building marketing: step 2/7 (pip) failed", "exit code: 1", "| Looking in http://****@host", "| ERROR: no matching distribution"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error lacks %q:\n%s", want, msg)
		}
	}
	if strings.Contains(msg, "s3cret") {
		t.Errorf("error holds the secret:\n%s", msg)
	}
}

func TestTrackerTail(t *testing.T) {
	t0 := time.Unix(100, 0)
	var out strings.Builder
	for i := range 30 {
		fmt.Fprintf(&out, "line %d\n", i)
	}
	for _, tc := range []struct {
		name     string
		errAt    time.Duration // stderr's time relative to stdout's
		wantLast []string
	}{
		// stderr arrives first but was read last: time order wins.
		{"later", time.Second, []string{"line 29", "fatal"}},
		// stderr read before stdout was (pipes are read separately): the
		// last stderr lines are kept anyway.
		{"earlier", -time.Second, []string{"fatal", "line 11"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr := newTracker(nil)
			v := digest.FromString("run")
			tr.add(&client.SolveStatus{Logs: []*client.VertexLog{{Vertex: v, Stream: 2, Timestamp: t0.Add(tc.errAt), Data: []byte("fatal\n")}}})
			tr.add(&client.SolveStatus{Logs: []*client.VertexLog{{Vertex: v, Stream: 1, Timestamp: t0, Data: []byte(out.String())}}})
			tail := tr.vertex(v).tail()
			if len(tail) != tailLines {
				t.Fatalf("%d lines, want %d: %q", len(tail), tailLines, tail)
			}
			if tc.name == "later" && (tail[18] != tc.wantLast[0] || tail[19] != tc.wantLast[1]) {
				t.Errorf("tail = %q", tail)
			}
			if tc.name == "earlier" && (tail[0] != tc.wantLast[0] || tail[1] != tc.wantLast[1] || tail[19] != "line 29") {
				t.Errorf("tail = %q", tail)
			}
		})
	}
}

func TestShellQuote(t *testing.T) {
	for in, want := range map[string]string{
		"numpy":       "numpy",
		"numpy==1.26": "numpy==1.26",
		"a>=1":        "'a>=1'",
		"it's":        `'it'\''s'`,
		"":            "''",
		"$(rm -rf /)": "'$(rm -rf /)'",
	} {
		if got := shellQuote(in); got != want {
			t.Errorf("shellQuote(%q) = %s, want %s", in, got, want)
		}
	}
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs (go test -update rewrites it); got:\n%s", path, got)
	}
}

func TestNewUnknownScheme(t *testing.T) {
	_, err := New(context.Background(), "bogus://x")
	if err == nil || err.Error() != `connecting to BuildKit at bogus://x: unsupported address scheme "bogus" (want unix://, tcp://, docker-container://, kube-pod://, …)` {
		t.Errorf("error = %v", err)
	}
}

// TestDefinitionRefresh: a refresh bypasses the cache of the package
// installs (apt, pip, r) and of nothing else.
func TestDefinitionRefresh(t *testing.T) {
	ignored := func(refresh bool) []string {
		req := representative()
		req.Refresh = refresh
		def, _, err := Definition(context.Background(), req, baseImage(), amd64)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, dt := range def.Def {
			var op pb.Op
			if err := op.UnmarshalVT(dt); err != nil {
				t.Fatal(err)
			}
			dgst := digest.FromBytes(dt)
			if md, ok := def.Metadata[dgst]; ok && md.IgnoreCache && op.GetExec() != nil {
				args := op.GetExec().GetMeta().GetArgs()
				out = append(out, args[len(args)-1])
			}
		}
		return out
	}
	if got := ignored(false); len(got) != 0 {
		t.Errorf("without refresh, cache bypassed for %q", got)
	}
	got := ignored(true)
	if len(got) != 3 {
		t.Fatalf("refresh bypasses %d steps, want apt, pip and r: %q", len(got), got)
	}
	for _, s := range got {
		if !strings.Contains(s, "apt-get install") && !strings.Contains(s, "pip install") && !strings.Contains(s, "install.packages") {
			t.Errorf("refresh bypasses the cache of a step that installs no packages: %q", s)
		}
	}
}
