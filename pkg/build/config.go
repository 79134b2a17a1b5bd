package build

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/imgctl/imgctl/pkg/spec"
	digest "github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// epoch is SourceDateEpoch as a time.
var epoch = time.Unix(SourceDateEpoch, 0).UTC()

// imageConfig returns the OCI image config of im built on base (nil for
// scratch) for plat, with one history entry per step after the base's.
// The rootfs diff_ids are the base's; BuildKit's exporter replaces them
// with the real layers.
func imageConfig(im *spec.Image, base *ocispec.Image, plat ocispec.Platform, stps []step) (ocispec.Image, error) {
	img := ocispec.Image{
		Created:  &epoch,
		Platform: plat,
		RootFS:   ocispec.RootFS{Type: "layers", DiffIDs: []digest.Digest{}},
	}
	if base != nil {
		if base.OS != "" && (base.OS != plat.OS || base.Architecture != plat.Architecture ||
			(base.Variant != "" && plat.Variant != "" && base.Variant != plat.Variant)) {
			return ocispec.Image{}, fmt.Errorf("base is %s, image %s is built for %s",
				platformString(base.Platform), im.Name, platformString(plat))
		}
		img.Config = copyImageConfig(base.Config)
		img.RootFS.DiffIDs = append(img.RootFS.DiffIDs, base.RootFS.DiffIDs...)
		img.History = baseHistory(base)
	}
	c := &img.Config
	c.Env = mergeEnv(c.Env, im.Env)
	if _, ok := envValue(c.Env, "PATH"); !ok {
		c.Env = append([]string{"PATH=" + DefaultPath}, c.Env...)
	}
	if im.Workdir != "" {
		c.WorkingDir = im.Workdir
	}
	if im.User != "" {
		c.User = im.User
	}
	if im.Entrypoint != nil {
		// As in a Dockerfile: a new entrypoint drops the inherited command.
		c.Entrypoint = slices.Clone(im.Entrypoint)
		c.Cmd = nil
	}
	if im.Cmd != nil {
		c.Cmd = slices.Clone(im.Cmd)
	}
	for _, p := range im.Ports {
		if c.ExposedPorts == nil {
			c.ExposedPorts = map[string]struct{}{}
		}
		c.ExposedPorts[portKey(p)] = struct{}{}
	}
	for k, v := range im.Labels {
		if c.Labels == nil {
			c.Labels = map[string]string{}
		}
		c.Labels[k] = v
	}
	for _, s := range stps {
		img.History = append(img.History, ocispec.History{
			Created:    &epoch,
			CreatedBy:  s.createdBy,
			EmptyLayer: !s.layer(),
		})
	}
	return img, nil
}

// baseHistory returns base's history with exactly one non-empty entry per
// base layer and a creation time on each, so BuildKit never fills one in
// from the clock.
func baseHistory(base *ocispec.Image) []ocispec.History {
	var out []ocispec.History
	layers := 0
	for _, h := range base.History {
		if !h.EmptyLayer {
			layers++
		}
	}
	for i := layers; i < len(base.RootFS.DiffIDs); i++ {
		out = append(out, ocispec.History{Created: &epoch, CreatedBy: "(base layer without history)"})
	}
	for _, h := range base.History {
		if h.Created == nil {
			h.Created = &epoch
		}
		out = append(out, h)
	}
	return out
}

// copyImageConfig deep-copies c so the base config is never modified.
func copyImageConfig(c ocispec.ImageConfig) ocispec.ImageConfig {
	c.Env = slices.Clone(c.Env)
	c.Entrypoint = slices.Clone(c.Entrypoint)
	c.Cmd = slices.Clone(c.Cmd)
	c.ExposedPorts = maps.Clone(c.ExposedPorts)
	c.Volumes = maps.Clone(c.Volumes)
	c.Labels = maps.Clone(c.Labels)
	return c
}

// mergeEnv sets each of set in env: existing keys keep their position,
// new keys are appended in sorted order.
func mergeEnv(env []string, set map[string]string) []string {
	out := slices.Clone(env)
	for _, k := range sortedKeys(set) {
		kv := k + "=" + set[k]
		i := slices.IndexFunc(out, func(e string) bool { return strings.SplitN(e, "=", 2)[0] == k })
		if i >= 0 {
			out[i] = kv
		} else {
			out = append(out, kv)
		}
	}
	return out
}

// envValue returns the value of key in env.
func envValue(env []string, key string) (string, bool) {
	for _, e := range env {
		if k, v, _ := strings.Cut(e, "="); k == key {
			return v, true
		}
	}
	return "", false
}

func platformString(p ocispec.Platform) string {
	s := p.OS + "/" + p.Architecture
	if p.Variant != "" {
		s += "/" + p.Variant
	}
	return s
}

func jsonArray(a []string) string { return jsonText(a) }

func jsonString(s string) string { return jsonText(s) }

// jsonText is v as JSON without HTML escaping ("<" stays "<").
func jsonText(v any) string {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
	return strings.TrimSuffix(b.String(), "\n")
}
