package resolve

import (
	"context"
	"strings"
	"testing"

	"github.com/moby/buildkit/client"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/imgctl/imgctl/pkg/build"
	"github.com/imgctl/imgctl/pkg/lock"
	"github.com/imgctl/imgctl/pkg/spec"
)

// fakeProber answers each probe by its name.
type fakeProber struct {
	answers map[string]string
	got     []build.ProbeRequest
}

func (f *fakeProber) Probe(_ context.Context, req build.ProbeRequest, _ chan *client.SolveStatus) ([][]byte, error) {
	f.got = append(f.got, req)
	var out [][]byte
	for _, p := range req.Probes {
		out = append(out, []byte(f.answers[p.Name]))
	}
	return out, nil
}

const sha = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

func report(name, version string) string {
	return `{"version":"1","install":[{"download_info":{"url":"http://idx/files/` + name + `.whl","archive_info":{"hashes":{"sha256":"` + sha + `"}}},"metadata":{"name":"` + name + `","version":"` + version + `"}}]}`
}

func TestResolveAssemblesTheLock(t *testing.T) {
	im := &spec.Image{Name: "app", Parent: "base", Platforms: []string{"linux/amd64"}, Apt: []string{"jq"},
		Pip:        &spec.Pip{Packages: []string{"Acme_Demo>=1"}, Index: "http://idx/simple/"},
		LockInputs: lock.Inputs{Parent: &lock.Parent{Name: "base", Lock: "sha256:p"}, Platforms: []string{"linux/amd64"}}}
	f := &fakeProber{answers: map[string]string{
		"lock apt": "B\tlibc6\t2.36\tamd64\nA\tlibc6\t2.36\tamd64\nA\tjq\t1.6\tamd64\nA\tlibjq1\t1.6\tamd64\n",
		"lock pip": report("Acme_Demo", "1.0"),
	}}
	l, err := Resolve(context.Background(), f, Request{Image: im}, nil)
	require.NoError(t, err)
	assert.Equal(t, im.LockInputs.Digest(), l.Inputs)
	assert.Equal(t, "base", l.Parent.Name)
	p := l.Platforms["linux/amd64"]
	assert.Equal(t, []lock.AptPackage{{Name: "jq", Version: "1.6", Arch: "amd64"}, {Name: "libjq1", Version: "1.6", Arch: "amd64"}}, p.Apt)
	assert.Equal(t, []lock.Dist{{Name: "acme-demo", Version: "1.0", URL: "http://idx/files/Acme_Demo.whl", SHA256: sha}}, p.Pip)
	require.Len(t, f.got, 1)
	assert.Len(t, f.got[0].Probes, 2, "apt, then pip, in one probe request")
}

func TestConflictWithTheParentsLock(t *testing.T) {
	parent := &spec.Image{Name: "py", Lock: &lock.Lock{Platforms: map[string]*lock.Packages{"linux/amd64": {
		Pip: []lock.Dist{{Name: "idna", Version: "3.6", URL: "u", SHA256: sha}},
		Apt: []lock.AptPackage{{Name: "libc6", Version: "2.36", Arch: "amd64"}},
	}}}}
	kid := &spec.Image{Name: "kid", Parent: "py", Platforms: []string{"linux/amd64"},
		Pip:      &spec.Pip{Packages: []string{"idna>=3.7"}},
		FieldPos: map[string]spec.Pos{"pip": {Filename: "/lib/lib.cue", Line: 9, Column: 3}, "apt": {Filename: "/lib/lib.cue", Line: 8, Column: 3}}}
	f := &fakeProber{answers: map[string]string{"lock pip": report("idna", "3.7")}}
	_, err := Resolve(context.Background(), f, Request{Image: kid, Chain: []*spec.Image{parent}}, nil)
	var ce *ConflictError
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, "/lib/lib.cue:9:3: images.kid.pip: idna conflicts with the parent's lock on linux/amd64: it asks for idna>=3.7 (resolved to idna 3.7), but py locked idna 3.6; change the child's requirement or upgrade py's lock (imgctl lock --upgrade py)", err.Error())

	kid.Pip, kid.Apt = nil, []string{"newlibc-user"}
	f.answers = map[string]string{"lock apt": "B\tlibc6\t2.36\tamd64\nA\tlibc6\t2.37\tamd64\nA\tnewlibc-user\t1\tamd64\n"}
	_, err = Resolve(context.Background(), f, Request{Image: kid, Chain: []*spec.Image{parent}}, nil)
	require.ErrorAs(t, err, &ce)
	assert.Contains(t, err.Error(), "/lib/lib.cue:8:3: images.kid.apt: libc6 conflicts with the parent's lock on linux/amd64: a dependency of its apt packages needs libc6 2.37, but py locked libc6 2.36")
}

