package vulndb_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/imgctl/imgctl/pkg/vulndb"
	"github.com/imgctl/imgctl/pkg/vulndb/vulndbtest"
)

var records = []vulndbtest.Record{
	{ID: "DEBIAN-CVE-2026-0001", Ecosystem: "Debian:12", Package: "jq", Fixed: "1.6-2.1+deb12u1", Aliases: []string{"CVE-2026-0001"}, CVSS: vulndbtest.Critical},
	{ID: "DEBIAN-CVE-2026-0002", Ecosystem: "Debian:11", Package: "jq", Fixed: "1.6-2.1+deb11u1"},
	{ID: "DEBIAN-CVE-2026-0003", Ecosystem: "Debian:12", Package: "util-linux", Fixed: "2.38.1-5+deb12u4", Aliases: []string{"CVE-2026-0003"}, CVSS: vulndbtest.Medium},
	{ID: "GHSA-aaaa-bbbb-cccc", Ecosystem: "PyPI", Package: "acme-demo", Fixed: "1.1", Aliases: []string{"CVE-2026-1111"}, Severity: "HIGH"},
	{ID: "RSEC-2026-1", Ecosystem: "CRAN", Package: "imgctlhello", Introduced: "0.1", Fixed: "0.2"},
	{ID: "RSEC-2026-2", Ecosystem: "CRAN", Package: "nothing", Fixed: "9"},
}

func TestFeedMatches(t *testing.T) {
	dir := t.TempDir()
	vulndbtest.Write(t, dir, records...)
	f, err := vulndb.LoadDir(dir)
	require.NoError(t, err)
	assert.Equal(t, []string{"CRAN", "Debian", "PyPI"}, f.Ecosystems)
	assert.Equal(t, 6, f.Records)
	assert.Equal(t, "2026-12-01", f.Date.Format("2006-01-02"))

	for _, c := range []struct {
		p    vulndb.Package
		want []vulndb.Match
	}{
		{vulndb.Package{Ecosystem: "Debian:12", Name: "jq", Version: "1.6-2.1"},
			[]vulndb.Match{{ID: "DEBIAN-CVE-2026-0001", Aliases: []string{"CVE-2026-0001"}, Summary: "DEBIAN-CVE-2026-0001 in jq", Fixed: "1.6-2.1+deb12u1", Severity: "critical", Score: 9.8}}},
		{vulndb.Package{Ecosystem: "Debian:12", Name: "jq", Version: "1.6-2.1+deb12u1"}, nil},
		// A binary package is matched by its source package.
		{vulndb.Package{Ecosystem: "Debian:12", Name: "bsdutils", Source: "util-linux", SourceVersion: "2.38.1-5+deb12u3", Version: "1:2.38.1-5+deb12u3"},
			[]vulndb.Match{{ID: "DEBIAN-CVE-2026-0003", Aliases: []string{"CVE-2026-0003"}, Summary: "DEBIAN-CVE-2026-0003 in util-linux", Fixed: "2.38.1-5+deb12u4", Severity: "medium", Score: 4.6}}},
		// PEP 503 names; PEP 440 order (1.1rc1 < 1.1); GHSA's severity.
		{vulndb.Package{Ecosystem: "PyPI", Name: "Acme_Demo", Version: "1.1rc1"},
			[]vulndb.Match{{ID: "GHSA-aaaa-bbbb-cccc", Aliases: []string{"CVE-2026-1111"}, Summary: "GHSA-aaaa-bbbb-cccc in acme-demo", Fixed: "1.1", Severity: "high"}}},
		{vulndb.Package{Ecosystem: "PyPI", Name: "acme-demo", Version: "1.1.0"}, nil},
		// R's order: 0.1-1 is after 0.1; a severity the record does not give.
		{vulndb.Package{Ecosystem: "CRAN", Name: "imgctlhello", Version: "0.1-1"},
			[]vulndb.Match{{ID: "RSEC-2026-1", Summary: "RSEC-2026-1 in imgctlhello", Fixed: "0.2", Severity: "unknown"}}},
		{vulndb.Package{Ecosystem: "CRAN", Name: "imgctlhello", Version: "0.0.9"}, nil},
		{vulndb.Package{Ecosystem: "CRAN", Name: "ggplot2", Version: "3.4.4"}, nil},
	} {
		got, err := f.Matches(c.p)
		require.NoError(t, err, "%+v", c.p)
		if len(got) == 0 {
			got = nil
		}
		assert.Equal(t, c.want, got, "%+v", c.p)
	}
	_, err = f.Matches(vulndb.Package{Ecosystem: "npm", Name: "left-pad", Version: "1"})
	assert.ErrorContains(t, err, `ecosystem "npm" is not matched`)
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	_, err := vulndb.LoadDir(dir)
	assert.ErrorContains(t, err, "holds no vulnerability archive")

	// osv-scanner's layout is read too.
	vulndbtest.Write(t, filepath.Join(dir, "osv-scanner"), records[0])
	f, err := vulndb.LoadDir(dir)
	require.NoError(t, err)
	assert.Equal(t, 1, f.Records)

	require.NoError(t, os.MkdirAll(filepath.Join(dir, "PyPI"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "PyPI", "all.zip"), []byte("not a zip"), 0o644))
	_, err = vulndb.LoadDir(dir)
	assert.ErrorContains(t, err, "PyPI/all.zip")
}
