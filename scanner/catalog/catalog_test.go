package catalog_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/imgctl/imgctl/scanner/catalog"
	"github.com/imgctl/imgctl/scanner/internal/rootfstest"
)

// ctx carries one license scanner for all the tests' scans.
var ctx = func() context.Context {
	ctx, err := catalog.WithLicenseScanner(context.Background())
	if err != nil {
		panic(err)
	}
	return ctx
}()

// scanSPDX scans root with cfg and decodes the SPDX document.
func scanSPDX(t *testing.T, root string, cfg catalog.Config) rootfstest.SPDX {
	t.Helper()
	s, err := catalog.Scan(ctx, root, cfg)
	if err != nil {
		t.Fatalf("Scan: %v", err)
	}
	var buf bytes.Buffer
	if err := catalog.EncodeSPDX(&buf, s); err != nil {
		t.Fatalf("EncodeSPDX: %v", err)
	}
	return rootfstest.DecodeSPDX(t, buf.Bytes())
}

func TestScanFindsInstalledPackages(t *testing.T) {
	t.Parallel()
	root := rootfstest.Write(t)
	s, err := catalog.Scan(ctx, root, catalog.Config{})
	if err != nil {
		t.Fatal(err)
	}
	byPURL := map[string]rootfstest.Package{}
	for _, p := range s.Artifacts.Packages.Sorted() {
		byPURL[p.PURL] = rootfstest.Package{Name: p.Name, Version: p.Version, PURL: p.PURL}
	}
	for _, want := range rootfstest.Packages {
		if got := byPURL[want.PURL]; got != want {
			t.Errorf("package %s: got %+v, want %+v (all: %v)", want.PURL, got, want, byPURL)
		}
	}
	if _, ok := byPURL[rootfstest.DeclaredOnly]; ok {
		t.Errorf("a requirements.txt was catalogued as installed: %s", rootfstest.DeclaredOnly)
	}
	if got, want := len(byPURL), len(rootfstest.Packages); got != want {
		t.Errorf("got %d packages, want %d: %v", got, want, byPURL)
	}
	wantCounts := []catalog.TypeCount{{Type: "R-package", Count: 2}, {Type: "deb", Count: 2}, {Type: "python", Count: 2}}
	if got := catalog.Counts(s); !equalCounts(got, wantCounts) {
		t.Errorf("Counts: got %v, want %v", got, wantCounts)
	}
}

func equalCounts(a, b []catalog.TypeCount) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestEncodeSPDX(t *testing.T) {
	t.Parallel()
	doc := scanSPDX(t, rootfstest.Write(t), catalog.Config{})
	rootfstest.CheckPackages(t, doc)
	if want := rootfstest.DistroName + " root filesystem"; doc.Name != want {
		t.Errorf("document name: got %q, want %q", doc.Name, want)
	}
	// By default the only files listed are the evidence of packages (the
	// dpkg status and lists, METADATA, DESCRIPTION, …), without digests
	// (syft writes SPDX 2.2's mandatory SHA1 as zeros): not the files
	// packages own.
	for _, f := range doc.Files {
		name := strings.TrimPrefix(f.FileName, "/")
		if name == "usr/lib/os-release" || name == "usr/lib/x86_64-linux-gnu/libc.so.6" {
			t.Errorf("owned file %s listed by default", name)
		}
		for _, c := range f.Checksums {
			if strings.Trim(c.Value, "0") != "" {
				t.Errorf("file %s has a %s digest by default", name, c.Algorithm)
			}
		}
	}
	for _, p := range doc.Packages {
		if strings.HasPrefix(p.SPDXID, "SPDXRef-DocumentRoot-") {
			continue // the root package stands for the filesystem itself
		}
		hasPURL := false
		for _, r := range p.ExternalRefs {
			hasPURL = hasPURL || r.Type == "purl"
		}
		if p.VersionInfo == "" || !hasPURL {
			t.Errorf("package %s: version %q, package URL present %v", p.Name, p.VersionInfo, hasPURL)
		}
	}
}

// TestEncodeSPDXStable: two scans of the same root give the same document
// but for the creation time and the UUID in the namespace, which syft draws
// anew every time.
func TestEncodeSPDXStable(t *testing.T) {
	t.Parallel()
	root := rootfstest.Write(t)
	encode := func() string {
		s, err := catalog.Scan(ctx, root, catalog.Config{Name: "example.com/app:1"})
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if err := catalog.EncodeSPDX(&buf, s); err != nil {
			t.Fatal(err)
		}
		doc := rootfstest.DecodeSPDX(t, buf.Bytes())
		out := buf.String()
		out = strings.ReplaceAll(out, doc.CreationInfo.Created, "CREATED") // also the size annotations' dates
		return strings.Replace(out, doc.DocumentNamespace, "NAMESPACE", 1)
	}
	a, b := encode(), encode()
	if a != b {
		t.Errorf("two scans of one root differ beyond created and documentNamespace:\n%s\n%s", a, b)
	}
}

