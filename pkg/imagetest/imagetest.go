package imagetest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/moby/buildkit/client"
	"github.com/moby/buildkit/client/llb"
	gatewaypb "github.com/moby/buildkit/frontend/gateway/pb"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"golang.org/x/sync/errgroup"
)

// Image is a published image to run commands in.
type Image struct {
	// Ref is the image by digest, "host/repo@sha256:…".
	Ref string
	// Platform is the platform to run; its manifest is picked from an index.
	Platform ocispec.Platform
	// Config is the image's config: User, WorkingDir and Env are applied.
	Config ocispec.ImageConfig
}

// Result is the outcome of one run.
type Result struct {
	// Output is everything the command wrote to stdout and stderr,
	// interleaved as BuildKit reported it.
	Output string
}

// Error is a command that failed inside the image; Output is what it
// printed.
type Error struct {
	Ref    string
	Script string
	Output string
	// Exited says the command ran and exited non-zero (ExitCode); false
	// when it could not run (daemon unreachable, image not pulled, …).
	Exited   bool
	ExitCode uint32
	Err      error
}

func (e *Error) Error() string {
	return fmt.Sprintf("running %q in %s: %v\n%s", e.Script, e.Ref, e.Err, strings.TrimRight(e.Output, "\n"))
}

func (e *Error) Unwrap() error { return e.Err }

// Run runs script with /bin/sh -c inside im on the daemon bk and returns
// its output. A non-zero exit is an *Error carrying the output.
func Run(ctx context.Context, bk *client.Client, im Image, script string) (Result, error) {
	if im.Ref == "" {
		return Result{}, errors.New("imagetest: image has no reference")
	}
	opts := []llb.RunOption{
		llb.Args([]string{"/bin/sh", "-c", script}),
		llb.Dir(workdir(im.Config.WorkingDir)),
		llb.IgnoreCache,
		llb.WithCustomNamef("[test %s] %s", im.Ref, script),
	}
	if im.Config.User != "" {
		opts = append(opts, llb.User(im.Config.User))
	}
	for _, e := range im.Config.Env {
		k, v, _ := strings.Cut(e, "=")
		opts = append(opts, llb.AddEnv(k, v))
	}
	st := llb.Image(im.Ref, llb.Platform(im.Platform)).Run(opts...).Root()
	def, err := st.Marshal(ctx, llb.Platform(im.Platform))
	if err != nil {
		return Result{}, fmt.Errorf("imagetest: marshalling LLB: %w", err)
	}
	var (
		mu  sync.Mutex
		out strings.Builder
	)
	ch := make(chan *client.SolveStatus)
	var eg errgroup.Group
	eg.Go(func() error {
		for s := range ch {
			mu.Lock()
			for _, l := range s.Logs {
				out.Write(l.Data)
			}
			mu.Unlock()
		}
		return nil
	})
	_, err = bk.Solve(ctx, def, client.SolveOpt{}, ch)
	_ = eg.Wait()
	res := Result{Output: out.String()}
	if err != nil {
		e := &Error{Ref: im.Ref, Script: script, Output: res.Output, Err: err}
		var exit *gatewaypb.ExitError
		if errors.As(err, &exit) {
			e.Exited, e.ExitCode = true, exit.ExitCode
		}
		return res, e
	}
	return res, nil
}

func workdir(d string) string {
	if d == "" {
		return "/"
	}
	return d
}
