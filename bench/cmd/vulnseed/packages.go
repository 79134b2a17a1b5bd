package main

import (
	"fmt"
	"strings"

	"github.com/package-url/packageurl-go"

	"github.com/imgctl/imgctl/pkg/inventory/inventorytest"
	"github.com/imgctl/imgctl/pkg/vulndb/vulndbtest"
)

// sourceNames are Debian source packages, as bookworm names them; the
// first baseSources are in every image (the base system), the others in
// some. Their binary packages and versions are made up.
var sourceNames = strings.Fields(`
acl adduser apt attr audit base-files base-passwd bash bzip2 ca-certificates
cdebconf coreutils curl cyrus-sasl2 dash db5.3 debconf debianutils diffutils
dpkg e2fsprogs expat findutils gcc-12 gdbm glibc gmp gnupg2 gnutls28 grep
gzip hostname init-system-helpers keyutils krb5 libbsd libcap-ng libcap2
libffi libgcrypt20 libgpg-error libidn2 libmd libnsl libpsl libseccomp
libselinux libsemanage libsepol libssh2 libtasn1-6 libtirpc libunistring
libxcrypt libzstd lz4 mawk ncurses nettle nghttp2 openldap openssl p11-kit
pam pcre2 perl procps readline rtmpdump sed shadow sqlite3 systemd sysvinit
tar tzdata util-linux xz-utils zlib netbase
binutils blas brotli cairo cmake dbus fontconfig freetype fribidi
gcc-defaults gdk-pixbuf giflib git glib2.0 graphite2 gsl harfbuzz icu
imagemagick jbigkit jq lapack lcms2 less libdeflate libedit libevent
libjpeg-turbo libpng1.6 libtool libwebp libx11 libxau libxcb libxdmcp
libxext libxml2 libxrender libxslt libyaml make-dfsg mpclib3 mpfr4 nodejs
onig openblas openjdk-17 openjpeg2 openssh pango1.0 pixman postgresql-15
python3-defaults python3.11 r-base sudo tcl8.6 tiff tk8.6 unzip
vim wget x265 xorg xxhash zip
`)

// baseSources is how many of sourceNames every image has.
const baseSources = 80

// pypiNames are Python distributions a data-science image installs.
var pypiNames = strings.Fields(`
attrs certifi cffi charset-normalizer click cryptography cycler fonttools
idna jinja2 joblib kiwisolver markupsafe matplotlib numpy packaging pandas
pillow pip pyarrow pycparser pyparsing python-dateutil pytz pyyaml requests
scikit-learn scipy setuptools six sqlalchemy statsmodels threadpoolctl
tornado tqdm typing-extensions tzdata urllib3 wheel jupyterlab notebook
ipython traitlets pygments
`)

// source is a Debian source package and the binary packages built from it.
type source struct {
	name                     string
	major, minor, patch, rev int
	// sec is the +deb12uN of the first dated version (0: none); it grows
	// by one every period dated versions (a security update).
	sec, period int
	bins        []binary
}

type binary struct {
	name string
	// all: Architecture: all; epoch: the binary's version has an epoch its
	// source's has not (bsdutils 1:2.38.1-5 from util-linux 2.38.1-5);
	// binNMU is the +bN of a rebuild (0: none).
	all, epoch bool
	binNMU     int
}

// version is the source's version at dated version k.
func (s *source) version(k int) string { return s.versionAt(s.sec + k/s.period) }

func (s *source) versionAt(sec int) string {
	v := fmt.Sprintf("%d.%d.%d-%d", s.major, s.minor, s.patch, s.rev)
	if sec > 0 {
		v += fmt.Sprintf("+deb12u%d", sec)
	}
	return v
}

type pypi struct {
	name                string
	major, minor, patch int
	period              int
}

func (p *pypi) version(k int) string {
	return fmt.Sprintf("%d.%d.%d", p.major, p.minor, p.patch+k/p.period)
}

// universe is every package any image may list.
type universe struct {
	seed    uint64
	distro  string
	sources []source
	pypi    []pypi
}

func newUniverse(seed uint64, distro string) *universe {
	u := &universe{seed: seed, distro: distro}
	seen := map[string]bool{}
	for i, n := range sourceNames {
		r := newRand(seed, "source", i)
		s := source{name: n, major: 1 + r.IntN(9), minor: 1 + r.IntN(20), patch: r.IntN(15), rev: 1 + r.IntN(5), sec: r.IntN(4), period: 4 + r.IntN(9)}
		base := strings.TrimPrefix(n, "lib")
		soname := fmt.Sprint(r.IntN(9))
		if last := base[len(base)-1]; last >= '0' && last <= '9' {
			soname = "-" + soname
		}
		names := []string{n, "lib" + base + soname, n + "-common", "lib" + base + "-dev"}
		for j, bn := range names[:1+r.IntN(len(names))] {
			if seen[bn] {
				continue
			}
			seen[bn] = true
			b := binary{name: bn, all: j == 2, epoch: r.IntN(20) == 0}
			if r.IntN(10) == 0 {
				b.binNMU = 1 + r.IntN(3)
			}
			s.bins = append(s.bins, b)
		}
		u.sources = append(u.sources, s)
	}
	for i, n := range pypiNames {
		r := newRand(seed, "pypi", i)
		u.pypi = append(u.pypi, pypi{name: n, major: r.IntN(5), minor: 1 + r.IntN(30), patch: r.IntN(10), period: 3 + r.IntN(8)})
	}
	return u
}

