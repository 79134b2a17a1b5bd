package changelog

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/imgctl/imgctl/pkg/inventory"
)

// Growth is the packages added or grown from one version to another,
// largest first by installed size (the sizes the SBOMs record).
type Growth struct {
	// Packages are the largest, at most the limit asked for.
	Packages []Grown `json:"packages"`
	// More counts those left out.
	More int `json:"more,omitempty"`
	// Sized says how they are ordered: SizedBoth (added and grown by
	// size), SizedNewOnly (the older SBOM records no sizes: only packages
	// added, by size where the newer records one), or SizedNone (neither
	// records sizes: packages added, by name).
	Sized string `json:"sized"`
}

// The orders of a Growth.
const (
	SizedBoth    = "both"
	SizedNewOnly = "new-only"
	SizedNone    = "none"
)

// Grown is one package added (From "") or grown.
type Grown struct {
	Ecosystem string `json:"ecosystem"`
	Name      string `json:"name"`
	Type      string `json:"type,omitempty"`
	From      string `json:"from,omitempty"`
	To        string `json:"to"`
	// FromSize and ToSize are the installed sizes in bytes, 0 when
	// unknown; Delta is what it adds (ToSize - FromSize).
	FromSize int64 `json:"from_size,omitempty"`
	ToSize   int64 `json:"to_size,omitempty"`
	Delta    int64 `json:"delta,omitempty"`
}

// LargestGrowth returns the top packages by installed size among those
// added or grown from from to to (inventory.Version.Packages lists), at
// most n (all when n <= 0). A package is the same across versions when its
// ecosystem, type and name are; its size is the largest of its versions'.
// Without sizes in from, growth cannot be told: only packages added are
// listed, by their size in to where known, then by name.
func LargestGrowth(from, to []inventory.Package, n int) *Growth {
	type key struct{ eco, typ, name string }
	type entry struct {
		versions []string
		size     int64
	}
	index := func(ps []inventory.Package) (map[key]*entry, bool) {
		m, sized := map[key]*entry{}, false
		for _, p := range ps {
			k := key{p.Ecosystem, p.Type, p.Name}
			e := m[k]
			if e == nil {
				e = &entry{}
				m[k] = e
			}
			e.versions = append(e.versions, p.Version)
			e.size = max(e.size, p.Size)
			sized = sized || p.Size > 0
		}
		return m, sized
	}
	old, oldSized := index(from)
	cur, curSized := index(to)
	g := &Growth{Packages: []Grown{}, Sized: SizedNone}
	switch {
	case oldSized && curSized:
		g.Sized = SizedBoth
	case curSized:
		g.Sized = SizedNewOnly
	}
	for k, e := range cur {
		x := Grown{Ecosystem: k.eco, Name: k.name, Type: k.typ, To: strings.Join(e.versions, ", "), ToSize: e.size, Delta: e.size}
		if o, ok := old[k]; ok {
			if g.Sized != SizedBoth || o.size == 0 || e.size <= o.size {
				continue // not grown, or not known to have grown
			}
			x.From, x.FromSize, x.Delta = strings.Join(o.versions, ", "), o.size, e.size-o.size
		}
		g.Packages = append(g.Packages, x)
	}
	slices.SortFunc(g.Packages, func(a, b Grown) int {
		if c := cmp.Compare(b.Delta, a.Delta); c != 0 {
			return c
		}
		return cmp.Or(cmp.Compare(a.Name, b.Name), cmp.Compare(a.Ecosystem, b.Ecosystem), cmp.Compare(a.Type, b.Type))
	})
	if n > 0 && len(g.Packages) > n {
		g.More = len(g.Packages) - n
		g.Packages = g.Packages[:n]
	}
	return g
}

// Lines renders g one package a line, without a trailing newline:
// "+ python3-scipy 1.10.1-2 (deb): 58.2 MB installed",
// "↑ libssl3 3.0.11 → 3.0.13 (deb): +1.2 MB", a "size unknown" where the
// SBOM records none, and a last line on what was left out or why only
// added packages are shown.
func (g *Growth) Lines() []string {
	var out []string
	for _, p := range g.Packages {
		name := pkgName(p.Name, p.Type)
		size := "size unknown"
		switch {
		case p.From != "":
			out = append(out, fmt.Sprintf("↑ %s %s → %s (%s): %s", name, p.From, p.To, p.Ecosystem, signedSize(p.Delta)))
			continue
		case p.ToSize > 0:
			size = HumanSize(p.ToSize) + " installed"
		}
		out = append(out, fmt.Sprintf("+ %s %s (%s): %s", name, p.To, p.Ecosystem, size))
	}
	if len(g.Packages) == 0 {
		out = append(out, "(no package added or grown)")
	}
	if g.More > 0 {
		out = append(out, fmt.Sprintf("… and %d more", g.More))
	}
	switch g.Sized {
	case SizedNewOnly:
		out = append(out, "(the older version's SBOM records no package sizes: packages added only, growth of the others unknown)")
	case SizedNone:
		if len(g.Packages) > 0 {
			out = append(out, "(the SBOMs record no package sizes: packages added, by name)")
		}
	}
	return out
}
