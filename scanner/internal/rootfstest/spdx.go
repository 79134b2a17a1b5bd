package rootfstest

import (
	"encoding/json"
	"testing"
)

// SPDX is the part of an SPDX 2.3 JSON document the tests read.
type SPDX struct {
	SPDXVersion       string `json:"spdxVersion"`
	DataLicense       string `json:"dataLicense"`
	SPDXID            string `json:"SPDXID"`
	Name              string `json:"name"`
	DocumentNamespace string `json:"documentNamespace"`
	CreationInfo      struct {
		Created  string   `json:"created"`
		Creators []string `json:"creators"`
	} `json:"creationInfo"`
	Packages []struct {
		SPDXID       string `json:"SPDXID"`
		Name         string `json:"name"`
		VersionInfo  string `json:"versionInfo"`
		ExternalRefs []struct {
			Category string `json:"referenceCategory"`
			Type     string `json:"referenceType"`
			Locator  string `json:"referenceLocator"`
		} `json:"externalRefs"`
	} `json:"packages"`
	Files []struct {
		FileName  string `json:"fileName"`
		Checksums []struct {
			Algorithm string `json:"algorithm"`
			Value     string `json:"checksumValue"`
		} `json:"checksums"`
	} `json:"files"`
	Relationships []struct {
		Element string `json:"spdxElementId"`
		Type    string `json:"relationshipType"`
		Related string `json:"relatedSpdxElement"`
	} `json:"relationships"`
}

// DecodeSPDX decodes an SPDX JSON document, failing the test when it is
// not one or is not SPDX 2.3.
func DecodeSPDX(t testing.TB, data []byte) SPDX {
	t.Helper()
	var doc SPDX
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatalf("decoding SPDX document: %v", err)
	}
	if doc.SPDXVersion != "SPDX-2.3" || doc.SPDXID != "SPDXRef-DOCUMENT" || doc.DataLicense != "CC0-1.0" {
		t.Fatalf("not an SPDX 2.3 document: spdxVersion %q, SPDXID %q, dataLicense %q", doc.SPDXVersion, doc.SPDXID, doc.DataLicense)
	}
	return doc
}

// PURLs maps each package URL in doc to the package's name and version.
func (doc SPDX) PURLs() map[string]Package {
	out := map[string]Package{}
	for _, p := range doc.Packages {
		for _, r := range p.ExternalRefs {
			if r.Category == "PACKAGE-MANAGER" && r.Type == "purl" {
				out[r.Locator] = Package{Name: p.Name, Version: p.VersionInfo, PURL: r.Locator}
			}
		}
	}
	return out
}

// CheckPackages fails the test unless doc holds every package of the
// fixture, with its version and package URL, and nothing merely declared.
func CheckPackages(t testing.TB, doc SPDX) {
	t.Helper()
	got := doc.PURLs()
	for _, want := range Packages {
		p, ok := got[want.PURL]
		if !ok {
			t.Errorf("SPDX document %q lacks %s; package URLs: %v", doc.Name, want.PURL, keys(got))
			continue
		}
		if p != want {
			t.Errorf("package %s: got %+v, want %+v", want.PURL, p, want)
		}
	}
	for purl := range got {
		if purl == DeclaredOnly {
			t.Errorf("SPDX document %q reports %s, which is only declared in a requirements.txt", doc.Name, purl)
		}
	}
}

// DeclaredOnly is the package URL of a package the fixture only declares.
const DeclaredOnly = "pkg:pypi/flask@3.0.0"

func keys(m map[string]Package) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}
