package e2etest

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// Podman returns the podman command line of a store private to the test:
// "podman --root DIR/root --runroot RUN" with DIR the test's temporary
// directory and RUN a short one beside it. The images a test pulls and
// the containers it runs stay in that store and go with it when the test
// ends (its containers removed and its layers unmounted first), so no test
// run leaves gigabytes in /var/lib/containers for the next one. Append
// podman's arguments:
//
//	cmd := exec.Command(p[0], append(p[1:], "run", "--rm", ref, "true")...)
func Podman(t testing.TB) []string {
	t.Helper()
	bin, err := exec.LookPath("podman")
	if err != nil {
		missing(t, "podman not found in PATH (hack/install-deps.sh apt)")
	}
	dir := t.TempDir()
	// podman refuses a runroot longer than 50 characters, which a test's
	// temporary directory easily is: the runroot (sockets, locks, no
	// image data) gets a short directory of its own.
	base := os.TempDir()
	if len(base) > 30 {
		base = "/tmp"
	}
	run, err := os.MkdirTemp(base, "podman-run-")
	if err != nil {
		t.Fatalf("podman's runroot: %v", err)
	}
	argv := []string{bin, "--root", filepath.Join(dir, "root"), "--runroot", run}
	// Registered after TempDir's own cleanup, so it runs before it:
	// removing the store's containers and images unmounts their layers,
	// which RemoveAll could not remove while mounted. Not "system reset":
	// that also removes the machine's podman networks.
	t.Cleanup(func() {
		for _, args := range [][]string{{"rm", "--all", "--force", "--time", "0"}, {"rmi", "--all", "--force"}} {
			var out bytes.Buffer
			cmd := exec.Command(argv[0], append(argv[1:], args...)...)
			cmd.Stdout, cmd.Stderr = &out, &out
			if err := cmd.Run(); err != nil {
				t.Logf("podman %v in the test's store %s: %v\n%s", args, dir, err, out.String())
			}
		}
		if err := os.RemoveAll(run); err != nil {
			t.Logf("removing podman's runroot: %v", err)
		}
	})
	return argv
}
