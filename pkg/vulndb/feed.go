package vulndb

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/google/osv-scalibr/enricher/vulnmatch/osvlocal"
	"github.com/google/osv-scalibr/extractor"
	dpkgmeta "github.com/google/osv-scalibr/extractor/filesystem/os/dpkg/metadata"
	"github.com/google/osv-scalibr/inventory/osvecosystem"
	"github.com/google/osv-scalibr/purl"
	"github.com/google/osv-scalibr/semantic"
	osvpb "github.com/ossf/osv-schema/bindings/go/osvschema"
	"google.golang.org/protobuf/encoding/protojson"
)

// Feed is a loaded vulnerability feed.
type Feed struct {
	// Date is the newest modification date of its records (UTC): how
	// current the feed is.
	Date time.Time
	// Digest identifies the feed's content (sha256 of its archives, in
	// ecosystem order).
	Digest string
	// Ecosystems are the archives it holds ("CRAN", "Debian", "PyPI"), sorted.
	Ecosystems []string
	// Records counts the OSV records.
	Records int
	// byName indexes records by (base ecosystem, package name as the
	// record spells it, normalised for PyPI).
	byName map[key][]*osvpb.Vulnerability
	// memo holds each package's answer: a library's versions share most
	// of their packages (Package -> memoMatch).
	memo sync.Map
}

type memoMatch struct {
	ms  []Match
	err error
}

type key struct{ eco, name string }

// Archive is one ecosystem's all.zip.
type Archive struct {
	Ecosystem string
	Zip       []byte
}

// LoadDir reads every archive of dir: DIR/<Ecosystem>/all.zip, or
// osv-scanner's and osv-scalibr's layouts (DIR/osv-scanner/…,
// DIR/osv-scalibr/…). A directory with none is an error.
func LoadDir(dir string) (*Feed, error) {
	archives, err := ReadDir(dir)
	if err != nil {
		return nil, err
	}
	return Load(archives)
}

// ReadDir reads the archives of dir (see LoadDir) without loading them.
func ReadDir(dir string) ([]Archive, error) {
	var archives []Archive
	for _, sub := range []string{"", "osv-scanner", "osv-scalibr"} {
		zips, err := filepath.Glob(filepath.Join(dir, sub, "*", "all.zip"))
		if err != nil {
			return nil, err
		}
		for _, z := range zips {
			b, err := os.ReadFile(z)
			if err != nil {
				return nil, err
			}
			archives = append(archives, Archive{Ecosystem: filepath.Base(filepath.Dir(z)), Zip: b})
		}
		if len(archives) > 0 {
			break
		}
	}
	if len(archives) == 0 {
		return nil, fmt.Errorf("%s holds no vulnerability archive (<Ecosystem>/all.zip, as OSV serves them: https://osv-vulnerabilities.storage.googleapis.com/<Ecosystem>/all.zip)", dir)
	}
	return archives, nil
}

// Load reads archives: every JSON record of each zip, which must parse as
// OSV (fields the schema does not know are ignored; a record that does
// not parse is an error naming it, never dropped silently).
func Load(archives []Archive) (*Feed, error) {
	sort.Slice(archives, func(i, j int) bool { return archives[i].Ecosystem < archives[j].Ecosystem })
	f := &Feed{byName: map[key][]*osvpb.Vulnerability{}}
	sum := sha256.New()
	uo := protojson.UnmarshalOptions{DiscardUnknown: true}
	for _, a := range archives {
		if len(f.Ecosystems) > 0 && f.Ecosystems[len(f.Ecosystems)-1] == a.Ecosystem {
			return nil, fmt.Errorf("two archives for ecosystem %s", a.Ecosystem)
		}
		f.Ecosystems = append(f.Ecosystems, a.Ecosystem)
		fmt.Fprintf(sum, "%s %d\n", a.Ecosystem, len(a.Zip))
		sum.Write(a.Zip)
		zr, err := zip.NewReader(bytes.NewReader(a.Zip), int64(len(a.Zip)))
		if err != nil {
			return nil, fmt.Errorf("%s/all.zip: %w", a.Ecosystem, err)
		}
		for _, zf := range zr.File {
			if !strings.HasSuffix(zf.Name, ".json") {
				continue
			}
			b, err := readZipFile(zf)
			if err != nil {
				return nil, fmt.Errorf("%s/all.zip: %s: %w", a.Ecosystem, zf.Name, err)
			}
			v := &osvpb.Vulnerability{}
			if err := uo.Unmarshal(b, v); err != nil {
				return nil, fmt.Errorf("%s/all.zip: %s: not an OSV record: %w", a.Ecosystem, zf.Name, err)
			}
			f.add(v)
		}
	}
	f.Digest = "sha256:" + hex.EncodeToString(sum.Sum(nil))
	return f, nil
}

func readZipFile(zf *zip.File) ([]byte, error) {
	rc, err := zf.Open()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return io.ReadAll(rc)
}

func (f *Feed) add(v *osvpb.Vulnerability) {
	f.Records++
	if m := v.GetModified(); m != nil && m.AsTime().After(f.Date) {
		f.Date = m.AsTime().UTC()
	}
	seen := map[key]bool{}
	for _, a := range v.GetAffected() {
		p := a.GetPackage()
		if p == nil {
			continue
		}
		eco, err := osvecosystem.Parse(p.GetEcosystem())
		if err != nil {
			continue // an ecosystem the library does not know matches nothing
		}
		k := key{string(eco.Ecosystem), normalise(string(eco.Ecosystem), p.GetName())}
		if !seen[k] {
			seen[k] = true
			f.byName[k] = append(f.byName[k], v)
		}
	}
}

