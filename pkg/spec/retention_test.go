package spec

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRetention(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "a.cue", "package x\n\nregistry: \"r.example/x\"\nimages: a: from: \"debian:12\"\n")
	lib, err := Load(dir)
	require.NoError(t, err)
	assert.Nil(t, lib.Policy.Retention, "unset: prune deletes nothing")

	write(t, dir, "a.cue", "package x\n\nregistry: \"r.example/x\"\npolicy: retention: {afterEndOfLifeDays: 10}\nimages: a: from: \"debian:12\"\n")
	lib, err = Load(dir)
	require.NoError(t, err)
	require.NotNil(t, lib.Policy.Retention)
	assert.Equal(t, 10, lib.Policy.Retention.AfterEndOfLifeDays)
	assert.Equal(t, DefaultKeepNewest, lib.Policy.Retention.KeepNewest)
	assert.Equal(t, 4, lib.Policy.Retention.Pos.Line)

	write(t, dir, "a.cue", "package x\n\nregistry: \"r.example/x\"\npolicy: retention: {keepNewest: 2}\nimages: a: from: \"debian:12\"\n")
	lib, err = Load(dir)
	require.NoError(t, err)
	assert.Equal(t, Retention{AfterEndOfLifeDays: DefaultAfterEndOfLifeDays, KeepNewest: 2}, Retention{AfterEndOfLifeDays: lib.Policy.Retention.AfterEndOfLifeDays, KeepNewest: lib.Policy.Retention.KeepNewest})
}

// Mistakes in policy.retention are reported at their place in the user's
// file, all of them.
func TestRetentionErrors(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "a.cue", `package x

registry: "r.example/x"
policy: retention: {
	afterEndOfLifeDays: -1
	keepNewest:         0
}
images: a: from: "debian:12"
`)
	_, err := Load(dir)
	var errs Errors
	require.ErrorAs(t, err, &errs)
	file := filepath.Join(dir, "a.cue")
	var got []string
	for _, e := range errs {
		got = append(got, e.Pos.String())
		assert.Equal(t, file, e.Pos.Filename, e.Msg)
	}
	assert.Contains(t, err.Error(), "policy.retention.afterEndOfLifeDays")
	assert.Contains(t, err.Error(), "policy.retention.keepNewest")
	assert.Contains(t, got, file+":5:22")
	assert.Contains(t, got, file+":6:22")

	write(t, dir, "a.cue", "package x\n\nregistry: \"r.example/x\"\npolicy: retention: {keepNewst: 3}\nimages: a: from: \"debian:12\"\n")
	_, err = Load(dir)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "a.cue:4:21: policy.retention.keepNewst: field not allowed")
}
