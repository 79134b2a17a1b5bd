package inventory

import (
	"strconv"
	"strings"

	pep440 "github.com/aquasecurity/go-pep440-version"
	hversion "github.com/hashicorp/go-version"
	debversion "github.com/knqyf263/go-deb-version"
)

// Compare orders two versions of a package of ecosystem eco: -1, 0 or 1.
// Debian versions follow dpkg (epoch, upstream, revision, ~ before
// anything), Python ones PEP 440, R ones R's numeric components
// (package_version: "1.2-3" is 1.2.3), others semantic versioning; a
// version a scheme cannot parse is compared as text after the ones it can.
func Compare(eco, a, b string) int {
	return sign(compare(eco, a, b))
}

func sign(n int) int {
	switch {
	case n < 0:
		return -1
	case n > 0:
		return 1
	}
	return 0
}

func compare(eco, a, b string) int {
	if a == b {
		return 0
	}
	switch eco {
	case Deb:
		va, ea := debversion.NewVersion(a)
		vb, eb := debversion.NewVersion(b)
		if ea == nil && eb == nil {
			return va.Compare(vb)
		}
		return fallback(ea == nil, eb == nil, a, b)
	case Python:
		va, ea := pep440.Parse(a)
		vb, eb := pep440.Parse(b)
		if ea == nil && eb == nil {
			return va.Compare(vb)
		}
		return fallback(ea == nil, eb == nil, a, b)
	case R:
		na, oka := rVersion(a)
		nb, okb := rVersion(b)
		if oka && okb {
			return compareInts(na, nb)
		}
		return fallback(oka, okb, a, b)
	}
	va, ea := hversion.NewVersion(a)
	vb, eb := hversion.NewVersion(b)
	if ea == nil && eb == nil {
		if c := va.Compare(vb); c != 0 {
			return c
		}
		return strings.Compare(a, b) // "1.0" and "1.0.0": stable, not equal
	}
	return fallback(ea == nil, eb == nil, a, b)
}

// fallback orders parsable versions before unparsable ones, then text.
func fallback(okA, okB bool, a, b string) int {
	switch {
	case okA && !okB:
		return -1
	case !okA && okB:
		return 1
	}
	return strings.Compare(a, b)
}

// rVersion parses R's package_version: non-negative integers separated
// by "." or "-".
func rVersion(s string) ([]int, bool) {
	if s == "" {
		return nil, false
	}
	parts := strings.FieldsFunc(s, func(r rune) bool { return r == '.' || r == '-' })
	if len(parts) == 0 {
		return nil, false
	}
	out := make([]int, len(parts))
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 {
			return nil, false
		}
		out[i] = n
	}
	return out, true
}

func compareInts(a, b []int) int {
	for i := 0; i < len(a) || i < len(b); i++ {
		var x, y int
		if i < len(a) {
			x = a[i]
		}
		if i < len(b) {
			y = b[i]
		}
		switch {
		case x < y:
			return -1
		case x > y:
			return 1
		}
	}
	return 0
}
