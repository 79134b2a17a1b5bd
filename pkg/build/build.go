package build

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/containerd/platforms"
	"github.com/docker/cli/cli/config"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/moby/buildkit/client"
	"github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/exporter/containerimage/exptypes"
	gateway "github.com/moby/buildkit/frontend/gateway/client"
	"github.com/moby/buildkit/session"
	"github.com/moby/buildkit/session/auth/authprovider"
	"github.com/moby/buildkit/session/secrets/secretsprovider"
	"github.com/moby/buildkit/solver/pb"
	"github.com/tonistiigi/fsutil"
	"golang.org/x/sync/errgroup"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/imgctl/imgctl/pkg/spec"
)

// Build builds req for every platform of its image and pushes the result
// to req.Repository by digest, as one OCI image index (also for a single
// platform), through BuildKit's gateway: one solve per platform, each
// platform's image config as result metadata (so attestations, which
// BuildKit attaches per platform, are kept for every platform).
//
// status, when not nil, receives BuildKit's progress (with secret values
// masked) for the caller to render, e.g. with progressui. Build never
// closes it; it stops sending when it returns, and the caller must keep
// receiving until then.
//
// A step that fails gives a *StepError naming the step, with the last lines
// of its output.
// baseOptions are the remote options Base is read with: req.BaseRead's
// when set, else the client's keychain.
func (c *Client) baseOptions(req Request) func(context.Context, name.Repository) ([]remote.Option, error) {
	if req.BaseRead != nil {
		return req.BaseRead
	}
	return func(context.Context, name.Repository) ([]remote.Option, error) {
		return []remote.Option{remote.WithAuthFromKeychain(c.keychain)}, nil
	}
}

func (c *Client) Build(ctx context.Context, req Request, status chan *client.SolveStatus) (Result, error) {
	start := time.Now()
	if err := req.check(); err != nil {
		return Result{}, err
	}
	im := req.Image
	plats, err := Platforms(im)
	if err != nil {
		return Result{}, err
	}
	if err := verifyFiles(req); err != nil {
		return Result{}, err
	}
	builds := make([]platformBuild, len(plats))
	for i, plat := range plats {
		b := platformBuild{platform: plat, id: platforms.Format(plat)}
		var base *ocispec.Image
		if req.Base != "" {
			base, b.baseConfig, err = BaseConfig(ctx, req.Base, req.Insecure, plat, c.baseOptions(req))
			if err != nil {
				return Result{}, fmt.Errorf("building %s: %w", im.Name, err)
			}
		}
		if b.prep, err = prepare(req, base, plat); err != nil {
			return Result{}, err
		}
		builds[i] = b
	}
	all := mergePrepared(builds)
	secrets, err := stepSecrets(req, all.steps)
	if err != nil {
		return Result{}, err
	}

	attest, err := req.Attest.frontendAttrs()
	if err != nil {
		return Result{}, fmt.Errorf("building %s: %w", im.Name, err)
	}
	opt := client.SolveOpt{
		// Never nil: BuildKit's client copies cache options into it.
		FrontendAttrs: attest,
		Exports:       []client.ExportEntry{{Type: client.ExporterImage, Attrs: exportAttrs(req.Repository, req.Insecure, req.Annotations)}},
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
			return Result{}, fmt.Errorf("building %s: opening spec directory: %w", im.Name, err)
		}
		opt.LocalMounts = map[string]fsutil.FS{localName: fs}
		// Lets BuildKit reuse what it already has of this directory.
		sum := sha256.Sum256([]byte(req.SpecDir))
		opt.SharedKey = "imgctl-" + hex.EncodeToString(sum[:8])
	}
	if req.CacheRef != "" {
		attrs := map[string]string{"ref": req.CacheRef}
		if req.Insecure {
			attrs["registry.insecure"] = "true"
		}
		if req.CacheImport {
			opt.CacheImports = []client.CacheOptionsEntry{{Type: "registry", Attrs: attrs}}
		}
		// The cache is an optimisation: a registry that fails its
		// export (after BuildKit's own retries) does not fail the build.
		exp := map[string]string{"mode": "max", "ignore-error": "true"}
		for k, v := range attrs {
			exp[k] = v
		}
		opt.CacheExports = []client.CacheOptionsEntry{{Type: "registry", Attrs: exp}}
	}

	tr := newTracker(append(secretValues(secrets), secretValues(req.Secrets)...))
	ch, wait := tr.forward(ctx, status)
	var imports []gateway.CacheOptionsEntry
	for _, ci := range opt.CacheImports {
		imports = append(imports, gateway.CacheOptionsEntry{Type: ci.Type, Attrs: ci.Attrs})
	}
	resp, err := c.bk.Build(ctx, opt, "", buildFunc(builds, imports, req.Attest.solveOpts()), ch)
	wait()
	if err != nil {
		return Result{}, tr.failure(im.Name, all, err)
	}
	for _, w := range tr.warnings() {
		c.log.Warn("BuildKit warning", "image", im.Name, "warning", w)
	}
	dgst := resp.ExporterResponse["containerimage.digest"]
	if dgst == "" {
		return Result{}, fmt.Errorf("building %s: BuildKit reported no image digest", im.Name)
	}
	return Result{Digest: dgst, Duration: time.Since(start)}, nil
}

