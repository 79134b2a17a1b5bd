// Package vulns answers which published versions carry a known
// vulnerability: it matches the packages a version's SBOMs list
// (inventory) against a feed (vulndb), per image, version and platform,
// applies the accepted risks of policy.vulnerabilities.ignore (reported
// as ignored, never dropped), and decides the publish gate
// (policy.vulnerabilities.fail, fixable). It renders the report as text
// and as JSON (format_version "1", docs/vulnerabilities.md) and the
// ignored findings as OpenVEX.
//
// Packages a Debian package installed (Python modules under
// /usr/lib/python3, R's own library) are matched as that Debian package,
// not again as PyPI or CRAN: Debian backports fixes to its versions.
//
// It reads versions through the Reader it is given and never builds,
// pulls layers or writes to a registry; it holds no registry client.
package vulns
