package main

import (
	_ "cuelang.org/go/cue"
	_ "cuelang.org/go/cue/cuecontext"
	_ "cuelang.org/go/cue/load"
	_ "github.com/google/go-containerregistry/pkg/authn"
	_ "github.com/google/go-containerregistry/pkg/registry"
	_ "github.com/google/go-containerregistry/pkg/v1/remote"
	_ "github.com/google/go-containerregistry/pkg/v1/mutate"
	_ "github.com/google/go-containerregistry/pkg/v1/empty"
	_ "github.com/hashicorp/go-version"
	_ "github.com/moby/buildkit/client"
	_ "github.com/moby/buildkit/client/llb"
	_ "github.com/moby/buildkit/util/progress/progressui"
	_ "github.com/moby/buildkit/session/secrets/secretsprovider"
	_ "github.com/moby/buildkit/session/auth/authprovider"
	_ "github.com/moby/buildkit/client/connhelper/dockercontainer"
	_ "github.com/moby/buildkit/client/connhelper/kubepod"
	_ "github.com/rogpeppe/go-internal/testscript"
	_ "github.com/spf13/cobra"
	_ "github.com/stretchr/testify/require"
	_ "golang.org/x/sync/errgroup"
)

func main() {}
