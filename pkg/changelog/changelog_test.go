package changelog_test

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/imgctl/imgctl/internal/goldentest"
	"github.com/imgctl/imgctl/pkg/changelog"
	"github.com/imgctl/imgctl/pkg/inventory"
)

func pkgs(ps ...string) []inventory.Package {
	var out []inventory.Package
	for i := 0; i+2 < len(ps)+1; i += 3 {
		out = append(out, inventory.Package{Ecosystem: ps[i], Name: ps[i+1], Version: ps[i+2]})
	}
	return out
}

func version(digest, base string, cfg inventory.Config, sizes map[string]int64, ps []inventory.Package) *inventory.Version {
	v := &inventory.Version{Digest: digest, Annotations: map[string]string{
		"org.opencontainers.image.base.name":   base,
		"org.opencontainers.image.base.digest": "sha256:" + base[len(base)-1:] + "000",
	}}
	for _, p := range []string{"linux/amd64", "linux/arm64"} {
		if s, ok := sizes[p]; ok {
			c := cfg
			v.Platforms = append(v.Platforms, inventory.Platform{Platform: p, Size: s, Config: &c, SBOM: ps != nil, Packages: ps})
		}
	}
	return v
}

func TestCompute(t *testing.T) {
	old := version("sha256:old", "reg/datasci/base:2026.11.01",
		inventory.Config{Env: []string{"PATH=/usr/bin", "LANG=C.UTF-8", "GONE=1"}, Cmd: []string{"bash"}, User: "root", WorkingDir: "/",
			Labels: map[string]string{"team": "ds"}},
		map[string]int64{"linux/amd64": 120_300_000},
		pkgs("deb", "libc6", "2.36-9+deb12u4",
			"deb", "libbar", "0.9-1",
			"deb", "python3-numpy", "1:1.24.2-1",
			"python", "numpy", "1.26.4",
			"python", "pandas", "2.1.0",
			"R", "ggplot2", "3.4.1",
			"other", "unchanged", "1.0"))
	cur := version("sha256:new", "reg/datasci/base:2026.11.24",
		inventory.Config{Env: []string{"PATH=/opt/venv/bin:/usr/bin", "LANG=C.UTF-8", "NEW=yes"}, Cmd: []string{"jupyter", "notebook"},
			User: "1000", WorkingDir: "/home/user", Ports: []string{"8888/tcp"}, Labels: map[string]string{"team": "ds", "tier": "gold"}},
		map[string]int64{"linux/amd64": 125_100_000, "linux/arm64": 118_000_000},
		pkgs("deb", "libc6", "2.36-9+deb12u7",
			"deb", "libfoo", "1.2-3",
			"deb", "python3-numpy", "1:1.24.2-1",
			"python", "numpy", "1.24.2",
			"python", "pandas", "2.1.0",
			"python", "scikit-learn", "1.3.2",
			"R", "ggplot2", "3.4.4",
			"other", "unchanged", "1.0"))
	d := changelog.Compute("python3", old, cur, "2026.11.01", "2026.11.24")
	require.NotNil(t, d.Packages)
	assert.Equal(t, changelog.Counts{Added: 2, Removed: 1, Upgraded: 2, Downgraded: 1}, d.Packages.Counts)
	assert.Equal(t, "+2 −1 ↑2 ↓1 packages", d.Packages.Counts.String())
	assert.Equal(t, "+3 −1 ↑12 packages", changelog.Counts{Added: 3, Removed: 1, Upgraded: 12}.String())
	require.NotNil(t, d.Base)
	assert.Equal(t, "reg/datasci/base:2026.11.24@sha256:4000", d.Base.To)

	var text, js bytes.Buffer
	require.NoError(t, d.WriteText(&text))
	require.NoError(t, d.WriteJSON(&js))
	goldentest.Check(t, "diff.txt", text.Bytes())
	goldentest.Check(t, "diff.json", js.Bytes())

	// The same version against itself: nothing changed.
	same := changelog.Compute("python3", cur, cur, "2026.11.24", "2026.11.24")
	assert.True(t, same.Packages.Counts.Zero())
	assert.Nil(t, same.Base)
	assert.Empty(t, same.Config)

	// A version without an SBOM: packages unknown, said why.
	bare := version("sha256:bare", "reg/datasci/base:2026.11.01", inventory.Config{}, map[string]int64{"linux/amd64": 1}, nil)
	nd := changelog.Compute("python3", bare, cur, "2026.10.01", "2026.11.24")
	assert.Nil(t, nd.Packages)
	assert.Equal(t, "the older version has no SBOM", nd.NoPackages)
	text.Reset()
	require.NoError(t, nd.WriteText(&text))
	assert.Contains(t, text.String(), "packages:  unknown (the older version has no SBOM)")
}

func TestWritePackages(t *testing.T) {
	var b bytes.Buffer
	require.NoError(t, changelog.WritePackages(&b, []inventory.Package{
		{Ecosystem: "deb", Name: "libc6", Version: "2.36-9"},
		{Ecosystem: "python", Name: "numpy", Version: "1.26.4"},
		{Ecosystem: "other", Name: "left-pad", Version: "1.3.0", Type: "npm"},
	}))
	goldentest.Check(t, "packages.txt", b.Bytes())
}

func TestHumanSize(t *testing.T) {
	assert.Equal(t, "812 B", changelog.HumanSize(812))
	assert.Equal(t, "4.2 kB", changelog.HumanSize(4200))
	assert.Equal(t, "123.4 MB", changelog.HumanSize(123_400_000))
	assert.Equal(t, "1.02 GB", changelog.HumanSize(1_020_000_000))
}
