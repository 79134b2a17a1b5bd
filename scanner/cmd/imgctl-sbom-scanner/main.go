// Command imgctl-sbom-scanner is the entrypoint of imgctl's SBOM generator
// image: BuildKit runs it with BUILDKIT_SCAN_SOURCE and
// BUILDKIT_SCAN_DESTINATION set (see package protocol) and it writes one
// SPDX in-toto statement per root filesystem. It takes no arguments; it
// logs to stderr and exits 1 with the reason when it cannot scan.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Environ(), os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintf(os.Stderr, "imgctl-sbom-scanner: error: %v\n", err)
		os.Exit(1)
	}
}
