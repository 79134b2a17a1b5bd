package publish_test

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/imgctl/imgctl/internal/goldentest"
	"github.com/imgctl/imgctl/pkg/plan"
	"github.com/imgctl/imgctl/pkg/publish"
)

// TestReportGolden: publish --json of a publish that built two images,
// moved latest and a moving tag, marked the superseded version, left one
// image unchanged by its refresh and one blocked.
func TestReportGolden(t *testing.T) {
	d := func(c string) string { return "sha256:" + string(bytes.Repeat([]byte(c), 64)) }
	p := &plan.Plan{
		Date: "2026-12-07", Registry: "r.test/ds",
		Images: []plan.ImageStep{
			{Name: "base", Repository: "r.test/ds/base", Action: plan.Skip, Version: "2026.11.01", Digest: d("1")},
			{Name: "py", Repository: "r.test/ds/py", Action: plan.Build},
			{Name: "team", Repository: "r.test/ds/team", Action: plan.Build},
			{Name: "r", Repository: "r.test/ds/r", Action: plan.Build, Refresh: true},
			{Name: "arm", Repository: "r.test/ds/arm", Action: plan.Blocked, Reasons: []plan.Reason{{Message: "external base debian:12 lacks linux/arm64 (it provides linux/amd64)"}}},
		},
	}
	res := &publish.Result{
		Images: []publish.Built{
			{Image: "py", Version: "2026.12.07", Digest: d("2"), Duration: 12340 * time.Millisecond, Changes: "+1 ↑2 packages", Tests: 2},
			{Image: "team", Version: "2026.12.07", Digest: d("3"), Duration: 3 * time.Second,
				BudgetOverridden: "team 2026.12.07 is over its size budget (compressed, per platform); published anyway (--allow-growth team):\n  linux/amd64: 160.0 MB, +60.0% over 2026.11.01 (100.0 MB), over maxGrowth 10%\nthe budget applies again from the next version on"},
			{Image: "r", Unchanged: true, Previous: d("4"), Duration: 30 * time.Second},
		},
		Signed: 2,
		TagsWritten: []plan.TagStep{
			{Image: "py", Tag: "2026.12.07", Kind: plan.TagDated, Version: "2026.12.07", Digest: d("2")},
			{Image: "py", Tag: "latest", Kind: plan.TagLatest, Version: "2026.12.07", Digest: d("2"), Observed: d("5")},
			{Image: "py", Tag: "3.11", Kind: plan.TagMoving, Version: "2026.12.07", Digest: d("2"), Observed: d("5")},
			{Image: "team", Tag: "2026.12.07", Kind: plan.TagDated, Version: "2026.12.07", Digest: d("3")},
			{Image: "team", Tag: "latest", Kind: plan.TagLatest, Version: "2026.12.07", Digest: d("3")},
		},
		MarkersWritten: []plan.DeprecationStep{
			{Image: "py", Kind: plan.Superseded, Version: "2026.11.01", Digest: d("5"), SupersededBy: "2026.12.07", EndOfLife: "2027-01-06", Tag: "2026.11.01-deprecated"},
		},
	}
	var b bytes.Buffer
	require.NoError(t, res.Report(p, errors.New("1 image is blocked and cannot be published until the specs change:\n  arm: …")).WriteJSON(&b))
	goldentest.Check(t, "publish.json", b.Bytes())
}
