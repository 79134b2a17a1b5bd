package build

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path"
	"strconv"
	"strings"

	"github.com/imgctl/imgctl/pkg/spec"
	"github.com/moby/buildkit/client/llb"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// localName is the name of the one local source: the spec directory,
// filtered to the files the image copies.
const localName = "spec"

// Definition returns the LLB of req for plat and its full OCI image config
// JSON. base is the base image's config for plat (nil for scratch); fetch
// it with [BaseConfig]. It is pure: no daemon, no registry, no file is
// read.
func Definition(ctx context.Context, req Request, base *ocispec.Image, plat ocispec.Platform) (*llb.Definition, []byte, error) {
	p, err := prepare(req, base, plat)
	if err != nil {
		return nil, nil, err
	}
	def, err := p.state.Marshal(ctx, llb.Platform(p.platform))
	if err != nil {
		return nil, nil, fmt.Errorf("marshalling LLB of %s: %w", req.Image.Name, err)
	}
	return def, p.config, nil
}

// prepared is everything a solve needs that does not touch a daemon.
type prepared struct {
	platform ocispec.Platform
	steps    []step
	state    llb.State
	config   []byte
	// names maps a vertex name to the index of its step.
	names map[string]int
	// local is true when the definition reads the spec directory.
	local bool
	// image is the spec prepared.
	image *spec.Image
}

func prepare(req Request, base *ocispec.Image, plat ocispec.Platform) (*prepared, error) {
	if err := req.check(); err != nil {
		return nil, err
	}
	if req.Image.From != "scratch" && base == nil {
		return nil, fmt.Errorf("image %s: base config of %s is missing", req.Image.Name, req.Base)
	}
	return prepareOn(req, base, plat, nil)
}

// prepareOn prepares req on baseState, a state already built (a parent
// made in the same definition, for probes), or on req.Base when it is
// nil. base is the config baseState or req.Base has.
func prepareOn(req Request, base *ocispec.Image, plat ocispec.Platform, baseState *llb.State) (*prepared, error) {
	im := req.Image
	pathDefault := false
	if _, ok := im.Env["PATH"]; !ok {
		pathDefault = base == nil
		if base != nil {
			_, inherited := envValue(base.Config.Env, "PATH")
			pathDefault = !inherited
		}
	}
	stps, err := steps(im, platformString(plat), pathDefault)
	if err != nil {
		return nil, fmt.Errorf("image %s: %w", im.Name, err)
	}
	img, err := imageConfig(im, base, plat, stps)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(img); err != nil {
		return nil, fmt.Errorf("encoding image config of %s: %w", im.Name, err)
	}
	config := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))

	p := &prepared{platform: plat, steps: stps, config: config, names: map[string]int{}, image: im}
	var st llb.State
	if baseState != nil {
		st = *baseState
	} else if req.Base == "" {
		st = llb.Scratch().Platform(plat)
	} else {
		st = llb.Image(req.Base, llb.Platform(plat), llb.WithCustomNamef("[%s] FROM %s", im.Name, req.Base))
	}

	var srcs []string
	for _, s := range stps {
		if s.kind == kindCopy || s.kind == kindUnpack {
			srcs = append(srcs, path.Clean(s.src))
		}
	}
	var local llb.State
	if len(srcs) > 0 {
		p.local = true
		patterns := make([]string, len(srcs))
		for i, s := range srcs {
			patterns[i] = escapePattern(s)
		}
		local = llb.Local(localName,
			llb.IncludePatterns(patterns),
			llb.FollowPaths(srcs),
			llb.SharedKeyHint(localName),
			llb.WithCustomNamef("[%s] spec files", im.Name))
	}

	workdir := img.Config.WorkingDir
	if workdir == "" {
		workdir = "/"
	}
	total := 0
	for _, s := range stps {
		if s.layer() {
			total++
		}
	}
	n := 0
	for i, s := range stps {
		if !s.layer() {
			continue
		}
		n++
		name := fmt.Sprintf("[%s %d/%d] %s", im.Name, n, total, s.createdBy)
		if len(im.Platforms) > 1 {
			name = fmt.Sprintf("[%s %s %d/%d] %s", im.Name, platformString(plat), n, total, s.createdBy)
		}
		p.names[name] = i
		switch s.kind {
		case kindUnpack:
			st = st.File(llb.Copy(local, "/"+path.Clean(s.src), "/", &llb.CopyInfo{
				AttemptUnpack:  true,
				CreateDestPath: true,
				FollowSymlinks: true,
			}), llb.WithCustomName(name))
		case kindCopy:
			// The file's mode applies to the file alone: directories the
			// copy needs are made first, root-owned 0755, as a Dockerfile
			// COPY makes them (BuildKit's CreateDestPath would give them
			// the file's mode, and a 0444 file would sit in a directory
			// nobody but root can enter). Existing directories are left
			// as they are.
			fa := llb.Mkdir(parentDir(s.dest), DirMode,
				llb.WithParents(true), llb.WithUIDGID(0, 0), llb.WithCreatedTime(epoch))
			st = st.File(fa.Copy(local, "/"+path.Clean(s.src), s.dest, &llb.CopyInfo{
				Mode:           &llb.ChmodOpt{Mode: s.mode},
				CreateDestPath: true,
				FollowSymlinks: true,
				ChownOpt:       &llb.ChownOpt{User: &llb.UserOpt{UID: 0}, Group: &llb.UserOpt{UID: 0}},
			}), llb.WithCustomName(name))
		case kindShell:
			opts := []llb.RunOption{
				llb.Args([]string{"/bin/sh", "-c", s.script}),
				llb.User(buildUser),
				llb.Dir(workdir),
				llb.WithCustomName(name),
			}
			for _, e := range img.Config.Env {
				k, v, _ := strings.Cut(e, "=")
				opts = append(opts, llb.AddEnv(k, v))
			}
			opts = append(opts, llb.AddEnv("SOURCE_DATE_EPOCH", strconv.Itoa(SourceDateEpoch)))
			if s.secret != "" {
				opts = append(opts, llb.AddSecretWithDest(s.secret, nil, llb.SecretAsEnvName(s.secretEnv)))
			}
			if req.Refresh && s.installsPackages() {
				opts = append(opts, llb.IgnoreCache)
			}
			st = st.Run(opts...).Root()
		}
	}
	p.state = st
	return p, nil
}

// DirMode is the mode of directories a files entry needs and the image
// lacks, whatever the file's own mode.
const DirMode os.FileMode = 0o755

// parentDir is the directory a copy to dest needs: dest itself when it
// names a directory ("/etc/app/"), else its parent.
func parentDir(dest string) string {
	if strings.HasSuffix(dest, "/") {
		return path.Clean(dest)
	}
	return path.Dir(path.Clean(dest))
}

// escapePattern makes a path a literal include pattern.
func escapePattern(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `*`, `\*`, `?`, `\?`, `[`, `\[`)
	return r.Replace(s)
}
