package changelog_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/imgctl/imgctl/internal/goldentest"
	"github.com/imgctl/imgctl/pkg/changelog"
	"github.com/imgctl/imgctl/pkg/inventory"
)

func sized(eco, name, version string, size int64) inventory.Package {
	return inventory.Package{Ecosystem: eco, Name: name, Version: version, Size: size}
}

func TestLargestGrowth(t *testing.T) {
	old := []inventory.Package{
		sized("deb", "libc6", "2.36-9", 12_000_000),
		sized("deb", "libssl3", "3.0.11-1", 5_000_000),
		sized("deb", "shrinks", "2", 9_000_000),
		sized("python", "numpy", "1.26.4", 30_000_000),
	}
	cur := []inventory.Package{
		sized("deb", "libc6", "2.36-9", 12_000_000),
		sized("deb", "libssl3", "3.0.13-1", 6_200_000),
		sized("deb", "shrinks", "3", 8_000_000),
		sized("deb", "python3-scipy", "1.10.1-2", 58_200_000),
		sized("python", "numpy", "1.26.4", 30_000_000),
		sized("python", "tiny", "0.1", 2_000),
		sized("R", "ggplot2", "3.4.4", 0),
	}
	g := changelog.LargestGrowth(old, cur, 3)
	assert.Equal(t, changelog.SizedBoth, g.Sized)
	assert.Equal(t, 1, g.More)
	var names []string
	for _, p := range g.Packages {
		names = append(names, p.Name)
	}
	assert.Equal(t, []string{"python3-scipy", "libssl3", "tiny"}, names, "largest first; unchanged and shrunk left out")
	goldentest.Check(t, "largest.txt", []byte(strings.Join(changelog.LargestGrowth(old, cur, 0).Lines(), "\n")+"\n"))

	// The older SBOM records no sizes (made by an older scanner): only
	// packages added, by their new size, and said so.
	var unsized []inventory.Package
	for _, p := range old {
		p.Size = 0
		unsized = append(unsized, p)
	}
	g = changelog.LargestGrowth(unsized, cur, 0)
	assert.Equal(t, changelog.SizedNewOnly, g.Sized)
	goldentest.Check(t, "largest-new-only.txt", []byte(strings.Join(g.Lines(), "\n")+"\n"))

	// Neither records sizes: added packages by name.
	var cur0 []inventory.Package
	for _, p := range cur {
		p.Size = 0
		cur0 = append(cur0, p)
	}
	g = changelog.LargestGrowth(unsized, cur0, 0)
	assert.Equal(t, changelog.SizedNone, g.Sized)
	goldentest.Check(t, "largest-unsized.txt", []byte(strings.Join(g.Lines(), "\n")+"\n"))
}

// imgctl diff lists the largest packages added or grown when the SBOMs
// record sizes.
func TestComputeLargest(t *testing.T) {
	old := version("sha256:old", "reg/datasci/base:2026.11.01", inventory.Config{}, map[string]int64{"linux/amd64": 120_300_000},
		[]inventory.Package{sized("deb", "libssl3", "3.0.11-1", 5_000_000)})
	cur := version("sha256:new", "reg/datasci/base:2026.11.01", inventory.Config{}, map[string]int64{"linux/amd64": 180_300_000},
		[]inventory.Package{sized("deb", "libssl3", "3.0.13-1", 6_200_000), sized("deb", "python3-scipy", "1.10.1-2", 58_200_000)})
	d := changelog.Compute("python3", old, cur, "2026.11.01", "2026.11.24")
	require.NotNil(t, d.Largest)
	var text, js bytes.Buffer
	require.NoError(t, d.WriteText(&text))
	require.NoError(t, d.WriteJSON(&js))
	goldentest.Check(t, "diff-largest.txt", text.Bytes())
	goldentest.Check(t, "diff-largest.json", js.Bytes())
}
