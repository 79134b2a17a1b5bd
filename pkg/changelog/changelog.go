package changelog

import (
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/imgctl/imgctl/pkg/inventory"
)

// FormatVersion versions the JSON form.
const FormatVersion = "1"

// Side names one end of a diff.
type Side struct {
	Version string `json:"version,omitempty"`
	Digest  string `json:"digest"`
}

// Diff is what changed from one version of an image to another.
type Diff struct {
	FormatVersion string `json:"format_version"`
	Image         string `json:"image"`
	From          Side   `json:"from"`
	To            Side   `json:"to"`
	// Base is the change of the base image (name@digest), nil when the
	// same.
	Base *Change `json:"base,omitempty"`
	// Packages is nil when either version has no SBOM; NoPackages then
	// says which.
	Packages   *Packages `json:"packages,omitempty"`
	NoPackages string    `json:"no_packages,omitempty"`
	// Largest are the top packages by installed size among those added
	// or grown (LargestGrowth, at most LargestN); nil when the newer SBOM
	// records no sizes.
	Largest *Growth `json:"largest,omitempty"`
	// Config lists the configuration changes, in field order.
	Config []Change `json:"config"`
	// Sizes are the compressed sizes per platform of either version.
	Sizes []Size `json:"sizes"`
}

// Change is one field's old and new value; "" is absent.
type Change struct {
	Field string `json:"field"`
	From  string `json:"from,omitempty"`
	To    string `json:"to,omitempty"`
}

// Packages are the package changes, per ecosystem.
type Packages struct {
	Counts Counts `json:"counts"`
	// Ecosystems are those with changes, in inventory.Ecosystems order.
	Ecosystems []Ecosystem `json:"ecosystems"`
}

// Ecosystem holds one ecosystem's changes, each list sorted by name.
type Ecosystem struct {
	Ecosystem  string              `json:"ecosystem"`
	Added      []inventory.Package `json:"added,omitempty"`
	Removed    []inventory.Package `json:"removed,omitempty"`
	Upgraded   []Upgrade           `json:"upgraded,omitempty"`
	Downgraded []Upgrade           `json:"downgraded,omitempty"`
}

// Upgrade is a package whose version changed.
type Upgrade struct {
	Name string `json:"name"`
	Type string `json:"type,omitempty"`
	From string `json:"from"`
	To   string `json:"to"`
}

// Counts are the numbers of package changes.
type Counts struct {
	Added      int `json:"added"`
	Removed    int `json:"removed"`
	Upgraded   int `json:"upgraded"`
	Downgraded int `json:"downgraded"`
}

// Zero says nothing changed.
func (c Counts) Zero() bool { return c == Counts{} }

// String is the one-line form: "+3 −1 ↑12 packages", with "↓N" when
// some were downgraded.
func (c Counts) String() string {
	s := fmt.Sprintf("+%d −%d ↑%d", c.Added, c.Removed, c.Upgraded)
	if c.Downgraded > 0 {
		s += fmt.Sprintf(" ↓%d", c.Downgraded)
	}
	return s + " packages"
}

// Size is one platform's compressed size in either version (0: the
// version lacks the platform).
type Size struct {
	Platform string `json:"platform"`
	From     int64  `json:"from"`
	To       int64  `json:"to"`
}

// LargestN is how many of the largest packages added or grown a Diff lists.
const LargestN = 10

// Compute compares from and to.
func Compute(image string, from, to *inventory.Version, fromVersion, toVersion string) *Diff {
	d := &Diff{
		FormatVersion: FormatVersion, Image: image,
		From:   Side{Version: fromVersion, Digest: from.Digest},
		To:     Side{Version: toVersion, Digest: to.Digest},
		Config: []Change{}, Sizes: []Size{},
	}
	if fb, tb := base(from), base(to); fb != tb {
		d.Base = &Change{Field: "base", From: fb, To: tb}
	}
	switch {
	case !from.HasPackages() && !to.HasPackages():
		d.NoPackages = "neither version has an SBOM"
	case !from.HasPackages():
		d.NoPackages = "the older version has no SBOM"
	case !to.HasPackages():
		d.NoPackages = "the newer version has no SBOM"
	default:
		d.Packages = ComparePackages(from.Packages(), to.Packages())
		if g := LargestGrowth(from.Packages(), to.Packages(), LargestN); g.Sized != SizedNone {
			d.Largest = g
		}
	}
	d.Config = configChanges(primaryConfig(from, to), primaryConfig(to, from))
	plats := map[string]bool{}
	for _, p := range from.Platforms {
		plats[p.Platform] = true
	}
	for _, p := range to.Platforms {
		plats[p.Platform] = true
	}
	for _, p := range slices.Sorted(maps.Keys(plats)) {
		s := Size{Platform: p}
		if fp := from.Platform(p); fp != nil {
			s.From = fp.Size
		}
		if tp := to.Platform(p); tp != nil {
			s.To = tp.Size
		}
		d.Sizes = append(d.Sizes, s)
	}
	return d
}

func base(v *inventory.Version) string {
	n, dg := v.Annotations[ocispec.AnnotationBaseImageName], v.Annotations[ocispec.AnnotationBaseImageDigest]
	switch {
	case dg == "":
		return n
	case n == "":
		return dg
	}
	if i := strings.LastIndex(n, "@"); i >= 0 {
		n = n[:i]
	}
	return n + "@" + dg
}

