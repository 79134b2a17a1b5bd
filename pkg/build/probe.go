package build

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/containerd/platforms"
	"github.com/docker/cli/cli/config"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/moby/buildkit/client"
	"github.com/moby/buildkit/client/llb"
	gateway "github.com/moby/buildkit/frontend/gateway/client"
	"github.com/moby/buildkit/session"
	"github.com/moby/buildkit/session/auth/authprovider"
	"github.com/moby/buildkit/session/secrets/secretsprovider"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/tonistiigi/fsutil"

	"github.com/imgctl/imgctl/pkg/spec"
)

// ProbeRequest runs shell probes on an image's build as it stands before
// its package steps: its ancestors built in full, in LLB, from the
// external base (each as a publish builds it: locked ones from their
// locks, so BuildKit's cache is shared with publishes), then the image's
// own steps that come before packages (rootfs, env, workdir). Nothing is
// exported or pushed. pkg/resolve uses it to resolve locks.
type ProbeRequest struct {
	// Chain is the image's in-library ancestors, root first; empty when
	// Image is a root or its parent is a pinned published version (then
	// Base is that version).
	Chain []*spec.Image
	// Image is the image probed; its package, files and run steps are
	// left out.
	Image *spec.Image
	// SpecDir is the absolute spec directory of the chain's files.
	SpecDir string
	// Base is the digest reference of what the chain's root (or Image) is
	// built from; "" for scratch.
	Base string
	// Insecure talks plain HTTP to Base's registry.
	Insecure bool
	// BaseRead gives the remote options Base's config is read with, as in
	// Request.
	BaseRead func(ctx context.Context, repo name.Repository) ([]remote.Option, error)
	// Platform is the one platform probed.
	Platform ocispec.Platform
	// Probes run in order, each on the previous one's root filesystem
	// (so a probe may install what the next needs).
	Probes []Probe
	// Secrets as in Request.
	Secrets map[string][]byte
}

// Probe is one shell script of a ProbeRequest. It runs as root with the
// image's environment and writes its answer to the file $IMGCTL_PROBE_OUT,
// which is all that is read back.
type Probe struct {
	// Name names the probe in progress and errors ("lock apt").
	Name   string
	Script string
	// Secret, when set, is the id of a Request.Secrets entry the script
	// gets as $SecretEnv.
	Secret, SecretEnv string
}

// ProbeOutEnv is the variable holding the file a probe writes its answer
// to.
const ProbeOutEnv = "IMGCTL_PROBE_OUT"

// probeDir holds the probes' answers in the probed filesystem, which is
// never exported.
const probeDir = "/.imgctl-probe"

