package cli

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/imgctl/imgctl/internal/e2etest"
	"github.com/imgctl/imgctl/pkg/vulndb/vulndbtest"
	"github.com/imgctl/imgctl/pkg/vulns"
)

// vulnLib is a Debian root with jq on two platforms, a Python image on it
// with a distribution from the test's index, and a child of that.
const vulnLib = `package lib

registry: "REGISTRY/vl"
POLICY
images: base: {
	from:      "scratch"
	platforms: ["linux/amd64", "linux/arm64"]
	rootfs: {"linux/amd64": "debian-amd64.tar", "linux/arm64": "debian-arm64.tar"}
	env: PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	apt: ["jq"]
}
images: py: {
	parent:    "base"
	platforms: ["linux/amd64"]
	apt: ["python3-pip"]
	pip: {index: "INDEX/simple/", packages: ["acme-demo==ACME"]}
	env: ROUND: "1"
}
images: kid: {parent: "py", env: KID: "1"}
`

// TestVulnerabilities builds a small library with BuildKit (SBOMs from
// imgctl's scanner), matches it against a feed the test makes (a Debian
// package, a Python distribution the images really install, and a record
// that matches nothing), and checks: the findings with their installed
// and fixed versions on both platforms; --severity's exit status; the
// feed pushed with vulndb push and read through policy.vulnDB gives the
// same report as --vulndb DIR; the publish gate stops a vulnerable
// version and its child before any tag moves, an ignore lets it through
// reported as ignored, an expired one gates again; and --id finds the id
// in exactly the versions that contain it, across three versions.
func TestVulnerabilities(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("end-to-end")
	}
	e2etest.RequirePlatforms(t, useBuildKit(t), "linux/arm64")
	amd, arm := e2etest.DebianRootfsFor(t, "amd64"), e2etest.DebianRootfsFor(t, "arm64")
	reg := e2etest.Registry(t)
	idx := e2etest.ServeWheels(t)
	idx.Add(t, "acme-demo", "1.0")
	idx.Add(t, "acme-demo", "1.1")
	dir := t.TempDir()
	e2etest.LinkOrCopy(t, amd, filepath.Join(dir, "debian-amd64.tar"))
	e2etest.LinkOrCopy(t, arm, filepath.Join(dir, "debian-arm64.tar"))
	src := strings.ReplaceAll(vulnLib, "INDEX", idx.URL)
	e := &e2e{t: t, dir: dir, reg: reg, src: strings.Replace(strings.Replace(src, "ACME", "1.0", 1), "POLICY", "", 1)}
	e.write()
	feedDir := t.TempDir()
	vulndbtest.Write(t, feedDir,
		// jq at any version Debian 12 serves: fixed in "99".
		vulndbtest.Record{ID: "DEBIAN-CVE-2026-4242", Ecosystem: "Debian:12", Package: "jq", Fixed: "99", Aliases: []string{"CVE-2026-4242"}, CVSS: vulndbtest.Medium},
		vulndbtest.Record{ID: "GHSA-imgc-tlte-st00", Ecosystem: "PyPI", Package: "acme-demo", Fixed: "1.1", Aliases: []string{"CVE-2026-1111"}, CVSS: vulndbtest.High},
		vulndbtest.Record{ID: "DEBIAN-CVE-2026-0000", Ecosystem: "Debian:12", Package: "no-such-package", Fixed: "1"},
	)

	_, stdout, stderr, code := e.publish("2026-12-07")
	require.Equal(t, 0, code, "publish:\n%s\n%s", stdout, stderr)

	report := func(args ...string) (int, *vulns.Report, string) {
		t.Helper()
		code, out, errOut := e.run(append([]string{"vulns", dir, "--json"}, args...)...)
		var r vulns.Report
		require.NoError(t, json.Unmarshal([]byte(out), &r), "%s\n%s", out, errOut)
		return code, &r, errOut
	}
	find := func(r *vulns.Report, image, version, platform, id string) *vulns.Finding {
		for _, im := range r.Images {
			if im.Name != image || version != "" && im.Version != version {
				continue
			}
			for _, p := range im.Platforms {
				if p.Platform != platform {
					continue
				}
				for i, f := range p.Findings {
					if f.ID == id {
						return &p.Findings[i]
					}
				}
			}
		}
		return nil
	}
	code, r, errOut := report("--vulndb", feedDir)
	require.Equal(t, 0, code, errOut)
	assert.Equal(t, 3, r.Feed.Records)
	for _, pf := range []string{"linux/amd64", "linux/arm64"} {
		jq := find(r, "base", "2026.12.07", pf, "DEBIAN-CVE-2026-4242")
		require.NotNil(t, jq, "jq on %s", pf)
		assert.Equal(t, "Debian:12", jq.Ecosystem)
		assert.Equal(t, "99", jq.Fixed)
		assert.Equal(t, "medium", jq.Severity)
		assert.Regexp(t, `^1\.`, jq.Installed)
	}
	acme := find(r, "py", "2026.12.07", "linux/amd64", "GHSA-imgc-tlte-st00")
	require.NotNil(t, acme)
	assert.Equal(t, vulns.Finding{ID: "GHSA-imgc-tlte-st00", Aliases: []string{"CVE-2026-1111"}, Package: "acme-demo", Ecosystem: "PyPI",
		Installed: "1.0", Fixed: "1.1", Severity: "high", Score: 7.5, Summary: "GHSA-imgc-tlte-st00 in acme-demo"}, *acme)
	assert.NotNil(t, find(r, "kid", "", "linux/amd64", "GHSA-imgc-tlte-st00"), "the child inherits it")
	assert.NotContains(t, mustJSON(t, r), "DEBIAN-CVE-2026-0000")
	code, _, _ = e.run("vulns", dir, "--vulndb", feedDir, "--severity", "high")
	assert.Equal(t, 1, code)
	code, out, _ := e.run("vulns", dir, "--vulndb", feedDir, "--severity", "critical")
	assert.Equal(t, 0, code)
	assert.Contains(t, out, "HIGH    GHSA-imgc-tlte-st00 (CVE-2026-1111)")

	// The feed from the registry: the same report.
	code, out, errOut = e.run("vulndb", "push", feedDir, dir)
	require.Equal(t, 0, code, "%s\n%s", out, errOut)
	assert.Contains(t, out, "/vl/imgctl-vulndb:latest and 20")
	e.src = strings.Replace(e.src, "registry:", "policy: vulnDB: \"REGISTRY/vl/imgctl-vulndb:latest\"\nregistry:", 1)
	e.write()
	code, fromReg, errOut := report()
	require.Equal(t, 0, code, errOut)
	assert.Equal(t, r.Images, fromReg.Images)
	assert.Equal(t, r.Feed.Digest, fromReg.Feed.Digest)

	// The gate: py's new version has a fixable high finding: it and its
	// child fail before any tag moves.
	gate := `vulnerabilities: {fail: "high", fixable: true, IGNORE}`
	e.src = strings.Replace(e.src, "policy: ", "policy: "+gate+"\npolicy: ", 1)
	e.src = strings.Replace(e.src, "IGNORE", "", 1)
	e.edit(`ROUND: "1"`, `ROUND: "2"`)
	code, out, _ = e.run("plan", dir, "--date", "2026-12-08")
	require.Equal(t, 0, code)
	assert.Contains(t, out, "Vulnerability gate (")
	latest := digestOf(t, reg+"/vl/py:latest")
	kidLatest := digestOf(t, reg+"/vl/kid:latest")
	_, stdout, stderr, code = e.publish("2026-12-08")
	assert.NotEqual(t, 0, code, "the gate must stop py:\n%s", stdout)
	assert.Contains(t, stdout+stderr, "has a fixable finding at high or above")
	assert.Contains(t, stdout+stderr, "HIGH GHSA-imgc-tlte-st00 CVE-2026-1111: acme-demo 1.0 (PyPI), fixed in 1.1")
	assert.Equal(t, latest, digestOf(t, reg+"/vl/py:latest"), "no tag moved")
	assert.Equal(t, kidLatest, digestOf(t, reg+"/vl/kid:latest"), "the child was not published")
	assert.NotContains(t, string(e2etest.Skopeo(t, "list-tags", "--tls-verify=false", "docker://"+reg+"/vl/py")), "2026.12.08")

	// Accepted until the end of the year: published, reported as ignored.
	ignore := `ignore: [{id: "CVE-2026-1111", images: ["py", "kid"], reason: "the parser is never called", until: "UNTIL"}]`
	e.src = strings.Replace(e.src, "fixable: true, ", "fixable: true, "+strings.Replace(ignore, "UNTIL", "2026-12-31", 1), 1)
	e.write()
	_, stdout, stderr, code = e.publish("2026-12-08")
	require.Equal(t, 0, code, "publish with the risk accepted:\n%s\n%s", stdout, stderr)
	code, r, _ = report("py", "--date", "2026-12-08")
	require.Equal(t, 0, code)
	acme = find(r, "py", "2026.12.08", "linux/amd64", "GHSA-imgc-tlte-st00")
	require.NotNil(t, acme)
	assert.Equal(t, &vulns.Ignored{Reason: "the parser is never called", Until: "2026-12-31"}, acme.Ignored)
	code, out, _ = e.run("vulns", dir, "--vex", "--date", "2026-12-08")
	require.Equal(t, 0, code)
	assert.Contains(t, out, `"status": "not_affected"`)
	assert.Contains(t, out, "the parser is never called (accepted until 2026-12-31)")

	// Expired: the gate applies again.
	e.src = strings.Replace(e.src, "2026-12-31", "2026-12-08", 1)
	e.edit(`ROUND: "2"`, `ROUND: "3"`)
	_, stdout, _, code = e.publish("2026-12-09")
	assert.NotEqual(t, 0, code, "an expired acceptance gates again:\n%s", stdout)

	// A third version without it (acme-demo 1.1), then the incident
	// question across py's three versions.
	e.edit(`acme-demo==1.0`, `acme-demo==1.1`)
	_, stdout, stderr, code = e.publish("2026-12-09")
	require.Equal(t, 0, code, "publish:\n%s\n%s", stdout, stderr)
	code, r, _ = report("py", "--id", "CVE-2026-1111")
	require.Equal(t, 0, code)
	var versions []string
	for _, im := range r.Images {
		versions = append(versions, im.Version)
	}
	assert.ElementsMatch(t, []string{"2026.12.07", "2026.12.08"}, versions, "not 2026.12.09, which installs 1.1")
	code, r, _ = report("--id", "CVE-2026-4242")
	require.Equal(t, 0, code)
	assert.Len(t, r.Images, 7, "jq: base once, py three times, kid three times")
}

func mustJSON(t *testing.T, v any) string {
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return string(b)
}
