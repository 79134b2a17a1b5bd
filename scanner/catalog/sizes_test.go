package catalog_test

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/imgctl/imgctl/scanner/catalog"
	"github.com/imgctl/imgctl/scanner/internal/rootfstest"
)

// Each package whose ecosystem records an installed size carries it as an
// SPDX package annotation; R packages and egg-info carry none.
func TestEncodeSPDXInstalledSizes(t *testing.T) {
	t.Parallel()
	s, err := catalog.Scan(ctx, rootfstest.Write(t), catalog.Config{})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := catalog.EncodeSPDX(&buf, s); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Packages []struct {
			Name        string `json:"name"`
			Annotations []struct {
				Annotator string `json:"annotator"`
				Date      string `json:"annotationDate"`
				Type      string `json:"annotationType"`
				Comment   string `json:"comment"`
			} `json:"annotations"`
		} `json:"packages"`
	}
	if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, p := range doc.Packages {
		for _, a := range p.Annotations {
			if a.Annotator != "Tool: imgctl-sbom-scanner" || a.Type != "OTHER" || a.Date == "" {
				t.Errorf("package %s: annotation %+v", p.Name, a)
			}
			got[p.Name] = a.Comment
		}
	}
	want := map[string]string{
		"base-files": "imgctl.installed-size=348160",   // 340 KiB
		"libc6":      "imgctl.installed-size=13299712", // 12988 KiB
		"pyyaml":     "imgctl.installed-size=14384",    // RECORD: 4+2058+11+12311
	}
	for n, w := range want {
		if got[n] != w {
			t.Errorf("package %s: got %q, want %q", n, got[n], w)
		}
	}
	for _, n := range []string{"jsonlite", "rlang", "six"} {
		if c, ok := got[n]; ok {
			t.Errorf("package %s: size %q, want none (its ecosystem records none)", n, c)
		}
	}
}
