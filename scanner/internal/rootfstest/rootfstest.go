// Package rootfstest writes a small root filesystem for the scanner's tests:
// a Debian 12 os-release, a dpkg status file with two packages, Python
// distributions in a venv and in Debian's dist-packages, and R packages in
// two libraries. Packages lists what a scan of it must report.
//
// It must not be imported by anything but tests.
package rootfstest

import (
	"os"
	"path/filepath"
	"testing"
)

// Package is one package the fixture holds, as a scan must report it.
type Package struct {
	// Name is the package name as syft reports it.
	Name string
	// Version is the package version.
	Version string
	// PURL is the package URL syft gives it.
	PURL string
}

// Packages are the packages in the root Write makes, sorted by PURL.
var Packages = []Package{
	{Name: "jsonlite", Version: "1.8.4", PURL: "pkg:cran/jsonlite@1.8.4"},
	{Name: "rlang", Version: "1.1.1", PURL: "pkg:cran/rlang@1.1.1"},
	// syft takes the distribution version from /etc/debian_version when
	// there is one, as on every Debian.
	{Name: "base-files", Version: "12.4+deb12u5", PURL: "pkg:deb/debian/base-files@12.4%2Bdeb12u5?arch=amd64&distro=debian-12.4"},
	{Name: "libc6", Version: "2.36-9+deb12u4", PURL: "pkg:deb/debian/libc6@2.36-9%2Bdeb12u4?arch=amd64&distro=debian-12.4&upstream=glibc"},
	{Name: "pyyaml", Version: "6.0.1", PURL: "pkg:pypi/pyyaml@6.0.1"},
	{Name: "six", Version: "1.16.0", PURL: "pkg:pypi/six@1.16.0"},
}

// DistroName is the PRETTY_NAME of the fixture's os-release.
const DistroName = "Debian GNU/Linux 12 (bookworm)"