// platformBuild is one platform of an image build.
type platformBuild struct {
	platform ocispec.Platform
	// id is the platform as BuildKit's result keys name it, "linux/arm64".
	id   string
	prep *prepared
	// baseConfig is the base's raw config for this platform (nil for
	// scratch): base layers are kept as they are, not rewritten.
	baseConfig []byte
}

// mergePrepared joins the platforms' steps and vertex names, for the
// secrets they need and for naming a failing step.
func mergePrepared(builds []platformBuild) *prepared {
	all := &prepared{names: map[string]int{}}
	for _, b := range builds {
		off := len(all.steps)
		all.steps = append(all.steps, b.prep.steps...)
		for name, i := range b.prep.names {
			all.names[name] = off + i
		}
		all.local = all.local || b.prep.local
	}
	return all
}

// buildFunc solves every platform and returns them as one result: a ref
// and an image config per platform, and the platform list, from which
// BuildKit's image exporter makes one index.
// imports are the build caches each solve imports (a gateway solve does
// not use the client's SolveOpt.CacheImports by itself).
// frontendOpt are each solve's options: BuildKit records those of the
// solve that made a result (vcs:source, vcs:revision) in its provenance.
func buildFunc(builds []platformBuild, imports []gateway.CacheOptionsEntry, frontendOpt map[string]string) gateway.BuildFunc {
	return func(ctx context.Context, c gateway.Client) (*gateway.Result, error) {
		res := gateway.NewResult()
		refs := make([]gateway.Reference, len(builds))
		eg, ctx := errgroup.WithContext(ctx)
		for i, b := range builds {
			eg.Go(func() error {
				def, err := b.prep.state.Marshal(ctx, llb.Platform(b.platform))
				if err != nil {
					return fmt.Errorf("marshalling LLB for %s: %w", b.id, err)
				}
				sreq := gateway.SolveRequest{Definition: def.ToPB(), CacheImports: imports}
				if len(frontendOpt) > 0 {
					if sreq, err = throughFrontend(ctx, def, b.id, frontendOpt, imports); err != nil {
						return err
					}
				}
				r, err := c.Solve(ctx, sreq)
				if err != nil {
					return err
				}
				refs[i], err = r.SingleRef()
				return err
			})
		}
		if err := eg.Wait(); err != nil {
			return nil, err
		}
		var ps exptypes.Platforms
		for i, b := range builds {
			res.AddRef(b.id, refs[i])
			res.AddMeta(exptypes.ExporterImageConfigKey+"/"+b.id, b.prep.config)
			if len(b.baseConfig) > 0 {
				res.AddMeta(exptypes.ExporterImageBaseConfigKey+"/"+b.id, b.baseConfig)
			}
			ps.Platforms = append(ps.Platforms, exptypes.Platform{ID: b.id, Platform: b.platform})
		}
		meta, err := json.Marshal(ps)
		if err != nil {
			return nil, err
		}
		res.AddMeta(exptypes.ExporterPlatformsKey, meta)
		return res, nil
	}
}

// inputName names the image's LLB as the Dockerfile frontend's input.
const inputName = "imgctl"

