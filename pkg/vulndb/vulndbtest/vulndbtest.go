package vulndbtest

import (
	"archive/zip"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"testing"
)

// Record is an OSV record affecting one package in one ecosystem
// ("Debian:12", "PyPI", "CRAN"), from Introduced up to Fixed ("" for no
// fix).
type Record struct {
	ID, Ecosystem, Package, Introduced, Fixed string
	Aliases                                   []string
	// CVSS is a CVSS v3.1 or v4.0 vector; "" for none (Severity, then).
	CVSS string
	// Severity is a GHSA-style database_specific severity ("HIGH").
	Severity string
	Modified string // RFC 3339; a fixed day when empty
}

// JSON renders r as an OSV record.
func (r Record) JSON() []byte {
	intro := r.Introduced
	if intro == "" {
		intro = "0"
	}
	events := []map[string]string{{"introduced": intro}}
	if r.Fixed != "" {
		events = append(events, map[string]string{"fixed": r.Fixed})
	}
	mod := r.Modified
	if mod == "" {
		mod = "2026-12-01T00:00:00Z"
	}
	rec := map[string]any{
		"schema_version": "1.6.0", "id": r.ID, "modified": mod, "aliases": r.Aliases,
		"summary": r.ID + " in " + r.Package,
		"affected": []any{map[string]any{
			"package": map[string]string{"ecosystem": r.Ecosystem, "name": r.Package},
			"ranges":  []any{map[string]any{"type": "ECOSYSTEM", "events": events}},
		}},
	}
	switch {
	case len(r.CVSS) > 8 && r.CVSS[:8] == "CVSS:4.0":
		rec["severity"] = []any{map[string]string{"type": "CVSS_V4", "score": r.CVSS}}
	case r.CVSS != "":
		rec["severity"] = []any{map[string]string{"type": "CVSS_V3", "score": r.CVSS}}
	}
	if r.Severity != "" {
		rec["database_specific"] = map[string]string{"severity": r.Severity}
	}
	b, err := json.Marshal(rec)
	if err != nil {
		panic(err)
	}
	return b
}

// Write lays records out in dir as DIR/<Ecosystem>/all.zip (the ecosystem
// without its Debian release suffix), one JSON file per record.
func Write(t testing.TB, dir string, records ...Record) {
	t.Helper()
	by := map[string][]Record{}
	for _, r := range records {
		eco := r.Ecosystem
		for i, c := range eco {
			if c == ':' {
				eco = eco[:i]
				break
			}
		}
		by[eco] = append(by[eco], r)
	}
	for eco, rs := range by {
		sort.Slice(rs, func(i, j int) bool { return rs[i].ID < rs[j].ID })
		path := filepath.Join(dir, eco, "all.zip")
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		f, err := os.Create(path)
		if err != nil {
			t.Fatal(err)
		}
		zw := zip.NewWriter(f)
		for _, r := range rs {
			w, err := zw.Create(r.ID + ".json")
			if err != nil {
				t.Fatal(err)
			}
			if _, err := w.Write(r.JSON()); err != nil {
				t.Fatal(err)
			}
		}
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// Critical and High are CVSS v3.1 vectors of those ratings (9.8, 7.5).
const (
	Critical = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"
	High     = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N"
	Medium   = "CVSS:3.1/AV:N/AC:L/PR:L/UI:R/S:U/C:L/I:L/A:N"
)
