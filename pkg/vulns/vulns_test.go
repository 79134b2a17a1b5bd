package vulns_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/imgctl/imgctl/internal/goldentest"
	"github.com/imgctl/imgctl/pkg/inventory"
	"github.com/imgctl/imgctl/pkg/spec"
	"github.com/imgctl/imgctl/pkg/vulndb"
	"github.com/imgctl/imgctl/pkg/vulndb/vulndbtest"
	"github.com/imgctl/imgctl/pkg/vulns"
)

const (
	dPy  = "sha256:1111111111111111111111111111111111111111111111111111111111111111"
	dPy0 = "sha256:2222222222222222222222222222222222222222222222222222222222222222"
	dR   = "sha256:3333333333333333333333333333333333333333333333333333333333333333"
)

func deb(n, v string) inventory.Package {
	return inventory.Package{Ecosystem: inventory.Deb, Name: n, Version: v, Distro: "debian-12.15"}
}

// reader serves versions by digest and counts the reads.
type reader struct {
	mu    sync.Mutex
	reads map[string]int
}

func (r *reader) Read(_ context.Context, ref name.Digest, o inventory.Options) (*inventory.Version, error) {
	r.mu.Lock()
	r.reads[ref.DigestStr()]++
	r.mu.Unlock()
	bsd := deb("bsdutils", "1:2.38.1-5+deb12u3")
	bsd.Source, bsd.SourceVersion = "util-linux", "2.38.1-5+deb12u3"
	switch ref.DigestStr() {
	case dPy:
		return &inventory.Version{Digest: dPy, Platforms: []inventory.Platform{
			{Platform: "linux/amd64", SBOM: true, Packages: []inventory.Package{deb("jq", "1.6-2.1"), bsd,
				{Ecosystem: inventory.Python, Name: "acme_demo", Version: "1.0"},
				{Ecosystem: inventory.Python, Name: "numpy", Version: "1.24.2", OS: true}, // python3-numpy's
				{Ecosystem: inventory.Deb, Name: "nodistro", Version: "1"}}},
			{Platform: "linux/arm64", SBOM: true, Packages: []inventory.Package{deb("jq", "1.6-2.1")}},
		}}, nil
	case dPy0:
		return &inventory.Version{Digest: dPy0, Platforms: []inventory.Platform{
			{Platform: "linux/amd64", SBOM: true, Packages: []inventory.Package{deb("jq", "1.6-2.1+deb12u1")}},
			{Platform: "linux/arm64"},
		}}, nil
	case dR:
		return &inventory.Version{Digest: dR, Platforms: []inventory.Platform{
			{Platform: "linux/amd64", SBOM: true, Packages: []inventory.Package{{Ecosystem: inventory.R, Name: "imgctlhello", Version: "0.1"}}},
		}}, nil
	}
	return nil, errors.New("no such version")
}

func feed(t *testing.T) *vulndb.Feed {
	dir := t.TempDir()
	vulndbtest.Write(t, dir,
		vulndbtest.Record{ID: "DEBIAN-CVE-2026-0001", Ecosystem: "Debian:12", Package: "jq", Fixed: "1.6-2.1+deb12u1", Aliases: []string{"CVE-2026-0001"}, CVSS: vulndbtest.Critical},
		vulndbtest.Record{ID: "DEBIAN-CVE-2026-0003", Ecosystem: "Debian:12", Package: "util-linux", Fixed: "2.38.1-5+deb12u4", Aliases: []string{"CVE-2026-0003"}, CVSS: vulndbtest.Medium},
		vulndbtest.Record{ID: "GHSA-aaaa-bbbb-cccc", Ecosystem: "PyPI", Package: "acme-demo", Fixed: "1.1", Aliases: []string{"CVE-2026-1111"}, Severity: "HIGH"},
		vulndbtest.Record{ID: "PYSEC-2026-9", Ecosystem: "PyPI", Package: "numpy", Fixed: "9.0", CVSS: vulndbtest.High},
		vulndbtest.Record{ID: "RSEC-2026-1", Ecosystem: "CRAN", Package: "imgctlhello"},
	)
	f, err := vulndb.LoadDir(dir)
	require.NoError(t, err)
	return f
}

var ignore = []spec.VulnIgnore{{ID: "CVE-2026-1111", Reason: "acme-demo's vulnerable parser is never called", Until: "2027-01-31"}}

