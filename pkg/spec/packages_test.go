package spec

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// checkCase is one input of a checker and the error it gives: "" for none,
// else the whole message.
type checkCase struct{ in, err string }

func runChecks(t *testing.T, check func(string) error, cases []checkCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			err := check(tc.in)
			if tc.err == "" {
				assert.NoError(t, err)
				return
			}
			assert.EqualError(t, err, tc.err)
		})
	}
}

func TestCheckPlatform(t *testing.T) {
	const arches = "amd64, arm64, arm, 386, ppc64le, s390x, riscv64, mips64le, loong64"
	runChecks(t, checkPlatform, []checkCase{
		{"linux/amd64", ""},
		{"linux/arm64", ""},
		{"linux/arm64/v8", ""},
		{"linux/arm/v7", ""},
		{"linux/arm/v5", ""},
		{"linux/arm", ""},
		{"linux/amd64/v3", ""},
		{"linux/386", ""},
		{"linux/ppc64le", ""},
		{"linux/s390x", ""},
		{"linux/riscv64", ""},
		{"linux/mips64le", ""},
		{"linux/loong64", ""},
		{"toaster/9000", `"toaster/9000" is not a known platform: OS "toaster" (want linux: only linux images are built); architecture "9000" (want one of ` + arches + `)`},
		{"windows/amd64", `"windows/amd64" is not a known platform: OS "windows" (want linux: only linux images are built)`},
		{"linux/x86_64", `"linux/x86_64" is not a known platform: architecture "x86_64" (want one of ` + arches + `)`},
		{"linux/arm/v8", `"linux/arm/v8" is not a known platform: variant "v8" (want v5, v6 or v7 for arm)`},
		{"linux/arm64/v7", `"linux/arm64/v7" is not a known platform: variant "v7" (want v8 for arm64)`},
		{"linux/amd64/v1", `"linux/amd64/v1" is not a known platform: variant "v1" (want v2, v3 or v4 for amd64)`},
		{"linux/386/v2", `"linux/386/v2" is not a known platform: variant "v2" (386 has no variants)`},
		{"linux", `"linux" is not a platform: want os/architecture or os/architecture/variant, e.g. linux/amd64`},
		{"linux/arm/v7/x", `"linux/arm/v7/x" is not a platform: want os/architecture or os/architecture/variant, e.g. linux/amd64`},
	})
}

func TestCheckAptPackage(t *testing.T) {
	const rule = "lowercase letters, digits, '+', '-' and '.', starting with a letter or digit, at least two characters; optionally =VERSION or /RELEASE"
	runChecks(t, checkAptPackage, []checkCase{
		{"python3", ""},
		{"python3-numpy", ""},
		{"g++", ""},
		{"libstdc++6", ""},
		{"r-cran-ggplot2", ""},
		{"0ad", ""},
		{"python3=3.11.2-1+b1", ""},
		{"curl=7.88.1-10+deb12u5", ""},
		{"tzdata=2024a-0+deb12u1", ""},
		{"libc6=1:2.36-9", ""},
		{"r-base-core/bookworm-backports", ""},
		{"python3 numpy", `"python3 numpy" is not a Debian package name: give one package per entry`},
		{"-y", `"-y": apt-get options are not packages (imgctl runs apt-get install -y; see aptRecommends)`},
		{"--no-install-recommends", `"--no-install-recommends": apt-get options are not packages (imgctl runs apt-get install -y; see aptRecommends)`},
		{"Python3", `"Python3" is not a Debian package name (` + rule + `)`},
		{"a", `"a" is not a Debian package name (` + rule + `)`},
		{"", `"" is not a Debian package name (` + rule + `)`},
		{"python3_numpy", `"python3_numpy" is not a Debian package name (` + rule + `)`},
		{"+pkg", `"+pkg" is not a Debian package name (` + rule + `)`},
		{"libc6:amd64", `"libc6:amd64" is not a Debian package name (` + rule + `)`},
		{"python3=", `"python3=": missing version after "="`},
		{"python3=~1", `"python3=~1": "~1" is not a Debian version`},
		{"python3/", `"python3/": missing release after "/"`},
		{"python3/book worm", `"python3/book worm" is not a Debian package name: give one package per entry`},
		{"python3/-x", `"python3/-x": "-x" is not a release name (e.g. bookworm-backports)`},
	})
}

func TestCheckRPackage(t *testing.T) {
	const rule = "(letters, digits and '.', starting with a letter, not ending with '.', at least two characters)"
	runChecks(t, checkRPackage, []checkCase{
		{"ggplot2", ""},
		{"data.table", ""},
		{"R6", ""},
		{"BiocManager", ""},
		{"ggplot2 (>= 3.4)", `"ggplot2 (>= 3.4)": R package versions are not supported; list the name "ggplot2" and pin versions with a dated snapshot repository in r.repo`},
		{"ggplot2@3.4", `"ggplot2@3.4": R package versions are not supported; list the name "ggplot2" and pin versions with a dated snapshot repository in r.repo`},
		{"ggplot2>=3.4", `"ggplot2>=3.4": R package versions are not supported; list the name "ggplot2" and pin versions with a dated snapshot repository in r.repo`},
		{"ggplot2==3.4.0", `"ggplot2==3.4.0": R package versions are not supported; list the name "ggplot2" and pin versions with a dated snapshot repository in r.repo`},
		{"r", `"r" is not an R package name ` + rule},
		{"2fast", `"2fast" is not an R package name ` + rule},
		{"data.", `"data." is not an R package name ` + rule},
		{".hidden", `".hidden" is not an R package name ` + rule},
		{"my_pkg", `"my_pkg" is not an R package name ` + rule},
		{"tidyverse/ggplot2", `"tidyverse/ggplot2" is not an R package name ` + rule},
		{"", `"" is not an R package name ` + rule},
		{"2fast (>= 1)", `"2fast (>= 1)" is not an R package name ` + rule},
	})
}

func TestCheckSource(t *testing.T) {
	const want = "use the repository's remote URL (https://…, ssh://… or git@host:path)"
	runChecks(t, checkSource, []checkCase{
		{"https://github.com/example/images", ""},
		{"http://git.internal/ds/images.git", ""},
		{"ssh://git@git.internal:2222/ds/images.git", ""},
		{"git@github.com:example/images.git", ""},
		{"file:///srv/git/images", `"file:///srv/git/images" is a local path: never publish a local filesystem path; ` + want},
		{"/srv/git/images", `"/srv/git/images" is a local path: never publish a local filesystem path; ` + want},
		{"./images", `"./images" is a local path: never publish a local filesystem path; ` + want},
		{"~/src/images", `"~/src/images" is a local path: never publish a local filesystem path; ` + want},
		{"images", `"images" is a local path: never publish a local filesystem path; ` + want},
		{"github.com/example/images", `"github.com/example/images" is not a repository URL; ` + want},
		{"ftp://example.com/images", `"ftp://example.com/images" is not a repository URL; ` + want},
		{"https:///images", `"https:///images" is not a repository URL; ` + want},
		{"https://user:token@github.com/example/images", `"https://user:token@github.com/example/images": credentials in the URL would be recorded on every image`},
		{"ssh://git:pw@git.internal/images", `"ssh://git:pw@git.internal/images": a password in the URL would be recorded on every image`},
	})
}
