package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/spf13/cobra"

	"github.com/imgctl/imgctl/pkg/build"
	"github.com/imgctl/imgctl/pkg/buildpool"
	"github.com/imgctl/imgctl/pkg/plan"
	"github.com/imgctl/imgctl/pkg/publish"
	"github.com/imgctl/imgctl/pkg/regclient"
	"github.com/imgctl/imgctl/pkg/sbom"
	"github.com/imgctl/imgctl/pkg/signing"
	"github.com/imgctl/imgctl/pkg/spec"
)

// scannerDirEnv names the directory of the local SBOM scanner binaries
// when --scanner-dir is not given; scannerEnv the scanner image when
// --sbom-scanner is not (before policy.sbomScanner).
const (
	scannerDirEnv = "IMGCTL_SCANNER_DIR"
	scannerEnv    = "IMGCTL_SBOM_SCANNER"
)

// attestFlags choose the SBOM scanner and the signing key of a publish.
type attestFlags struct {
	scanner    string
	scannerDir string
	signKey    string
}

func (f *attestFlags) add(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.scanner, "sbom-scanner", "", "SBOM scanner image BuildKit runs (REPO:TAG or REPO@DIGEST), used as it is (default $"+scannerEnv+", else policy.sbomScanner, else imgctl's own scanner, pushed when missing)")
	f.addScannerDir(cmd)
	cmd.Flags().StringVar(&f.signKey, "sign-key", "", "cosign private key FILE that signs every version before a tag moves to it, password in $COSIGN_PASSWORD (default: the file $IMGCTL_SIGN_KEY, or policy.signKeyEnv, names)")
}

func (f *attestFlags) addScannerDir(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.scannerDir, "scanner-dir", "", "directory of imgctl's SBOM scanner binaries, DIR/linux_<arch>/"+sbom.Binary+" for the BuildKit daemon's architecture (default $"+scannerDirEnv+", else scanner/ beside the imgctl executable)")
}

// localScanner finds the scanner binaries: --scanner-dir, else
// $IMGCTL_SCANNER_DIR, else scanner/ beside the executable (bin/scanner
// for bin/imgctl, where make puts them).
func (f *attestFlags) localScanner() (*sbom.Local, error) {
	dir := f.scannerDir
	if dir == "" {
		dir = os.Getenv(scannerDirEnv)
	}
	if dir == "" {
		exe, err := os.Executable()
		if err != nil {
			return nil, fmt.Errorf("finding the SBOM scanner: %w (use --scanner-dir)", err)
		}
		dir = filepath.Join(filepath.Dir(exe), "scanner")
	}
	return sbom.FindLocal(dir)
}

// scannerRepo is where imgctl's own scanner is pushed: the build cache
// repository prefix itself (REGISTRY/imgctl-cache unless --cache-repo or
// policy.cacheRepo say otherwise), a repository no image can have.
func scannerRepo(lib *spec.Library, p *plan.Plan, cacheRepo string) string {
	return cacheRepoOf(lib, p, cacheRepo, false)
}

// attest is what the builds of p attach, per the policy: nil SBOM when
// policy.sbom is false. The scanner is located now (a missing one is an
// error before anything is built) and pushed, when missing, right before
// the first build.
func (f *attestFlags) attest(lib *spec.Library, p *plan.Plan, c *regclient.Client, bc *buildpool.Pool, cacheRepo string) (publish.Attest, error) {
	a := publish.Attest{Provenance: lib.Policy.Provenance, BuilderID: build.DefaultBuilderID}
	if f.scanner == "" {
		f.scanner = os.Getenv(scannerEnv)
	}
	if !lib.Policy.SBOM {
		return a, nil // a scanner given anyway is not needed
	}
	src := &sbom.Source{Registry: c}
	if bc != nil {
		src.Builder = bc
	}
	switch {
	case f.scanner != "":
		if _, err := name.ParseReference(f.scanner, name.StrictValidation); err != nil {
			return a, usageErr("--sbom-scanner (or $%s) %q: %v", scannerEnv, f.scanner, err)
		}
		src.Pinned = f.scanner
	case lib.Policy.SBOMScanner != "":
		src.Pinned = lib.Policy.SBOMScanner
	default:
		if p.Summary.Build == 0 {
			return a, nil // nothing is scanned
		}
		l, err := f.localScanner()
		if err != nil {
			return a, err
		}
		src.Local, src.Repo = l, scannerRepo(lib, p, cacheRepo)
		src.Insecure = c.PlainHTTP(src.Repo)
	}
	a.SBOM = src
	return a, nil
}

// signer loads the signing key, when one is named, before anything is
// built: --sign-key, else the file the policy's key variable names. With
// policy.sign and no usable key, publish must not start.
func (f *attestFlags) signer(lib *spec.Library, c *regclient.Client) (publish.Signer, error) {
	s, err := signing.LoadSignerFromEnv(f.signKey, lib.Policy.SignKeyEnv)
	switch {
	case errors.Is(err, signing.ErrNoKey) && !lib.Policy.Sign:
		return nil, nil
	case errors.Is(err, signing.ErrNoKey):
		return nil, fmt.Errorf("policy.sign is true (%s) but there is no signing key (%v): pass --sign-key FILE or set $%s to the cosign key file, its password in $%s; nothing was built",
			lib.Policy.SignPos, err, lib.Policy.SignKeyEnv, signing.PasswordEnv)
	case err != nil && lib.Policy.Sign:
		return nil, fmt.Errorf("policy.sign is true (%s) but the signing key is not usable: %w; nothing was built", lib.Policy.SignPos, err)
	case err != nil:
		return nil, fmt.Errorf("%w; nothing was built", err)
	}
	return &registrySigner{s: s, c: c}, nil
}

// registrySigner signs through the registry client's transport (plain
// HTTP, retries, credentials).
type registrySigner struct {
	s *signing.Signer
	c *regclient.Client
}

func (r *registrySigner) Sign(ctx context.Context, ref name.Digest) error {
	opts, err := r.c.WriteOptions(ctx, ref.Context())
	if err != nil {
		return err
	}
	return r.s.Sign(ctx, ref, opts...)
}
