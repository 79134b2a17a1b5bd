// Command vulnseed makes the input of bench/vulns.sh: a registry holding a
// published library, the spec library that names it, every SBOM as a file,
// and an offline OSV feed over the packages the SBOMs list.
//
//	vulnseed -registry 127.0.0.1:5057/vb -lib DIR [-sboms DIR] [-feed DIR] [-empty-feed DIR]
//
// It pushes -images images × -versions dated versions (default 20 × 10 =
// 200). Each version is an index shaped as BuildKit publishes it
// (inventorytest.Push): linux/amd64, and linux/arm64 too for every
// other image, each platform with an SPDX SBOM attestation of about 300
// Debian 12 packages (package URLs with distro and upstream qualifiers, as
// syft writes them) and 15–30 PyPI distributions. The versions are tagged
// YYYY.MM.DD a week apart, the newest also latest. Between two dated
// versions about one source package in seven gets a security update
// (+deb12uN) and a few Python distributions a new release, so every version
// has a digest and a package list of its own.
//
// -lib DIR gets lib.cue (the images, each from "scratch", under -registry)
// so that `imgctl vulns DIR --all-versions` finds every version. -sboms DIR
// gets each SBOM as IMAGE_VERSION_OS-ARCH.spdx.json: the SPDX document
// exactly as the attestation holds it (the in-toto statement's predicate,
// read back from the registry). -feed DIR gets DIR/Debian/all.zip and
// DIR/PyPI/all.zip (vulndbtest's records): -debian records on Debian:12
// (default 5,000) and -pypi on PyPI (default 500), one in ten Debian ones
// (one in five PyPI) on a package the SBOMs list, the rest on packages they
// do not. -empty-feed DIR gets a feed of one record that matches nothing.
//
// Names and versions are made up but Debian-shaped, and the same for the
// same flags: -seed picks them. -distro sets the deb package URLs' distro
// qualifier: syft writes the point release (debian-12.15, the default),
// which imgctl reads as Debian:12 and osv-scanner v2.5.0 as Debian:12.15,
// an ecosystem no record names; bench/vulns.sh gives debian-12, which both
// read as Debian:12.
package main

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"golang.org/x/sync/errgroup"

	"github.com/imgctl/imgctl/pkg/attest"
	"github.com/imgctl/imgctl/pkg/inventory/inventorytest"
	"github.com/imgctl/imgctl/pkg/published"
	"github.com/imgctl/imgctl/pkg/vulndb/vulndbtest"
)

type options struct {
	registry                    string
	images, versions            int
	debian, pypi                int
	distro                      string
	seed                        uint64
	jobs                        int
	lib, sboms, feed, emptyFeed string
}