// TestConflictWithAPinnedParent: a pinned parent's published lock (its
// io.imgctl.lock) constrains the child as an in-library parent's does.
func TestConflictWithAPinnedParent(t *testing.T) {
	pinned := &lock.Lock{Platforms: map[string]*lock.Packages{"linux/amd64": {Pip: []lock.Dist{{Name: "idna", Version: "3.6", URL: "u", SHA256: sha}}}}}
	kid := &spec.Image{Name: "kid", Parent: "py", ParentVersion: "2026.11.01", Platforms: []string{"linux/amd64"},
		Pip:      &spec.Pip{Packages: []string{"idna>=3.7"}},
		FieldPos: map[string]spec.Pos{"pip": {Filename: "/lib/lib.cue", Line: 9, Column: 3}}}
	f := &fakeProber{answers: map[string]string{"lock pip": report("idna", "3.7")}}
	_, err := Resolve(context.Background(), f, Request{Image: kid, Base: "r.test/ds/py@sha256:1", Pinned: pinned}, nil)
	var ce *ConflictError
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, "/lib/lib.cue:9:3: images.kid.pip: idna conflicts with the parent's lock on linux/amd64: it asks for idna>=3.7 (resolved to idna 3.7), but py@2026.11.01 locked idna 3.6; change the child's requirement or pin a version of py newer than 2026.11.01", err.Error())

	// The same version is no conflict, and a grandchild on the pinned
	// parent's child names the pinned version too.
	f.answers["lock pip"] = report("idna", "3.6")
	_, err = Resolve(context.Background(), f, Request{Image: kid, Pinned: pinned}, nil)
	require.NoError(t, err)
	kid.Lock = &lock.Lock{Platforms: map[string]*lock.Packages{}}
	grand := &spec.Image{Name: "grand", Parent: "kid", Platforms: []string{"linux/amd64"}, Pip: &spec.Pip{Packages: []string{"idna>=3.7"}}}
	f.answers["lock pip"] = report("idna", "3.7")
	_, err = Resolve(context.Background(), f, Request{Image: grand, Chain: []*spec.Image{kid}, Pinned: pinned}, nil)
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, "py@2026.11.01", ce.Parent)
}

func TestProbesKeepPins(t *testing.T) {
	im := &spec.Image{Name: "app", Apt: []string{"jq"}, Pip: &spec.Pip{Packages: []string{"acme-demo"}, Index: "http://idx/simple/"}}
	keep := &lock.Packages{Apt: []lock.AptPackage{{Name: "jq", Version: "1.6-2.1", Arch: "amd64"}}, Pip: []lock.Dist{{Name: "acme-demo", Version: "1.0"}}}
	apt := aptProbe(im, keep)
	assert.Contains(t, apt, "Pin: version 1.6-2.1")
	assert.Contains(t, apt, "Pin-Priority: 990")
	assert.Contains(t, apt, "--no-install-recommends")
	pip, err := pipProbe(im, keep)
	require.NoError(t, err)
	assert.Contains(t, pip, "acme-demo==1.0")
	assert.True(t, strings.Index(pip, "imgctl-keep.txt") < strings.Index(pip, "|| "), "kept versions first, then without them")
	assert.Contains(t, pip, "--dry-run --quiet --report")
	assert.NotContains(t, aptProbe(im, nil), "Pin:")
	assert.Contains(t, rProbe(&spec.Image{R: &spec.R{Packages: []string{"ggplot2"}}}), `available.packages(repos = "https://cloud.r-project.org")`)
}