// throughFrontend is a solve of def, the image for platform, through
// BuildKit's built-in Dockerfile frontend with a Dockerfile that is only
// "FROM imgctl", imgctl being def as a named input: the result is def's
// own, step for step and layer for layer (same cache keys, same manifest
// digest), but it is a frontend request, and BuildKit records a frontend
// request's options (vcs:source, vcs:revision) in the provenance, which
// it never does for a raw definition.
func throughFrontend(ctx context.Context, def *llb.Definition, platform string, opts map[string]string, imports []gateway.CacheOptionsEntry) (gateway.SolveRequest, error) {
	df, err := llb.Scratch().File(llb.Mkfile("/Dockerfile", 0o644, []byte("FROM "+inputName+"\n"), llb.WithCreatedTime(epoch)),
		llb.WithCustomName("[internal] imgctl provenance request")).Marshal(ctx)
	if err != nil {
		return gateway.SolveRequest{}, err
	}
	fo := map[string]string{
		"context:" + inputName: "input:" + inputName,
		"platform":             platform,
	}
	for k, v := range opts {
		fo[k] = v
	}
	return gateway.SolveRequest{
		Frontend:    "dockerfile.v0",
		FrontendOpt: fo,
		// The Dockerfile's state is the build context too: the frontend
		// reads .dockerignore from the context, and a local one would be
		// an error shown in the progress ("no access allowed to dir").
		FrontendInputs: map[string]*pb.Definition{
			"dockerfile": df.ToPB(),
			"context":    df.ToPB(),
			inputName:    def.ToPB(),
		},
		CacheImports: imports,
	}, nil
}

// exportAttrs are the image exporter's attributes: push by digest,
// reproducible timestamps, the annotations on the index and on every
// platform's manifest. The configs come with the result.
func exportAttrs(repository string, insecure bool, annotations map[string]string) map[string]string {
	attrs := map[string]string{
		"name":              repository,
		"push":              "true",
		"push-by-digest":    "true",
		"oci-mediatypes":    "true",
		"source-date-epoch": strconv.Itoa(SourceDateEpoch),
		"rewrite-timestamp": "true",
	}
	if insecure {
		attrs["registry.insecure"] = "true"
	}
	for k, v := range annotations {
		attrs["annotation-index."+k] = v
		attrs["annotation-manifest."+k] = v
	}
	return attrs
}

// stepSecrets returns the secrets the steps use, checked and encoded for
// them.
func stepSecrets(req Request, stps []step) (map[string][]byte, error) {
	out := map[string][]byte{}
	for _, s := range stps {
		if s.secret == "" {
			continue
		}
		v, ok := req.Secrets[s.secret]
		if !ok || len(v) == 0 {
			return nil, fmt.Errorf("image %s: step %s needs secret %q (pip.credentialsEnv %s), which is not set",
				req.Image.Name, s.field, s.secret, req.Image.Pip.CredentialsEnv)
		}
		if s.secret == PipCredentialsSecret {
			v = []byte(userinfo(string(v)))
		}
		out[s.secret] = v
	}
	return out, nil
}

// secretValues lists every form of the secrets that could show up in
// output: raw, encoded, and the password alone.
func secretValues(secrets map[string][]byte) []string {
	var out []string
	for _, v := range secrets {
		s := string(v)
		out = append(out, s)
		if _, pw, ok := strings.Cut(s, ":"); ok && pw != "" {
			out = append(out, pw)
		}
	}
	return out
}

// verifyFiles re-hashes the rootfs and files of req and refuses any that
// changed since the spec was loaded.
func verifyFiles(req Request) error {
	im := req.Image
	check := func(what, src, want string) error {
		if want == "" {
			return fmt.Errorf("image %s: %s %q has no digest from loading the spec", im.Name, what, src)
		}
		got, err := spec.FileDigest(filepath.Join(req.SpecDir, filepath.FromSlash(src)))
		if err != nil {
			return fmt.Errorf("image %s: hashing %s: %w", im.Name, what, err)
		}
		if got != want {
			return fmt.Errorf("image %s: %s %q changed since the spec was loaded (%s, now %s)", im.Name, what, src, want, got)
		}
		return nil
	}
	if im.Rootfs != "" {
		if err := check("rootfs", im.Rootfs, im.RootfsDigest); err != nil {
			return err
		}
	}
	for _, pf := range slices.Sorted(maps.Keys(im.RootfsByPlatform)) {
		f := im.RootfsByPlatform[pf]
		if err := check("rootfs["+pf+"]", f.Src, f.Digest); err != nil {
			return err
		}
	}
	for i, f := range im.Files {
		if err := check(fmt.Sprintf("files[%d]", i), f.Src, f.Digest); err != nil {
			return err
		}
	}
	return nil
}
