package plan_test

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/imgctl/imgctl/internal/goldentest"
	"github.com/imgctl/imgctl/pkg/plan"
	"github.com/imgctl/imgctl/pkg/spec"
)

// keyLibrary adds to the test library an image with every kind of part:
// pip with a private index and credentials, R, files with modes, env,
// labels, run steps, a user and a workdir.
var keyLibrary = map[string]string{
	"full.cue": `package lib
images: full: {
	parent: "py"
	description: "every part"
	apt: ["git"]
	pip: {packages: ["numpy==1.26.4", "pandas>=2"], index: "https://pypi.example/simple/", credentialsEnv: "PIP_CREDS"}
	r: {packages: ["ggplot2"], repo: "https://cran.example"}
	run: ["echo one", "echo two"]
	env: {A: "1", B: "2"}
	labels: "org.example.team": "x"
	files: [{src: "data.csv", dest: "/data/a.csv", mode: 0o440}, {src: "data.csv", dest: "/data/b.csv"}]
	workdir: "/work"
	cmd: ["bash"]
	test: ["true"]
	tags: ["v"]
	team: "t"
	family: "f"
}
images: nocreds: {parent: "py", pip: {packages: ["numpy"], index: "https://pypi.example/simple/"}}
`,
}

// keysOf renders every image's keys, built on a base digest made from its
// base's name (the keys must not depend on a registry).
func keysOf(t *testing.T, lib *spec.Library) string {
	var b strings.Builder
	for _, n := range lib.Graph().Order() {
		im := lib.Image(n)
		base := im.From
		if !im.IsExternal() {
			base = im.Parent
		}
		sum := sha256.Sum256([]byte(base))
		k := plan.ComputeKey(im, "sha256:"+hex.EncodeToString(sum[:]))
		content, specKey := k.Content, k.Spec
		if k.Legacy != "" { // what older imgctl recorded, and still matches
			content, specKey = k.Legacy, k.LegacySpec
		}
		fmt.Fprintf(&b, "%s content=%s spec=%s\n", n, content, specKey)
	}
	return b.String()
}

// TestKeysGolden holds the content keys of the example library and of a
// test library using every part, as imgctl computed them before the key
// became an explicit struct: a library published with an older imgctl and
// planned with this one has nothing to do (only pip.credentialsEnv, the
// name of a variable, left the key; see TestCredentialsEnvNotKeyed). The
// example library is read without its locks (images/locks/): an unlocked
// image keeps its key; locking one adds the lock part (TestLockIsAKeyPart).
func TestKeysGolden(t *testing.T) {
	unlocked := t.TempDir()
	require.NoError(t, os.CopyFS(unlocked, os.DirFS(filepath.Join("..", "..", "images"))))
	require.NoError(t, os.RemoveAll(filepath.Join(unlocked, "locks")))
	examples, err := spec.Load(unlocked)
	require.NoError(t, err)
	dir := t.TempDir()
	for _, files := range []map[string]string{library, keyLibrary} {
		for k, v := range files {
			require.NoError(t, os.WriteFile(filepath.Join(dir, k), []byte(v), 0o644))
		}
	}
	lib, err := spec.Load(dir)
	require.NoError(t, err)
	goldentest.Check(t, "keys.txt", []byte("# images/\n"+keysOf(t, examples)+"# test library\n"+keysOf(t, lib)))
}

