package cli

import (
	"context"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/imgctl/imgctl/internal/e2etest"
	"github.com/imgctl/imgctl/pkg/regclient"
)

// refreshLib: a Debian image with an apt step (jq, from the Debian mirror)
// and an image on it that installs nothing.
const refreshLib = `package lib

registry: "REGISTRY/refresh"
policy: refreshDays: 30
images: tools: {
	from:   "scratch"
	rootfs: "debian.tar"
	env: PATH: "/usr/sbin:/usr/bin:/sbin:/bin"
	apt: ["jq"]
	test: ["echo '{\"a\": 1}' | jq -e .a"]
}
images: app: {parent: "tools", run: ["echo app > /app.txt"]}
`

func TestRefreshEndToEnd(t *testing.T) {
	t.Parallel()
	e := newE2E(t)
	e2etest.LinkOrCopy(t, e2etest.DebianRootfsFor(t, "amd64"), filepath.Join(e.dir, "debian.tar"))
	e.src = refreshLib
	e.write()
	built, stdout, stderr, code := e.publish("2026-10-01")
	require.Equal(t, 0, code, "publish:\n%s\n%s", stdout, stderr)
	require.Equal(t, map[string]string{"tools": "2026.10.01", "app": "2026.10.01"}, built)

	// 45 days later: the plan says why tools is rebuilt and that app
	// follows only if tools changes.
	code, stdout, stderr = e.run("plan", e.dir, "--date", "2026-11-15")
	require.Equal(t, 0, code, stderr)
	assert.Regexp(t, `refresh: newest version 2026\.10\.01 is 45 days old \(\S+lib\.cue:4:\d+\)`, stdout)
	assert.Contains(t, stdout, "parent tools is refreshed in this plan: rebuilt only if that publishes a new version")
	assert.Contains(t, stdout, "(2 refreshes: published only if packages changed)")

	// The mirror serves the same jq: apt runs again (not from the cache),
	// the SBOMs match, nothing is published.
	before := map[string][]string{"tools": e.tagsOf("refresh/tools"), "app": e.tagsOf("refresh/app")}
	_, stdout, stderr, code = e.publish("2026-11-15")
	require.Equal(t, 0, code, "publish:\n%s\n%s", stdout, stderr)
	assert.Contains(t, stdout, "refreshed: nothing changed since 2026.10.01")
	assert.Contains(t, stdout, "unchanged: parent tools refreshed with no change")
	assert.Contains(t, stdout, "0 tags written, 0 versions marked deprecated")
	assert.Regexp(t, `(?s)apt-get update.*(Get:|Hit:)`, stdout+stderr, "apt ran again: not taken from the build cache")
	for n, tags := range before {
		assert.Equal(t, tags, e.tagsOf("refresh/"+n), "%s: no tag moved", n)
	}

	// Without SBOMs a refresh cannot tell: it publishes a new version, and
	// app is rebuilt on it.
	e.edit("policy: refreshDays: 30", "policy: {refreshDays: 30, sbom: false}")
	built, stdout, stderr, code = e.publish("2026-11-16")
	require.Equal(t, 0, code, "publish:\n%s\n%s", stdout, stderr)
	assert.Equal(t, map[string]string{"tools": "2026.11.16", "app": "2026.11.16"}, built)
	assert.Contains(t, e.tagsOf("refresh/tools"), "2026.10.01-deprecated", "the old version is superseded as usual")
}

// tagsOf lists the tags of REGISTRY/path, sorted, without signature tags.
func (e *e2e) tagsOf(path string) []string {
	e.t.Helper()
	tags, err := regclient.New().ListTags(context.Background(), e.reg+"/"+path)
	require.NoError(e.t, err)
	var out []string
	for _, t := range tags {
		if !strings.HasPrefix(t, "sha256-") {
			out = append(out, t)
		}
	}
	sort.Strings(out)
	return out
}
