package spec

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const sizesLib = `package x
registry: "r.example/x"
policy: nodePools: {
	standard: {cpu: 16, memory: "64Gi"}
	gpu: {cpu: 32, memory: "256Gi", gpu: {count: 4}}
}
sizes: {
	small:  {cpu: 1, memory: "4Gi", description: "notebooks"}
	medium: {cpu: 4, memory: "16Gi"}
	large:  {cpu: 8, memory: "48Gi"}
	gpu:    {cpu: 8, memory: "64Gi", gpu: {count: 1}}
}
images: base: {from: "debian:12"}
images: ml: {parent: "base", sizes: ["gpu", "large"]}
`

func TestSizes(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "a.cue", sizesLib)
	lib, err := Load(dir)
	require.NoError(t, err)
	require.Len(t, lib.Sizes, 4)
	assert.Equal(t, int64(4<<30), lib.Sizes["small"].MemoryBytes)
	assert.Equal(t, &GPU{Count: 1, Resource: "nvidia.com/gpu"}, lib.Sizes["gpu"].GPU, "the default resource")
	assert.Equal(t, 11, lib.Sizes["gpu"].Pos.Line)
	var names []string
	for _, s := range lib.SizesOf(lib.Image("base")) {
		names = append(names, s.Name)
	}
	assert.Equal(t, []string{"small", "medium", "large"}, names, "unset: every preset without a GPU, smallest first")
	names = nil
	for _, s := range lib.SizesOf(lib.Image("ml")) {
		names = append(names, s.Name)
	}
	assert.Equal(t, []string{"gpu", "large"}, names, "as written, the first the default")

	std, gp := lib.Policy.NodePools["standard"], lib.Policy.NodePools["gpu"]
	assert.Equal(t, 16, std.Fits(lib.Sizes["small"]))
	assert.Equal(t, 1, std.Fits(lib.Sizes["large"]), "memory bounds it")
	assert.Equal(t, 0, std.Fits(lib.Sizes["gpu"]), "no GPU")
	assert.Equal(t, 4, gp.Fits(lib.Sizes["gpu"]))

	for _, c := range []struct{ old, new, want string }{
		{`sizes: ["gpu", "large"]`, `sizes: ["gpu", "huge"]`, `images.ml.sizes: no size preset "huge"`},
		{`large:  {cpu: 8, memory: "48Gi"}`, `large:  {cpu: 8, memory: "300Gi"}`, `sizes.large: 8 CPU, 300Gi fits no node pool of policy.nodePools`},
		{`gpu:    {cpu: 8, memory: "64Gi", gpu: {count: 1}}`, `gpu:    {cpu: 8, memory: "64Gi", gpu: {count: 1, resource: "amd.com/gpu"}}`, `sizes.gpu: 8 CPU, 64Gi, 1 amd.com/gpu fits no node pool`},
		{`small:  {cpu: 1, memory: "4Gi", description: "notebooks"}`, `small:  {cpu: 1, memory: "4 GB"}`, `memory`},
	} {
		src := sizesLib
		require.Contains(t, src, c.old)
		write(t, dir, "a.cue", strings.Replace(src, c.old, c.new, 1))
		_, err := Load(dir)
		var errs Errors
		require.True(t, errors.As(err, &errs), "%s: %v", c.new, err)
		assert.Contains(t, err.Error(), c.want)
		assert.Contains(t, errs[0].Pos.Filename, "a.cue", "%v", err)
	}
}

// TestServerOf: an image's session server is its own, else its nearest
// ancestor's, else none; a value the schema does not know is positioned.
func TestServerOf(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "a.cue", `package x
registry: "r.example/x"
images: base: {from: "debian:12"}
images: lab: {parent: "base", server: "jupyter"}
images: team: {parent: "lab"}
images: batch: {parent: "team", server: "none"}
images: rs: {parent: "base", server: "rstudio"}
`)
	lib, err := Load(dir)
	require.NoError(t, err)
	for name, want := range map[string]string{"base": ServerNone, "lab": ServerJupyter, "team": ServerJupyter, "batch": ServerNone, "rs": ServerRStudio} {
		assert.Equal(t, want, lib.ServerOf(lib.Image(name)), name)
	}
	write(t, dir, "a.cue", `package x
registry: "r.example/x"
images: base: {from: "debian:12", server: "jupyterlab"}
`)
	_, err = Load(dir)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "a.cue:3:")
	assert.Contains(t, err.Error(), "server")
}

func TestQuantityBytes(t *testing.T) {
	for q, want := range map[string]int64{"512Mi": 512 << 20, "8Gi": 8 << 30, "1.5Gi": 1536 << 20, "1G": 1e9, "100": 100, "0.1Ki": 103} {
		got, ok := quantityBytes(q)
		assert.True(t, ok, q)
		assert.Equal(t, want, got, q)
	}
	for _, q := range []string{"", "Gi", "8 Gi", "-1Gi", "1e3", "0"} {
		_, ok := quantityBytes(q)
		assert.False(t, ok, q)
	}
}
