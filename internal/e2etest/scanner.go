package e2etest

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// ScannerDir returns <repo>/bin/scanner, where hack/scanner.sh puts imgctl's
// SBOM scanner binaries (linux_<arch>/imgctl-sbom-scanner), after checking
// the one for this machine's architecture, where the tests' daemon runs it,
// is there. (pkg/sbom pushes them as an image; this
// package must not import it: pkg/build's tests use this package.)
func ScannerDir(t testing.TB) string {
	t.Helper()
	dir := filepath.Join(RepoRoot(t), "bin", "scanner")
	bin := filepath.Join(dir, "linux_"+runtime.GOARCH, "imgctl-sbom-scanner")
	if st, err := os.Stat(bin); err != nil || st.Mode()&0o111 == 0 {
		missing(t, "SBOM scanner binary "+bin+" is missing (make test builds it with hack/scanner.sh)")
	}
	return dir
}
