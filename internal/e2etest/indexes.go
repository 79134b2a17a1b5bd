package e2etest

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"crypto/md5"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// Package indexes served on loopback for pip and R steps: there is no PyPI
// or CRAN here, and tests must not depend on them anyway.

// Wheel returns a minimal pure-Python wheel of pkg 1.0 and its file name;
// its module pkg has VALUE = "from the private index".
func Wheel(t testing.TB, pkg string) ([]byte, string) {
	return wheel(t, pkg, "1.0", "VALUE = \"from the private index\"\n")
}

// PyPIIndex is a PEP 503 simple index with one wheel, on 127.0.0.1
// (BuildKit's RUN steps share the host's network, so a build reaches it at
// the same address), optionally behind basic auth. It counts authorised
// and refused requests.
type PyPIIndex struct {
	URL             string
	mu              sync.Mutex
	authed, refused int
}

// Served returns how many requests were served and how many were refused
// for lack of credentials.
func (idx *PyPIIndex) Served() (served, refused int) {
	idx.mu.Lock()
	defer idx.mu.Unlock()
	return idx.authed, idx.refused
}

// ServePyPI serves pkg 1.0 (see [Wheel]) at URL+"/simple/"; with a
// non-empty user, only to requests with that basic-auth user and password.
func ServePyPI(t testing.TB, user, password, pkg string) *PyPIIndex {
	t.Helper()
	whl, file := Wheel(t, pkg)
	sum := sha256.Sum256(whl)
	idx := &PyPIIndex{}
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, pw, ok := r.BasicAuth()
		idx.mu.Lock()
		if user != "" && (!ok || u != user || pw != password) {
			idx.refused++
			idx.mu.Unlock()
			w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
			http.Error(w, "unauthorised", http.StatusUnauthorized)
			return
		}
		idx.authed++ // or served without auth
		idx.mu.Unlock()
		switch r.URL.Path {
		case "/simple/":
			fmt.Fprintf(w, "<html><body><a href=\"/simple/%s/\">%s</a></body></html>\n", pkg, pkg)
		case "/simple/" + pkg + "/":
			fmt.Fprintf(w, "<html><body><a href=\"/files/%s#sha256=%s\">%s</a></body></html>\n", file, hex.EncodeToString(sum[:]), file)
		case "/files/" + file:
			w.Write(whl)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(s.Close)
	idx.URL = s.URL
	return idx
}

// RSourcePackage returns a minimal pure-R source package tarball (the
// content of "<pkg>_<version>.tar.gz"): "<pkg>/DESCRIPTION",
// "<pkg>/NAMESPACE" and "<pkg>/R/hello.R", whose exported hello() returns
// greeting.
func RSourcePackage(t testing.TB, pkg, version, greeting string) []byte {
	return RSourcePackageImporting(t, pkg, version, greeting, "")
}

// RSourcePackageImporting is [RSourcePackage] with an Imports field
// ("pkgA, pkgB"; "" for none).
func RSourcePackageImporting(t testing.TB, pkg, version, greeting, imports string) []byte {
	t.Helper()
	desc := ""
	if imports != "" {
		desc = "Imports: " + imports + "\n"
	}
	files := []struct{ name, body string }{
		{"DESCRIPTION", "Package: " + pkg + "\n" + desc +
			"Version: " + version + "\n" +
			"Title: Says Hello in imgctl's End-to-End Tests\n" +
			"Description: A single function that returns a fixed greeting, installed\n" +
			"    from a CRAN-like repository served by the test.\n" +
			"Author: imgctl tests [aut, cre]\n" +
			"Maintainer: imgctl tests <tests@example.org>\n" +
			"License: GPL-3\n" +
			"NeedsCompilation: no\n"},
		{"NAMESPACE", "export(hello)\n"},
		{"R/hello.R", "hello <- function() " + fmt.Sprintf("%q", greeting) + "\n"},
	}
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	mtime := time.Unix(1700000000, 0)
	for _, dir := range []string{pkg + "/", pkg + "/R/"} {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: dir, Mode: 0o755, ModTime: mtime, Format: tar.FormatUSTAR}); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range files {
		h := &tar.Header{Typeflag: tar.TypeReg, Name: pkg + "/" + f.name, Mode: 0o644, Size: int64(len(f.body)), ModTime: mtime, Format: tar.FormatUSTAR}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if _, err := io.WriteString(tw, f.body); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := gz.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// CRANRepo is a CRAN-like repository with source packages only, as
// install.packages reads it: /src/contrib/PACKAGES (and PACKAGES.gz) and
// the tarballs next to it. It records the paths it was asked for.
type CRANRepo struct {
	URL string

	mu  sync.Mutex
	got []string
}

// Requested reports whether path was asked for.
func (r *CRANRepo) Requested(path string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, p := range r.got {
		if p == path {
			return true
		}
	}
	return false
}

// Requests lists the paths asked for, in order.
func (r *CRANRepo) Requests() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.got...)
}

// ServeCRAN serves tarballs (file name "<pkg>_<version>.tar.gz" to
// bytes) on 127.0.0.1 as a CRAN-like repository. BuildKit's RUN steps
// share the host's network, so a build reaches it at the same address.
func ServeCRAN(t testing.TB, tarballs map[string][]byte) *CRANRepo {
	return ServeCRANImporting(t, tarballs, nil)
}

