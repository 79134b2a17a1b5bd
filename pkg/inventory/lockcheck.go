package inventory

import (
	"context"
	"fmt"
	"sort"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/imgctl/imgctl/pkg/lock"
	"github.com/imgctl/imgctl/pkg/published"
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

// Unlocked lists the packages v holds, per platform, that neither its lock
// l nor its base accounts for: not in base's SBOM at that version, not
// locked at that version, and not a Debian package's files (Package.OS).
// A run: step installed them. base is nil for an image built FROM
// scratch. A platform whose SBOM (or whose base's SBOM) is missing cannot
// be told; unknown says so, one line per platform, sorted.
func Unlocked(v, base *Version, l *lock.Lock) (out []lock.Unlocked, unknown []string) {
	for _, p := range v.Platforms {
		if !p.SBOM {
			unknown = append(unknown, p.Platform+": the version has no SBOM")
			continue
		}
		// Identity is ecosystem, type, name and version: where a package
		// lies (OS) and its distro release do not make it another.
		type id struct{ eco, typ, name, version string }
		had := map[id]bool{}
		if base != nil {
			bp := base.Platform(p.Platform)
			if bp == nil && len(base.Platforms) == 1 {
				bp = &base.Platforms[0] // a single-manifest base
			}
			if bp == nil || !bp.SBOM {
				unknown = append(unknown, p.Platform+": its base has no SBOM")
				continue
			}
			for _, x := range bp.Packages {
				had[id{x.Ecosystem, x.Type, x.Name, x.Version}] = true
			}
		}
		locked := map[[3]string]bool{}
		if pk := l.For(p.Platform); pk != nil {
			for _, a := range pk.Apt {
				locked[[3]string{Deb, a.Name, a.Version}] = true
			}
			for _, d := range pk.Pip {
				locked[[3]string{Python, d.Name, d.Version}] = true
			}
			for _, d := range pk.R {
				locked[[3]string{R, d.Name, d.Version}] = true
			}
		}
		for _, x := range p.Packages {
			name := x.Name
			if x.Ecosystem == Python {
				name = lock.NormalizePip(name)
			}
			if x.Ecosystem == Other && x.Type == "" {
				continue // no package URL: a file no package manager knows (syft's binary guesses)
			}
			if x.OS || had[id{x.Ecosystem, x.Type, x.Name, x.Version}] || locked[[3]string{x.Ecosystem, name, x.Version}] {
				continue
			}
			out = append(out, lock.Unlocked{Platform: p.Platform, Ecosystem: lockEcosystem(x), Name: name, Version: x.Version})
		}
	}
	lock.SortUnlocked(out)
	sort.Strings(unknown)
	return out, unknown
}

// lockEcosystem names x's ecosystem in the lock's words (apt, pip, r), or
// by its package URL type.
func lockEcosystem(x Package) string {
	switch x.Ecosystem {
	case Deb:
		return lock.Apt
	case Python:
		return lock.Pip
	case R:
		return lock.R
	}
	if x.Type != "" {
		return x.Type
	}
	return Other
}

// VersionReader reads a version (Reader, or a test's fake).
type VersionReader interface {
	Read(ctx context.Context, ref name.Digest, o Options) (*Version, error)
}

// ReadUnlocked reads the SBOMs of the base v was built FROM (its
// annotations, published.BaseOf) and lists what v holds beyond them and l
// (see Unlocked). v must have been read with Options.Packages. A version
// built on a root filesystem archive cannot be told: the archive has no
// SBOM.
func ReadUnlocked(ctx context.Context, r VersionReader, v *Version, l *lock.Lock) ([]lock.Unlocked, []string, error) {
	baseRef, rootfs, err := published.BaseOf(v.Annotations)
	if err != nil {
		return nil, nil, err
	}
	var base *Version
	switch {
	case rootfs:
		base = &Version{} // no platform has an SBOM
	case baseRef != "":
		ref, err := name.NewDigest(baseRef, name.Insecure)
		if err != nil {
			return nil, nil, fmt.Errorf("the base %s: %w", baseRef, err)
		}
		if base, err = r.Read(ctx, ref, Options{Packages: true}); err != nil {
			return nil, nil, fmt.Errorf("reading the base %s: %w", baseRef, err)
		}
	}
	out, unknown := Unlocked(v, base, l)
	return out, unknown, nil
}
