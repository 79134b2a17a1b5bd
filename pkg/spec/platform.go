package spec

import (
	"fmt"
	"slices"
	"strings"
)

// knownArchitectures are the architectures a platform may name, in the
// order error messages list them: the GOARCH values OCI image indexes use.
var knownArchitectures = []string{"amd64", "arm64", "arm", "386", "ppc64le", "s390x", "riscv64", "mips64le", "loong64"}

// knownVariants are the variants each architecture may carry
// ("linux/arm/v7"). An architecture not listed here takes no variant.
var knownVariants = map[string][]string{
	"arm":   {"v5", "v6", "v7"},
	"arm64": {"v8"},
	"amd64": {"v2", "v3", "v4"},
}

// checkPlatform checks that p is "linux/ARCH" or "linux/ARCH/VARIANT" with a
// known architecture and variant. It normalises nothing: "linux/arm64" and
// "linux/arm64/v8" are both accepted as written. The error names p and
// every part that is wrong.
func checkPlatform(p string) error {
	parts := strings.Split(p, "/")
	if len(parts) < 2 || len(parts) > 3 {
		return fmt.Errorf("%q is not a platform: want os/architecture or os/architecture/variant, e.g. linux/amd64", p)
	}
	var problems []string
	if parts[0] != "linux" {
		problems = append(problems, fmt.Sprintf("OS %q (want linux: only linux images are built)", parts[0]))
	}
	arch := parts[1]
	switch {
	case !slices.Contains(knownArchitectures, arch):
		problems = append(problems, fmt.Sprintf("architecture %q (want one of %s)", arch, strings.Join(knownArchitectures, ", ")))
	case len(parts) == 3 && len(knownVariants[arch]) == 0:
		problems = append(problems, fmt.Sprintf("variant %q (%s has no variants)", parts[2], arch))
	case len(parts) == 3 && !slices.Contains(knownVariants[arch], parts[2]):
		problems = append(problems, fmt.Sprintf("variant %q (want %s for %s)", parts[2], orList(knownVariants[arch]), arch))
	}
	if len(problems) == 0 {
		return nil
	}
	return fmt.Errorf("%q is not a known platform: %s", p, strings.Join(problems, "; "))
}

// orList renders ["a", "b", "c"] as "a, b or c".
func orList(xs []string) string {
	if len(xs) <= 1 {
		return strings.Join(xs, "")
	}
	return strings.Join(xs[:len(xs)-1], ", ") + " or " + xs[len(xs)-1]
}