// packages lists what image i's version k holds on arch (amd64, arm64).
func (u *universe) packages(i, k int, arch string) []inventorytest.Package {
	r := newRand(u.seed, "image", i)
	picked := u.sources[:baseSources:baseSources]
	for _, j := range r.Perm(len(u.sources) - baseSources)[:30] {
		picked = append(picked, u.sources[baseSources+j])
	}
	var out []inventorytest.Package
	for _, s := range picked {
		sv := s.version(k)
		for _, b := range s.bins {
			v := sv
			if b.epoch {
				v = "1:" + v
			}
			if b.binNMU > 0 {
				v += fmt.Sprintf("+b%d", b.binNMU)
			}
			a := arch
			if b.all {
				a = "all"
			}
			q := map[string]string{"arch": a, "distro": u.distro}
			if b.name != s.name || v != sv {
				q["upstream"] = s.name + "@" + sv
			}
			purl := packageurl.NewPackageURL(packageurl.TypeDebian, "debian", b.name, v, packageurl.QualifiersFromMap(q), "").ToString()
			out = append(out, inventorytest.Package{Name: b.name, Version: v, PURL: purl})
		}
	}
	for _, j := range r.Perm(len(u.pypi))[:15+r.IntN(16)] {
		p := u.pypi[j]
		out = append(out, inventorytest.Py(p.name, p.version(k)))
	}
	return out
}

// records makes nDebian Debian:12 records and nPyPI PyPI ones: one in ten
// Debian records (one in five PyPI) on a package the images list (more on
// the base system's), the rest on packages no image has. Each affects its
// package from the start and is fixed below every installed version (half
// of them: records that no longer apply), in a security update some dated
// versions install, not yet, or only upstream.
func (u *universe) records(nDebian, nPyPI int) []vulndbtest.Record {
	var out []vulndbtest.Record
	for n := range nDebian {
		r := newRand(u.seed, "debian", n)
		rec := vulndbtest.Record{ID: fmt.Sprintf("DEBIAN-CVE-%d-%d", 2018+n%9, 10000+n), Ecosystem: "Debian:12"}
		rec.Aliases = []string{strings.TrimPrefix(rec.ID, "DEBIAN-")}
		var s source
		if n%10 == 0 {
			s = u.sources[r.IntN(r.IntN(len(u.sources))+1)]
		} else {
			s = source{name: absentName(r), major: 1 + r.IntN(9), minor: 1 + r.IntN(20), patch: r.IntN(15), rev: 1 + r.IntN(5)}
		}
		rec.Package = s.name
		switch x := r.IntN(100); {
		case x < 50:
			rec.Fixed = fmt.Sprintf("%d.%d-1", s.major, s.minor)
		case x < 70:
			rec.Fixed = s.versionAt(s.sec + 1 + r.IntN(3))
		case x < 90:
		default:
			rec.Fixed = fmt.Sprintf("%d.%d.%d-1", s.major, s.minor, s.patch+1)
		}
		rec.CVSS = severity(r.IntN(100))
		out = append(out, rec)
	}
	const ghsa = "23456789cfghjmpqrvwx"
	for n := range nPyPI {
		r := newRand(u.seed, "pypi-record", n)
		id := []byte("GHSA-xxxx-xxxx-xxxx")
		for i, c := range id {
			if c == 'x' {
				id[i] = ghsa[r.IntN(len(ghsa))]
			}
		}
		rec := vulndbtest.Record{ID: string(id), Ecosystem: "PyPI", Aliases: []string{fmt.Sprintf("CVE-%d-%d", 2018+n%9, 40000+n)}}
		var p pypi
		if n%5 == 0 {
			p = u.pypi[r.IntN(len(u.pypi))]
		} else {
			p = pypi{name: "py-" + absentName(r), major: r.IntN(5), minor: 1 + r.IntN(30), patch: r.IntN(10)}
		}
		rec.Package = p.name
		switch x := r.IntN(100); {
		case x < 50:
			rec.Fixed = fmt.Sprintf("%d.%d", p.major, p.minor-1)
		case x < 70:
			rec.Fixed = fmt.Sprintf("%d.%d.%d", p.major, p.minor, p.patch+1+r.IntN(3))
		case x < 90:
		default:
			rec.Fixed = fmt.Sprintf("%d.0.0", p.major+1)
		}
		rec.CVSS = severity(r.IntN(100))
		out = append(out, rec)
	}
	return out
}

// absentName is a package name no image has: another language's package
// of a known name.
func absentName(r interface{ IntN(int) int }) string {
	pre := []string{"golang", "node", "ruby", "php", "rust", "haskell", "ocaml", "libjs", "lua", "erlang"}
	words := append(append([]string{}, sourceNames...), pypiNames...)
	return pre[r.IntN(len(pre))] + "-" + words[r.IntN(len(words))]
}

// severity is a record's CVSS vector, or none (a third of Debian's
// records carry no score).
func severity(x int) string {
	switch {
	case x < 35:
		return ""
	case x < 50:
		return vulndbtest.Critical
	case x < 75:
		return vulndbtest.High
	}
	return vulndbtest.Medium
}
