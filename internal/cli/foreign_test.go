package cli

import (
	"bytes"
	"context"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/imgctl/imgctl/internal/goldentest"
	"github.com/imgctl/imgctl/pkg/imagetest"
	it "github.com/imgctl/imgctl/pkg/inventory/inventorytest"
	"github.com/imgctl/imgctl/pkg/published"
	"github.com/imgctl/imgctl/pkg/regclient"
	"github.com/imgctl/imgctl/pkg/spec"
)

// foreignRepo is an in-process registry holding, in repository ds/team,
// versions imgctl wrote (they carry a content key) and tags it did not: a
// dated-looking tag on a hand-pushed image between them.
type foreignRepo struct {
	t    *testing.T
	addr string
	dir  string // a library naming the registry
}

func newForeignRepo(t *testing.T) *foreignRepo {
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	r := &foreignRepo{t: t, addr: strings.TrimPrefix(srv.URL, "http://"), dir: t.TempDir()}
	lib := "package lib\nregistry: \"" + r.addr + "/ds\"\nimages: team: {from: \"debian:12\", test: [\"true\"]}\n"
	require.NoError(t, os.WriteFile(filepath.Join(r.dir, "lib.cue"), []byte(lib), 0o644))
	return r
}

// push pushes a version of team at tag; written gives it imgctl's content
// key.
func (r *foreignRepo) push(tag string, written bool, env []string, pkgs ...it.Package) string {
	v := it.Version{Platforms: []it.Platform{{Platform: "linux/amd64", Layers: []string{"layer of " + tag}, Config: v1.Config{Env: env}, Packages: pkgs}}}
	if written {
		v.Annotations = map[string]string{published.AnnotationContentKey: "key-" + tag}
	}
	return it.Push(r.t, r.addr+"/ds/team:"+tag, v)
}

func (r *foreignRepo) tag(tag, digest string) {
	d, err := name.NewDigest(r.addr+"/ds/team@"+digest, name.Insecure)
	require.NoError(r.t, err)
	desc, err := remote.Get(d)
	require.NoError(r.t, err)
	require.NoError(r.t, remote.Tag(d.Context().Tag(tag), desc))
}

func (r *foreignRepo) run(args ...string) (int, string, string) {
	var out, errOut bytes.Buffer
	code := Run(context.Background(), args, &out, &errOut)
	return code, strings.ReplaceAll(out.String(), r.addr, "registry.test"), errOut.String()
}

// TestDiffPassesOverForeignTags: without FROM, diff compares latest with
// the version imgctl published before it, not with a dated-looking tag on
// a hand-pushed image; its output is the golden diff-command.txt. Named,
// a foreign tag is compared as asked. A hand-pushed latest is refused,
// naming what it is.
func TestDiffPassesOverForeignTags(t *testing.T) {
	r := newForeignRepo(t)
	r.push("2026.12.01", true, []string{"PATH=/bin", "MODE=a"}, it.Deb("jq", "1.6-2.1"), it.Py("pandas", "1.5.3"), it.R("ggplot2", "3.4.0"))
	r.push("2026.12.03", false, nil, it.Deb("curl", "7.88"))
	latest := r.push("2026.12.05", true, []string{"PATH=/bin", "MODE=b"}, it.Deb("jq", "1.7.1-1"), it.Py("pandas", "1.5.3"), it.Py("scikit-learn", "1.2.1"))
	r.tag("latest", latest)

	code, out, errOut := r.run("diff", r.dir, "team")
	require.Equal(t, 0, code, "%s\n%s", out, errOut)
	assert.Contains(t, out, "2026.12.01 → 2026.12.05")
	goldentest.Check(t, "diff-command.txt", []byte(out))

	code, out, errOut = r.run("diff", r.dir, "team", "2026.12.03")
	require.Equal(t, 0, code, "%s\n%s", out, errOut)
	assert.Contains(t, out, "2026.12.03 → 2026.12.05", "named, it is compared")

	// Only a foreign tag before the first version imgctl published: the
	// first-version message (hack/demo.sh matches it).
	r2 := newForeignRepo(t)
	r2.push("2026.11.01", false, nil)
	r2.tag("latest", r2.push("2026.12.01", true, nil))
	code, _, errOut = r2.run("diff", r2.dir, "team")
	assert.Equal(t, ExitError, code)
	assert.Contains(t, errOut, "latest is 2026.12.01, the first version: nothing to compare it with")

	r.tag("latest", r.push("hand", false, nil))
	code, _, errOut = r.run("diff", r.dir, "team")
	assert.Equal(t, ExitError, code)
	assert.Contains(t, errOut, "latest points at an image imgctl did not publish")
}

// TestTestSkipsForeignLatest: imgctl test does not run a spec's tests in an
// image imgctl did not publish (a hand-pushed latest); it says so.
func TestTestSkipsForeignLatest(t *testing.T) {
	r := newForeignRepo(t)
	hand := r.push("hand", false, nil)
	r.tag("latest", hand)
	lib, err := spec.Load(r.dir)
	require.NoError(t, err)
	noSuite := func(string, []string) (*imagetest.Suite, error) {
		t.Fatal("no test may run in a foreign image")
		return nil, nil
	}
	res, err := testImage(context.Background(), regclient.New(), noSuite, lib.Image("team"), r.addr+"/ds/team", "")
	require.NoError(t, err)
	assert.True(t, res.OK)
	assert.Equal(t, "latest points at an image imgctl did not publish ("+published.ShortDigest(hand)+")", res.Skipped)
}

