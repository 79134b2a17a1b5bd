package resolve

import (
	"fmt"
	"strings"

	"github.com/imgctl/imgctl/pkg/build"
	"github.com/imgctl/imgctl/pkg/lock"
	"github.com/imgctl/imgctl/pkg/spec"
)

// The probes' scripts. Each writes its answer to $IMGCTL_PROBE_OUT
// (build.ProbeOutEnv).

// dpkgState prints the installed packages as "<tag>\tname\tversion\tarch".
const dpkgState = `dpkg-query -W -f '${db:Status-Abbrev}\t${Package}\t${Version}\t${Architecture}\n' | awk -F '\t' -v t="$1" '$1 ~ /^ii/ {print t "\t" $2 "\t" $3 "\t" $4}'`

// aptProbe installs the image's apt packages as a build would (so that
// the pip and R probes after it find python3-pip or r-base-core) and
// answers dpkg's state before and after. Versions of keep are preferred
// (priority 990: chosen over the candidate, never a downgrade of what is
// installed), so relocking moves nothing the spec did not change.
func aptProbe(im *spec.Image, keep *lock.Packages) string {
	var b strings.Builder
	b.WriteString("set -e; export DEBIAN_FRONTEND=noninteractive; state() { " + dpkgState + "; }; ")
	b.WriteString(`state B > "$` + build.ProbeOutEnv + `"; `)
	if keep != nil && len(keep.Apt) > 0 {
		b.WriteString("printf '%s\\n'")
		for _, p := range keep.Apt {
			fmt.Fprintf(&b, " %s", shellQuote(fmt.Sprintf("Package: %s\nPin: version %s\nPin-Priority: 990\n", p.Name, p.Version)))
		}
		b.WriteString(" > /etc/apt/preferences.d/imgctl-lock; ")
	}
	flag := " --no-install-recommends"
	if im.AptRecommends {
		flag = ""
	}
	b.WriteString("apt-get update -qq; apt-get install -y -qq" + flag + " " + shellWords(im.Apt) + " > /tmp/imgctl-apt.log || { cat /tmp/imgctl-apt.log; exit 1; }; ")
	b.WriteString(`rm -f /etc/apt/preferences.d/imgctl-lock; state A >> "$` + build.ProbeOutEnv + `"; apt-get clean; rm -rf /var/lib/apt/lists/*`)
	return b.String()
}

// pipProbe asks pip what it would install (--dry-run --report), with the
// kept versions as constraints; when they no longer fit the spec, it asks
// again without. The ancestors' distributions are installed, so pip keeps
// them unless the image needs others: then the report lists those, and
// Resolve names the conflict (a constraint would only make pip fail
// without saying which spec entry asked).
func pipProbe(im *spec.Image, keep *lock.Packages) (string, error) {
	cmd, err := build.PipCommand(im.Pip)
	if err != nil {
		return "", err
	}
	var pins []string
	var kept []string
	if keep != nil {
		for _, d := range keep.Pip {
			kept = append(kept, d.Name+"=="+d.Version)
		}
	}
	write := func(file string, lines []string) string {
		return "printf '%s\\n' " + shellWords(append([]string{"# imgctl lock"}, lines...)) + " > " + file + "; "
	}
	var b strings.Builder
	b.WriteString("set -e; ")
	b.WriteString(write("/tmp/imgctl-pins.txt", pins))
	b.WriteString(write("/tmp/imgctl-keep.txt", append(append([]string{}, pins...), kept...)))
	ask := func(constraints string) string {
		return cmd + ` --dry-run --quiet --report "$` + build.ProbeOutEnv + `" -c ` + constraints + " " + shellWords(im.Pip.Packages)
	}
	if len(kept) > 0 {
		b.WriteString(ask("/tmp/imgctl-keep.txt") + " 2>/dev/null || ")
	}
	b.WriteString(ask("/tmp/imgctl-pins.txt"))
	return b.String(), nil
}

// rProbe works out the R packages install.packages would fetch for the
// image (its packages and their Depends, Imports and LinkingTo, less what
// is installed), downloads each to hash it, and answers one
// "name\tversion\turl\tsha256" line per package.
func rProbe(im *spec.Image) string {
	names := make([]string, len(im.R.Packages))
	for i, p := range im.R.Packages {
		names[i] = rString(p)
	}
	expr := fmt.Sprintf(`out <- Sys.getenv(%s); pkgs <- c(%s); ap <- available.packages(repos = %s); `+
		`deps <- unlist(tools::package_dependencies(pkgs, db = ap, which = c("Depends", "Imports", "LinkingTo"), recursive = TRUE)); `+
		`need <- setdiff(unique(c(pkgs, deps)), c("R", rownames(installed.packages()))); `+
		`miss <- setdiff(need, rownames(ap)); if (length(miss) > 0) stop("not in the repository: ", paste(miss, collapse = ", "), call. = FALSE); `+
		`cat("", file = out); for (p in sort(need)) { v <- ap[p, "Version"]; u <- paste0(ap[p, "Repository"], "/", p, "_", v, ".tar.gz"); `+
		`f <- tempfile(); download.file(u, f, mode = "wb", quiet = TRUE); s <- strsplit(system2("sha256sum", shQuote(f), stdout = TRUE), " ")[[1]][1]; unlink(f); `+
		`cat(p, v, u, s, sep = "\t", file = out, append = TRUE); cat("\n", file = out, append = TRUE) }`,
		rString(build.ProbeOutEnv), strings.Join(names, ", "), rString(build.RRepo(im.R)))
	return "Rscript -e " + shellQuote(expr)
}

var (
	shellQuote = build.ShellQuote
	shellWords = build.ShellWords
	rString    = build.RString
)
