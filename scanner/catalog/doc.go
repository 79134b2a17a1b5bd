// Package catalog catalogues the software installed in one root filesystem
// with syft, used as a library, and encodes the result as an SPDX 2.3 JSON
// document.
//
// By default it runs the catalogers syft runs for a container image: the
// records of installed packages, not declarations. Among them: Debian's
// dpkg database (var/lib/dpkg/status and status.d), rpm and apk databases,
// Python distributions (*.dist-info/METADATA and *.egg-info, wherever they
// are: a venv's lib/python3.X/site-packages, /usr/lib/python3/dist-packages,
// …), R packages (every DESCRIPTION file: /usr/lib/R/site-library/*,
// /opt/R/library/*, …), Go and Rust binaries, Java archives, npm's
// node_modules, Ruby gem specifications. Lock files and requirements.txt
// files lying in the filesystem are not counted as installed. Importing
// this package registers the pure-Go SQLite driver (modernc.org/sqlite):
// syft needs one to read newer rpm databases and refuses to catalogue
// without it.
//
// The root is read as a chroot: absolute symbolic links inside it resolve
// inside it, never to the host.
//
// What it must not do: write into the root, reach the network, or know
// about BuildKit (package protocol does); it never changes syft's output
// beyond the document name, so the SPDX creation time and the UUID in the
// document namespace differ from one run to the next, while packages,
// files and relationships come out in syft's sorted order.
package catalog