func main() {
	var o options
	flag.StringVar(&o.registry, "registry", "", "registry and repository prefix to push to (HOST:PORT/PREFIX)")
	flag.IntVar(&o.images, "images", 20, "images")
	flag.IntVar(&o.versions, "versions", 10, "dated versions of each image")
	flag.IntVar(&o.debian, "debian", 5000, "Debian:12 records in the feed")
	flag.IntVar(&o.pypi, "pypi", 500, "PyPI records in the feed")
	flag.StringVar(&o.distro, "distro", "debian-12.15", "distro qualifier of the deb package URLs (syft writes debian-12.15; osv-scanner v2.5.0 matches Debian:12 records only with debian-12)")
	flag.Uint64Var(&o.seed, "seed", 1, "seed of the names and versions")
	flag.IntVar(&o.jobs, "jobs", 8, "concurrent pushes")
	flag.StringVar(&o.lib, "lib", "", "directory to write the spec library (lib.cue) to")
	flag.StringVar(&o.sboms, "sboms", "", "directory to write every SBOM to (\"\": none)")
	flag.StringVar(&o.feed, "feed", "", "directory to write the OSV feed to (\"\": none)")
	flag.StringVar(&o.emptyFeed, "empty-feed", "", "directory to write a feed of one record matching nothing to (\"\": none)")
	flag.Parse()
	if o.registry == "" || o.lib == "" || flag.NArg() > 0 || o.images < 1 || o.versions < 1 {
		fmt.Fprintln(os.Stderr, "usage: vulnseed -registry HOST:PORT/PREFIX -lib DIR [-sboms DIR] [-feed DIR] [-empty-feed DIR] [-images N] [-versions V] [-debian N] [-pypi N] [-seed S] [-jobs J]")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, o); err != nil {
		fmt.Fprintln(os.Stderr, "vulnseed:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, o options) error {
	start := time.Now()
	u := newUniverse(o.seed, o.distro)
	lib := fmt.Sprintf("// Written by bench/cmd/vulnseed.\npackage lib\n\nregistry: %q\n", o.registry)
	for i := range o.images {
		lib += fmt.Sprintf("images: %q: from: \"scratch\"\n", imageName(i))
	}
	if err := os.MkdirAll(o.lib, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(o.lib, "lib.cue"), []byte(lib), 0o644); err != nil {
		return err
	}
	if o.sboms != "" {
		if err := os.MkdirAll(o.sboms, 0o755); err != nil {
			return err
		}
	}
	t := fatal{}
	if o.feed != "" {
		vulndbtest.Write(t, o.feed, u.records(o.debian, o.pypi)...)
	}
	if o.emptyFeed != "" {
		vulndbtest.Write(t, o.emptyFeed, vulndbtest.Record{ID: "DEBIAN-CVE-2026-0000", Ecosystem: "Debian:12", Package: "no-such-package", Fixed: "1"})
	}

	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(max(o.jobs, 1))
	opts := []remote.Option{remote.WithContext(ctx)}
	sboms := 0
	for i := range o.images {
		plats := []string{"linux/amd64"}
		if i%2 == 0 {
			plats = append(plats, "linux/arm64")
		}
		sboms += len(plats) * o.versions
		for k := range o.versions {
			g.Go(func() error {
				repo := o.registry + "/" + imageName(i)
				ver := versionTag(k)
				v := inventorytest.Version{Annotations: map[string]string{published.AnnotationContentKey: "vulnseed-" + imageName(i) + "-" + ver}}
				for _, p := range plats {
					v.Platforms = append(v.Platforms, inventorytest.Platform{
						Platform: p,
						Layers:   []string{fmt.Sprintf("%s %s %s", imageName(i), ver, p)},
						Packages: u.packages(i, k, strings.TrimPrefix(p, "linux/")),
					})
				}
				digest := inventorytest.Push(t, repo+":"+ver, v, opts...)
				if k == o.versions-1 {
					if err := tag(repo, digest, published.Latest, opts); err != nil {
						return err
					}
				}
				if o.sboms == "" {
					return nil
				}
				return writeSBOMs(ctx, o.sboms, repo, digest, imageName(i)+"_"+ver, opts)
			})
		}
	}
	if err := g.Wait(); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "vulnseed: %d images × %d versions (%d SBOMs) pushed to %s in %.1fs\n",
		o.images, o.versions, sboms, o.registry, time.Since(start).Seconds())
	return nil
}

// tag points repo:tag at digest.
func tag(repo, digest, tag string, opts []remote.Option) error {
	d, err := name.NewDigest(repo+"@"+digest, name.Insecure)
	if err != nil {
		return err
	}
	desc, err := remote.Get(d, opts...)
	if err != nil {
		return err
	}
	return remote.Tag(d.Context().Tag(tag), desc, opts...)
}

// writeSBOMs reads every SBOM attestation of repo@digest back and writes
// its predicate to dir/BASE_OS-ARCH.spdx.json.
func writeSBOMs(ctx context.Context, dir, repo, digest, base string, opts []remote.Option) error {
	d, err := name.NewDigest(repo+"@"+digest, name.Insecure)
	if err != nil {
		return err
	}
	x, err := attest.Read(ctx, d, opts...)
	if err != nil {
		return err
	}
	for _, p := range x.Platforms {
		s := p.SBOM()
		if s == nil {
			return fmt.Errorf("%s (%s): no SBOM attestation", d, p.Platform)
		}
		st, err := x.ReadStatement(p, *s)
		if err != nil {
			return err
		}
		file := filepath.Join(dir, base+"_"+strings.ReplaceAll(p.Platform, "/", "-")+".spdx.json")
		if err := os.WriteFile(file, st.Predicate, 0o644); err != nil {
			return err
		}
	}
	return nil
}

func imageName(i int) string { return fmt.Sprintf("env-%02d", i+1) }

// versionTag is the k-th dated version: Mondays from 2026.09.07 on.
func versionTag(k int) string {
	return time.Date(2026, 9, 7+7*k, 0, 0, 0, 0, time.UTC).Format("2006.01.02")
}

// fatal lets the test helpers (inventorytest, vulndbtest) run outside a
// test: a failure prints its message and exits 1.
type fatal struct{ testing.TB }

func (fatal) Helper()      {}
func (fatal) Name() string { return "vulnseed" }
func (fatal) Errorf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "vulnseed: "+format+"\n", args...)
}
func (f fatal) Fatal(args ...any) { f.Errorf("%s", fmt.Sprint(args...)); f.FailNow() }
func (f fatal) Fatalf(format string, args ...any) {
	f.Errorf(format, args...)
	f.FailNow()
}
func (fatal) FailNow() { os.Exit(1) }

// newRand is the generator of one choice, so that a choice never depends
// on how many others were made before it.
func newRand(seed uint64, what string, n int) *rand.Rand {
	h := seed
	for _, c := range what {
		h = h*1099511628211 + uint64(c)
	}
	return rand.New(rand.NewPCG(h, uint64(n)))
}
