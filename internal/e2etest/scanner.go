package e2etest

import (
	"os"
	"path/filepath"
	"testing"
)

// ScannerDir returns <repo>/bin/scanner, where hack/scanner.sh puts imgctl's
// SBOM scanner binaries (linux_amd64/imgctl-sbom-scanner and linux_arm64),
// after checking both are there. (pkg/sbom pushes them as an image; this
// package must not import it: pkg/build's tests use this package.)
func ScannerDir(t testing.TB) string {
	t.Helper()
	dir := filepath.Join(RepoRoot(t), "bin", "scanner")
	for _, p := range []string{"linux_amd64", "linux_arm64"} {
		bin := filepath.Join(dir, p, "imgctl-sbom-scanner")
		if st, err := os.Stat(bin); err != nil || st.Mode()&0o111 == 0 {
			missing(t, "SBOM scanner binary "+bin+" is missing (make test builds it with hack/scanner.sh)")
		}
	}
	return dir
}