// ServeCRANImporting is [ServeCRAN] whose index gives packages the
// Imports field of imports (package name to "pkgA, pkgB").
func ServeCRANImporting(t testing.TB, tarballs map[string][]byte, imports map[string]string) *CRANRepo {
	t.Helper()
	var index bytes.Buffer
	for file, b := range tarballs {
		pkg, version, ok := strings.Cut(strings.TrimSuffix(file, ".tar.gz"), "_")
		if !ok {
			t.Fatalf("tarball name %q is not <pkg>_<version>.tar.gz", file)
		}
		sum := md5.Sum(b)
		imp := ""
		if imports[pkg] != "" {
			imp = "Imports: " + imports[pkg] + "\n"
		}
		fmt.Fprintf(&index, "Package: %s\nVersion: %s\n%sLicense: GPL-3\nNeedsCompilation: no\nMD5sum: %s\n\n", pkg, version, imp, hex.EncodeToString(sum[:]))
	}
	var indexGz bytes.Buffer
	gz := gzip.NewWriter(&indexGz)
	gz.Write(index.Bytes())
	if err := gz.Close(); err != nil {
		t.Fatal(err)
	}
	repo := &CRANRepo{}
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		repo.mu.Lock()
		repo.got = append(repo.got, r.URL.Path)
		repo.mu.Unlock()
		switch file := strings.TrimPrefix(r.URL.Path, "/src/contrib/"); {
		case r.URL.Path == "/src/contrib/PACKAGES":
			w.Write(index.Bytes())
		case r.URL.Path == "/src/contrib/PACKAGES.gz":
			w.Header().Set("Content-Type", "application/x-gzip")
			w.Write(indexGz.Bytes())
		case tarballs[file] != nil && strings.HasPrefix(r.URL.Path, "/src/contrib/"):
			w.Header().Set("Content-Type", "application/x-gzip")
			w.Write(tarballs[file])
		default: // PACKAGES.rds among others: R falls back to PACKAGES.gz
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(s.Close)
	repo.URL = s.URL
	return repo
}

// WheelOf returns a minimal pure-Python wheel of pkg at version that
// depends on requires (PEP 508 strings), and its file name. Its module
// pkg (dashes made underscores) has VERSION = version.
func WheelOf(t testing.TB, pkg, version string, requires ...string) ([]byte, string) {
	return wheel(t, pkg, version, "VERSION = \""+version+"\"\n", requires...)
}

func wheel(t testing.TB, pkg, version, init string, requires ...string) ([]byte, string) {
	t.Helper()
	mod := strings.ReplaceAll(pkg, "-", "_")
	info := mod + "-" + version + ".dist-info"
	meta := "Metadata-Version: 2.1\nName: " + pkg + "\nVersion: " + version + "\n"
	for _, r := range requires {
		meta += "Requires-Dist: " + r + "\n"
	}
	files := []struct{ name, body string }{
		{mod + "/__init__.py", init},
		{info + "/METADATA", meta},
		{info + "/WHEEL", "Wheel-Version: 1.0\nGenerator: imgctl-test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"},
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	var record strings.Builder
	for _, f := range files {
		w, err := zw.Create(f.name)
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(w, f.body)
		sum := sha256.Sum256([]byte(f.body))
		fmt.Fprintf(&record, "%s,sha256=%s,%d\n", f.name, base64.RawURLEncoding.EncodeToString(sum[:]), len(f.body))
	}
	fmt.Fprintf(&record, "%s/RECORD,,\n", info)
	w, _ := zw.Create(info + "/RECORD")
	io.WriteString(w, record.String())
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes(), mod + "-" + version + "-py3-none-any.whl"
}

// WheelIndex is a PEP 503 simple index on 127.0.0.1 whose wheels a test
// adds and replaces as it goes: each project's page links every file with
// its #sha256= (of the bytes served now).
type WheelIndex struct {
	URL   string
	mu    sync.Mutex
	files map[string]map[string][]byte // project -> file -> bytes
}

// Add serves a wheel of pkg at version depending on requires, and
// returns its bytes.
func (x *WheelIndex) Add(t testing.TB, pkg, version string, requires ...string) []byte {
	b, file := WheelOf(t, pkg, version, requires...)
	x.Put(pkg, file, b)
	return b
}

// Put serves b as file of project pkg, replacing what was served under
// that name.
func (x *WheelIndex) Put(pkg, file string, b []byte) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.files[pkg] == nil {
		x.files[pkg] = map[string][]byte{}
	}
	x.files[pkg][file] = b
}

// ServeWheels starts an empty WheelIndex; its simple index is URL+"/simple/".
func ServeWheels(t testing.TB) *WheelIndex {
	x := &WheelIndex{files: map[string]map[string][]byte{}}
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		x.mu.Lock()
		defer x.mu.Unlock()
		parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
		switch {
		case len(parts) == 1 && parts[0] == "simple":
			fmt.Fprint(w, "<html><body>")
			for p := range x.files {
				fmt.Fprintf(w, "<a href=\"/simple/%s/\">%s</a>", p, p)
			}
			fmt.Fprint(w, "</body></html>\n")
		case len(parts) == 2 && parts[0] == "simple" && x.files[parts[1]] != nil:
			fmt.Fprint(w, "<html><body>")
			for f, b := range x.files[parts[1]] {
				sum := sha256.Sum256(b)
				fmt.Fprintf(w, "<a href=\"/files/%s/%s#sha256=%s\">%s</a>\n", parts[1], f, hex.EncodeToString(sum[:]), f)
			}
			fmt.Fprint(w, "</body></html>\n")
		case len(parts) == 3 && parts[0] == "files" && x.files[parts[1]][parts[2]] != nil:
			w.Write(x.files[parts[1]][parts[2]])
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(s.Close)
	x.URL = s.URL
	return x
}
