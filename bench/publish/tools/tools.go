//go:build tools

// Package tools pins the docker/buildx version bench/publish.sh builds as
// bin/docker-buildx (the peer imgctl's publish benchmark is measured against).
// It is a separate module so the root go.mod never sees buildx's
// dependencies.
package tools

import _ "github.com/docker/buildx/cmd/buildx"
