package spec

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/imgctl/imgctl/pkg/lock"
)

const lockSrc = "package x\nregistry: \"r.example/x\"\nimages: base: {\n\tfrom: \"debian:12\"\n\tapt: [\"jq\"]\n}\nimages: app: {\n\tparent: \"base\"\n\tapt: [\"make\"]\n}\n"

func TestLocksLoadAndGoStale(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "a.cue", lockSrc)
	lib, err := Load(dir)
	require.NoError(t, err)
	base, app := lib.Image("base"), lib.Image("app")
	assert.Nil(t, base.Lock)
	assert.Equal(t, filepath.Join(dir, "locks", "base.lock.json"), base.LockFile)
	require.NoError(t, CheckLocks(lib), "optional: unlocked images build as today")

	bl := &lock.Lock{Image: "base", Inputs: base.LockInputs.Digest(), Platforms: map[string]*lock.Packages{"linux/amd64": {}}}
	require.NoError(t, lock.Write(base.LockFile, bl))
	lib.SetLock("base", bl)
	al := &lock.Lock{Image: "app", Inputs: app.LockInputs.Digest(), Parent: app.LockInputs.Parent, Platforms: map[string]*lock.Packages{"linux/amd64": {}}}
	require.NoError(t, lock.Write(app.LockFile, al))

	lib, err = Load(dir)
	require.NoError(t, err)
	assert.True(t, lib.Image("base").Locked())
	assert.True(t, lib.Image("app").Locked())

	// The parent's spec changes: its lock is stale, and so is the child's
	// once the parent is relocked.
	write(t, dir, "a.cue", "package x\nregistry: \"r.example/x\"\nimages: base: {\n\tfrom: \"debian:12\"\n\tapt: [\"jq\", \"curl\"]\n}\nimages: app: {\n\tparent: \"base\"\n\tapt: [\"make\"]\n}\n")
	lib, err = Load(dir)
	require.NoError(t, err)
	assert.Equal(t, "the spec's packages or their sources changed since it was resolved", lib.Image("base").LockStale)
	err = CheckLocks(lib)
	var errs Errors
	require.True(t, errors.As(err, &errs), "%v", err)
	assert.Equal(t, 3, errs[0].Pos.Line)
	assert.Contains(t, errs[0].Msg, "images.base: its lock is stale")
	nb := &lock.Lock{Image: "base", Inputs: lib.Image("base").LockInputs.Digest(), Platforms: map[string]*lock.Packages{"linux/amd64": {Apt: []lock.AptPackage{{Name: "curl", Version: "1", Arch: "amd64"}}}}}
	lib.SetLock("base", nb)
	assert.Empty(t, lib.Image("base").LockStale)
	assert.Equal(t, "parent base's lock changed since it was resolved", lib.Image("app").LockStale)
}

func TestLockRequiredAndMalformed(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "a.cue", "package x\nregistry: \"r.example/x\"\npolicy: lock: \"required\"\nimages: base: {\n\tfrom: \"debian:12\"\n}\n")
	lib, err := Load(dir)
	require.NoError(t, err)
	err = CheckLocks(lib)
	var errs Errors
	require.True(t, errors.As(err, &errs), "%v", err)
	assert.Equal(t, 4, errs[0].Pos.Line)
	assert.Contains(t, errs[0].Msg, `images.base: policy.lock is "required" (`+filepath.Join(dir, "a.cue")+`:3:15) and the image has no lock (locks/base.lock.json); run imgctl lock base`)

	require.NoError(t, os.MkdirAll(filepath.Join(dir, "locks"), 0o755))
	write(t, filepath.Join(dir, "locks"), "base.lock.json", "{\n  \"format_version\": \"1\",\n  \"image\": true\n}\n")
	_, err = Load(dir)
	require.True(t, errors.As(err, &errs), "%v", err)
	assert.Equal(t, filepath.Join(dir, "locks", "base.lock.json"), errs[0].Pos.Filename)
	assert.Equal(t, 3, errs[0].Pos.Line)
	assert.Contains(t, errs[0].Msg, "lock of base: image: want string, got bool")

	write(t, dir, "a.cue", "package x\nregistry: \"r.example/x\"\npolicy: lock: \"sometimes\"\nimages: base: from: \"debian:12\"\n")
	_, err = Load(dir)
	require.Error(t, err)
}

func TestVersionTags(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "a.cue", "package x\nregistry: \"r.example/x\"\nimages: base: {\n\tfrom: \"debian:12\"\n\tapt: [\"python3\"]\n}\nimages: app: {\n\tparent: \"base\"\n\tversionTags: {python: \"python3\", pandas: \"pip:Pandas\"}\n}\n")
	lib, err := Load(dir)
	require.NoError(t, err)
	err = CheckLocks(lib)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "a.cue:9:2: images.app: versionTags need a current lock (run imgctl lock app)")
	base, app := lib.Image("base"), lib.Image("app")
	lib.SetLock("base", &lock.Lock{Image: "base", Inputs: base.LockInputs.Digest(), Platforms: map[string]*lock.Packages{"linux/amd64": {
		Apt: []lock.AptPackage{{Name: "python3", Version: "1:3.11.2-1+b1", Arch: "amd64"}}}}})
	lib.SetLock("app", &lock.Lock{Image: "app", Inputs: app.LockInputs.Digest(), Parent: app.LockInputs.Parent, Platforms: map[string]*lock.Packages{"linux/amd64": {
		Pip: []lock.Dist{{Name: "pandas", Version: "2.1.4+local"}}}}})
	require.NoError(t, CheckLocks(lib))
	assert.Equal(t, []string{"pandas-2.1.4_local", "python-3.11.2"}, app.LockTags)
	assert.Equal(t, "3.11.2", lock.UpstreamVersion("3.11.2-1+b1"))
}
