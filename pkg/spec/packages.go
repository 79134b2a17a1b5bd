package spec

import (
	"fmt"
	"net/url"
	"strings"
)

var (
	// debNameRE is Debian policy's package name (§5.6.1).
	debNameRE = lazyRegexp(`^[a-z0-9][a-z0-9+.-]+$`)
	// debVersionRE is a Debian version, loosely: [epoch:]upstream[-revision].
	debVersionRE = lazyRegexp(`^[A-Za-z0-9][A-Za-z0-9.+~:-]*$`)
	// debReleaseRE is a release name (bookworm-backports) or number (12).
	debReleaseRE = lazyRegexp(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)
	// rNameRE is CRAN's package name rule.
	rNameRE = lazyRegexp(`^[A-Za-z][A-Za-z0-9.]*[A-Za-z0-9]$`)
	// scpRemoteRE is git's scp-like remote, user@host:path.
	scpRemoteRE = lazyRegexp(`^[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:[^\s]+$`)
)

// checkAptPackage checks one apt entry: a Debian package name, optionally
// followed by "=VERSION" or "/RELEASE". The error is the whole message,
// naming the entry.
func checkAptPackage(s string) error {
	const rule = "lowercase letters, digits, '+', '-' and '.', starting with a letter or digit, at least two characters; optionally =VERSION or /RELEASE"
	switch {
	case strings.HasPrefix(s, "-"):
		return fmt.Errorf("%q: apt-get options are not packages (imgctl runs apt-get install -y; see aptRecommends)", s)
	case strings.ContainsAny(s, " \t\n"):
		return fmt.Errorf("%q is not a Debian package name: give one package per entry", s)
	}
	name, version, pinned := strings.Cut(s, "=")
	release := ""
	if !pinned {
		name, release, _ = strings.Cut(s, "/")
	}
	switch {
	case !debNameRE().MatchString(name):
		return fmt.Errorf("%q is not a Debian package name (%s)", s, rule)
	case pinned && version == "":
		return fmt.Errorf("%q: missing version after \"=\"", s)
	case pinned && !debVersionRE().MatchString(version):
		return fmt.Errorf("%q: %q is not a Debian version", s, version)
	case !pinned && strings.HasSuffix(s, "/"):
		return fmt.Errorf("%q: missing release after \"/\"", s)
	case !pinned && strings.Contains(s, "/") && !debReleaseRE().MatchString(release):
		return fmt.Errorf("%q: %q is not a release name (e.g. bookworm-backports)", s, release)
	}
	return nil
}

// checkRPackage checks one r.packages entry: a CRAN package name (letters,
// digits and '.', starting with a letter, not ending with '.', at least two
// characters). Versions are refused with their own message. The error is
// the whole message, naming the entry.
func checkRPackage(s string) error {
	if rNameRE().MatchString(s) {
		return nil
	}
	if i := strings.IndexAny(s, " \t(@=<>"); i > 0 {
		if name := strings.TrimSpace(s[:i]); rNameRE().MatchString(name) {
			return fmt.Errorf("%q: R package versions are not supported; list the name %q and pin versions with a dated snapshot repository in r.repo", s, name)
		}
	}
	return fmt.Errorf("%q is not an R package name (letters, digits and '.', starting with a letter, not ending with '.', at least two characters)", s)
}

// checkSource checks policy.source: a remote URL of the spec repository,
// https://…, http://…, ssh://… or git's user@host:path, without
// credentials. The error is the whole message, naming the value.
func checkSource(s string) error {
	const want = "use the repository's remote URL (https://…, ssh://… or git@host:path)"
	if scpRemoteRE().MatchString(s) && !strings.Contains(s, "://") {
		return nil
	}
	u, err := url.Parse(s)
	switch {
	case err == nil && (u.Scheme == "file" || u.Scheme == "" && looksLocal(s)):
		return fmt.Errorf("%q is a local path: never publish a local filesystem path; %s", s, want)
	case err != nil, u.Scheme != "http" && u.Scheme != "https" && u.Scheme != "ssh", u.Host == "":
		return fmt.Errorf("%q is not a repository URL; %s", s, want)
	case u.User != nil && u.Scheme != "ssh":
		return fmt.Errorf("%q: credentials in the URL would be recorded on every image", s)
	case u.User != nil:
		if _, ok := u.User.Password(); ok {
			return fmt.Errorf("%q: a password in the URL would be recorded on every image", s)
		}
	}
	return nil
}

// looksLocal reports whether s, which has no URL scheme, reads as a
// filesystem path rather than a URL missing its scheme ("github.com/o/r").
func looksLocal(s string) bool {
	if s == "" || strings.ContainsAny(s[:1], "/.~") {
		return true
	}
	first, _, _ := strings.Cut(s, "/")
	return !strings.Contains(first, ".")
}