// primaryConfig is the config of v's first platform that other has too
// (configurations agree across the platforms of a version), else its
// first.
func primaryConfig(v, other *inventory.Version) *inventory.Config {
	for _, p := range v.Platforms {
		if other.Platform(p.Platform) != nil && p.Config != nil {
			return p.Config
		}
	}
	for _, p := range v.Platforms {
		if p.Config != nil {
			return p.Config
		}
	}
	return nil
}

// ComparePackages compares two package lists (inventory.Version.Packages).
// A package is the same across versions when its ecosystem, type and name
// are; when a version lists several versions of one package, the newest
// decides whether it was upgraded or downgraded.
func ComparePackages(from, to []inventory.Package) *Packages {
	type key struct{ eco, typ, name string }
	versions := func(ps []inventory.Package) map[key][]string {
		m := map[key][]string{}
		for _, p := range ps {
			k := key{p.Ecosystem, p.Type, p.Name}
			m[k] = append(m[k], p.Version)
		}
		return m
	}
	old, cur := versions(from), versions(to)
	byEco := map[string]*Ecosystem{}
	eco := func(e string) *Ecosystem {
		if byEco[e] == nil {
			byEco[e] = &Ecosystem{Ecosystem: e}
		}
		return byEco[e]
	}
	out := &Packages{Ecosystems: []Ecosystem{}}
	for k, ov := range old {
		nv, ok := cur[k]
		if !ok {
			for _, v := range ov {
				eco(k.eco).Removed = append(eco(k.eco).Removed, inventory.Package{Ecosystem: k.eco, Name: k.name, Version: v, Type: k.typ})
				out.Counts.Removed++
			}
			continue
		}
		if slices.Equal(ov, nv) {
			continue
		}
		o, n := newest(k.eco, ov), newest(k.eco, nv)
		u := Upgrade{Name: k.name, Type: k.typ, From: strings.Join(ov, ", "), To: strings.Join(nv, ", ")}
		if inventory.Compare(k.eco, o, n) > 0 {
			eco(k.eco).Downgraded = append(eco(k.eco).Downgraded, u)
			out.Counts.Downgraded++
		} else {
			eco(k.eco).Upgraded = append(eco(k.eco).Upgraded, u)
			out.Counts.Upgraded++
		}
	}
	for k, nv := range cur {
		if _, ok := old[k]; ok {
			continue
		}
		for _, v := range nv {
			eco(k.eco).Added = append(eco(k.eco).Added, inventory.Package{Ecosystem: k.eco, Name: k.name, Version: v, Type: k.typ})
			out.Counts.Added++
		}
	}
	for _, name := range inventory.Ecosystems {
		e := byEco[name]
		if e == nil {
			continue
		}
		sortPkgs(e.Added)
		sortPkgs(e.Removed)
		sortUpgrades(e.Upgraded)
		sortUpgrades(e.Downgraded)
		out.Ecosystems = append(out.Ecosystems, *e)
	}
	return out
}

func newest(eco string, vs []string) string {
	n := vs[0]
	for _, v := range vs[1:] {
		if inventory.Compare(eco, v, n) > 0 {
			n = v
		}
	}
	return n
}

func sortPkgs(ps []inventory.Package) {
	sort.Slice(ps, func(i, j int) bool {
		if ps[i].Name != ps[j].Name {
			return ps[i].Name < ps[j].Name
		}
		if ps[i].Type != ps[j].Type {
			return ps[i].Type < ps[j].Type
		}
		return ps[i].Version < ps[j].Version
	})
}

func sortUpgrades(us []Upgrade) {
	sort.Slice(us, func(i, j int) bool {
		if us[i].Name != us[j].Name {
			return us[i].Name < us[j].Name
		}
		return us[i].Type < us[j].Type
	})
}

// configChanges compares two configurations field by field; env and labels
// per variable, in name order.
func configChanges(a, b *inventory.Config) []Change {
	if a == nil {
		a = &inventory.Config{}
	}
	if b == nil {
		b = &inventory.Config{}
	}
	out := []Change{}
	add := func(field, from, to string) {
		if from != to {
			out = append(out, Change{Field: field, From: from, To: to})
		}
	}
	ea, eb := envMap(a.Env), envMap(b.Env)
	for _, k := range unionKeys(ea, eb) {
		add("env "+k, ea[k], eb[k])
	}
	add("entrypoint", argv(a.Entrypoint), argv(b.Entrypoint))
	add("cmd", argv(a.Cmd), argv(b.Cmd))
	add("user", a.User, b.User)
	add("workdir", a.WorkingDir, b.WorkingDir)
	add("ports", strings.Join(a.Ports, " "), strings.Join(b.Ports, " "))
	for _, k := range unionKeys(a.Labels, b.Labels) {
		add("label "+k, a.Labels[k], b.Labels[k])
	}
	return out
}

func envMap(env []string) map[string]string {
	m := map[string]string{}
	for _, e := range env {
		k, v, _ := strings.Cut(e, "=")
		m[k] = v
	}
	return m
}

func unionKeys(a, b map[string]string) []string {
	ks := map[string]bool{}
	for k := range a {
		ks[k] = true
	}
	for k := range b {
		ks[k] = true
	}
	return slices.Sorted(maps.Keys(ks))
}

// argv renders a command as a JSON-like list, "" for none.
func argv(a []string) string {
	if len(a) == 0 {
		return ""
	}
	q := make([]string, len(a))
	for i, s := range a {
		q[i] = fmt.Sprintf("%q", s)
	}
	return "[" + strings.Join(q, ", ") + "]"
}