// TestTestOutputGolden: imgctl test's text and JSON, rendered from one
// report value: a version passing on two platforms, one failing with its
// output, and skipped images.
func TestTestOutputGolden(t *testing.T) {
	d := func(c string) string { return "sha256:" + strings.Repeat(c, 64) }
	rep := testReport{FormatVersion: testFormatVersion, Registry: "localhost:5000/datasci", Images: []testResult{
		{Image: "debian", Version: "2026.12.07", Digest: d("1"), OK: true, Outcomes: []imagetest.Outcome{
			{Platform: "linux/amd64", Command: "id ds", OK: true, Duration: 1200 * time.Millisecond, Output: "uid=1000(ds)\n"},
			{Platform: "linux/arm64", Command: "id ds", OK: true, Duration: 3400 * time.Millisecond, Output: "uid=1000(ds)\n"},
		}},
		{Image: "notebook", Version: "2026.12.07", Digest: d("2"), Outcomes: []imagetest.Outcome{
			{Platform: "linux/amd64", Command: "python3 -c 'import notebook'", OK: true, Duration: 800 * time.Millisecond},
			{Platform: "linux/amd64", Command: "port=$(free)\npython3 -m notebook --port=$port", Duration: 61 * time.Second, Output: "Traceback (most recent call last):\nModuleNotFoundError: No module named 'jupyterhub'\n"},
		}},
		{Image: "r", OK: true, Skipped: "no tests in its spec", Outcomes: []imagetest.Outcome{}},
		{Image: "team", OK: true, Skipped: "latest points at an image imgctl did not publish (sha256:0123456789ab)", Outcomes: []imagetest.Outcome{}},
	}}
	var text, js bytes.Buffer
	writeTestText(&text, rep)
	require.NoError(t, writeTestJSON(&js, rep))
	goldentest.Check(t, "test.txt", text.Bytes())
	goldentest.Check(t, "test.json", js.Bytes())
}

// TestLauncherWarnsWhenNothingIsOffered: a library whose images start no
// session server gets empty lists and a warning saying what to set; one
// whose server images have no current version, a warning saying that.
func TestLauncherWarnsWhenNothingIsOffered(t *testing.T) {
	r := newForeignRepo(t)
	r.tag("latest", r.push("2026.12.01", true, nil))
	code, out, errOut := r.run("launcher", "json", r.dir, "--date", "2026-12-07")
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, out, `"images": []`)
	assert.Contains(t, errOut, `no image starts a session server, so none is offered: set server: "jupyter"`)

	lib := "package lib\nregistry: \"" + r.addr + "/ds\"\nimages: team: {from: \"debian:12\", server: \"jupyter\"}\nimages: never: {parent: \"team\"}\n"
	require.NoError(t, os.WriteFile(filepath.Join(r.dir, "lib.cue"), []byte(lib), 0o644))
	code, out, errOut = r.run("launcher", "json", r.dir, "--date", "2026-12-07")
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, out, `"name": "team"`)
	assert.Empty(t, errOut, "team is offered")

	lib = "package lib\nregistry: \"" + r.addr + "/ds\"\nimages: lab: {from: \"debian:12\", server: \"jupyter\"}\n"
	require.NoError(t, os.WriteFile(filepath.Join(r.dir, "lib.cue"), []byte(lib), 0o644))
	code, _, errOut = r.run("launcher", "jupyterhub", r.dir)
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, errOut, "none of the 1 images that start a session server has a current published version")
}

// TestDiffListsLargestAdded: when the SBOMs record installed sizes (imgctl's
// scanner's annotations), diff lists the largest packages added or grown;
// its output is the golden diff-largest.txt.
func TestDiffListsLargestAdded(t *testing.T) {
	r := newForeignRepo(t)
	r.push("2026.12.01", true, nil, it.Sized(it.Deb("jq", "1.6-2.1"), 100_000), it.Sized(it.Deb("libssl3", "3.0.11-1"), 6_000_000))
	latest := r.push("2026.12.05", true, nil, it.Sized(it.Deb("jq", "1.6-2.1"), 100_000), it.Sized(it.Deb("libssl3", "3.0.13-1"), 6_200_000),
		it.Sized(it.Deb("python3.11-minimal", "3.11.2-6"), 6_900_000), it.Sized(it.Py("pandas", "2.1.0"), 70_000_000), it.R("ggplot2", "3.4.4"))
	r.tag("latest", latest)
	code, out, errOut := r.run("diff", r.dir, "team")
	require.Equal(t, 0, code, "%s\n%s", out, errOut)
	goldentest.Check(t, "diff-largest.txt", []byte(out))
	code, out, errOut = r.run("diff", r.dir, "team", "--json")
	require.Equal(t, 0, code, "%s\n%s", out, errOut)
	goldentest.Check(t, "diff-largest.json", []byte(out))
}
