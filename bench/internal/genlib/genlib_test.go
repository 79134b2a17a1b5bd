package genlib

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/imgctl/imgctl/pkg/spec"
)

func TestWriteLoads(t *testing.T) {
	for _, tc := range []struct {
		name   string
		opts   Options
		roots  int
		pinned int
	}{
		{"import schema", Options{Images: 120, Registry: "127.0.0.1:5000/bench", Seed: 1, ImportSchema: true}, 1, 0},
		{"no import, pins", Options{Images: 120, Registry: "127.0.0.1:5000/bench", Seed: 2, PinEvery: 10, PinVersion: "2026.11.01"}, 1, 11},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "lib")
			require.NoError(t, Write(dir, tc.opts))
			lib, err := spec.Load(dir)
			require.NoError(t, err)
			require.Len(t, lib.Images, tc.opts.Images)

			sh := ShapeOf(tc.opts.Images)
			roots, families, pinned := 0, 0, 0
			for _, im := range lib.Images {
				switch {
				case im.IsExternal():
					roots++
					assert.Equal(t, RootFrom, im.From)
				case im.Parent == RootName:
					families++
				default:
					assert.NotEmpty(t, im.Team, im.Name)
					assert.NotEmpty(t, im.Apt, im.Name)
					assert.Equal(t, "/home/ds", im.Env["HOME"], im.Name)
					assert.Equal(t, RootName, lib.Image(im.Parent).Parent, "%s: teams sit on families", im.Name)
				}
				if im.ParentVersion != "" {
					pinned++
				}
			}
			assert.Equal(t, tc.roots, roots)
			assert.Equal(t, sh.Families, families)
			assert.Equal(t, tc.pinned, pinned)

			files, err := filepath.Glob(filepath.Join(dir, "*.cue"))
			require.NoError(t, err)
			assert.Len(t, files, tc.opts.Images+1, "one file per image plus library.cue")
		})
	}
}

func TestWriteDeterministic(t *testing.T) {
	o := Options{Images: 60, Registry: "127.0.0.1:5000/bench", Seed: 7, ImportSchema: true}
	a, b := filepath.Join(t.TempDir(), "a"), filepath.Join(t.TempDir(), "b")
	require.NoError(t, Write(a, o))
	require.NoError(t, Write(b, o))
	files, err := filepath.Glob(filepath.Join(a, "*.cue"))
	require.NoError(t, err)
	for _, f := range files {
		x, err := os.ReadFile(f)
		require.NoError(t, err)
		y, err := os.ReadFile(filepath.Join(b, filepath.Base(f)))
		require.NoError(t, err)
		assert.Equal(t, string(x), string(y), filepath.Base(f))
	}
}

func TestWriteRefusesNonEmptyDir(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "x.cue"), nil, 0o644))
	assert.ErrorContains(t, Write(dir, Options{Images: 10, Registry: "r.example/x"}), "not empty")
}

func TestWriteRootFrom(t *testing.T) {
	const up = "127.0.0.1:5000/upstream/debian@" + RootDigest
	dir := filepath.Join(t.TempDir(), "lib")
	require.NoError(t, Write(dir, Options{Images: 10, Registry: "r.example/x", RootFrom: up}))
	lib, err := spec.Load(dir)
	require.NoError(t, err)
	assert.Equal(t, up, lib.Image(RootName).From)
	assert.ErrorContains(t, Write(t.TempDir(), Options{Images: 10, Registry: "r.example/x", RootFrom: "debian:12"}), "not given by digest")
}

func TestShapeOf(t *testing.T) {
	for n, want := range map[int]Shape{3: {1, 1}, 100: {2, 97}, 1000: {20, 979}, 5000: {100, 4899}} {
		assert.Equal(t, want, ShapeOf(n), "n=%d", n)
	}
}

// TestMovingTags: the tags read from each written file are latest plus
// what spec.Load sees in its tags field.
func TestMovingTags(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "lib")
	require.NoError(t, Write(dir, Options{Images: 120, Registry: "127.0.0.1:5000/bench", Seed: 3}))
	lib, err := spec.Load(dir)
	require.NoError(t, err)
	withTags := 0
	for _, im := range lib.Images {
		src, err := os.ReadFile(filepath.Join(dir, im.Name+".cue"))
		require.NoError(t, err)
		got, err := MovingTags(src)
		require.NoError(t, err)
		assert.ElementsMatch(t, append([]string{"latest"}, im.Tags...), got, im.Name)
		if len(im.Tags) > 0 {
			withTags++
		}
	}
	assert.Equal(t, 1+ShapeOf(120).Families, withTags, "the root and the families declare tags")
}
