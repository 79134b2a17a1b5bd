package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/imgctl/imgctl/scanner/protocol"
)

// usage is printed for any command-line argument.
const usage = `usage: imgctl-sbom-scanner (no arguments)

BuildKit's SBOM generator: catalogues $BUILDKIT_SCAN_SOURCE (and each
directory in $BUILDKIT_SCAN_SOURCE_EXTRAS) and writes SPDX 2.3 in-toto
statements to $BUILDKIT_SCAN_DESTINATION/<name>.spdx.json.
Parameters (attest:sbom=generator=IMAGE,KEY=VALUE arrive as BUILDKIT_SCAN_KEY):
  NAME=text                 SPDX document name (e.g. the image reference)
  VERSION=text              version of the scanned filesystem
  SELECT_CATALOGERS=a,+b,-c syft cataloger selection on top of the image set
  FILES=true                add file entries with SHA-256 digests
`

// errUsage is returned when the command is given arguments.
var errUsage = errors.New("imgctl-sbom-scanner takes no arguments; it is configured through the environment")

// run is the whole command: environ in os.Environ's form, logs to stderr.
func run(ctx context.Context, args, environ []string, stderr io.Writer) error {
	if len(args) > 0 {
		fmt.Fprint(stderr, usage)
		return errUsage
	}
	req, err := protocol.FromEnv(environ)
	if err != nil {
		return err
	}
	if err := ensureTempDir(); err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	return protocol.Run(ctx, req, log)
}

// ensureTempDir creates the temporary directory syft writes to when the
// image does not have it (a FROM scratch image run outside BuildKit, which
// mounts a tmpfs at /tmp).
func ensureTempDir() error {
	dir := os.TempDir()
	if _, err := os.Stat(dir); err == nil {
		return nil
	}
	if err := os.MkdirAll(dir, 0o1777); err != nil {
		return fmt.Errorf("creating the temporary directory %s syft needs: %w", dir, err)
	}
	return nil
}
