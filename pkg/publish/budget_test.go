package publish_test

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/imgctl/imgctl/internal/e2etest"
	"github.com/imgctl/imgctl/pkg/inventory"
	"github.com/imgctl/imgctl/pkg/plan"
	"github.com/imgctl/imgctl/pkg/publish"
	"github.com/imgctl/imgctl/pkg/readmodel"
	"github.com/imgctl/imgctl/pkg/sizebudget"
	"github.com/imgctl/imgctl/pkg/spec"
)

// A version over its size budget fails like a failed test: pushed by
// digest, no tag moves anywhere, its children are not built.
// --allow-growth lets it through once, and the report says so.
func TestOverBudgetMovesNoTag(t *testing.T) {
	e := newEnv(t, e2etest.InProcessRegistry(t, false))
	e.pub.SizeGate = &sizebudget.Gate{Reader: inventory.Reader{Remote: e.c.ReadOptions}}
	e.write(strings.Replace(lib1, `tags: ["3.11"]}`, `tags: ["3.11"], maxSize: "10B"}`, 1))
	_, _, err := e.publish("2026-11-01")
	var be *publish.BuildError
	require.ErrorAs(t, err, &be)
	assert.Equal(t, "py", be.Image)
	assert.Contains(t, err.Error(), "py 2026.11.01 is over its size budget (compressed, per platform):\n  linux")
	assert.Contains(t, err.Error(), "over maxSize 10B")
	assert.Contains(t, err.Error(), "publish --allow-growth py lets it through once")
	for _, n := range []string{"base", "py", "team", "other"} {
		tags, err := e.c.ListTags(context.Background(), e.reg+"/ds/"+n)
		if err == nil {
			assert.Empty(t, tags, "%s: no tag", n)
		}
	}
	_, err = e.c.Head(context.Background(), e.reg+"/ds/team:latest")
	assert.Error(t, err, "team, built on py, has no tag")

	// --allow-growth py: through, once, recorded in the plan and report.
	lib, err := spec.Load(e.dir)
	require.NoError(t, err)
	snap, err := plan.Observe(context.Background(), lib, readmodel.Remote{C: e.c}, plan.ObserveOptions{})
	require.NoError(t, err)
	p, err := plan.Compute(lib, snap, plan.Options{Date: "2026-11-01", AllowGrowth: []string{"py"}})
	require.NoError(t, err)
	res, err := e.pub.Apply(context.Background(), lib, p, nil)
	require.NoError(t, err)
	assert.Equal(t, []string{"2026.11.01", "3.11", "latest"}, e.tags("py"))
	rep := res.Report(p, nil)
	var over string
	for _, ir := range rep.Images {
		if ir.Name == "py" {
			over = ir.BudgetOverridden
		}
	}
	assert.Contains(t, over, "py 2026.11.01 is over its size budget (compressed, per platform); published anyway (--allow-growth py)")
	var table strings.Builder
	res.WriteTable(&table)
	assert.Contains(t, table.String(), "published anyway (--allow-growth py)")

	// Without --allow-growth, the next version over budget fails again.
	e.write(strings.Replace(lib1, `tags: ["3.11"]}`, `tags: ["3.11"], maxSize: "10B", env: B: "2"}`, 1))
	_, _, err = e.publish("2026-11-02")
	require.ErrorAs(t, err, &be)
	assert.Equal(t, []string{"2026.11.01", "3.11", "latest"}, e.tags("py"), "no tag moved")
}
