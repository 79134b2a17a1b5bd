package capacity_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/imgctl/imgctl/internal/goldentest"
	"github.com/imgctl/imgctl/pkg/capacity"
	"github.com/imgctl/imgctl/pkg/spec"
)

func TestReportGolden(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "a.cue"), []byte(`package x
registry: "r.example/x"
policy: nodePools: {
	standard: {cpu: 16, memory: "64Gi"}
	gpu: {cpu: 32, memory: "256Gi", gpu: {count: 4}}
}
sizes: {
	small:  {cpu: 1, memory: "4Gi", description: "notebooks"}
	medium: {cpu: 4, memory: "16Gi"}
	large:  {cpu: 6, memory: "48Gi"}
	gpu:    {cpu: 8, memory: "64Gi", gpu: {count: 1}}
}
images: base: {from: "debian:12"} // starts no server: not counted
images: lab: {parent: "base", server: "jupyter"}
images: ml: {parent: "lab", sizes: ["gpu", "large"]}
`), 0o644))
	lib, err := spec.Load(dir)
	require.NoError(t, err)
	r := capacity.Of(lib)
	var text, js bytes.Buffer
	require.NoError(t, r.WriteText(&text))
	require.NoError(t, r.WriteJSON(&js))
	goldentest.Check(t, "sizes.txt", text.Bytes())
	goldentest.Check(t, "sizes.json", js.Bytes())
	large := r.Presets[2]
	require.Equal(t, "large", large.Name)
	assert.Equal(t, capacity.Fit{Pool: "standard", Sessions: 1, IdleCPU: 0.625, IdleMemory: 0.25}, large.Fits[1], "memory bounds it: 1 of 64Gi, 10 of 16 CPUs idle")
	assert.Equal(t, capacity.Fit{Pool: "gpu", Sessions: 5, IdleCPU: 0.063, IdleMemory: 0.063, IdleGPU: 1}, large.Fits[0], "on a GPU node it wastes every GPU")
}
