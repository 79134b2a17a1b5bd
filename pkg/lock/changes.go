package lock

import (
	"fmt"
	"sort"
	"strings"
)

// Change is one package that differs between two locks: From is "" for
// an added package, To "" for a removed one. It is the lock_changes entry
// of the JSON plan.
type Change struct {
	Ecosystem string `json:"ecosystem"`
	Name      string `json:"name"`
	From      string `json:"from"`
	To        string `json:"to"`
}

// Changes lists the packages that differ between old and new over every
// platform, sorted by ecosystem (apt, pip, r) then name. A package whose
// change is the same on every platform is listed once; one that differs
// between platforms once per distinct change. old may be nil (everything
// is added).
func Changes(old, new *Lock) []Change {
	seen := map[Change]bool{}
	var out []Change
	add := func(c Change) {
		if !seen[c] {
			seen[c] = true
			out = append(out, c)
		}
	}
	pfs := map[string]bool{}
	if old != nil {
		for pf := range old.Platforms {
			pfs[pf] = true
		}
	}
	if new != nil {
		for pf := range new.Platforms {
			pfs[pf] = true
		}
	}
	for pf := range pfs {
		o, n := versions(old.For(pf)), versions(new.For(pf))
		for k, v := range n {
			if o[k] != v {
				add(Change{Ecosystem: k.eco, Name: k.name, From: o[k], To: v})
			}
		}
		for k, v := range o {
			if _, ok := n[k]; !ok {
				add(Change{Ecosystem: k.eco, Name: k.name, From: v})
			}
		}
	}
	order := map[string]int{Apt: 0, Pip: 1, R: 2}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Ecosystem != b.Ecosystem {
			return order[a.Ecosystem] < order[b.Ecosystem]
		}
		if a.Name != b.Name {
			return a.Name < b.Name
		}
		if a.From != b.From {
			return a.From < b.From
		}
		return a.To < b.To
	})
	return out
}

type pkgKey struct{ eco, name string }

func versions(p *Packages) map[pkgKey]string {
	m := map[pkgKey]string{}
	if p == nil {
		return m
	}
	for _, a := range p.Apt {
		m[pkgKey{Apt, a.Name}] = a.Version
	}
	for _, d := range p.Pip {
		m[pkgKey{Pip, d.Name}] = d.Version
	}
	for _, d := range p.R {
		m[pkgKey{R, d.Name}] = d.Version
	}
	return m
}

// Summary renders changes for a plan reason: the changed packages with
// their versions, then "+N (…)" added and "-N (…)" removed, at most max
// names each before "…"; e.g. "acme-demo 1.0 → 1.1, +1 (idna 3.6)".
func Summary(changes []Change, max int) string {
	var changed, added, removed []string
	for _, c := range changes {
		switch {
		case c.From == "":
			added = append(added, c.Name+" "+c.To)
		case c.To == "":
			removed = append(removed, c.Name+" "+c.From)
		default:
			changed = append(changed, fmt.Sprintf("%s %s → %s", c.Name, c.From, c.To))
		}
	}
	var parts []string
	parts = append(parts, cut(changed, max)...)
	if len(added) > 0 {
		parts = append(parts, fmt.Sprintf("+%d (%s)", len(added), strings.Join(cut(added, max), ", ")))
	}
	if len(removed) > 0 {
		parts = append(parts, fmt.Sprintf("-%d (%s)", len(removed), strings.Join(cut(removed, max), ", ")))
	}
	if len(parts) == 0 {
		return "no package changes"
	}
	return strings.Join(parts, ", ")
}

func cut(s []string, max int) []string {
	if max > 0 && len(s) > max {
		return append(append([]string(nil), s[:max]...), fmt.Sprintf("… %d more", len(s)-max))
	}
	return s
}