func TestReportGolden(t *testing.T) {
	f := feed(t)
	rd := &reader{reads: map[string]int{}}
	targets := []vulns.Target{
		{Image: "py", Repository: "r.test/ds/py", Version: "2026.12.07", Digest: dPy, Latest: true},
		{Image: "py", Repository: "r.test/ds/py", Version: "2026.12.01", Digest: dPy0},
		{Image: "r", Repository: "r.test/ds/r", Version: "2026.12.07", Digest: dR, Latest: true},
		{Image: "py-copy", Repository: "r.test/ds/py", Version: "2026.12.07", Digest: dPy},
	}
	ims, err := vulns.Scan(context.Background(), f, rd, targets, ignore, "2026-12-07", 4)
	require.NoError(t, err)
	assert.Equal(t, map[string]int{dPy: 1, dPy0: 1, dR: 1}, rd.reads, "each digest is read once")
	r := &vulns.Report{FormatVersion: vulns.FormatVersion, Feed: vulns.FeedOf(f, "FEED"), Day: "2026-12-07", Images: ims[:3]}
	r.Feed.Digest = "sha256:feed"
	var text, js, vex bytes.Buffer
	require.NoError(t, r.WriteText(&text))
	require.NoError(t, r.WriteJSON(&js))
	require.NoError(t, r.WriteVEX(&vex, "r.test/ds", time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)))
	goldentest.Check(t, "report.txt", text.Bytes())
	goldentest.Check(t, "report.json", js.Bytes())
	goldentest.Check(t, "vex.json", vex.Bytes())

	assert.Equal(t, "1 critical, 1 medium, 1 ignored", vulns.CountsOf(ims[0]).String(), "jq once over both platforms; numpy is Debian's")
	assert.Equal(t, "none", vulns.CountsOf(ims[1]).String())
	assert.Equal(t, "1 unknown", vulns.CountsOf(ims[2]).String())

	// The incident question: which versions contain CVE-2026-0001.
	got := vulns.Filter(ims[:3], []string{"cve-2026-0001"})
	require.Len(t, got, 1)
	assert.Equal(t, "2026.12.07", got[0].Version)
	assert.Len(t, got[0].Platforms[0].Findings, 1)
	assert.Len(t, got[0].Platforms[1].Findings, 1)

	// --severity high: jq; medium adds util-linux; the ignored one never.
	assert.Len(t, vulns.AtOrAbove(ims[0], "high", false), 2, "jq on two platforms")
	assert.Len(t, vulns.AtOrAbove(ims[0], "medium", false), 3)
	assert.Len(t, vulns.AtOrAbove(ims[2], "low", true), 0, "no fix: not fixable")
	assert.Len(t, vulns.AtOrAbove(ims[2], "unknown", false), 1)
}

func TestGate(t *testing.T) {
	g := &vulns.Gate{Feed: feed(t), Reader: &reader{reads: map[string]int{}}, Fail: "high", Fixable: true, Ignore: ignore, Day: "2026-12-07"}
	err := g.Check(context.Background(), "py", "2026.12.07", "r.test/ds/py", dPy)
	var ge *vulns.GateError
	require.ErrorAs(t, err, &ge)
	assert.Equal(t, `py 2026.12.07 has a fixable finding at high or above (policy.vulnerabilities.fail):
  CRITICAL DEBIAN-CVE-2026-0001 CVE-2026-0001: jq 1.6-2.1 (Debian:12), fixed in 1.6-2.1+deb12u1
upgrade the package (imgctl lock --upgrade, or a newer base), or accept the risk in policy.vulnerabilities.ignore with a reason and an expiry`, err.Error())

	g.Ignore = append(g.Ignore, spec.VulnIgnore{ID: "CVE-2026-0001", Images: []string{"py"}, Reason: "fix pending", Until: "2026-12-06"})
	require.Error(t, g.Check(context.Background(), "py", "2026.12.07", "r.test/ds/py", dPy), "an expired acceptance gates again")
	g.Ignore[1].Until = "2026-12-31"
	require.NoError(t, g.Check(context.Background(), "py", "2026.12.07", "r.test/ds/py", dPy))
	require.NoError(t, g.Check(context.Background(), "r", "2026.12.07", "r.test/ds/r", dR), "no fix: not fixable")
	g.Fixable, g.Fail = false, "low"
	require.NoError(t, g.Check(context.Background(), "r", "2026.12.07", "r.test/ds/r", dR), "a severity the feed does not know ranks below low")
}

func TestWriteJSONEmpty(t *testing.T) {
	var b bytes.Buffer
	require.NoError(t, (&vulns.Report{FormatVersion: "1", Day: "2026-12-07"}).WriteJSON(&b))
	var back map[string]any
	require.NoError(t, json.Unmarshal(b.Bytes(), &back), b.String())
	assert.Equal(t, []any{}, back["images"], "no version matched: an empty list, never null")
}
