package plan_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/imgctl/imgctl/pkg/plan"
)

// TestMirrorFallback: with policy.mirror, a base upstream no longer
// serves is resolved from the mirror's record of its tag, with the
// warning naming both; the content keys are those of the same digest
// resolved upstream, so a published library skips.
func TestMirrorFallback(t *testing.T) {
	f := publishedLibrary(t)
	_, upstream := f.plan("2026-11-01")

	f.files["lib.cue"] += "policy: mirror: \"r.test/mirror\"\n"
	f.reg.Put("r.test/mirror/library/debian", "12", debianV1, nil)
	// Upstream answers: no warning, nothing from the mirror.
	_, p := f.plan("2026-11-02")
	assert.Empty(t, p.Warnings)
	assert.Equal(t, plan.Skip, actions(p)["base"])
	assert.Empty(t, p.Images[0].Base.Mirror)

	// Upstream gone: the same digest from the mirror, still a skip.
	f.reg.DeleteRepository("debian")
	_, p = f.plan("2026-11-02")
	for _, st := range p.Images {
		assert.Equal(t, plan.Skip, st.Action, st.Name)
	}
	base := step(t, p, "base")
	assert.Equal(t, "r.test/mirror/library/debian@"+debianV1, base.Base.Mirror)
	assert.Equal(t, debianV1, base.Base.Digest)
	assert.Equal(t, step(t, upstream, "base").ContentKey, base.ContentKey, "the mirror does not change the key")
	require.Len(t, p.Warnings, 1)
	assert.Equal(t, "upstream docker.io/library/debian:12 is gone; building from mirror r.test/mirror/library/debian@"+debianV1, p.Warnings[0].Message)
	assert.Equal(t, "base", p.Warnings[0].Image)

	// Neither upstream nor the mirror: the plan fails naming both.
	f.reg.DeleteRepository("r.test/mirror/library/debian")
	lib := f.load()
	_, err := plan.Observe(context.Background(), lib, f.reg, plan.ObserveOptions{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "debian:12")
	assert.Contains(t, err.Error(), "r.test/mirror/library/debian:12")
}

func step(t *testing.T, p *plan.Plan, name string) plan.ImageStep {
	t.Helper()
	for _, st := range p.Images {
		if st.Name == name {
			return st
		}
	}
	t.Fatalf("no step %s", name)
	return plan.ImageStep{}
}
