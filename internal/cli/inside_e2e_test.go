package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/imgctl/imgctl/pkg/changelog"
	"github.com/imgctl/imgctl/pkg/status"
)

// insideLib is a busybox image whose files are what syft recognises as
// installed packages: dpkg's database, a Python distribution and an R
// package, so that an edit of those files is a package change.
const insideLib = `package lib

registry: "REGISTRY/inside"
images: env: {
	from:   "scratch"
	rootfs: "busybox.tar"
	env: {PATH: "/bin", MODE: "one"}
	files: [
		{src: "status", dest: "/var/lib/dpkg/status"},
		{src: "METADATA", dest: "/usr/lib/python3/dist-packages/probe-VERSION.dist-info/METADATA"},
	]
}
`

func dpkgStatus(pkgs ...[2]string) string {
	var b strings.Builder
	for _, p := range pkgs {
		b.WriteString("Package: " + p[0] + "\nStatus: install ok installed\nPriority: optional\nSection: libs\nMaintainer: t <t@example.com>\nArchitecture: amd64\nVersion: " + p[1] + "\nDescription: test package\n\n")
	}
	return b.String()
}

func TestPackagesAndChangelog(t *testing.T) {
	t.Parallel()
	e := newE2E(t)
	e.src = strings.Replace(insideLib, "VERSION", "1.0", 1)
	e.write()
	put := func(name, content string) {
		require.NoError(t, os.WriteFile(filepath.Join(e.dir, name), []byte(content), 0o644))
	}
	put("status", dpkgStatus([2]string{"libfoo", "1.0-1"}, [2]string{"libbar", "2.0-1"}))
	put("METADATA", "Metadata-Version: 2.1\nName: probe\nVersion: 1.0\n")
	_, stdout, stderr, code := e.publish("2026-11-01")
	require.Equal(t, 0, code, "publish:\n%s\n%s", stdout, stderr)
	assert.Contains(t, stdout, "first version", "the first version has nothing to compare with")

	// Version two: libfoo upgraded, libbar removed, libnew added, probe
	// downgraded, an R package added, the env changed.
	put("status", dpkgStatus([2]string{"libfoo", "1.1-1"}, [2]string{"libnew", "0.1-1"}))
	put("METADATA", "Metadata-Version: 2.1\nName: probe\nVersion: 0.9\n")
	put("DESCRIPTION", "Package: rprobe\nVersion: 1.2-3\nTitle: probe\nLicense: MIT\n")
	e.edit(`MODE: "one"`, `MODE: "two"`)
	e.edit(`probe-1.0.dist-info`, `probe-0.9.dist-info`)
	e.edit(`files: [`, `files: [
		{src: "DESCRIPTION", dest: "/usr/lib/R/site-library/rprobe/DESCRIPTION"},`)
	_, stdout, stderr, code = e.publish("2026-11-24")
	require.Equal(t, 0, code, "publish:\n%s\n%s", stdout, stderr)
	assert.Regexp(t, `(?m)^env\s+2026\.11\.24\s+sha256:[0-9a-f]{64}\s+\S+s\s+\+2 −1 ↑1 ↓1 packages since 2026\.11\.01$`, stdout,
		"the summary counts the changes against the version superseded")

	// diff: the version before latest → latest, from the registry.
	code, stdout, stderr = e.run("diff", e.dir, "env")
	require.Equal(t, 0, code, stderr)
	for _, want := range []string{
		"env: 2026.11.01 → 2026.11.24",
		"packages:  +2 −1 ↑1 ↓1 packages",
		"+ libnew", "− libbar", "↑ libfoo", "1.0-1 → 1.1-1",
		"↓ probe", "1.0 → 0.9",
		"R\n", "+ rprobe", "1.2-3",
		"env MODE", "one → two",
		"linux/amd64",
	} {
		assert.Contains(t, stdout, want, "diff text")
	}
	code, stdout, stderr = e.run("diff", e.dir, "env", "2026.11.01", "2026.11.24", "--json")
	require.Equal(t, 0, code, stderr)
	var d changelog.Diff
	require.NoError(t, json.Unmarshal([]byte(stdout), &d))
	require.NotNil(t, d.Packages)
	assert.Equal(t, changelog.Counts{Added: 2, Removed: 1, Upgraded: 1, Downgraded: 1}, d.Packages.Counts)
	require.Len(t, d.Sizes, 1)
	assert.Greater(t, d.Sizes[0].From, int64(100_000), "busybox is in the size")
	// The same version both ways: nothing changed.
	code, stdout, _ = e.run("diff", e.dir, "env", "2026.11.24", "2026.11.24")
	require.Equal(t, 0, code)
	assert.Contains(t, stdout, "packages:  unchanged")
	code, _, stderr = e.run("diff", e.dir, "env", "2026.10.01")
	assert.Equal(t, ExitError, code)
	assert.Contains(t, stderr, "image env has no version 2026.10.01")
	code, _, stderr = e.run("diff", e.dir, "env", "yesterday")
	assert.Equal(t, ExitUsage, code)
	assert.Contains(t, stderr, `"yesterday" is not a dated version`)

	// status --packages: latest's, or --version's; status shows sizes.
	code, stdout, stderr = e.run("status", e.dir, "env", "--packages")
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stdout, "env 2026.11.24 (linux/amd64)")
	assert.Regexp(t, `(?m)^deb \(2\)\n  libfoo\s+1\.1-1\n  libnew\s+0\.1-1$`, stdout)
	assert.Regexp(t, `(?m)^R \(1\)\n  rprobe\s+1\.2-3$`, stdout)
	code, stdout, stderr = e.run("status", e.dir, "env", "--packages", "--version", "2026.11.01")
	require.Equal(t, 0, code, stderr)
	assert.Regexp(t, `(?m)^  libbar\s+2\.0-1$`, stdout)
	code, stdout, stderr = e.run("status", e.dir, "--json")
	require.Equal(t, 0, code, stderr)
	var rep status.Report
	require.NoError(t, json.Unmarshal([]byte(stdout), &rep))
	require.Len(t, rep.Images, 1)
	for _, v := range rep.Images[0].Versions {
		require.Len(t, v.Sizes, 1, v.Version)
		assert.Equal(t, "linux/amd64", v.Sizes[0].Platform)
		assert.Greater(t, v.Sizes[0].Size, int64(100_000))
	}
	code, stdout, _ = e.run("status", e.dir)
	require.Equal(t, 0, code)
	assert.Regexp(t, `SIZE\s`, stdout)
	assert.Regexp(t, `2026\.11\.24\s+sha256:\w+\s+linux/amd64\s+\d+\.\d MB`, stdout)
}
