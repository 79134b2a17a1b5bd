// Command imgctl builds and publishes a library of container images declared in CUE.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/imgctl/imgctl/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
