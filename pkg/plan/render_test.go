package plan_test

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/imgctl/imgctl/internal/goldentest"
)

// TestRenderGolden renders one plan with every kind of step: builds with
// several reasons, skips, a retirement, a blocked image, tag moves,
// deprecations and warnings.
func TestRenderGolden(t *testing.T) {
	f := publishedLibrary(t)
	f.edit("py.cue", `"python3-numpy"`, `"python3-numpy", "python3-scipy"`)
	f.files["data.csv"] = "a,b\n1,3\n"
	f.edit("r.cue", `apt:`, `deprecated: {reason: "R moves to the r4 image", replacement: "team"}, apt:`)
	f.edit("pinned.cue", "r@2026.11.01", "r@2026.10.01")
	f.edit("team2.cue", `run:`, `test: ["true", "echo ok"], run:`)
	_, p := f.plan("2026-11-24")
	p = p.Relative(f.dir)
	p.SpecDir = "SPECDIR"

	var text, js bytes.Buffer
	require.NoError(t, p.WriteText(&text))
	require.NoError(t, p.WriteJSON(&js))
	goldentest.Check(t, "plan.txt", text.Bytes())
	goldentest.Check(t, "plan.json", js.Bytes())

	_, p = f.plan("2026-11-24", "team2")
	p = p.Relative(f.dir)
	text.Reset()
	require.NoError(t, p.WriteText(&text))
	goldentest.Check(t, "plan-target.txt", text.Bytes())
}
