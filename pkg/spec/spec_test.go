package spec

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"cuelang.org/go/cue"
	"cuelang.org/go/cue/cuecontext"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/imgctl/imgctl/schemas"
)

// TestSchemasCompile proves every embedded schema file compiles on its own.
func TestSchemasCompile(t *testing.T) {
	ctx := cuecontext.New()
	n := 0
	require.NoError(t, fs.WalkDir(schemas.FS, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := schemas.FS.ReadFile(p)
		require.NoError(t, err)
		v := ctx.CompileBytes(b)
		assert.NoError(t, v.Err(), p)
		assert.True(t, v.LookupPath(parse("#Library")).Exists(), p)
		n++
		return nil
	}))
	assert.Positive(t, n)
}

// TestExampleLibrary loads the repository's images/ as cloned: no generated
// file is needed.
func TestExampleLibrary(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.CopyFS(dir, os.DirFS("../../images")))
	lib, err := Load(dir)
	require.NoError(t, err)
	assert.Equal(t, []string{"credit-risk", "debian", "marketing", "notebook", "python3", "r", "tools"}, lib.Names())
	assert.Equal(t, []string{"linux/amd64", "linux/arm64"}, lib.Image("tools").Platforms, "tools inherits debian's platforms")
	assert.Equal(t, []string{"linux/amd64"}, lib.Image("marketing").Platforms, "the scientific families are amd64 only")
	cr := lib.Image("credit-risk")
	assert.Equal(t, "r", cr.Parent)
	assert.Equal(t, "2026.11.01", cr.ParentVersion)
	assert.Equal(t, "1000:1000", cr.User)
	assert.Equal(t, "credit-risk", cr.Labels["org.example.team"])
	m := lib.Image("marketing")
	require.Len(t, m.Files, 1)
	assert.Equal(t, 0o444, m.Files[0].Mode)
	assert.True(t, strings.HasPrefix(m.Files[0].Digest, "sha256:"))
	assert.Equal(t, filepath.Join(dir, "teams.cue"), m.Files[0].Pos.Filename)
	assert.Equal(t, DefaultPlatforms, m.Platforms)
	assert.Len(t, m.Test, 3, "the environments test themselves")
	assert.Contains(t, m.Test[1], "sha256sum -c -")
	nb := lib.Image("notebook")
	require.Len(t, nb.Test, 4)
	assert.Contains(t, nb.Test[0], "KernelSpecManager", "kernels are the venv's")
	assert.Contains(t, nb.Test[1], "/usr/bin/python3 -c", "under the hub's single-user Python too")
	assert.Contains(t, nb.Test[3], "/api")
	assert.Contains(t, nb.Apt, "jupyterhub", "jupyterhub-singleuser, for launchers")
	want := DefaultPolicy
	want.Lock, want.LockPos = LockRequired, lib.Policy.LockPos
	want.NodePools = lib.Policy.NodePools
	want.Mirror, want.MirrorPos = "localhost:5000/mirror", lib.Policy.MirrorPos
	assert.Equal(t, want, lib.Policy)
	require.Len(t, lib.Policy.NodePools, 2)
	assert.Equal(t, int64(192<<30), lib.Policy.NodePools["gpu"].MemoryBytes)
	assert.Len(t, lib.Sizes, 4, "small, medium, large and a GPU preset no image offers")
	for _, im := range lib.Images {
		assert.True(t, im.Locked(), "images/locks/%s.lock.json is committed and current: %s", im.Name, im.LockStale)
	}
}

func TestLoadErrors(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "nope"))
	assert.ErrorIs(t, err, ErrNoDir)

	dir := t.TempDir()
	write(t, dir, "a.cue", "package x\nregistry: \"r.example/x\"\nimages: a: {from: \"debian:12\", apt: [1]}\nimages: b: {parent: \"zz\"}\n")
	_, err = Load(dir)
	var errs Errors
	require.True(t, errors.As(err, &errs))
	require.Len(t, errs, 2)
	assert.Equal(t, 3, errs[0].Pos.Line)
	assert.Equal(t, 4, errs[1].Pos.Line)
	assert.Contains(t, errs[1].Msg, `image "zz" not found`)

	// An empty test command is refused where it is written.
	dir = t.TempDir()
	write(t, dir, "a.cue", "package x\nregistry: \"r.example/x\"\nimages: a: {\n\tfrom: \"debian:12\"\n\ttest: [\"true\", \"\"]\n}\n")
	_, err = Load(dir)
	require.True(t, errors.As(err, &errs), "%v", err)
	assert.Equal(t, 5, errs[0].Pos.Line, "%v", err)
}

// FuzzLoad feeds arbitrary CUE to the loader: it may reject it, never panic.
func FuzzLoad(f *testing.F) {
	f.Add("registry: \"localhost:5000/x\"\nimages: a: from: \"debian:12\"\n")
	f.Add("images: a: parent: \"a\"\n")
	f.Add("images: a: {parent: \"b@2026.13.01\"}, images: b: files: [{src: \"../x\", dest: \"/x\"}]")
	f.Add("registry: 1\nimages: [string]: {}\n")
	f.Add("images: a: {from: \"scratch\", rootfs: \"/etc/passwd\", env: {\"\": \"\"}}")
	f.Add("policy: platforms: [\"linux/arm64\"]\nimages: a: {from: \"scratch\", rootfs: {\"linux/arm64/v8\": \"x\", \"\": 1}}\nimages: b: {parent: \"a\", platforms: [\"linux/arm\"]}")
	f.Fuzz(func(t *testing.T, src string) {
		dir := t.TempDir()
		write(t, dir, "lib.cue", "package x\n"+src)
		lib, err := Load(dir)
		if err == nil {
			require.NotNil(t, lib)
			return
		}
		var errs Errors
		if errors.As(err, &errs) {
			assert.NotEmpty(t, errs)
		}
	})
}

func write(t testing.TB, dir, name, content string) {
	t.Helper()
	require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644))
}

func parse(s string) cue.Path { return cue.ParsePath(s) }

// TestVendoredSchemaInSync keeps images/cue.mod's copy of the schema (for
// plain cue vet) identical to the embedded one: run make schema-sync.
func TestVendoredSchemaInSync(t *testing.T) {
	want, err := schemas.FS.ReadFile("imgctl.cue")
	require.NoError(t, err)
	got, err := os.ReadFile("../../images/cue.mod/pkg/imgctl.dev/schema/imgctl.cue")
	require.NoError(t, err)
	assert.Equal(t, string(want), string(got), "run make schema-sync")
}
