package catalog

import (
	"context"
	"fmt"
	"sync"

	"github.com/google/go-containerregistry/pkg/name"
	"golang.org/x/sync/errgroup"

	"github.com/imgctl/imgctl/pkg/inventory"
	"github.com/imgctl/imgctl/pkg/regclient"
	"github.com/imgctl/imgctl/pkg/spec"
	"github.com/imgctl/imgctl/pkg/status"
)

// Contents reads what a published version holds: per platform its size,
// configuration and SBOM packages.
type Contents interface {
	Read(ctx context.Context, ref name.Digest) (*inventory.Version, error)
}

// RegistryContents reads contents with inventory.Read through a registry
// client (its transport, auth and retry policy).
type RegistryContents struct {
	C *regclient.Client
}

var _ Contents = RegistryContents{}

// Read implements Contents.
func (r RegistryContents) Read(ctx context.Context, ref name.Digest) (*inventory.Version, error) {
	opts, err := r.C.ReadOptions(ctx, ref.Context())
	if err != nil {
		return nil, err
	}
	// One read at a time within a version: Observe bounds the versions
	// read at once by --jobs.
	return inventory.Read(ctx, ref, inventory.Options{Config: true, Packages: true, Jobs: 1}, opts...)
}

// Options configure Observe.
type Options struct {
	// Trust, when set, reads each version's signature, SBOM and
	// provenance state (a verify.Checker; with a key, signatures are
	// checked).
	Trust status.Trust
	// Registry overrides the library's registry.
	Registry string
	// Jobs bounds concurrent registry reads; the default is 1.
	Jobs int
}

// Observe reads, for every image of lib, its versions and their markers
// (status.Collect), then what each version holds, at most opts.Jobs reads
// at a time.
func Observe(ctx context.Context, lib *spec.Library, reg status.Registry, contents Contents, opts Options) (*Observation, error) {
	jobs := max(1, opts.Jobs)
	rep, err := status.Collect(ctx, lib, reg, status.Options{Trust: opts.Trust, Registry: opts.Registry, Jobs: jobs})
	if err != nil {
		return nil, err
	}
	obs := &Observation{Report: rep, Contents: map[string]*inventory.Version{}}
	var mu sync.Mutex
	eg, ctx := errgroup.WithContext(ctx)
	eg.SetLimit(jobs)
	seen := map[string]bool{}
	for _, im := range rep.Images {
		for _, v := range im.Versions {
			ref := im.Repository + "@" + v.Digest
			if seen[ref] {
				continue
			}
			seen[ref] = true
			eg.Go(func() error {
				d, err := name.NewDigest(ref, name.Insecure)
				if err != nil {
					return fmt.Errorf("parsing %s: %w", ref, err)
				}
				inv, err := contents.Read(ctx, d)
				if err != nil {
					return fmt.Errorf("reading what %s %s holds: %w", im.Name, v.Version, err)
				}
				mu.Lock()
				obs.Contents[v.Digest] = inv
				mu.Unlock()
				return nil
			})
		}
	}
	if err := eg.Wait(); err != nil {
		return nil, err
	}
	return obs, nil
}
