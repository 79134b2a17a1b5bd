package plan_test

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

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
		fmt.Fprintf(&b, "%s content=%s spec=%s\n", n, k.Content, k.Spec)
	}
	return b.String()
}

// TestKeysGolden holds the content keys of the example library and of a
// test library using every part, as imgctl computed them before the key
// became an explicit struct: a library published with an older imgctl and
// planned with this one has nothing to do (only pip.credentialsEnv, the
// name of a variable, left the key; see TestCredentialsEnvNotKeyed).
func TestKeysGolden(t *testing.T) {
	examples, err := spec.Load(filepath.Join("..", "..", "images"))
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
