package build

import (
	"fmt"
	"net/url"
	"path"
	"sort"
	"strings"

	"github.com/imgctl/imgctl/pkg/lock"
	"github.com/imgctl/imgctl/pkg/spec"
)

// A locked image (spec.Image.Locked) installs exactly its lock for the
// platform: every apt package at its version, every pip distribution from
// its locked URL with its hash required and no dependency resolution,
// every R package from its locked URL with its sha256 checked. A locked
// version the source no longer serves fails the step with a message that
// says how to move on; a changed archive fails it on the hash.

// lockedPackages returns im's lock for platform, or an error when the
// lock has none for it.
func lockedPackages(im *spec.Image, platform string) (*lock.Packages, error) {
	p := im.Lock.For(platform)
	if p == nil {
		return nil, fmt.Errorf("lock %s has no packages for %s; run imgctl lock %s", im.LockFile, platform, im.Name)
	}
	return p, nil
}

// upgradeHint is how a failed locked install tells the user to move on.
func upgradeHint(image string) string { return "run imgctl lock --upgrade " + image }

// aptLockedScript installs pkgs at their versions. When the install
// fails, each is looked up (apt-cache show prints nothing, and may still
// exit 0, for a version it does not know), so a version the archive no
// longer serves is named as such rather than lost in apt's resolver
// output. The lookups only run on failure: each loads apt's cache, which
// takes seconds under QEMU.
func aptLockedScript(image string, pkgs []lock.AptPackage) string {
	words := make([]string, len(pkgs))
	for i, p := range pkgs {
		words[i] = p.Name + "=" + p.Version
		if p.Arch != "all" {
			words[i] = p.Name + ":" + p.Arch + "=" + p.Version
		}
	}
	list := shellWords(words)
	return "export DEBIAN_FRONTEND=noninteractive && apt-get update && " +
		"if ! apt-get install -y --no-install-recommends --allow-downgrades " + list + "; then " +
		"for p in " + list + "; do apt-cache show \"$p\" 2>/dev/null | grep -q '^Version: ' || " +
		"{ echo \"locked ${p%%:*}=${p##*=} is no longer served by the archive; " + upgradeHint(image) + "\" >&2; exit 100; }; done; exit 100; fi" +
		" && apt-get clean && rm -rf " + aptCleanup
}

// pipLockedScript installs dists from their locked URLs, each with its
// sha256 required, without resolving dependencies (the lock holds them
// all). The index stays given for its credentials (pip sends an index's
// credentials to URLs on its host) and trusted hosts.
func pipLockedScript(p *spec.Pip, dists []lock.Dist) (string, error) {
	var b strings.Builder
	b.WriteString("printf '%s\\n'")
	hosts := map[string]bool{}
	for _, d := range dists {
		fmt.Fprintf(&b, " %s", shellQuote(fmt.Sprintf("%s @ %s --hash=sha256:%s", d.Name, d.URL, d.SHA256)))
		if u, err := url.Parse(d.URL); err == nil && u.Scheme == "http" {
			hosts[u.Host] = true
		}
	}
	b.WriteString(" > /tmp/imgctl-pip-lock.txt && ")
	base, err := pipScript(&spec.Pip{Index: p.Index, CredentialsEnv: p.CredentialsEnv})
	if err != nil {
		return "", err
	}
	b.WriteString(strings.TrimRight(base, " ")) // "… pip install --no-cache-dir [--index-url …] " with no packages
	for _, h := range sortedSet(hosts) {
		if !strings.Contains(base, "--trusted-host "+shellQuote(h)) {
			b.WriteString(" --trusted-host " + shellQuote(h))
		}
	}
	b.WriteString(" --no-deps --require-hashes -r /tmp/imgctl-pip-lock.txt && rm -f /tmp/imgctl-pip-lock.txt")
	return b.String(), nil
}

// rLockedScript downloads each locked R package from its URL, checks its
// sha256, makes a local CRAN-like repository of them and installs the
// image's packages from it alone: R orders the installs by dependency,
// and a package missing from the lock fails instead of being fetched.
func rLockedScript(image string, r *spec.R, dists []lock.Dist) string {
	var names, urls, files, sums []string
	for _, d := range dists {
		names = append(names, rString(d.Name))
		urls = append(urls, rString(d.URL))
		files = append(files, rString(path.Base(d.URL)))
		sums = append(sums, rString(d.SHA256))
	}
	expr := fmt.Sprintf(`d <- file.path(tempdir(), "imgctl-lock"); cd <- file.path(d, "src", "contrib"); dir.create(cd, recursive = TRUE); `+
		`n <- c(%s); u <- c(%s); f <- c(%s); s <- c(%s); v <- c(%s); `+
		`for (i in seq_along(u)) { p <- file.path(cd, f[i]); `+
		`ok <- tryCatch({ suppressWarnings(download.file(u[i], p, mode = "wb", quiet = TRUE)) == 0 }, error = function(e) FALSE); `+
		`if (!ok) stop("locked ", n[i], "=", v[i], " is no longer served by the repository (", u[i], "); %s", call. = FALSE); `+
		`got <- strsplit(system2("sha256sum", shQuote(p), stdout = TRUE), " ")[[1]][1]; `+
		`if (!identical(got, s[i])) stop("locked ", n[i], "=", v[i], " from ", u[i], " has sha256 ", got, ", the lock says ", s[i], call. = FALSE) }; `+
		`tools::write_PACKAGES(cd, type = "source"); `+
		`install.packages(n, repos = paste0("file://", d), type = "source"); `+
		`missing <- n[!vapply(n, requireNamespace, logical(1), quietly = TRUE)]; `+
		`if (length(missing) > 0) stop("R packages not installed: ", paste(missing, collapse = ", ")); unlink(d, recursive = TRUE)`,
		strings.Join(names, ", "), strings.Join(urls, ", "), strings.Join(files, ", "), strings.Join(sums, ", "),
		rVersions(dists), upgradeHint(image))
	return "Rscript -e " + shellQuote(expr)
}

func rVersions(ds []lock.Dist) string {
	v := make([]string, len(ds))
	for i, d := range ds {
		v[i] = rString(d.Version)
	}
	return strings.Join(v, ", ")
}

func sortedSet(m map[string]bool) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
