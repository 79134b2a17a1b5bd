package spec

import (
	"errors"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestLoadPolicyMirror(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "a.cue", `package x

registry: "r.example/x"
policy: mirror: "mirror.example:5000/bases"
images: a: {from: "debian:12"}
`)
	lib, err := Load(dir)
	require.NoError(t, err)
	assert.Equal(t, "mirror.example:5000/bases", lib.Policy.Mirror)
	assert.Equal(t, Pos{Filename: filepath.Join(dir, "a.cue"), Line: 4, Column: 17}, lib.Policy.MirrorPos)

	for _, bad := range []string{"https://mirror.example/bases", "mirror.example", "mirror.example/Bases"} {
		write(t, dir, "a.cue", `package x

registry: "r.example/x"
policy: mirror: "`+bad+`"
images: a: {from: "debian:12"}
`)
		_, err := Load(dir)
		var errs Errors
		require.True(t, errors.As(err, &errs), "%s: %v", bad, err)
		require.Len(t, errs, 1)
		assert.Equal(t, Pos{Filename: filepath.Join(dir, "a.cue"), Line: 4, Column: 17}, errs[0].Pos)
		assert.Equal(t, `policy.mirror: "`+bad+`" is not HOST[:PORT]/PREFIX (no scheme; lowercase path components; a prefix is required)`, errs[0].Msg)
	}
}
