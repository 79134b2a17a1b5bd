package imagetest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/containerd/platforms"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/moby/buildkit/client"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// ConfigReader reads the image config of one platform of an image.
type ConfigReader interface {
	Config(ctx context.Context, ref string, platform ocispec.Platform) (ocispec.ImageConfig, error)
}

// RemoteConfig reads configs from the registry with the remote options
// Remote gives for a repository (regclient.Client.ReadOptions).
type RemoteConfig struct {
	Remote func(ctx context.Context, repo name.Repository) ([]remote.Option, error)
}

// Config reads the config of ref's manifest for platform (from an index)
// or of ref itself (a single manifest).
func (r RemoteConfig) Config(ctx context.Context, ref string, p ocispec.Platform) (ocispec.ImageConfig, error) {
	d, err := name.ParseReference(ref, name.Insecure)
	if err != nil {
		return ocispec.ImageConfig{}, err
	}
	var opts []remote.Option
	if r.Remote != nil {
		if opts, err = r.Remote(ctx, d.Context()); err != nil {
			return ocispec.ImageConfig{}, err
		}
	}
	opts = append(opts, remote.WithContext(ctx), remote.WithPlatform(v1.Platform{OS: p.OS, Architecture: p.Architecture, Variant: p.Variant}))
	img, err := remote.Image(d, opts...)
	if err != nil {
		return ocispec.ImageConfig{}, fmt.Errorf("reading %s for %s: %w", ref, platforms.Format(p), err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return ocispec.ImageConfig{}, fmt.Errorf("reading the config of %s for %s: %w", ref, platforms.Format(p), err)
	}
	return ocispec.ImageConfig{User: cf.Config.User, WorkingDir: cf.Config.WorkingDir, Env: cf.Config.Env}, nil
}

// Suite runs an image's test commands on a BuildKit daemon.
type Suite struct {
	BuildKit *client.Client
	Configs  ConfigReader
}

// Outcome is one command run on one platform.
type Outcome struct {
	Platform string        `json:"platform"`
	Command  string        `json:"command"`
	OK       bool          `json:"ok"`
	Output   string        `json:"output,omitempty"`
	Duration time.Duration `json:"duration_ns"`
}

// SuiteError is a suite with failing commands: each failure's command,
// platform and output.
type SuiteError struct {
	Ref      string
	Failures []Outcome
}

func (e *SuiteError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d %s failed in %s", len(e.Failures), plural(len(e.Failures), "test", "tests"), e.Ref)
	for _, f := range e.Failures {
		fmt.Fprintf(&b, "\n--- FAIL (%s): %s\n%s", f.Platform, f.Command, indent(strings.TrimRight(f.Output, "\n")))
	}
	return b.String()
}

// Run runs every command on every platform of ref (platforms as
// "linux/amd64"), each in a fresh container of the image (commands do not
// see each other's files), one after the other. It returns every outcome
// and, when any failed, a *SuiteError; other errors (a daemon gone, a
// config that cannot be read) stop it.
func (s *Suite) Run(ctx context.Context, ref string, plats, commands []string) ([]Outcome, error) {
	var out []Outcome
	var failed []Outcome
	for _, ps := range plats {
		p, err := platforms.Parse(ps)
		if err != nil {
			return out, fmt.Errorf("platform %q: %w", ps, err)
		}
		p = platforms.Normalize(p)
		cfg, err := s.Configs.Config(ctx, ref, p)
		if err != nil {
			return out, err
		}
		for _, c := range commands {
			start := time.Now()
			res, err := Run(ctx, s.BuildKit, Image{Ref: ref, Platform: p, Config: cfg}, c)
			o := Outcome{Platform: platforms.Format(p), Command: c, OK: err == nil, Output: res.Output, Duration: time.Since(start)}
			if err != nil {
				if ctx.Err() != nil {
					return out, ctx.Err()
				}
				var e *Error
				if !errors.As(err, &e) || !e.Exited {
					return out, err
				}
				failed = append(failed, o)
			}
			out = append(out, o)
		}
	}
	if len(failed) > 0 {
		return out, &SuiteError{Ref: ref, Failures: failed}
	}
	return out, nil
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func indent(s string) string {
	if s == "" {
		return "    (no output)"
	}
	return "    " + strings.ReplaceAll(s, "\n", "\n    ")
}