// normalise spells a package name as the matcher compares it: PEP 503
// for PyPI, as is elsewhere.
func normalise(eco, name string) string {
	if eco == "PyPI" {
		return strings.ToLower(strings.NewReplacer("_", "-", ".", "-").Replace(name))
	}
	return name
}

// Package is an installed package to match.
type Package struct {
	// Ecosystem is the OSV ecosystem: "Debian:12", "PyPI", "CRAN".
	Ecosystem string
	Name      string
	// Source and SourceVersion are a Debian binary package's source
	// package and its version (records are keyed and versioned by it:
	// bsdutils 1:2.38.1-5 is util-linux 2.38.1-5); "" when they are Name
	// and Version.
	Source, SourceVersion string
	Version               string
}

// Match is one record affecting a package.
type Match struct {
	ID      string
	Aliases []string
	Summary string
	// Fixed is the smallest fixed version above the installed one, in
	// the ecosystem's order; "" when none is known.
	Fixed string
	// Severity is critical, high, medium, low or unknown; Score the CVSS
	// base score it comes from (0 without one).
	Severity string
	Score    float64
	// Withdrawn records never match.
}

// Matches returns the records affecting p, by id. An ecosystem the
// library does not support is an error. Answers are remembered: the
// slices returned are shared and must not be changed.
func (f *Feed) Matches(p Package) ([]Match, error) {
	if m, ok := f.memo.Load(p); ok {
		mm := m.(memoMatch)
		return mm.ms, mm.err
	}
	ms, err := f.matches(p)
	f.memo.Store(p, memoMatch{ms, err})
	return ms, err
}

func (f *Feed) matches(p Package) ([]Match, error) {
	sp, err := toScalibr(p)
	if err != nil {
		return nil, err
	}
	eco := sp.Ecosystem()
	name := p.Name
	if p.Source != "" {
		name = p.Source
	}
	cands := f.byName[key{string(eco.Ecosystem), normalise(string(eco.Ecosystem), name)}]
	if len(cands) == 0 {
		return nil, nil
	}
	if _, err := semantic.Parse(sp.Version, string(eco.Ecosystem)); err != nil {
		return nil, fmt.Errorf("%s %s: version %q: %w", p.Ecosystem, p.Name, p.Version, err)
	}
	var out []Match
	for _, v := range osvlocal.VulnerabilitiesAffectingPackage(cands, sp) {
		m := Match{ID: v.GetId(), Aliases: v.GetAliases(), Summary: v.GetSummary(), Fixed: fixedVersion(v, sp, name)}
		m.Severity, m.Score = severity(v, sp, name)
		out = append(out, m)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

func toScalibr(p Package) (*extractor.Package, error) {
	eco, err := osvecosystem.Parse(p.Ecosystem)
	if err != nil {
		return nil, fmt.Errorf("ecosystem %q: %w", p.Ecosystem, err)
	}
	sp := &extractor.Package{Name: p.Name, Version: p.Version}
	switch eco.Ecosystem {
	case "Debian":
		src := p.Source
		if src == "" {
			src = p.Name
		}
		if p.SourceVersion != "" {
			sp.Version = p.SourceVersion
		}
		sp.PURLType = purl.TypeDebian
		sp.Metadata = &dpkgmeta.Metadata{PackageName: p.Name, SourceName: src, OSID: "debian", OSVersionID: eco.Suffix}
	case "PyPI":
		sp.PURLType = purl.TypePyPi
	case "CRAN":
		sp.PURLType = purl.TypeCran
	default:
		return nil, fmt.Errorf("ecosystem %q is not matched (Debian:N, PyPI, CRAN)", p.Ecosystem)
	}
	return sp, nil
}

// affects reports whether a names the package (name, as records spell it)
// in sp's ecosystem.
func affects(a *osvpb.Affected, sp *extractor.Package, name string) bool {
	ap := a.GetPackage()
	if ap == nil {
		return false
	}
	eco, err := osvecosystem.Parse(ap.GetEcosystem())
	if err != nil || !eco.Equal(sp.Ecosystem()) {
		return false
	}
	e := string(eco.Ecosystem)
	return normalise(e, ap.GetName()) == normalise(e, name)
}

// fixedVersion is the smallest "fixed" event above the installed version
// over the affected entries of the package, in its ecosystem's order.
func fixedVersion(v *osvpb.Vulnerability, sp *extractor.Package, name string) string {
	eco := string(sp.Ecosystem().Ecosystem)
	cur, err := semantic.Parse(sp.Version, eco)
	if err != nil {
		return ""
	}
	best := ""
	var bestV semantic.Version
	for _, a := range v.GetAffected() {
		if !affects(a, sp, name) {
			continue
		}
		for _, r := range a.GetRanges() {
			if r.GetType() != osvpb.Range_ECOSYSTEM && r.GetType() != osvpb.Range_SEMVER {
				continue
			}
			for _, e := range r.GetEvents() {
				fx := e.GetFixed()
				if fx == "" {
					continue
				}
				if c, err := cur.CompareStr(fx); err != nil || c >= 0 {
					continue
				}
				fv, err := semantic.Parse(fx, eco)
				if err != nil {
					continue
				}
				if best == "" {
					best, bestV = fx, fv
				} else if c, err := fv.Compare(bestV); err == nil && c < 0 {
					best, bestV = fx, fv
				}
			}
		}
	}
	return best
}
