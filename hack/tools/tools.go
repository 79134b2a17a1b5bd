//go:build tools

// Package tools pins the versions of the command-line tools that
// hack/install-deps.sh builds into <repo>/bin. It is a separate module so
// that the tools' dependencies never leak into the main module's go.mod.
package tools

import (
	_ "cuelang.org/go/cmd/cue"
	_ "github.com/docker/buildx/cmd/buildx"
	_ "github.com/moby/buildkit/cmd/buildctl"
	_ "github.com/moby/buildkit/cmd/buildkitd"
	_ "github.com/sigstore/cosign/v2/cmd/cosign"
)
