package sizebudget_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/imgctl/imgctl/internal/goldentest"
	"github.com/imgctl/imgctl/pkg/inventory"
	"github.com/imgctl/imgctl/pkg/plan"
	"github.com/imgctl/imgctl/pkg/sizebudget"
)

func pct(f float64) *float64 { return &f }

func budget(maxSize string, bytes int64, growth string, percent float64) plan.SizeBudget {
	b := plan.SizeBudget{MaxSize: maxSize, MaxSizeBytes: bytes, MaxGrowth: growth}
	if growth != "" {
		b.MaxGrowthPercent = pct(percent)
	}
	return b
}

func TestJudge(t *testing.T) {
	amd := func(n int64) []sizebudget.Platform { return []sizebudget.Platform{{Platform: "linux/amd64", Size: n}} }
	for _, tc := range []struct {
		name          string
		in            sizebudget.Input
		over, grew    bool
		overSize      bool
		growthPercent float64
	}{
		{name: "within", in: sizebudget.Input{Budget: budget("1GB", 1e9, "10%", 10), New: amd(105), Previous: "2026.11.01", Old: amd(100)}, growthPercent: 5},
		{name: "at the limits", in: sizebudget.Input{Budget: budget("110B", 110, "10%", 10), New: amd(110), Previous: "2026.11.01", Old: amd(100)}, growthPercent: 10},
		{name: "over maxSize", in: sizebudget.Input{Budget: budget("100B", 100, "", 0), New: amd(101)}, over: true, overSize: true},
		{name: "over maxGrowth", in: sizebudget.Input{Budget: budget("", 0, "10%", 10), New: amd(111), Previous: "2026.11.01", Old: amd(100)}, over: true, grew: true, growthPercent: 11},
		{name: "0% allows shrinking", in: sizebudget.Input{Budget: budget("", 0, "0%", 0), New: amd(99), Previous: "2026.11.01", Old: amd(100)}, growthPercent: -1},
		{name: "first version has no growth", in: sizebudget.Input{Budget: budget("", 0, "0%", 0), New: amd(1e9)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := sizebudget.Judge(tc.in)
			assert.Equal(t, tc.over, v.Over())
			require.Len(t, v.Platforms, 1)
			p := v.Platforms[0]
			assert.Equal(t, tc.overSize, p.OverMaxSize)
			assert.Equal(t, tc.grew, p.OverMaxGrowth)
			if tc.in.Old != nil {
				require.NotNil(t, p.Growth)
				assert.InDelta(t, tc.growthPercent, *p.Growth, 1e-9)
			}
		})
	}
}

// fakeReader serves versions by digest; pkgs counts the SBOM reads.
type fakeReader struct {
	versions map[string]*inventory.Version
	pkgs     int
}

func (r *fakeReader) Read(_ context.Context, ref name.Digest, o inventory.Options) (*inventory.Version, error) {
	v, ok := r.versions[ref.DigestStr()]
	if !ok {
		return nil, fmt.Errorf("reading %s: not found", ref)
	}
	cp := *v
	cp.Platforms = nil
	for _, p := range v.Platforms {
		if !o.Packages {
			p.Packages = nil
		}
		cp.Platforms = append(cp.Platforms, p)
	}
	if o.Packages {
		r.pkgs++
	}
	return &cp, nil
}

const (
	oldDigest = "sha256:0000000000000000000000000000000000000000000000000000000000000001"
	newDigest = "sha256:0000000000000000000000000000000000000000000000000000000000000002"
)

func version(sizes map[string]int64, pkgs []inventory.Package) *inventory.Version {
	v := &inventory.Version{}
	for _, p := range []string{"linux/amd64", "linux/arm64"} {
		if n, ok := sizes[p]; ok {
			v.Platforms = append(v.Platforms, inventory.Platform{Platform: p, Size: n, SBOM: pkgs != nil, Packages: pkgs})
		}
	}
	return v
}

func pkg(eco, name, ver string, size int64) inventory.Package {
	return inventory.Package{Ecosystem: eco, Name: name, Version: ver, Size: size}
}

