package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/imgctl/imgctl/internal/e2etest"
	"github.com/imgctl/imgctl/pkg/published"
	"github.com/imgctl/imgctl/pkg/regclient"
)

const mirroredLib = `package lib

registry: "REGISTRY/e2e"
policy: {
	mirror: "REGISTRY/mirror"
	sbom:   false
}
images: base: {
	from: "UPSTREAM/library/busybox:stable"
	run: ["echo base > /base.txt"]
}
images: leaf: {parent: "base", run: ["echo leaf > /leaf.txt"]}
`

// TestMirroredBaseEndToEnd: with policy.mirror, publish copies the
// external base into the mirror and BuildKit builds FROM the copy; once
// the upstream repository is deleted (distribution 2.8, its storage
// removed), imgctl mirror and plan go on from the mirror with the
// warning naming both, imgctl lock resolves on the copy, and a changed
// spec still rebuilds.
func TestMirroredBaseEndToEnd(t *testing.T) {
	t.Parallel()
	e := newE2E(t)
	upstream, storage := e2etest.RegistryWithStorage(t)
	upRef := upstream + "/library/busybox:stable"
	pushed := e2etest.PushRootfs(t, e2etest.BusyboxRootfs(t), upRef)
	_, digest, _ := strings.Cut(pushed, "@")
	copyRef := e.reg + "/mirror/library/busybox@" + digest
	e.src = strings.ReplaceAll(mirroredLib, "UPSTREAM", upstream)
	e.write()

	built, stdout, stderr, code := e.publish("2026-11-01")
	require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", stdout, stderr)
	assert.Equal(t, map[string]string{"base": "2026.11.01", "leaf": "2026.11.01"}, built)
	assert.Contains(t, stdout, "1 external bases built from the mirror (1 copied first).")
	_, ann := e.manifest("base", "2026.11.01")
	assert.Equal(t, upRef, ann[published.AnnotationBaseName])
	assert.Equal(t, digest, ann[published.AnnotationBaseDigest])
	assert.Equal(t, copyRef, ann[published.AnnotationBaseMirror])
	assert.Equal(t, []string{"stable"}, mirrorTags(t, e.reg+"/mirror/library/busybox"), "the mirror's record of the upstream tag")

	code, stdout, stderr = e.run("mirror", e.dir)
	require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", stdout, stderr)
	assert.Equal(t, "present  "+upRef+" -> "+copyRef+"\n1 external bases in "+e.reg+"/mirror: 0 copied.\n", stdout)

	require.NoError(t, os.RemoveAll(filepath.Join(storage, "docker/registry/v2/repositories/library")))
	warning := "upstream " + upRef + " is gone; building from mirror " + copyRef

	code, stdout, stderr = e.run("plan", e.dir, "--date", "2026-11-02")
	require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", stdout, stderr)
	assert.Contains(t, stdout, warning)
	assert.Contains(t, stdout, "Plan: 0 to build, 2 unchanged")

	code, stdout, stderr = e.run("mirror", e.dir)
	require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", stdout, stderr)
	assert.Contains(t, stdout, "gone     "+upRef+" -> "+copyRef+"\n         warning: "+warning+"\n")

	// imgctl lock resolves on the copy too.
	code, stdout, stderr = e.run("lock", e.dir)
	require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", stdout, stderr)
	assert.Contains(t, stderr, "imgctl: warning: locking base: "+warning+"\n", "not silently")

	e.edit("echo base >", "echo base v2 >")
	built, stdout, stderr, code = e.publish("2026-11-02")
	require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", stdout, stderr)
	assert.Equal(t, map[string]string{"base": "2026.11.02", "leaf": "2026.11.02"}, built)
	assert.Contains(t, stdout+stderr, warning)
	assert.Contains(t, stdout, "1 external bases built from the mirror (0 copied first).")
	_, ann = e.manifest("base", "2026.11.02")
	assert.Equal(t, copyRef, ann[published.AnnotationBaseMirror])
	assert.Equal(t, digest, ann[published.AnnotationBaseDigest])
}

func mirrorTags(t *testing.T, repo string) []string {
	t.Helper()
	tags, err := regclient.New().ListTags(t.Context(), repo)
	require.NoError(t, err)
	return tags
}
