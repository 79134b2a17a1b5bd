package plan_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/imgctl/imgctl/internal/goldentest"
	"github.com/imgctl/imgctl/pkg/plan"
)

// Size budgets rebuild nothing: adding or changing one leaves every key
// alone. A build records its budget, and --allow-growth, in the plan.
func TestSizeBudgetsInThePlan(t *testing.T) {
	f := publishedLibrary(t)
	f.edit("lib.cue", `registry: "r.test/ds"`, `registry: "r.test/ds"
policy: maxGrowth: "10%"`)
	f.edit("py.cue", `tags: ["3.11"]`, `tags: ["3.11"], maxSize: "2GiB", maxGrowth: "25%"`)
	_, p := f.plan("2026-11-24")
	assert.Empty(t, built(p), "budgets are not part of the content key")

	f.edit("py.cue", `"python3-numpy"`, `"python3-numpy", "python3-scipy"`)
	lib := f.load()
	snap, err := plan.Observe(context.Background(), lib, f.reg, plan.ObserveOptions{})
	require.NoError(t, err)
	p, err = plan.Compute(lib, snap, plan.Options{Date: "2026-11-24", AllowGrowth: []string{"team", "py", "py"}})
	require.NoError(t, err)
	assert.Equal(t, []string{"py", "team"}, p.AllowGrowth)
	steps := map[string]plan.ImageStep{}
	for _, st := range p.Images {
		steps[st.Name] = st
	}
	py, team := steps["py"].SizeBudget, steps["team"].SizeBudget
	require.NotNil(t, py)
	assert.Equal(t, int64(2<<30), py.MaxSizeBytes)
	assert.Equal(t, 25.0, *py.MaxGrowthPercent, "the image's own maxGrowth overrides the policy's")
	assert.True(t, py.AllowGrowth)
	require.NotNil(t, team)
	assert.Empty(t, team.MaxSize, "maxSize is not inherited")
	assert.Equal(t, "10%", team.MaxGrowth, "the policy's")

	p = p.Relative(f.dir)
	p.SpecDir = "SPECDIR"
	var text, js bytes.Buffer
	require.NoError(t, p.WriteText(&text))
	require.NoError(t, p.WriteJSON(&js))
	goldentest.Check(t, "plan-budget.txt", text.Bytes())
	goldentest.Check(t, "plan-budget.json", js.Bytes())

	p, err = plan.Compute(lib, snap, plan.Options{Date: "2026-11-24", AllowGrowth: []string{"base"}})
	require.NoError(t, err)
	require.NotEmpty(t, p.Warnings)
	assert.Equal(t, "--allow-growth base: base is not built by this plan: nothing to let through", p.Warnings[len(p.Warnings)-1].Message)

	_, err = plan.Compute(lib, snap, plan.Options{Date: "2026-11-24", AllowGrowth: []string{"nosuch"}})
	assert.EqualError(t, err, "--allow-growth nosuch: no such image in the library")
}