// TestCredentialsEnvNotKeyed: the name of the variable holding a private
// index's credentials is not part of the key; a version recorded with the
// key older imgctl computed (with it) still matches.
func TestCredentialsEnvNotKeyed(t *testing.T) {
	im := &spec.Image{Name: "x", From: "debian:12", Pip: &spec.Pip{Packages: []string{"numpy"}, Index: "https://pypi.example/simple/", CredentialsEnv: "A"}}
	a := plan.ComputeKey(im, "sha256:00")
	im.Pip.CredentialsEnv = "B"
	b := plan.ComputeKey(im, "sha256:00")
	assert.Equal(t, a.Content, b.Content, "renaming the variable changes no key")
	assert.NotEqual(t, a.Legacy, b.Legacy)
	assert.True(t, b.Matches(b.Legacy) && b.Matches(b.Content))
	assert.False(t, b.Matches(a.Legacy), "a legacy key with another variable name is another key")
	im.Pip.CredentialsEnv = ""
	c := plan.ComputeKey(im, "sha256:00")
	assert.Equal(t, a.Content, c.Content)
	assert.Empty(t, c.Legacy, "no legacy key without credentialsEnv")
	assert.False(t, c.Matches(""))
}

// TestEveryImageFieldIsClassified fails when spec.Image or spec.Pip gains a
// field nobody classified as keyed or not (plan's keyedSpec,
// unkeyedFields).
func TestEveryImageFieldIsClassified(t *testing.T) {
	classified := plan.KeyClassification()
	for _, typ := range []reflect.Type{reflect.TypeOf(spec.Image{}), reflect.TypeOf(spec.Pip{})} {
		for i := range typ.NumField() {
			f := typ.Field(i)
			_, ok := classified[typ.Name()+"."+f.Name]
			assert.True(t, ok, "%s.%s is neither keyed nor unkeyed: classify it in pkg/plan/key.go (and say in the plan why a key changed if it must)", typ.Name(), f.Name)
		}
	}
}

// TestLegacyKeyIsUnchanged: a version an older imgctl recorded with
// pip.credentialsEnv in its key is unchanged for this one.
func TestLegacyKeyIsUnchanged(t *testing.T) {
	f := newFixture(t)
	f.edit("py.cue", `tags: ["3.11"]`, `tags: ["3.11"]
	pip: {packages: ["x"], index: "https://p.example/simple/", credentialsEnv: "C"}`)
	f.publish("2026-11-01")
	lib := f.load()
	d := f.reg.TagDigest("r.test/ds/py", "2026.11.01")
	k := plan.ComputeKey(lib.Image("py"), f.reg.TagDigest("r.test/ds/base", "2026.11.01"))
	require.NotEmpty(t, k.Legacy)
	f.reg.PutManifest("r.test/ds/py", d, map[string]string{
		"io.imgctl.content-key": k.Legacy, "io.imgctl.fields": plan.EncodeParts(k.LegacyParts),
	})
	_, p := f.plan("2026-11-02")
	assert.Equal(t, plan.Skip, actions(p)["py"])
	assert.Equal(t, []string{"pinned"}, built(p), "upgrading imgctl rebuilds nothing (pinned waited for r@2026.11.01)")

	// A real change is reported as that change, not as a pip change.
	f.edit("py.cue", `"python3-numpy"]`, `"python3-numpy", "python3-scipy"]`)
	_, p = f.plan("2026-11-02")
	var msgs []string
	for _, r := range p.Step("py").Reasons {
		msgs = append(msgs, r.Message)
	}
	assert.Equal(t, []string{"field apt changed"}, msgs)
}

// TestLockIsAKeyPart: a locked image's key has a lock part, and another
// lock is another key.
func TestLockIsAKeyPart(t *testing.T) {
	examples, err := spec.Load(filepath.Join("..", "..", "images"))
	require.NoError(t, err)
	im := examples.Image("marketing")
	require.NotNil(t, im.Lock)
	k := plan.ComputeKey(im, "sha256:base")
	require.Contains(t, k.Parts, "lock")
	changed := *im
	l := *im.Lock
	l.Inputs = "sha256:" + strings.Repeat("0", 64)
	changed.Lock = &l
	assert.NotEqual(t, k.Content, plan.ComputeKey(&changed, "sha256:base").Content)
	changed.Lock = nil
	assert.NotContains(t, plan.ComputeKey(&changed, "sha256:base").Parts, "lock")
}
