package spec

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseByteSize(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
		err  bool
	}{
		{in: "2GiB", want: 2 << 30},
		{in: "500MB", want: 500e6},
		{in: "1.5 GiB", want: 3 << 29},
		{in: "10kB", want: 10e3},
		{in: "10KB", want: 10e3},
		{in: "7B", want: 7},
		{in: "0.5B", want: 1},
		{in: "0GiB", err: true},
		{in: "2G", err: true},
		{in: "GiB", err: true},
		{in: "-1MB", err: true},
		{in: "1e3MB", err: true},
		{in: "99999999999TiB", err: true},
	} {
		got, err := ParseByteSize(tc.in)
		if tc.err {
			assert.Error(t, err, tc.in)
			continue
		}
		require.NoError(t, err, tc.in)
		assert.Equal(t, tc.want, got, tc.in)
	}
}

func TestParsePercent(t *testing.T) {
	for in, want := range map[string]float64{"10%": 10, "2.5%": 2.5, "0%": 0, "150%": 150} {
		got, err := ParsePercent(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, got, in)
	}
	for _, in := range []string{"10", "%", "-1%", "ten%", "1e2%"} {
		_, err := ParsePercent(in)
		assert.Error(t, err, in)
	}
}

// An image's maxGrowth overrides the policy's; maxSize is the image's
// own; neither comes from the parent.
func TestBudgetOf(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "a.cue", `package x

registry: "r.example/x"
policy: maxGrowth: "10%"
images: a: {from: "debian:12", maxSize: "2GiB"}
images: b: {parent: "a", maxGrowth: "25%"}
images: c: parent: "b"
`)
	lib, err := Load(dir)
	require.NoError(t, err)
	a, b, c := lib.BudgetOf(lib.Image("a")), lib.BudgetOf(lib.Image("b")), lib.BudgetOf(lib.Image("c"))
	assert.Equal(t, int64(2<<30), a.MaxSizeBytes)
	assert.Equal(t, "10%", a.MaxGrowth)
	assert.Equal(t, 4, a.MaxGrowthPos.Line, "the policy's")
	assert.Equal(t, 5, a.MaxSizePos.Line)
	assert.Equal(t, 25.0, b.MaxGrowthPercent)
	assert.Equal(t, 6, b.MaxGrowthPos.Line)
	assert.Empty(t, b.MaxSize, "maxSize is not inherited")
	assert.Equal(t, "10%", c.MaxGrowth, "the policy's, not the parent's")

	write(t, dir, "a.cue", "package x\n\nregistry: \"r.example/x\"\nimages: a: from: \"debian:12\"\n")
	lib, err = Load(dir)
	require.NoError(t, err)
	assert.True(t, lib.BudgetOf(lib.Image("a")).IsZero())
}

// Bad budgets are reported at their place in the user's file, all of them.
func TestBudgetErrors(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "a.cue", `package x

registry: "r.example/x"
policy: maxGrowth: "ten percent"
images: a: {
	from:      "debian:12"
	maxSize:   "2 gigs"
	maxGrowth: "5"
}
images: b: {
	parent:  "a"
	maxSize: "0GiB"
}
`)
	_, err := Load(dir)
	var errs Errors
	require.ErrorAs(t, err, &errs)
	file := filepath.Join(dir, "a.cue")
	var got []string
	for _, e := range errs {
		got = append(got, e.Pos.String())
	}
	msg := err.Error()
	assert.Contains(t, msg, "maxGrowth")
	assert.Contains(t, msg, "maxSize")
	assert.Contains(t, got, file+":4:20", msg)
	assert.Contains(t, got, file+":7:13", msg)
	assert.Contains(t, got, file+":8:13", msg)
	assert.Contains(t, got, file+":12:11", msg)
	assert.Contains(t, msg, `images.b.maxSize: "0GiB" is not a size above zero`)
}
