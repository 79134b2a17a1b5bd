package catalog

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/anchore/syft/syft"
	"github.com/anchore/syft/syft/cataloging"
	"github.com/anchore/syft/syft/cataloging/filecataloging"
	"github.com/anchore/syft/syft/cataloging/pkgcataloging"
	"github.com/anchore/syft/syft/format/common/spdxhelpers"
	"github.com/anchore/syft/syft/pkg"
	"github.com/anchore/syft/syft/sbom"
	"github.com/anchore/syft/syft/source"
	"github.com/anchore/syft/syft/source/directorysource"

	// syft's rpm cataloger refuses to run without a registered "sqlite"
	// driver; this one is pure Go, so the binary stays static.
	"github.com/spdx/tools-golang/convert"
	"github.com/spdx/tools-golang/spdx/v2/v2_3"

	_ "modernc.org/sqlite"
)

// SPDXVersion is the SPDX specification version EncodeSPDX writes.
const SPDXVersion = "2.3"

// Config says how to catalogue a root filesystem. The zero value catalogues
// installed packages the way syft catalogues a container image, without
// file entries, and names the document after the root's distribution.
type Config struct {
	// Name is the SPDX document name (and the name of the document's root
	// package), typically the image reference. The default is DefaultName
	// of the catalogued root: its distribution's pretty name followed by
	// "root filesystem".
	Name string

	// Version is the version of the root package the document describes,
	// e.g. the image's version tag. The default is none.
	Version string

	// Select adjusts the catalogers run, in the form of syft's
	// --select-catalogers: "+name" adds a cataloger, "-name-or-tag" removes
	// some, a bare tag keeps only the catalogers carrying it (e.g. "os",
	// "python"). Elements may themselves be comma-separated lists. The
	// default is no adjustment: syft's "image" catalogers.
	Select []string

	// Files adds one SPDX file entry, with its SHA-256 digest and a
	// CONTAINS relationship from its package, for every file a catalogued
	// package owns (dpkg's md5sums lists, Python RECORD files, …); BuildKit
	// then notes in each entry's comment which layer added the file. It
	// costs ~600 bytes a file: a minimal Debian's document grows from
	// 0.45 MB to 3.1 MB, and an image with a large Python and R stack can
	// approach BuildKit's 80 MiB limit. The default is false: packages,
	// with only the files that are evidence of them (the dpkg status file,
	// each METADATA or DESCRIPTION), without digests.
	Files bool
}

// Scan catalogues the root filesystem at root. It fails when root is not a
// readable directory, when cfg.Select is invalid, or when syft fails; a
// root with no package records gives an SBOM with no packages.
func Scan(ctx context.Context, root string, cfg Config) (*sbom.SBOM, error) {
	fi, err := os.Stat(root)
	if err != nil {
		return nil, fmt.Errorf("reading root filesystem: %w", err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("reading root filesystem %s: not a directory", root)
	}

	// An alias keeps syft from deriving the source's identity (and a
	// warning) from the temporary path the root happens to be mounted at.
	alias := source.Alias{Name: cfg.Name, Version: cfg.Version}
	if alias.Name == "" {
		alias.Name = "rootfs"
	}
	src, err := directorysource.New(directorysource.Config{Path: root, Base: root, Alias: alias})
	if err != nil {
		return nil, fmt.Errorf("opening root filesystem %s: %w", root, err)
	}
	defer src.Close()

	s, err := syft.CreateSBOM(ctx, src, createConfig(cfg))
	if err != nil {
		return nil, fmt.Errorf("cataloguing %s: %w", root, err)
	}
	s.Source.Name = cfg.Name
	if s.Source.Name == "" {
		s.Source.Name = DefaultName(s)
	}
	return s, nil
}

// WithLicenseScanner returns ctx carrying syft's license scanner, which
// takes about a CPU-second to build, so that the Scan calls given it share
// one. Scan builds its own when ctx has none.
func WithLicenseScanner(ctx context.Context) (context.Context, error) {
	ctx, err := syft.SetContextLicenseScanner(ctx, cataloging.DefaultLicenseConfig())
	if err != nil {
		return nil, fmt.Errorf("building the license scanner: %w", err)
	}
	return ctx, nil
}

// createConfig turns cfg into syft's configuration.
func createConfig(cfg Config) *syft.CreateSBOMConfig {
	defaults := []string{pkgcataloging.ImageTag}
	create := syft.DefaultCreateSBOMConfig()
	if cfg.Files {
		defaults = append(defaults, filecataloging.FileTag)
	} else {
		// Without the package-to-file "contains" relationships the SPDX
		// document would still list every file a package owns (without
		// digests): ~600 bytes a file, tens of MB for a scientific image,
		// near BuildKit's 80 MiB limit. Binary packages found in files a
		// package owns are still dropped (PackageFileOwnershipOverlap).
		rel := cataloging.DefaultRelationshipsConfig()
		rel.PackageFileOwnership = false
		create = create.WithoutFiles().WithRelationshipsConfig(rel)
	}
	sel := cataloging.NewSelectionRequest().WithDefaults(defaults...).WithExpression(cfg.Select...)
	return create.WithCatalogerSelection(sel)
}

// DefaultName is the document name Scan gives s when Config.Name is empty:
// "Debian GNU/Linux 12 (bookworm) root filesystem", or "root filesystem"
// when syft found no os-release file.
func DefaultName(s *sbom.SBOM) string {
	if d := s.Artifacts.LinuxDistribution; d != nil {
		if name := strings.TrimSpace(d.String()); name != "" {
			return name + " root filesystem"
		}
	}
	return "root filesystem"
}

// EncodeSPDX writes s to w as one compact SPDX 2.3 JSON document followed by
// a newline, as syft's SPDX JSON encoder does, with one annotation on each
// package whose installed size its ecosystem records (InstalledSizePrefix).
func EncodeSPDX(w io.Writer, s *sbom.SBOM) error {
	if s == nil {
		return errors.New("encoding SPDX: no SBOM")
	}
	latest := spdxhelpers.ToFormatModel(*s)
	if latest == nil {
		return fmt.Errorf("encoding SPDX %s: no document", SPDXVersion)
	}
	annotateSizes(latest, s)
	var doc v2_3.Document
	if err := convert.Document(latest, &doc); err != nil {
		return fmt.Errorf("encoding SPDX %s: %w", SPDXVersion, err)
	}
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(doc); err != nil {
		return fmt.Errorf("encoding SPDX %s: %w", SPDXVersion, err)
	}
	return nil
}

// TypeCount is how many packages of one type an SBOM holds.
type TypeCount struct {
	// Type is syft's package type: "deb", "python", "R-package", ….
	Type string
	// Count is how many packages of that type there are.
	Count int
}

// Counts returns how many packages of each type s holds, by type name.
func Counts(s *sbom.SBOM) []TypeCount {
	if s == nil || s.Artifacts.Packages == nil {
		return nil
	}
	n := map[pkg.Type]int{}
	for _, p := range s.Artifacts.Packages.Sorted() {
		n[p.Type]++
	}
	out := make([]TypeCount, 0, len(n))
	for t, c := range n {
		out = append(out, TypeCount{Type: string(t), Count: c})
	}
	slices.SortFunc(out, func(a, b TypeCount) int { return strings.Compare(a.Type, b.Type) })
	return out
}