// Probe runs req's probes and returns each one's answer, in order.
func (c *Client) Probe(ctx context.Context, req ProbeRequest, status chan *client.SolveStatus) ([][]byte, error) {
	plat := platforms.Normalize(req.Platform)
	var base *ocispec.Image
	if req.Base != "" {
		var err error
		base, _, err = BaseConfig(ctx, req.Base, req.Insecure, plat, c.baseOptions(Request{BaseRead: req.BaseRead}))
		if err != nil {
			return nil, fmt.Errorf("probing %s: %w", req.Image.Name, err)
		}
	}
	var st llb.State
	if req.Base == "" {
		st = llb.Scratch().Platform(plat)
	} else {
		st = llb.Image(req.Base, llb.Platform(plat), llb.WithCustomNamef("[%s] FROM %s", req.Image.Name, req.Base))
	}
	var preps []platformBuild
	cfg := base
	head := *req.Image
	head.Apt, head.Pip, head.R, head.Files, head.Run = nil, nil, nil, nil, nil
	head.Lock = nil
	for _, im := range append(append([]*spec.Image{}, req.Chain...), &head) {
		p, err := prepareOn(Request{Image: im, SpecDir: req.SpecDir}, cfg, plat, &st)
		if err != nil {
			return nil, err
		}
		var next ocispec.Image
		if err := json.Unmarshal(p.config, &next); err != nil {
			return nil, fmt.Errorf("probing %s: decoding config of %s: %w", req.Image.Name, im.Name, err)
		}
		st, cfg = p.state, &next
		preps = append(preps, platformBuild{prep: p})
	}
	workdir := cfg.Config.WorkingDir
	if workdir == "" {
		workdir = "/"
	}
	st = st.File(llb.Mkdir(probeDir, 0o700), llb.WithCustomNamef("[%s] probe answers", req.Image.Name))
	pp := &prepared{names: map[string]int{}}
	for i, pr := range req.Probes {
		name := fmt.Sprintf("[%s %s] %s", req.Image.Name, platforms.Format(plat), pr.Name)
		opts := []llb.RunOption{
			llb.Args([]string{"/bin/sh", "-c", pr.Script}),
			llb.User(buildUser), llb.Dir(workdir), llb.WithCustomName(name),
			// Sources move on: a probe asks them again each time.
			llb.IgnoreCache,
		}
		for _, e := range cfg.Config.Env {
			k, v, _ := strings.Cut(e, "=")
			opts = append(opts, llb.AddEnv(k, v))
		}
		opts = append(opts, llb.AddEnv("SOURCE_DATE_EPOCH", strconv.Itoa(SourceDateEpoch)),
			llb.AddEnv(ProbeOutEnv, fmt.Sprintf("%s/%d", probeDir, i)))
		if pr.Secret != "" {
			opts = append(opts, llb.AddSecretWithDest(pr.Secret, nil, llb.SecretAsEnvName(pr.SecretEnv)))
		}
		st = st.Run(opts...).Root()
		pp.names[name] = len(pp.steps)
		pp.steps = append(pp.steps, step{kind: kindShell, field: pr.Name, createdBy: pr.Name, script: pr.Script, secret: pr.Secret, secretEnv: pr.SecretEnv})
	}
	all := mergePrepared(append(preps, platformBuild{prep: pp}))

	secrets := map[string][]byte{}
	for _, im := range req.Chain {
		s, err := stepSecrets(Request{Image: im, Secrets: req.Secrets}, preparedSteps(preps, im))
		if err != nil {
			return nil, err
		}
		for k, v := range s {
			secrets[k] = v
		}
	}
	for _, pr := range req.Probes {
		if pr.Secret == "" {
			continue
		}
		v, ok := req.Secrets[pr.Secret]
		if !ok || len(v) == 0 {
			return nil, fmt.Errorf("probing %s: %s needs secret %q, which is not set", req.Image.Name, pr.Name, pr.Secret)
		}
		if pr.Secret == PipCredentialsSecret {
			v = []byte(userinfo(string(v)))
		}
		secrets[pr.Secret] = v
	}
	opt := client.SolveOpt{
		Session: []session.Attachable{
			secretsprovider.FromMap(secrets),
			authprovider.NewDockerAuthProvider(authprovider.DockerAuthProviderConfig{
				AuthConfigProvider: authprovider.LoadAuthConfig(config.LoadDefaultConfigFile(io.Discard)),
			}),
		},
	}
	if all.local {
		fs, err := fsutil.NewFS(req.SpecDir)
		if err != nil {
			return nil, fmt.Errorf("probing %s: opening spec directory: %w", req.Image.Name, err)
		}
		opt.LocalMounts = map[string]fsutil.FS{localName: fs}
		sum := sha256.Sum256([]byte(req.SpecDir))
		opt.SharedKey = "imgctl-" + hex.EncodeToString(sum[:8])
	}
	answers := make([][]byte, len(req.Probes))
	tr := newTracker(append(secretValues(secrets), secretValues(req.Secrets)...))
	ch, wait := tr.forward(ctx, status)
	_, err := c.bk.Build(ctx, opt, "", func(ctx context.Context, gc gateway.Client) (*gateway.Result, error) {
		def, err := st.Marshal(ctx, llb.Platform(plat))
		if err != nil {
			return nil, err
		}
		r, err := gc.Solve(ctx, gateway.SolveRequest{Definition: def.ToPB()})
		if err != nil {
			return nil, err
		}
		ref, err := r.SingleRef()
		if err != nil {
			return nil, err
		}
		for i, pr := range req.Probes {
			b, err := ref.ReadFile(ctx, gateway.ReadRequest{Filename: fmt.Sprintf("%s/%d", probeDir, i)})
			if err != nil {
				return nil, fmt.Errorf("probing %s: %s wrote no answer: %w", req.Image.Name, pr.Name, err)
			}
			answers[i] = b
		}
		return gateway.NewResult(), nil
	}, ch)
	wait()
	if err != nil {
		return nil, tr.failure(req.Image.Name, all, err)
	}
	return answers, nil
}

// preparedSteps are the steps prepared for im among preps.
func preparedSteps(preps []platformBuild, im *spec.Image) []step {
	for _, p := range preps {
		if p.prep.image == im {
			return p.prep.steps
		}
	}
	return nil
}
