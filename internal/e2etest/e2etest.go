package e2etest

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// EnvRequire names the environment variable that turns a missing tool from
// a skipped test into a failed one. Any value strconv.ParseBool accepts as
// true (or any unparsable non-empty value) counts as set.
const EnvRequire = "IMGCTL_E2E"

// modulePath identifies the repository's go.mod when walking up to it.
const modulePath = "github.com/imgctl/imgctl"

// required reports whether missing tools must fail tests.
func required() bool {
	v := os.Getenv(EnvRequire)
	if v == "" {
		return false
	}
	b, err := strconv.ParseBool(v)
	return err != nil || b
}

// missing skips or fails t because what is not available.
// skipShort skips an end-to-end helper's caller under go test -short: the
// short tier starts no daemon and no registry, whatever the test asks for.
func skipShort(t testing.TB) {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end: go test -short starts no daemon or registry")
	}
}

func missing(t testing.TB, what string) {
	t.Helper()
	if required() {
		t.Fatalf("%s (%s is set, so this is a failure; run hack/install-deps.sh)", what, EnvRequire)
		return
	}
	t.Skipf("skipping end-to-end test: %s (run hack/install-deps.sh; set %s=1 to fail instead)", what, EnvRequire)
}

// RepoRoot returns the root of the imgctl repository: the nearest directory
// at or above the working directory whose go.mod declares the imgctl
// module. Test binaries run in their package directory, so this works from
// any package test.
func RepoRoot(t testing.TB) string {
	t.Helper()
	root, err := repoRoot()
	if err != nil {
		t.Fatal(err)
	}
	return root
}

func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("finding repository root: %w", err)
	}
	for {
		b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && declaresModule(string(b), modulePath) {
			return dir, nil
		}
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return "", fmt.Errorf("finding repository root: %w", err)
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("finding repository root: no go.mod for module %s above the working directory", modulePath)
		}
		dir = parent
	}
}

func declaresModule(gomod, path string) bool {
	for _, line := range strings.Split(gomod, "\n") {
		f := strings.Fields(line)
		if len(f) >= 2 && f[0] == "module" && strings.Trim(f[1], `"`) == path {
			return true
		}
	}
	return false
}

// tail returns at most the last n lines of the file at path, for error
// messages about daemons that failed to start.
func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Sprintf("(reading %s: %v)", path, err)
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