func TestScanConfig(t *testing.T) {
	t.Parallel()
	root := rootfstest.Write(t)
	tests := []struct {
		name  string
		cfg   catalog.Config
		check func(t *testing.T, doc rootfstest.SPDX)
	}{{
		name: "name and version",
		cfg:  catalog.Config{Name: "registry.example/python:2026.11.24", Version: "2026.11.24"},
		check: func(t *testing.T, doc rootfstest.SPDX) {
			if doc.Name != "registry.example/python:2026.11.24" {
				t.Errorf("document name %q", doc.Name)
			}
			found := false
			for _, p := range doc.Packages {
				if p.Name == doc.Name && p.VersionInfo == "2026.11.24" {
					found = true
				}
			}
			if !found {
				t.Errorf("no root package named %q with version 2026.11.24", doc.Name)
			}
			rootfstest.CheckPackages(t, doc)
		},
	}, {
		name: "remove a tag",
		cfg:  catalog.Config{Select: []string{"-python"}},
		check: func(t *testing.T, doc rootfstest.SPDX) {
			for purl := range doc.PURLs() {
				if strings.HasPrefix(purl, "pkg:pypi/") {
					t.Errorf("-python left %s", purl)
				}
			}
			if _, ok := doc.PURLs()["pkg:cran/jsonlite@1.8.4"]; !ok {
				t.Errorf("-python removed R packages too")
			}
		},
	}, {
		name: "keep a tag",
		cfg:  catalog.Config{Select: []string{"os"}},
		check: func(t *testing.T, doc rootfstest.SPDX) {
			for purl := range doc.PURLs() {
				if !strings.HasPrefix(purl, "pkg:deb/") {
					t.Errorf("selecting os kept %s", purl)
				}
			}
			if len(doc.PURLs()) != 2 {
				t.Errorf("selecting os: got %v, want the 2 deb packages", doc.PURLs())
			}
		},
	}, {
		name: "files",
		cfg:  catalog.Config{Files: true},
		check: func(t *testing.T, doc rootfstest.SPDX) {
			rootfstest.CheckPackages(t, doc)
			content, err := os.ReadFile(filepath.Join(root, "usr", "lib", "os-release"))
			if err != nil {
				t.Fatal(err)
			}
			want := fmt.Sprintf("%x", sha256.Sum256(content))
			for _, f := range doc.Files {
				if strings.TrimPrefix(f.FileName, "/") != "usr/lib/os-release" {
					continue
				}
				for _, c := range f.Checksums {
					if c.Algorithm == "SHA256" && c.Value == want {
						return
					}
				}
				t.Errorf("usr/lib/os-release: checksums %+v, want SHA256 %s", f.Checksums, want)
				return
			}
			t.Errorf("no file entry for usr/lib/os-release (owned by base-files); files: %+v", doc.Files)
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.check(t, scanSPDX(t, root, tt.cfg))
		})
	}
}

func TestScanErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		root string
		cfg  catalog.Config
		want string
	}{
		{"missing root", filepath.Join(dir, "missing"), catalog.Config{}, "no such file or directory"},
		{"root is a file", file, catalog.Config{}, "not a directory"},
		{"no cataloger left", dir, catalog.Config{Select: []string{"no-such-tag"}}, "no cataloger tasks respond to the following selections: no-such-tag"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := catalog.Scan(ctx, tt.root, tt.cfg)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got error %v, want one containing %q", err, tt.want)
			}
		})
	}
}

// TestScanNoDistro: without an os-release the document still has a name and
// the Debian packages are still catalogued, but syft gives them no package
// URL (it cannot tell Debian from Ubuntu); every real Debian-based image has
// /etc/os-release.
func TestScanNoDistro(t *testing.T) {
	t.Parallel()
	root := rootfstest.Write(t)
	for _, p := range []string{"etc/os-release", "usr/lib/os-release"} {
		if err := os.Remove(filepath.Join(root, p)); err != nil {
			t.Fatal(err)
		}
	}
	doc := scanSPDX(t, root, catalog.Config{})
	if doc.Name != "root filesystem" {
		t.Errorf("document name %q, want %q", doc.Name, "root filesystem")
	}
	versions := map[string]string{}
	for _, p := range doc.Packages {
		versions[p.Name] = p.VersionInfo
	}
	if versions["base-files"] != "12.4+deb12u5" || versions["libc6"] != "2.36-9+deb12u4" {
		t.Errorf("without os-release: packages %v, want base-files and libc6 with their versions", versions)
	}
	if _, ok := doc.PURLs()["pkg:pypi/pyyaml@6.0.1"]; !ok {
		t.Errorf("without os-release: no package URL for pyyaml")
	}
}
