package build

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// BaseConfig fetches the image config of ref, a digest reference, for plat
// (when ref is an index), and returns it decoded and as the registry's
// bytes. read gives the remote options for ref's repository (the caller's
// registry client: authentication, retries, transport); they come after a
// context and a platform option.
func BaseConfig(ctx context.Context, ref string, insecure bool, plat ocispec.Platform, read func(context.Context, name.Repository) ([]remote.Option, error)) (*ocispec.Image, []byte, error) {
	var nopts []name.Option
	if insecure {
		nopts = append(nopts, name.Insecure)
	}
	d, err := name.NewDigest(ref, nopts...)
	if err != nil {
		return nil, nil, fmt.Errorf("parsing base %q: %w", ref, err)
	}
	opts, err := read(ctx, d.Context())
	if err != nil {
		return nil, nil, fmt.Errorf("fetching base %s: %w", ref, err)
	}
	ropts := append([]remote.Option{
		remote.WithContext(ctx),
		remote.WithPlatform(v1.Platform{OS: plat.OS, Architecture: plat.Architecture, Variant: plat.Variant}),
	}, opts...)
	img, err := remote.Image(d, ropts...)
	if err != nil {
		return nil, nil, fmt.Errorf("fetching base %s: %w", ref, err)
	}
	raw, err := img.RawConfigFile()
	if err != nil {
		return nil, nil, fmt.Errorf("fetching config of base %s: %w", ref, err)
	}
	var cfg ocispec.Image
	if err := json.Unmarshal(raw, &cfg); err != nil {
		return nil, nil, fmt.Errorf("decoding config of base %s: %w", ref, err)
	}
	return &cfg, raw, nil
}