func TestGate(t *testing.T) {
	base := []inventory.Package{pkg("deb", "libc6", "2.36-9", 12_988*1024), pkg("deb", "libssl3", "3.0.11-1", 6_000_000)}
	grown := append([]inventory.Package{}, pkg("deb", "libc6", "2.36-9", 12_988*1024), pkg("deb", "libssl3", "3.0.13-1", 6_500_000),
		pkg("deb", "python3-scipy", "1.10.1-2", 58_200_000), pkg("python", "pandas", "2.1.0", 70_000_000), pkg("R", "ggplot2", "3.4.4", 0))
	unsized := []inventory.Package{{Ecosystem: "deb", Name: "libc6", Version: "2.36-9"}, {Ecosystem: "deb", Name: "libssl3", Version: "3.0.11-1"}}
	step := func(b plan.SizeBudget, previous bool) plan.ImageStep {
		st := plan.ImageStep{Name: "py", Repository: "r.test/ds/py", Version: "2026.11.24", SizeBudget: &b}
		if previous {
			st.Previous = &plan.Version{Tag: "2026.11.01", Digest: oldDigest}
		}
		return st
	}
	for _, tc := range []struct {
		name     string
		old, cur *inventory.Version
		step     plan.ImageStep
		// golden is the message's file; "" means within budget.
		golden   string
		allowed  bool
		sbomRead int
	}{
		{name: "within", old: version(map[string]int64{"linux/amd64": 100e6}, base), cur: version(map[string]int64{"linux/amd64": 105e6}, grown),
			step: step(budget("2GiB", 2<<30, "10%", 10), true)},
		{name: "over maxGrowth", old: version(map[string]int64{"linux/amd64": 100e6, "linux/arm64": 98e6}, base),
			cur:  version(map[string]int64{"linux/amd64": 160e6, "linux/arm64": 104e6}, grown),
			step: step(budget("2GiB", 2<<30, "10%", 10), true), golden: "over-growth.txt", sbomRead: 2},
		{name: "over maxSize, first version", cur: version(map[string]int64{"linux/amd64": 160e6}, grown),
			step: step(budget("150MB", 150e6, "", 0), false), golden: "over-size-first.txt", sbomRead: 1},
		{name: "old SBOM without sizes", old: version(map[string]int64{"linux/amd64": 100e6}, unsized), cur: version(map[string]int64{"linux/amd64": 160e6}, grown),
			step: step(budget("", 0, "10%", 10), true), golden: "over-growth-unsized.txt", sbomRead: 2},
		{name: "old without SBOM", old: version(map[string]int64{"linux/amd64": 100e6}, nil), cur: version(map[string]int64{"linux/amd64": 160e6}, grown),
			step: step(budget("", 0, "10%", 10), true), golden: "over-growth-no-sbom.txt", sbomRead: 2},
		{name: "allowed", old: version(map[string]int64{"linux/amd64": 100e6}, base), cur: version(map[string]int64{"linux/amd64": 160e6}, grown),
			step: func() plan.ImageStep {
				st := step(budget("", 0, "10%", 10), true)
				st.SizeBudget.AllowGrowth = true
				return st
			}(),
			golden: "allowed.txt", allowed: true, sbomRead: 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &fakeReader{versions: map[string]*inventory.Version{newDigest: tc.cur}}
			if tc.old != nil {
				r.versions[oldDigest] = tc.old
			}
			g := &sizebudget.Gate{Reader: r}
			v, err := g.Check(context.Background(), tc.step, newDigest)
			assert.Equal(t, tc.sbomRead, r.pkgs, "SBOMs are read only when over budget")
			over, oerr := g.CheckSize(context.Background(), tc.step, newDigest)
			switch {
			case tc.golden == "":
				require.NoError(t, err)
				require.NoError(t, oerr)
				assert.False(t, v.Over())
				assert.Empty(t, over)
			case tc.allowed:
				require.NoError(t, err)
				require.NoError(t, oerr)
				assert.True(t, v.Overridden())
				assert.Equal(t, v.Message(), over)
				goldentest.Check(t, tc.golden, []byte(over+"\n"))
			default:
				var obe *sizebudget.OverBudgetError
				require.True(t, errors.As(err, &obe), "%v", err)
				assert.Empty(t, over)
				require.Error(t, oerr)
				goldentest.Check(t, tc.golden, []byte(v.Message()+"\n"))
			}
		})
	}
	_, err := (&sizebudget.Gate{Reader: &fakeReader{}}).Check(context.Background(), plan.ImageStep{Name: "x"}, newDigest)
	assert.NoError(t, err, "a step without a budget is not read at all")
}

// A child rebuilt on a parent that grew is judged by what it added itself:
// the parent's growth is the parent's budget's business.
func TestJudgeLeavesOutTheParentsGrowth(t *testing.T) {
	amd := func(n int64) []sizebudget.Platform { return []sizebudget.Platform{{Platform: "linux/amd64", Size: n}} }
	in := sizebudget.Input{Image: "app", Version: "2026.11.24", Budget: budget("", 0, "1%", 1), Previous: "2026.11.01", Parent: "tools",
		Old: amd(100e6), OldBase: amd(90e6), New: amd(150e6), NewBase: amd(140e6)}
	v := sizebudget.Judge(in)
	assert.False(t, v.Over(), "+50%, all of it the parent's")
	assert.Equal(t, int64(50e6), v.Platforms[0].FromParent)
	assert.InDelta(t, 0, *v.Platforms[0].OwnGrowth, 1e-9)

	in.New = amd(152e6)
	v = sizebudget.Judge(in)
	require.True(t, v.Over(), "+2% of its own")
	goldentest.Check(t, "over-growth-parent.txt", []byte(v.Message()+"\n"))
}
