package cli

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/imgctl/imgctl/internal/e2etest"
)

// testedLib: base for two platforms whose test checks the architecture it
// runs on and the image's user, workdir and env; app on it whose test is
// about to fail.
const testedLib = `package lib

registry: "REGISTRY/tested"
images: base: {
	from:      "scratch"
	platforms: ["linux/amd64", "linux/arm64"]
	rootfs: {"linux/amd64": "busybox-amd64.tar", "linux/arm64": "busybox-arm64.tar"}
	env: {PATH: "/bin", GREETING: "hello"}
	user:    "1000:1000"
	workdir: "/tmp"
	test: [
		"uname -m | grep -Eq '^(x86_64|aarch64)$' && uname -m",
		"test \"$(id -u)\" = 1000 && test \"$PWD\" = /tmp && test \"$GREETING\" = hello",
	]
}
images: app: {
	parent: "base"
	files: [{src: "data.csv", dest: "/data/data.csv"}]
	test: ["grep -q 'a,b' /data/data.csv", "echo checking the answer; test -f /data/answer.txt"]
}
`

func TestTestsGateTags(t *testing.T) {
	t.Parallel()
	e2etest.RequirePlatforms(t, useBuildKit(t), "linux/arm64")
	e := newE2E(t)
	for arch, f := range map[string]string{"amd64": "busybox-amd64.tar", "arm64": "busybox-arm64.tar"} {
		e2etest.LinkOrCopy(t, e2etest.BusyboxRootfsFor(t, arch), filepath.Join(e.dir, f))
	}
	e.src = testedLib
	e.write()
	tags := func(repo string) []string {
		var lt struct{ Tags []string }
		require.NoError(t, json.Unmarshal(e2etest.Skopeo(t, "list-tags", "--tls-verify=false", "docker://"+e.reg+"/tested/"+repo), &lt))
		return lt.Tags
	}

	// plan says whose tests run.
	code, stdout, stderr := e.run("plan", e.dir, "--date", "2026-11-01")
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stdout, "tests: 2 commands run in the new version before its tags move")
	assert.Contains(t, stdout, "2 tested before tagging")

	// app's test fails: its output is shown, the publish fails, and no tag
	// moves anywhere — base's neither, though its tests passed.
	_, stdout, stderr, code = e.publish("2026-11-01")
	require.Equal(t, ExitError, code, "publish must fail:\n%s\n%s", stdout, stderr)
	assert.Contains(t, stderr, "testing app 2026.11.01")
	assert.Contains(t, stderr, "--- FAIL (linux/amd64): echo checking the answer; test -f /data/answer.txt")
	assert.Contains(t, stderr, "checking the answer", "the failing test's output")
	for _, repo := range []string{"base", "app"} {
		r, err := name.NewRepository(e.reg+"/tested/"+repo, name.Insecure)
		require.NoError(t, err)
		got, err := remote.List(r)
		if err == nil { // pushed by digest, tagged nowhere
			assert.Empty(t, got, "%s: no tag before every test passed", repo)
		}
	}

	// The fix (here: the test; tests are not part of the content key) and
	// a re-run completes.
	e.edit("echo checking the answer; test -f /data/answer.txt", "echo checking the data; test -s /data/data.csv")
	built, stdout, stderr, code := e.publish("2026-11-01")
	require.Equal(t, 0, code, "publish:\n%s\n%s", stdout, stderr)
	assert.Equal(t, map[string]string{"base": "2026.11.01", "app": "2026.11.01"}, built)
	assert.Contains(t, stdout, "2 images passed their tests (8 runs) before their tags were written.")
	assert.Contains(t, tags("app"), "latest")

	// Changing a test rebuilds nothing.
	e.edit("grep -q 'a,b' /data/data.csv", "grep -q '1,2' /data/data.csv")
	code, stdout, stderr = e.run("plan", e.dir, "--date", "2026-11-02")
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stdout, "Plan: 0 to build")

	// imgctl test runs them against what is published, on every platform.
	code, stdout, stderr = e.run("test", e.dir, "--json")
	require.Equal(t, 0, code, "%s\n%s", stdout, stderr)
	var rep testReport
	require.NoError(t, json.Unmarshal([]byte(stdout), &rep))
	require.True(t, rep.OK)
	require.Len(t, rep.Images, 2)
	plats := map[string]string{}
	for _, o := range rep.Images[0].Outcomes {
		if strings.HasPrefix(o.Command, "uname") {
			plats[o.Platform] = strings.TrimSpace(o.Output)
		}
	}
	assert.Equal(t, "2026.11.01", rep.Images[0].Version)
	assert.Contains(t, plats["linux/amd64"], "x86_64")
	assert.Contains(t, plats["linux/arm64"], "aarch64", "the arm64 image ran (under QEMU)")

	// A test broken after publishing: imgctl test says so, exit 1.
	e.edit("test -s /data/data.csv", "test -s /data/missing.csv")
	code, stdout, _ = e.run("test", e.dir, "app", "--version", "2026.11.01")
	assert.Equal(t, ExitError, code)
	assert.Contains(t, stdout, "FAIL  app 2026.11.01")
	assert.Contains(t, stdout, "checking the data")
	assert.Contains(t, stdout, "0 images passed, 1 failed, 0 skipped.")
}
