package plan_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/imgctl/imgctl/pkg/lock"
	"github.com/imgctl/imgctl/pkg/plan"
	"github.com/imgctl/imgctl/pkg/plan/plantest"
	"github.com/imgctl/imgctl/pkg/published"
	"github.com/imgctl/imgctl/pkg/spec"
)

// unlockedRegistry is the fake registry with the UnlockedReader ability:
// what each version built from a lock holds outside it, by digest.
type unlockedRegistry struct {
	*plantest.Registry
	unlocked map[string][]lock.Unlocked
	asked    []string
}

func (r *unlockedRegistry) Unlocked(_ context.Context, repo string, v *published.Manifest) ([]lock.Unlocked, error) {
	r.asked = append(r.asked, repo+":"+v.Version)
	return r.unlocked[v.Digest], nil
}

func pyLock(acme string, more ...lock.Dist) *lock.Lock {
	pip := append([]lock.Dist{{Name: "acme-demo", Version: acme, URL: "http://127.0.0.1/acme_demo-" + acme + "-py3-none-any.whl", SHA256: strings.Repeat("a", 64)}}, more...)
	return &lock.Lock{FormatVersion: "1", Image: "py", Platforms: map[string]*lock.Packages{
		"linux/amd64": {Apt: []lock.AptPackage{{Name: "python3", Version: "3.11.2-1+b1", Arch: "amd64"}}, Pip: pip},
	}}
}

// TestLockChangesAndUnlockedInThePlan: a changed lock rebuilds the image
// and its dependents, and the plan says what changes, from the two locks
// alone; what the newest version holds outside its lock is listed.
func TestLockChangesAndUnlockedInThePlan(t *testing.T) {
	f := publishedLibrary(t)
	reg := &unlockedRegistry{Registry: f.reg, unlocked: map[string][]lock.Unlocked{}}
	planWith := func(l *lock.Lock) (*spec.Library, *plan.Plan) {
		lib := f.load()
		lib.SetLock("py", l)
		l.Inputs = lib.Image("py").LockInputs.Digest() // current
		lib.SetLock("py", l)
		require.True(t, lib.Image("py").Locked())
		snap, err := plan.Observe(context.Background(), lib, reg, plan.ObserveOptions{Unlocked: true})
		require.NoError(t, err)
		p, err := plan.Compute(lib, snap, plan.Options{Date: "2026-11-24"})
		require.NoError(t, err)
		return lib, p
	}

	lib, p := planWith(pyLock("1.0"))
	assert.Equal(t, []string{"py", "team", "team2"}, built(p), "the lock is part of the content key")
	py := p.Step("py")
	assert.Contains(t, reasons(py), "lock: +2 (python3 3.11.2-1+b1, acme-demo 1.0)")
	assert.Empty(t, reg.asked, "a version built without a lock has nothing unlocked to read")
	digests := plantest.Apply(f.reg, lib, p)
	reg.unlocked[digests["py"]] = []lock.Unlocked{{Platform: "linux/amd64", Ecosystem: "pip", Name: "setuptools", Version: "66.1.1"}}

	_, p = planWith(pyLock("1.0"))
	assert.Empty(t, built(p), "the same lock: nothing to do")
	py = p.Step("py")
	assert.Equal(t, reg.unlocked[digests["py"]], py.Unlocked)
	assert.Equal(t, []string{"r.test/ds/py:2026.11.24"}, reg.asked, "only versions built from a lock are read")

	_, p = planWith(pyLock("1.1", lock.Dist{Name: "idna", Version: "3.6", URL: "http://127.0.0.1/idna-3.6-py3-none-any.whl", SHA256: strings.Repeat("b", 64)}))
	assert.Equal(t, []string{"py", "team", "team2"}, built(p))
	py = p.Step("py")
	assert.Contains(t, reasons(py), "lock: acme-demo 1.0 → 1.1, +1 (idna 3.6)")
	assert.Equal(t, []lock.Change{{Ecosystem: "pip", Name: "acme-demo", From: "1.0", To: "1.1"}, {Ecosystem: "pip", Name: "idna", To: "3.6"}}, py.LockChanges)
	var text bytes.Buffer
	require.NoError(t, p.WriteText(&text))
	assert.Contains(t, text.String(), "unlocked in 2026.11.24: 1 package a run: step installed outside the lock: pip setuptools 66.1.1\n")
}

func reasons(st *plan.ImageStep) []string {
	var out []string
	for _, r := range st.Reasons {
		out = append(out, r.Message)
	}
	return out
}