// files maps each regular file of the fixture to its content.
var files = map[string]string{
	"usr/lib/os-release": `PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"
NAME="Debian GNU/Linux"
VERSION_ID="12"
VERSION="12 (bookworm)"
VERSION_CODENAME=bookworm
ID=debian
HOME_URL="https://www.debian.org/"
`,
	"var/lib/dpkg/status": `Package: base-files
Essential: yes
Status: install ok installed
Priority: required
Section: admin
Installed-Size: 340
Maintainer: Santiago Vila <sanvila@debian.org>
Architecture: amd64
Multi-Arch: foreign
Version: 12.4+deb12u5
Provides: base
Description: Debian base system miscellaneous files
 This package contains the basic filesystem hierarchy of a Debian system.

Package: libc6
Status: install ok installed
Priority: optional
Section: libs
Installed-Size: 12988
Maintainer: GNU Libc Maintainers <debian-glibc@lists.debian.org>
Architecture: amd64
Multi-Arch: same
Source: glibc
Version: 2.36-9+deb12u4
Depends: libgcc-s1
Description: GNU C Library: Shared libraries
 Contains the standard libraries that are used by nearly all programs on
 the system.
Homepage: https://www.gnu.org/software/libc/libc.html
`,
	// syft reads the files a package owns from its md5sums list.
	"var/lib/dpkg/info/base-files.list":    "/.\n/etc\n/etc/debian_version\n/usr/lib/os-release\n",
	"var/lib/dpkg/info/base-files.md5sums": "0a5d1e0e1ae2c1fc0a0b6bf2fbd15a4e  usr/lib/os-release\n",
	"var/lib/dpkg/info/libc6.list":         "/.\n/usr\n/usr/lib\n/usr/lib/x86_64-linux-gnu/libc.so.6\n",
	"var/lib/dpkg/info/libc6.md5sums":      "3c8b7d3e2f5a4b1c9d0e6f7a8b9c0d1e  usr/lib/x86_64-linux-gnu/libc.so.6\n",
	"usr/lib/x86_64-linux-gnu/libc.so.6":   "not really a library\n",
	"etc/debian_version":                   "12.4\n",

	"opt/venv/pyvenv.cfg": "home = /usr/bin\ninclude-system-site-packages = false\nversion = 3.11.2\n",
	"opt/venv/lib/python3.11/site-packages/PyYAML-6.0.1.dist-info/METADATA": `Metadata-Version: 2.1
Name: PyYAML
Version: 6.0.1
Summary: YAML parser and emitter for Python
Home-page: https://pyyaml.org/
Author: Kirill Simonov
License: MIT
Requires-Python: >=3.6
`,
	"opt/venv/lib/python3.11/site-packages/PyYAML-6.0.1.dist-info/RECORD": `PyYAML-6.0.1.dist-info/INSTALLER,sha256=zuuue4knoyJ-UwPPXg8fezS7VCrXJQrAP7zeNuwvFQg,4
PyYAML-6.0.1.dist-info/METADATA,sha256=pbbtgMTMCVJqYXBuUw7BPu0m26FZbyQ9yKwzeUkPXpY,2058
PyYAML-6.0.1.dist-info/RECORD,,
PyYAML-6.0.1.dist-info/top_level.txt,sha256=rpj0IVMTisAjh_1vG3Ccf9v5jpCQwAz6cD1IVU5ZdhQ,11
yaml/__init__.py,sha256=bhl05qSeO-1ZxlSRjGrvl2m9nrXb1n9-GQatTN0Mrqc,12311
`,
	"opt/venv/lib/python3.11/site-packages/PyYAML-6.0.1.dist-info/INSTALLER":     "pip\n",
	"opt/venv/lib/python3.11/site-packages/PyYAML-6.0.1.dist-info/top_level.txt": "_yaml\nyaml\n",
	"opt/venv/lib/python3.11/site-packages/yaml/__init__.py":                     "__version__ = '6.0.1'\n",

	"usr/lib/python3/dist-packages/six-1.16.0.egg-info/PKG-INFO": `Metadata-Version: 2.1
Name: six
Version: 1.16.0
Summary: Python 2 and 3 compatibility utilities
Home-page: https://github.com/benjaminp/six
License: MIT
`,
	"usr/lib/python3/dist-packages/six-1.16.0.egg-info/top_level.txt": "six\n",
	"usr/lib/python3/dist-packages/six.py":                            "__version__ = '1.16.0'\n",

	"usr/lib/R/site-library/jsonlite/DESCRIPTION": `Package: jsonlite
Version: 1.8.4
Title: A Simple and Robust JSON Parser and Generator for R
License: MIT + file LICENSE
Depends: methods
NeedsCompilation: yes
Author: Jeroen Ooms [aut, cre]
Maintainer: Jeroen Ooms <jeroen@berkeley.edu>
Repository: CRAN
Built: R 4.2.2; x86_64-pc-linux-gnu; 2023-01-10 12:00:00 UTC; unix
`,
	"opt/R/library/rlang/DESCRIPTION": `Package: rlang
Version: 1.1.1
Title: Functions for Base Types and Core R and 'Tidyverse' Features
License: MIT + file LICENSE
Depends: R (>= 3.5.0)
NeedsCompilation: yes
Maintainer: Lionel Henry <lionel@posit.co>
Repository: CRAN
`,
	// Declared, not installed: a scan of an image must not report these.
	"srv/app/requirements.txt": "flask==3.0.0\n",
}

// Write makes the fixture root in a new temporary directory and returns its
// path. /etc/os-release is a relative symbolic link to
// ../usr/lib/os-release, as on Debian.
func Write(t testing.TB) string {
	t.Helper()
	root := t.TempDir()
	for name, content := range files {
		p := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink("../usr/lib/os-release", filepath.Join(root, "etc", "os-release")); err != nil {
		t.Fatal(err)
	}
	return root
}
