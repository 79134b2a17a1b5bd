package build

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/docker/cli/cli/config"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/moby/buildkit/client"
	"github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/session"
	"github.com/moby/buildkit/session/auth/authprovider"
	"github.com/moby/buildkit/session/secrets/secretsprovider"
	"github.com/tonistiigi/fsutil"
	"golang.org/x/sync/errgroup"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/imgctl/imgctl/pkg/spec"
)

// Build builds req and pushes it to req.Repository by digest.
//
// status, when not nil, receives BuildKit's progress (with secret values
// masked) for the caller to render, e.g. with progressui. Build never
// closes it; it stops sending when it returns, and the caller must keep
// receiving until then.
//
// A step that fails gives a *StepError naming the step, with the last lines
// of its output.
func (c *Client) Build(ctx context.Context, req Request, status chan *client.SolveStatus) (Result, error) {
	start := time.Now()
	if err := req.check(); err != nil {
		return Result{}, err
	}
	im := req.Image
	plat, err := platform(im)
	if err != nil {
		return Result{}, err
	}
	if err := verifyFiles(req); err != nil {
		return Result{}, err
	}
	var base *ocispec.Image
	var baseRaw []byte
	if req.Base != "" {
		base, baseRaw, err = BaseConfig(ctx, req.Base, req.Insecure, plat, remote.WithAuthFromKeychain(c.keychain))
		if err != nil {
			return Result{}, fmt.Errorf("building %s: %w", im.Name, err)
		}
	}
	p, err := prepare(req, base)
	if err != nil {
		return Result{}, err
	}
	secrets, err := stepSecrets(req, p.steps)
	if err != nil {
		return Result{}, err
	}
	def, err := p.state.Marshal(ctx, llb.Platform(p.platform))
	if err != nil {
		return Result{}, fmt.Errorf("marshalling LLB of %s: %w", im.Name, err)
	}

	opt := client.SolveOpt{
		Exports: []client.ExportEntry{{Type: client.ExporterImage, Attrs: exportAttrs(req, p.config, baseRaw)}},
		Session: []session.Attachable{
			secretsprovider.FromMap(secrets),
			authprovider.NewDockerAuthProvider(authprovider.DockerAuthProviderConfig{
				AuthConfigProvider: authprovider.LoadAuthConfig(config.LoadDefaultConfigFile(io.Discard)),
			}),
		},
	}
	if p.local {
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
		exp := map[string]string{"mode": "max"}
		for k, v := range attrs {
			exp[k] = v
		}
		opt.CacheExports = []client.CacheOptionsEntry{{Type: "registry", Attrs: exp}}
	}

	tr := newTracker(append(secretValues(secrets), secretValues(req.Secrets)...))
	ch := make(chan *client.SolveStatus)
	var eg errgroup.Group
	eg.Go(func() error {
		for s := range ch {
			s = tr.add(s)
			if status != nil {
				select {
				case status <- s:
				case <-ctx.Done():
				}
			}
		}
		return nil
	})
	resp, err := c.bk.Solve(ctx, def, opt, ch)
	_ = eg.Wait()
	if err != nil {
		return Result{}, tr.failure(im.Name, p, err)
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

// exportAttrs are the image exporter's attributes: push by digest, the
// full config, reproducible timestamps, the annotations.
func exportAttrs(req Request, config, baseConfig []byte) map[string]string {
	attrs := map[string]string{
		"name":                  req.Repository,
		"push":                  "true",
		"push-by-digest":        "true",
		"oci-mediatypes":        "true",
		"containerimage.config": string(config),
		"source-date-epoch":     strconv.Itoa(SourceDateEpoch),
		"rewrite-timestamp":     "true",
	}
	if len(baseConfig) > 0 {
		// Base layers are kept as they are, not rewritten.
		attrs["containerimage.base.config"] = string(baseConfig)
	}
	if req.Insecure {
		attrs["registry.insecure"] = "true"
	}
	for k, v := range req.Annotations {
		attrs["annotation."+k] = v
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
	for i, f := range im.Files {
		if err := check(fmt.Sprintf("files[%d]", i), f.Src, f.Digest); err != nil {
			return err
		}
	}
	return nil
}
