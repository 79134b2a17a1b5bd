package inventory

import (
	"fmt"
	"sort"

	"github.com/imgctl/imgctl/pkg/lock"
)

// CheckLock compares what v's SBOMs list with the lock it was built from:
// every locked package must be there at its locked version, on every
// platform the lock names. It returns one line per problem, sorted; none
// when v installs exactly its lock. A platform without an SBOM is a
// problem: nothing would show the lock was kept.
func CheckLock(v *Version, l *lock.Lock) []string {
	var out []string
	for pf, pk := range l.Platforms {
		p := v.Platform(pf)
		switch {
		case p == nil:
			out = append(out, pf+": the version has no such platform")
			continue
		case !p.SBOM:
			out = append(out, pf+": no SBOM to check the lock against")
			continue
		}
		have := map[string]map[string]bool{}
		for _, x := range p.Packages {
			k := x.Ecosystem + "/" + x.Name
			if x.Ecosystem == Python {
				k = x.Ecosystem + "/" + lock.NormalizePip(x.Name)
			}
			if have[k] == nil {
				have[k] = map[string]bool{}
			}
			have[k][x.Version] = true
		}
		check := func(eco, what, name, version string) {
			vs := have[eco+"/"+name]
			switch {
			case vs[version]:
			case len(vs) == 0:
				out = append(out, fmt.Sprintf("%s: %s %s %s is locked but not in the SBOM", pf, what, name, version))
			default:
				out = append(out, fmt.Sprintf("%s: %s %s is locked at %s, the SBOM has %s", pf, what, name, version, keys(vs)))
			}
		}
		for _, a := range pk.Apt {
			check(Deb, "apt", a.Name, a.Version)
		}
		for _, d := range pk.Pip {
			check(Python, "pip", d.Name, d.Version)
		}
		for _, d := range pk.R {
			check(R, "r", d.Name, d.Version)
		}
	}
	sort.Strings(out)
	return out
}

func keys(m map[string]bool) string {
	var s []string
	for k := range m {
		s = append(s, k)
	}
	sort.Strings(s)
	return fmt.Sprint(s)
}
