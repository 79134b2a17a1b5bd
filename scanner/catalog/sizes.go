package catalog

import (
	"strconv"

	"github.com/anchore/syft/syft/pkg"
	"github.com/anchore/syft/syft/sbom"
	"github.com/spdx/tools-golang/spdx"
	"github.com/spdx/tools-golang/spdx/v2/common"
)

// InstalledSizePrefix starts the comment of the SPDX package annotation
// that records a package's installed size in bytes:
// "imgctl.installed-size=13299712". imgctl's SBOM reader (pkg/attest)
// parses the same text; BuildKit's SPDX round trip keeps package
// annotations.
const InstalledSizePrefix = "imgctl.installed-size="

// Annotator is who the size annotations say made them.
const Annotator = "imgctl-sbom-scanner"

// InstalledSize is the installed size in bytes of p where its ecosystem
// records one: dpkg's Installed-Size (KiB), the sum of the sizes in a
// Python distribution's RECORD. ok is false when it records none (R
// packages, egg-info, RECORD without sizes).
func InstalledSize(p pkg.Package) (size int64, ok bool) {
	switch m := p.Metadata.(type) {
	case pkg.DpkgDBEntry:
		if m.InstalledSize > 0 {
			return int64(m.InstalledSize) * 1024, true
		}
	case pkg.PythonPackage:
		for _, f := range m.Files {
			if n, err := strconv.ParseInt(f.Size, 10, 64); err == nil && n >= 0 {
				size, ok = size+n, true
			}
		}
	}
	return size, ok
}

// annotateSizes adds a size annotation to each package of doc whose syft
// package records an installed size, matched by name, version and package
// URL (packages equal in all three get the same size).
func annotateSizes(doc *spdx.Document, s *sbom.SBOM) {
	if s.Artifacts.Packages == nil {
		return
	}
	type id struct{ name, version, purl string }
	sizes := map[id]int64{}
	for _, p := range s.Artifacts.Packages.Sorted() {
		if n, ok := InstalledSize(p); ok {
			sizes[id{p.Name, p.Version, p.PURL}] = n
		}
	}
	date := ""
	if doc.CreationInfo != nil {
		date = doc.CreationInfo.Created
	}
	for _, sp := range doc.Packages {
		purl := ""
		for _, r := range sp.PackageExternalReferences {
			if r.RefType == common.TypePackageManagerPURL {
				purl = r.Locator
				break
			}
		}
		n, ok := sizes[id{sp.PackageName, sp.PackageVersion, purl}]
		if !ok {
			continue
		}
		sp.Annotations = append(sp.Annotations, spdx.Annotation{
			Annotator:         common.Annotator{Annotator: Annotator, AnnotatorType: "Tool"},
			AnnotationDate:    date,
			AnnotationType:    "OTHER",
			AnnotationComment: InstalledSizePrefix + strconv.FormatInt(n, 10),
		})
	}
}
