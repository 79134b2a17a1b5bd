package spec

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Budget is an image's size budget, resolved (Library.BudgetOf): the
// largest a new version may be and how much it may grow over the version it
// supersedes, both compressed and per platform.
type Budget struct {
	// MaxSize is maxSize as written ("2GiB"), "" when unset; MaxSizeBytes
	// its value.
	MaxSize      string
	MaxSizeBytes int64
	MaxSizePos   Pos
	// MaxGrowth is the image's maxGrowth, else policy.maxGrowth, as
	// written ("10%"), "" when neither is set; MaxGrowthPercent its value.
	MaxGrowth        string
	MaxGrowthPercent float64
	MaxGrowthPos     Pos
}

// IsZero says the budget limits nothing.
func (b Budget) IsZero() bool { return b.MaxSize == "" && b.MaxGrowth == "" }

// BudgetOf returns im's size budget: its own maxSize, and its own maxGrowth
// or else policy.maxGrowth. Budgets are not inherited from the parent: a
// child is its parent plus more, so a base's maxSize would not fit it.
// Values that do not parse (reported by Load) limit nothing.
func (l *Library) BudgetOf(im *Image) Budget {
	var b Budget
	if im.MaxSize != "" {
		if n, err := ParseByteSize(im.MaxSize); err == nil {
			b.MaxSize, b.MaxSizeBytes, b.MaxSizePos = im.MaxSize, n, im.PosOf("maxSize")
		}
	}
	g, pos := im.MaxGrowth, im.PosOf("maxGrowth")
	if g == "" {
		g, pos = l.Policy.MaxGrowth, l.Policy.MaxGrowthPos
	}
	if g != "" {
		if pc, err := ParsePercent(g); err == nil {
			b.MaxGrowth, b.MaxGrowthPercent, b.MaxGrowthPos = g, pc, pos
		}
	}
	return b
}

var byteUnits = []struct {
	suffix string
	mult   float64
}{
	{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"TiB", 1 << 40},
	{"kB", 1e3}, {"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"TB", 1e12}, {"B", 1},
}

// ParseByteSize reads a size in bytes as the schema's #ByteSize allows: a
// decimal number, an optional space and a unit (B, kB/KB, MB, GB, TB in
// powers of 1000; KiB, MiB, GiB, TiB in powers of 1024), greater than zero,
// rounded up to whole bytes: "2GiB" is 2147483648, "500MB" 500000000.
func ParseByteSize(s string) (int64, error) {
	for _, u := range byteUnits {
		num, ok := strings.CutSuffix(s, u.suffix)
		if !ok {
			continue
		}
		num = strings.TrimSuffix(num, " ")
		f, err := strconv.ParseFloat(num, 64)
		if err != nil || num == "" || strings.ContainsAny(num, "eE+-_xXpP") || math.IsInf(f, 0) || math.IsNaN(f) {
			return 0, fmt.Errorf("%q is not a size: want a number and a unit, like 2GiB or 500MB", s)
		}
		b := math.Ceil(f * u.mult)
		switch {
		case b <= 0:
			return 0, fmt.Errorf("%q is not a size above zero", s)
		case b > math.MaxInt64/2:
			return 0, fmt.Errorf("%q is too large", s)
		}
		return int64(b), nil
	}
	return 0, fmt.Errorf("%q is not a size: want a number and a unit (B, kB, MB, GB, TB, KiB, MiB, GiB, TiB), like 2GiB or 500MB", s)
}

// ParsePercent reads a percentage as the schema's #Percent allows: "10%",
// "2.5%", "0%" (no growth at all). There is no upper bound.
func ParsePercent(s string) (float64, error) {
	num, ok := strings.CutSuffix(s, "%")
	f, err := strconv.ParseFloat(num, 64)
	if !ok || err != nil || num == "" || strings.ContainsAny(num, "eE+-_xXpP") || math.IsInf(f, 0) || math.IsNaN(f) || f < 0 {
		return 0, fmt.Errorf("%q is not a percentage: want a number and %%, like 10%%", s)
	}
	return f, nil
}

// checkBudgets checks policy.maxGrowth and every image's maxSize and
// maxGrowth. The schema checks their shape; this catches what a pattern
// cannot (zero sizes, overflow) and libraries loaded without the schema's
// patterns (composed values).
func checkBudgets(lib *Library, c *collector) {
	if g := lib.Policy.MaxGrowth; g != "" {
		if _, err := ParsePercent(g); err != nil {
			c.add(lib.Policy.MaxGrowthPos, "policy.maxGrowth: %v", err)
		}
	}
	for _, im := range lib.Images {
		if im.MaxSize != "" {
			if _, err := ParseByteSize(im.MaxSize); err != nil {
				c.add(im.PosOf("maxSize"), "images.%s.maxSize: %v", im.Name, err)
			}
		}
		if im.MaxGrowth != "" {
			if _, err := ParsePercent(im.MaxGrowth); err != nil {
				c.add(im.PosOf("maxGrowth"), "images.%s.maxGrowth: %v", im.Name, err)
			}
		}
	}
}
