package poolsim

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func chain(secs ...float64) []Image {
	var lib []Image
	for i, s := range secs {
		lib = append(lib, Image{Name: string(rune('a' + i)), Parent: i - 1, Seconds: s})
	}
	return lib
}

func TestSimulate(t *testing.T) {
	tm := Times{Root: 2, Family: []float64{3}, Team: []float64{1}}
	for _, c := range []struct {
		name     string
		lib      []Image
		pool     Pool
		makespan float64
	}{
		{"a chain is its critical path, all on one daemon", chain(1, 2, 3), Pool{Daemons: 4, Jobs: 8, Cores: 2, Affinity: 1, Pull: 5}, 6},
		{"one daemon, one job: the sum", Shape(tm, 2, 4), Pool{Daemons: 1, Jobs: 1, Cores: 2, Affinity: 1}, 2 + 3*2 + 4},
		{"processor sharing: 4 teams on 1 core", Shape(tm, 1, 4), Pool{Daemons: 1, Jobs: 8, Cores: 1, Affinity: 1}, 2 + 3 + 4},
		{"enough daemons: the critical path, plus a pull away from the parent", Shape(tm, 1, 4), Pool{Daemons: 8, Jobs: 1, Cores: 1, Affinity: 1, Pull: 0.5}, 2 + 3 + 1.5},
	} {
		t.Run(c.name, func(t *testing.T) {
			r, err := Simulate(c.lib, c.pool)
			require.NoError(t, err)
			assert.InDelta(t, c.makespan, r.Makespan, 1e-6)
			assert.LessOrEqual(t, r.Bound, r.Makespan+1e-9)
		})
	}
}

func TestSimulateRefusesBadInput(t *testing.T) {
	_, err := Simulate(chain(1), Pool{})
	assert.Error(t, err)
	_, err = Simulate([]Image{{Name: "a", Parent: 0, Seconds: 1}}, Pool{Daemons: 1, Jobs: 1, Cores: 1})
	assert.Error(t, err)
}

func TestShape(t *testing.T) {
	lib := Shape(Times{Root: 1, Family: []float64{2, 3}, Team: []float64{4}}, 3, 9)
	require.Len(t, lib, 13)
	assert.Equal(t, -1, lib[0].Parent)
	assert.Equal(t, []float64{2, 3, 2}, []float64{lib[1].Seconds, lib[2].Seconds, lib[3].Seconds})
	for _, im := range lib[4:] {
		assert.Contains(t, []int{1, 2, 3}, im.Parent)
		assert.Equal(t, 4.0, im.Seconds)
	}
}

func TestSkewedAndFanOut(t *testing.T) {
	tm := Times{Root: 1, Family: []float64{1}, Team: []float64{1}}
	lib := Skewed(tm, 4, 100)
	require.Len(t, lib, 105)
	var fams []int
	teams := map[int]int{}
	for i, im := range lib {
		switch {
		case im.Parent == 0:
			fams = append(fams, i)
		case im.Parent > 0:
			teams[im.Parent]++
		}
	}
	require.Len(t, fams, 4)
	assert.Equal(t, 100, teams[fams[0]]+teams[fams[1]]+teams[fams[2]]+teams[fams[3]])
	assert.Greater(t, teams[fams[0]], 3*teams[fams[3]], "a few large families, many small ones")
	// One job is the pool itself.
	p := Pool{Daemons: 4, Jobs: 1, Cores: 1, Affinity: 1}
	one, err := FanOut(lib, 1, p)
	require.NoError(t, err)
	r, err := Simulate(lib, p)
	require.NoError(t, err)
	assert.InDelta(t, r.Makespan, one, 1e-6)
	// Four jobs of one daemon each: the largest family's job is the slowest.
	four, err := FanOut(lib, 4, p)
	require.NoError(t, err)
	assert.Greater(t, four, one)
	_, err = FanOut(lib, 3, p)
	assert.Error(t, err)
}
