package signing_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/imgctl/imgctl/internal/e2etest"
	"github.com/imgctl/imgctl/pkg/signing"
)

// cosignCLI returns the path of <repo>/bin/cosign (hack/install-deps.sh
// tools builds it), skipping the test when it is missing unless
// IMGCTL_E2E is set, as internal/e2etest does for its tools.
func cosignCLI(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(e2etest.RepoRoot(t), "bin", "cosign")
	if fi, err := os.Stat(bin); err != nil || fi.IsDir() || fi.Mode()&0o111 == 0 {
		what := bin + " not found (hack/install-deps.sh tools builds it)"
		if e2eRequired() {
			t.Fatalf("%s (%s is set, so this is a failure; run hack/install-deps.sh)", what, e2etest.EnvRequire)
		}
		t.Skipf("skipping end-to-end test: %s (run hack/install-deps.sh; set %s=1 to fail instead)", what, e2etest.EnvRequire)
	}
	return bin
}

// e2eRequired is internal/e2etest's reading of IMGCTL_E2E: any value
// strconv.ParseBool reads as true, or any unparsable non-empty value.
func e2eRequired() bool {
	v := os.Getenv(e2etest.EnvRequire)
	if v == "" {
		return false
	}
	b, err := strconv.ParseBool(v)
	return err != nil || b
}

// runCosign runs the cosign CLI offline, isolated from the user's
// configuration (own HOME and DOCKER_CONFIG), and returns its stdout,
// stderr and error.
func runCosign(t *testing.T, bin string, env []string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	home := t.TempDir()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append([]string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + home,
		"DOCKER_CONFIG=" + filepath.Join(home, ".docker"),
	}, env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err = cmd.Run()
	return out.String(), errb.String(), err
}

// TestCosignCLI checks the package against the real cosign CLI (v2.6.5,
// bin/cosign) in both directions: `cosign verify` accepts what Sign wrote
// and rejects it for another key; Verify accepts what `cosign sign`
// wrote, and neither signs a digest twice.
func TestCosignCLI(t *testing.T) {
	t.Parallel()
	bin := cosignCLI(t)
	a, b := keyA(), keyB()
	keyPath, pubA := a.files(t)
	_, pubB := b.files(t)

	for _, rc := range registries() {
		t.Run(rc.name, func(t *testing.T) {
			t.Parallel()
			host := rc.start(t)
			ctx := context.Background()
			signer, verifier := a.signer(t), a.verifier(t)
			verify := func(pub, ref string) (string, string, error) {
				return runCosign(t, bin, nil, "verify", "--key", pub, "--insecure-ignore-tlog=true",
					"--allow-http-registry", "--output=json", ref)
			}

			for _, sub := range subjects() {
				t.Run("library signs "+sub.name, func(t *testing.T) {
					ref := sub.push(t, repository(t, host, "cli/"+sub.name), "v1")
					require.NoError(t, signer.Sign(ctx, ref))

					stdout, stderr, err := verify(pubA, ref.String())
					require.NoError(t, err, "cosign verify: %s", stderr)
					require.Contains(t, stdout, `"docker-manifest-digest":"`+ref.DigestStr()+`"`)
					require.Contains(t, stderr, "The signatures were verified against the specified public key")

					_, stderr, err = verify(pubB, ref.String())
					require.Error(t, err, "cosign verify accepted another key")
					require.Contains(t, stderr, "no matching signatures")
				})
			}

			t.Run("cosign signs", func(t *testing.T) {
				ref := pushImage(t, repository(t, host, "cli/by-cosign"), "v1")
				_, stderr, err := verify(pubA, ref.String())
				require.Error(t, err, "cosign verify accepted an unsigned image")
				require.Contains(t, stderr, "no signatures found")

				sign := func() {
					t.Helper()
					_, stderr, err := runCosign(t, bin, []string{signing.PasswordEnv + "=" + string(a.password)},
						"sign", "--key", keyPath, "--tlog-upload=false", "--allow-http-registry", "--yes", ref.String())
					require.NoError(t, err, "cosign sign: %s", stderr)
				}
				sign()
				require.NoError(t, verifier.Verify(ctx, ref))
				requireVerifyError(t, b.verifier(t).Verify(ctx, ref), signing.ErrInvalidSignature, ref)

				// The library recognises cosign's signature as its own,
				// and cosign the library's.
				require.NoError(t, signer.Sign(ctx, ref))
				sign()
				require.Len(t, signatureLayers(t, ref), 1)
			})
		})
	}
}

// TestCosignCLIVersion checks that bin/cosign is the version hack/tools
// pins and the assertions above were written against (its messages).
func TestCosignCLIVersion(t *testing.T) {
	t.Parallel()
	bin := cosignCLI(t)
	stdout, stderr, err := runCosign(t, bin, nil, "version")
	require.NoError(t, err, stderr)
	require.Regexp(t, `GitVersion:\s+v2\.6\.5`, stdout+stderr)
	require.False(t, strings.Contains(stdout+stderr, "dirty"))
}
