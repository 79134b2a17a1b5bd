package cli

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/imgctl/imgctl/internal/e2etest"
)

// budgetLib: a Debian image with an apt step and an image on it; tools
// may grow 1% a version.
const budgetLib = `package lib

registry: "REGISTRY/budget"
policy: maxGrowth: "1%"
images: tools: {
	from:   "scratch"
	rootfs: "debian.tar"
	env: PATH: "/usr/sbin:/usr/bin:/sbin:/bin"
	apt: ["jq"]
}
images: app: {parent: "tools", run: ["echo app > /app.txt"]}
`

// TestSizeBudgetEndToEnd: with BuildKit, imgctl's scanner and Debian's
// distribution 2.8, a version over maxGrowth and one over maxSize move no
// tag, build no child and name their largest added packages (installed
// sizes from the SBOMs); --allow-growth lets one through once; imgctl diff
// lists the largest packages added.
func TestSizeBudgetEndToEnd(t *testing.T) {
	t.Parallel()
	e := newE2E(t)
	e2etest.LinkOrCopy(t, e2etest.DebianRootfsFor(t, "amd64"), filepath.Join(e.dir, "debian.tar"))
	e.src = budgetLib
	e.write()
	built, stdout, stderr, code := e.publish("2026-10-01")
	require.Equal(t, 0, code, "publish:\n%s\n%s", stdout, stderr)
	require.Equal(t, map[string]string{"tools": "2026.10.01", "app": "2026.10.01"}, built)
	before := map[string][]string{"tools": e.tagsOf("budget/tools"), "app": e.tagsOf("budget/app")}

	// python3 is far more than 1%: no tag moves, app is not built, and
	// the message names what python3 brought.
	e.edit(`apt: ["jq"]`, `apt: ["jq", "python3"]`)
	code, stdout, stderr = e.run("plan", e.dir, "--date", "2026-10-02")
	require.Equal(t, 0, code, stderr)
	assert.Regexp(t, `size budget: maxGrowth 1% over 2026\.10\.01 \(\S*lib\.cue:4:20\); compressed, per platform`, stdout)
	_, stdout, stderr, code = e.publish("2026-10-02")
	require.Equal(t, 1, code, "publish:\n%s\n%s", stdout, stderr)
	assert.Contains(t, stderr, "tools 2026.10.02 is over its size budget (compressed, per platform):\n  linux/amd64: ")
	assert.Contains(t, stderr, "over 2026.10.01 (")
	assert.Contains(t, stderr, "over maxGrowth 1%")
	assert.Contains(t, stderr, "largest packages added or grown since 2026.10.01 (installed size):\n  + ")
	assert.Regexp(t, `\+ libpython3\.11-stdlib \S+ \(deb\): [0-9.]+ MB installed`, stderr)
	assert.Contains(t, stderr, "publish --allow-growth tools lets it through once")
	for n, tags := range before {
		assert.Equal(t, tags, e.tagsOf("budget/"+n), "%s: no tag moved", n)
	}

	// An unknown name is an error; --allow-growth tools lets it through,
	// recorded in the plan, and app is built on it.
	code, _, stderr = e.run("publish", e.dir, "--date", "2026-10-02", "--allow-growth", "nosuch")
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "--allow-growth nosuch: no such image in the library")
	code, stdout, stderr = e.run("plan", e.dir, "--date", "2026-10-02", "--allow-growth", "tools", "--json")
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stdout, `"allow_growth": [`)
	built, stdout, stderr, code = e.publish("2026-10-02", "--allow-growth", "tools")
	require.Equal(t, 0, code, "publish:\n%s\n%s", stdout, stderr)
	assert.Equal(t, map[string]string{"tools": "2026.10.02", "app": "2026.10.02"}, built)
	assert.Contains(t, stdout, "tools 2026.10.02 is over its size budget (compressed, per platform); published anyway (--allow-growth tools)")
	assert.Contains(t, e.tagsOf("budget/tools"), "2026.10.02")

	// imgctl diff lists the largest packages added.
	code, stdout, stderr = e.run("diff", e.dir, "tools", "2026.10.01", "2026.10.02")
	require.Equal(t, 0, code, stderr)
	assert.Regexp(t, `largest added or grown \(installed size\):\n  \+ \S+ \S+ \(deb\): [0-9.]+ MB installed`, stdout)

	// Once: the next version is judged again, now against maxSize.
	e.edit(`apt: ["jq", "python3"]`, `apt: ["jq", "python3", "bc"], maxSize: "10MB", maxGrowth: "100%"`)
	before = map[string][]string{"tools": e.tagsOf("budget/tools"), "app": e.tagsOf("budget/app")}
	_, stdout, stderr, code = e.publish("2026-10-03")
	require.Equal(t, 1, code, "publish:\n%s\n%s", stdout, stderr)
	assert.Contains(t, stderr, "over maxSize 10MB by")
	assert.NotContains(t, stderr, "over maxGrowth")
	assert.Regexp(t, `\+ bc \S+ \(deb\): [0-9.]+ kB installed`, stderr)
	for n, tags := range before {
		assert.Equal(t, tags, e.tagsOf("budget/"+n), "%s: no tag moved", n)
	}
}
