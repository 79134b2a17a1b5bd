// Package vulndb is the vulnerability feed: OSV records per ecosystem
// (Debian:N, PyPI, CRAN, …), read offline from a directory of OSV's
// per-ecosystem archives (DIR/<Ecosystem>/all.zip, osv-scanner's and
// osv-scalibr's offline layouts too) or from the OCI artifact imgctl
// vulndb push stores them in (REGISTRY/imgctl-vulndb), loaded once per
// command and indexed by package.
//
// Matching is osv-scalibr's (enricher/vulnmatch/osvlocal): ecosystems,
// PEP 503 names and the Debian, PEP 440 and R version orders are the
// library's (package semantic), not imgctl's. Severity comes from the
// record's CVSS vectors (go-cvss), else from the severity its database
// or ecosystem states.
//
// It must not read images or SBOMs, know specs or policies, or touch the
// network beyond the registry reads and writes of the artifact.
package vulndb
