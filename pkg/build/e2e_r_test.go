package build

import (
	"archive/tar"
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/imgctl/imgctl/internal/e2etest"
	"github.com/imgctl/imgctl/pkg/spec"
)

// tarFiles lists the regular files of an uncompressed layer tar, by path
// without a leading "./" or "/".
func tarFiles(t *testing.T, layer []byte) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	tr := tar.NewReader(bytes.NewReader(layer))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		out[strings.TrimPrefix(strings.TrimPrefix(h.Name, "./"), "/")] = b
	}
}

// TestE2ERRepo installs an R package from a CRAN-like repository the test
// serves on loopback, with the r step (r.packages, r.repo), into an image
// whose R comes from Debian's r-base-core.
//
// It does not check that the r layer is reproducible: R CMD INSTALL
// writes the time of the install into DESCRIPTION ("Built:") and
// Meta/package.rds, and the path of its random temporary directory into
// help/paths.rds and the help database.
func TestE2ERRepo(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: needs a Debian base with r-base-core (debootstrap on first run, apt-get from the Debian mirror); run without -short")
	}
	c := newClient(t)
	reg := e2etest.Registry(t)
	const pkg, version, greeting = "imgctlhello", "0.1.0", "hello from imgctl"
	tarball := pkg + "_" + version + ".tar.gz"
	cran := e2etest.ServeCRAN(t, map[string][]byte{tarball: e2etest.RSourcePackage(t, pkg, version, greeting)})

	// The Debian rootfs as an external base, the way Debian's images are
	// made, and R from the Debian mirror on top of it.
	debian := e2etest.PushRootfs(t, e2etest.DebianRootfs(t), reg+"/library/debian:bookworm")
	rBase := Request{
		Image: &spec.Image{
			Name: "r-base", From: "debian",
			Env: map[string]string{"LANG": "C.UTF-8"},
			Apt: []string{"r-base-core"},
		},
		Base: debian, Repository: reg + "/datasci/r-base", Insecure: true,
	}
	rBaseDigest := mustBuild(t, c, rBase)

	repo := reg + "/datasci/r-hello"
	req := Request{
		Image: &spec.Image{
			Name: "r-hello", Parent: "r-base",
			R: &spec.R{Packages: []string{pkg}, Repo: cran.URL},
			Run: []string{
				`Rscript -e 'library(imgctlhello); stopifnot(hello() == "hello from imgctl")'`,
				`Rscript -e 'writeLines(c(imgctlhello::hello(), find.package("imgctlhello")), "/r-hello")'`,
			},
		},
		Base: rBase.Repository + "@" + rBaseDigest, Repository: repo, Insecure: true,
	}
	res, _, err := build(t, c, req)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"/src/contrib/PACKAGES.gz", "/src/contrib/" + tarball} {
		if !cran.Requested(want) {
			t.Errorf("the repository was not asked for %s (requests: %q)", want, cran.Requests())
		}
	}

	p := pull(t, repo+"@"+res.Digest)
	// Layers: rootfs, apt, r, run[0], run[1].
	if n := len(p.layers); n != 5 {
		t.Fatalf("%d layers, want 5 (rootfs, apt, r, 2 runs)", n)
	}
	hello := strings.Split(strings.TrimSpace(string(p.files["r-hello"].content)), "\n")
	if len(hello) != 2 || hello[0] != greeting {
		t.Fatalf("/r-hello = %q, want the greeting and the package's directory", p.files["r-hello"].content)
	}
	// The package is installed by the r step, in its own layer, where R
	// says it is.
	dir := strings.TrimPrefix(hello[1], "/")
	t.Logf("%s is installed in /%s", pkg, dir)
	rLayer := tarFiles(t, p.layers[2])
	desc, ok := rLayer[dir+"/DESCRIPTION"]
	if !ok {
		var names []string
		for n := range rLayer {
			names = append(names, n)
		}
		t.Fatalf("the r step's layer has no %s/DESCRIPTION; it holds %q", dir, names)
	}
	for _, want := range []string{"Package: " + pkg + "\n", "Version: " + version + "\n", "Built: R "} {
		if !bytes.Contains(desc, []byte(want)) {
			t.Errorf("installed DESCRIPTION lacks %q:\n%s", want, desc)
		}
	}
	if _, ok := rLayer[dir+"/R/"+pkg+".rdb"]; !ok {
		t.Errorf("the r step's layer has no lazy-load database %s/R/%s.rdb", dir, pkg)
	}
	if !strings.Contains(dir, "site-library/") {
		t.Errorf("%s is installed in /%s, want a site library", pkg, dir)
	}
	var rHistory string
	for _, h := range p.config.History {
		if strings.Contains(h.CreatedBy, "install.packages") {
			rHistory = h.CreatedBy
		}
	}
	if !strings.Contains(rHistory, `repos = "`+cran.URL+`"`) {
		t.Errorf("no history entry installs from %s: %q", cran.URL, rHistory)
	}

	// A package the repository does not have: install.packages only warns,
	// the step stops.
	missing := req
	missing.Image = &spec.Image{
		Name: "r-missing", Parent: "r-base",
		R: &spec.R{Packages: []string{pkg, "imgctlnosuchpkg"}, Repo: cran.URL},
	}
	missing.Repository = reg + "/datasci/r-missing"
	_, _, err = build(t, c, missing)
	var se *StepError
	if !errors.As(err, &se) || se.Field != "r" {
		t.Fatalf("error = %v, want the r step's StepError", err)
	}
	msg := err.Error()
	t.Logf("error:\n%s", msg)
	for _, want := range []string{"building r-missing: step 1/1 (r) failed", "R packages not installed: imgctlnosuchpkg"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error lacks %q", want)
		}
	}
}
