package vulns

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"
)

// WriteJSON writes r as indented JSON, image by image (a report over
// hundreds of versions is tens of megabytes: it is never indented in
// one buffer).
func (r *Report) WriteJSON(w io.Writer) error {
	bw := bufio.NewWriter(w)
	field := func(name string, v any, last bool) error {
		b, err := json.MarshalIndent(v, "  ", "  ")
		if err != nil {
			return err
		}
		fmt.Fprintf(bw, "  %q: %s", name, b)
		if !last {
			bw.WriteString(",")
		}
		bw.WriteString("\n")
		return nil
	}
	bw.WriteString("{\n")
	for _, f := range []struct {
		name string
		v    any
	}{{"format_version", r.FormatVersion}, {"feed", r.Feed}, {"day", r.Day}} {
		if err := field(f.name, f.v, false); err != nil {
			return err
		}
	}
	if len(r.Images) == 0 {
		bw.WriteString("  \"images\": []\n}\n")
		return bw.Flush()
	}
	bw.WriteString("  \"images\": [\n")
	for i, im := range r.Images {
		b, err := json.MarshalIndent(im, "    ", "  ")
		if err != nil {
			return err
		}
		bw.WriteString("    ")
		bw.Write(b)
		if i < len(r.Images)-1 {
			bw.WriteString(",")
		}
		bw.WriteString("\n")
	}
	bw.WriteString("  ]\n}\n")
	return bw.Flush()
}

// WriteText renders r for people: per version its counts, then each
// finding once with the platforms it is on.
func (r *Report) WriteText(w io.Writer) error {
	fmt.Fprintf(w, "Vulnerabilities: feed %s of %s (%s; %d records), accepted risks as of %s\n",
		r.Feed.Source, orUnknown(r.Feed.Date), strings.Join(r.Feed.Ecosystems, ", "), r.Feed.Records, r.Day)
	if len(r.Images) == 0 {
		fmt.Fprintln(w, "\nNo version matched.")
		return nil
	}
	for _, im := range r.Images {
		latest := ""
		if im.Latest {
			latest = " (latest)"
		}
		fmt.Fprintf(w, "\n%s %s%s %s: %s\n", im.Name, im.Version, latest, short(im.Digest), CountsOf(im))
		for _, p := range im.Platforms {
			if !p.SBOM {
				fmt.Fprintf(w, "  %s: no SBOM, nothing can be told\n", p.Platform)
			}
			for _, u := range p.Unmatched {
				fmt.Fprintf(w, "  %s: not matched: %s\n", p.Platform, u)
			}
		}
		type row struct {
			f         Finding
			platforms []string
		}
		var rows []*row
		byKey := map[string]*row{}
		for _, p := range im.Platforms {
			for _, f := range p.Findings {
				k := f.ID + "\x00" + f.Package + "\x00" + f.Installed
				if rw := byKey[k]; rw != nil {
					rw.platforms = append(rw.platforms, p.Platform)
					continue
				}
				rw := &row{f: f, platforms: []string{p.Platform}}
				byKey[k] = rw
				rows = append(rows, rw)
			}
		}
		sort.SliceStable(rows, func(i, j int) bool { return less(rows[i].f, rows[j].f) })
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		for _, rw := range rows {
			f := rw.f
			id := f.ID
			if len(f.Aliases) > 0 {
				id += " (" + strings.Join(f.Aliases, ", ") + ")"
			}
			fixed := "no fix yet"
			if f.Fixed != "" {
				fixed = "fixed in " + f.Fixed
			}
			note := ""
			if f.Ignored != nil {
				note = fmt.Sprintf("  ignored until %s: %s", f.Ignored.Until, f.Ignored.Reason)
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s %s (%s)\t%s\t%s%s\n", strings.ToUpper(f.Severity), id, f.Package, f.Installed, f.Ecosystem, fixed, strings.Join(rw.platforms, ", "), note)
		}
		tw.Flush()
	}
	return nil
}

func short(d string) string {
	if len(d) > len("sha256:")+12 {
		return d[:len("sha256:")+12]
	}
	return d
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown date"
	}
	return s
}

// VEX is an OpenVEX document (https://openvex.dev/ns/v0.2.0).
type VEX struct {
	Context    string         `json:"@context"`
	ID         string         `json:"@id"`
	Author     string         `json:"author"`
	Timestamp  string         `json:"timestamp"`
	Version    int            `json:"version"`
	Statements []VEXStatement `json:"statements"`
}

// VEXStatement says a vulnerability does not affect the products listed.
type VEXStatement struct {
	Vulnerability struct {
		Name    string   `json:"name"`
		Aliases []string `json:"aliases,omitempty"`
	} `json:"vulnerability"`
	Products []struct {
		ID string `json:"@id"`
	} `json:"products"`
	Status          string `json:"status"`
	ImpactStatement string `json:"impact_statement"`
}

// WriteVEX writes the ignored findings of r as OpenVEX statements, one per
// vulnerability and reason, for the versions (as pkg:oci package URLs of
// their digests in repository) that carry them. registry is the library's.
func (r *Report) WriteVEX(w io.Writer, registry string, now time.Time) error {
	type key struct{ id, reason, until string }
	products := map[key][]string{}
	aliases := map[key][]string{}
	var keys []key
	for _, im := range r.Images {
		for _, p := range im.Platforms {
			for _, f := range p.Findings {
				if f.Ignored == nil {
					continue
				}
				k := key{f.ID, f.Ignored.Reason, f.Ignored.Until}
				if products[k] == nil {
					keys = append(keys, k)
					aliases[k] = f.Aliases
				}
				purl := fmt.Sprintf("pkg:oci/%s@%s?repository_url=%s/%s", im.Name, strings.ReplaceAll(im.Digest, ":", "%3A"), registry, im.Name)
				if !contains(products[k], purl) {
					products[k] = append(products[k], purl)
				}
			}
		}
	}
	doc := VEX{Context: "https://openvex.dev/ns/v0.2.0", ID: "https://imgctl.dev/vex/" + r.Feed.Digest, Author: "imgctl (policy.vulnerabilities.ignore)",
		Timestamp: now.UTC().Format(time.RFC3339), Version: 1, Statements: []VEXStatement{}}
	sort.Slice(keys, func(i, j int) bool { return keys[i].id < keys[j].id })
	for _, k := range keys {
		var s VEXStatement
		s.Vulnerability.Name, s.Vulnerability.Aliases = k.id, aliases[k]
		for _, p := range products[k] {
			s.Products = append(s.Products, struct {
				ID string `json:"@id"`
			}{p})
		}
		s.Status = "not_affected"
		s.ImpactStatement = fmt.Sprintf("%s (accepted until %s)", k.reason, k.until)
		doc.Statements = append(doc.Statements, s)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(doc)
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}
