package lock

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
)

// The resolution probes run inside BuildKit on the parent's locked build
// (pkg/resolve) and print what they found; these parse it.

// AptDelta is what an apt install added over the packages installed
// before it: new packages, and those it moved to another version.
type AptDelta struct {
	Added []AptPackage
	// Moved maps a package installed before at another version to that
	// version (an upgrade or downgrade the image's packages needed).
	Moved map[string]string
}

// ParseApt parses the apt probe's output: dpkg's installed packages before
// ("B\tname\tversion\tarch") and after ("A\t…") the install.
func ParseApt(out []byte) (AptDelta, error) {
	before := map[string]AptPackage{}
	var after []AptPackage
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if line == "" {
			continue
		}
		f := strings.Split(line, "\t")
		if len(f) != 4 || (f[0] != "B" && f[0] != "A") || f[1] == "" || f[2] == "" {
			return AptDelta{}, fmt.Errorf("apt probe output line %d: %q is not B|A<TAB>name<TAB>version<TAB>arch", n, line)
		}
		p := AptPackage{Name: f[1], Version: f[2], Arch: f[3]}
		if f[0] == "B" {
			before[p.Name+":"+p.Arch] = p
		} else {
			after = append(after, p)
		}
	}
	d := AptDelta{Moved: map[string]string{}}
	for _, p := range after {
		b, ok := before[p.Name+":"+p.Arch]
		if ok && b.Version == p.Version {
			continue
		}
		if ok {
			d.Moved[p.Name] = b.Version
		}
		d.Added = append(d.Added, p)
	}
	return d, nil
}

// pipReport is what of pip's installation report (`pip install --dry-run
// --report`, format version 1) resolution reads.
type pipReport struct {
	Version string `json:"version"`
	Install []struct {
		Requested    bool `json:"requested"`
		DownloadInfo struct {
			URL         string `json:"url"`
			ArchiveInfo struct {
				Hash   string            `json:"hash"`
				Hashes map[string]string `json:"hashes"`
			} `json:"archive_info"`
		} `json:"download_info"`
		Metadata struct {
			Name    string `json:"name"`
			Version string `json:"version"`
		} `json:"metadata"`
	} `json:"install"`
}

// ParsePipReport parses pip's installation report into the distributions
// it would install: PEP 503 names, URLs without credentials, sha256 from
// the report (pip has it from the index's #sha256= fragment or from
// hashing the archive it downloaded).
func ParsePipReport(b []byte) ([]Dist, error) {
	var r pipReport
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("parsing pip's report: %w", err)
	}
	if r.Version != "1" {
		return nil, fmt.Errorf("pip's report has version %q; imgctl reads version 1", r.Version)
	}
	var out []Dist
	for _, it := range r.Install {
		name := NormalizePip(it.Metadata.Name)
		sum := it.DownloadInfo.ArchiveInfo.Hashes["sha256"]
		if h, ok := strings.CutPrefix(it.DownloadInfo.ArchiveInfo.Hash, "sha256="); sum == "" && ok {
			sum = h
		}
		if sum == "" || !hexRE.MatchString(sum) {
			return nil, fmt.Errorf("pip resolved %s %s to %s without a sha256; serve it from an index that gives #sha256= links", name, it.Metadata.Version, Redact(it.DownloadInfo.URL))
		}
		out = append(out, Dist{Name: name, Version: it.Metadata.Version, URL: Redact(it.DownloadInfo.URL), SHA256: sum})
	}
	return out, nil
}

// Redact drops credentials from a URL (and leaves what is not a URL as it
// is).
func Redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return raw
	}
	u.User = nil
	return u.String()
}

// ParseR parses the R probe's output: one "name\tversion\turl\tsha256"
// line per package the image adds.
func ParseR(out []byte) ([]Dist, error) {
	var ds []Dist
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if line == "" {
			continue
		}
		f := strings.Split(line, "\t")
		if len(f) != 4 || f[0] == "" || f[1] == "" || !hexRE.MatchString(f[3]) {
			return nil, fmt.Errorf("R probe output line %d: %q is not name<TAB>version<TAB>url<TAB>sha256", n, line)
		}
		ds = append(ds, Dist{Name: f[0], Version: f[1], URL: Redact(f[2]), SHA256: f[3]})
	}
	return ds, nil
}
