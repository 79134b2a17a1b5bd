package build

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"time"

	"github.com/containerd/platforms"
	"github.com/moby/buildkit/client"
	"github.com/moby/buildkit/client/llb"
	"github.com/tonistiigi/fsutil"
	"golang.org/x/sync/errgroup"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// BinaryImage is an image holding one static executable per platform and
// nothing else, run as its entrypoint: how imgctl ships its own tools
// (the SBOM scanner) to a registry the BuildKit workers pull from.
type BinaryImage struct {
	// Repository is where the image is pushed, by digest only.
	Repository string
	// Binaries maps a platform ("linux/arm64") to the absolute path of
	// that platform's static executable.
	Binaries map[string]string
	// Path is where the executable goes in the image, e.g.
	// "/imgctl-sbom-scanner"; it is the entrypoint.
	Path string
	// Annotations are set on the index and every manifest.
	Annotations map[string]string
	// Insecure talks plain HTTP to the registry.
	Insecure bool
}

// BuildBinary builds bi with BuildKit, one scratch image per platform with
// the executable at bi.Path (mode 0555, root-owned, epoch timestamps), and
// pushes it as one index by digest. The same binaries give the same digest.
func (c *Client) BuildBinary(ctx context.Context, bi BinaryImage, status chan *client.SolveStatus) (Result, error) {
	start := time.Now()
	if len(bi.Binaries) == 0 {
		return Result{}, fmt.Errorf("image %s: no binaries", bi.Repository)
	}
	if !path.IsAbs(bi.Path) || path.Clean(bi.Path) == "/" {
		return Result{}, fmt.Errorf("image %s: executable path %q is not an absolute file path", bi.Repository, bi.Path)
	}
	locals := map[string]fsutil.FS{}
	var builds []platformBuild
	for i, id := range slices.Sorted(maps.Keys(bi.Binaries)) {
		plat, err := platforms.Parse(id)
		if err != nil {
			return Result{}, fmt.Errorf("image %s: platform %q: %w", bi.Repository, id, err)
		}
		plat = platforms.Normalize(plat)
		bin := bi.Binaries[id]
		if st, err := os.Stat(bin); err != nil {
			return Result{}, fmt.Errorf("image %s: %w", bi.Repository, err)
		} else if !st.Mode().IsRegular() {
			return Result{}, fmt.Errorf("image %s: %s is not a regular file", bi.Repository, bin)
		}
		fs, err := fsutil.NewFS(filepath.Dir(bin))
		if err != nil {
			return Result{}, fmt.Errorf("image %s: %w", bi.Repository, err)
		}
		local := fmt.Sprintf("bin%d", i)
		locals[local] = fs
		base := filepath.Base(bin)
		src := llb.Local(local, llb.IncludePatterns([]string{escapePattern(base)}), llb.FollowPaths([]string{base}),
			llb.WithCustomNamef("[%s %s] binary", path.Base(bi.Repository), platforms.Format(plat)))
		st := llb.Scratch().Platform(plat).File(llb.Copy(src, "/"+base, bi.Path, &llb.CopyInfo{
			Mode:           &llb.ChmodOpt{Mode: 0o555},
			CreateDestPath: true,
			ChownOpt:       &llb.ChownOpt{User: &llb.UserOpt{UID: 0}, Group: &llb.UserOpt{UID: 0}},
			CreatedTime:    &epoch,
		}), llb.WithCustomNamef("[%s %s] COPY %s", path.Base(bi.Repository), platforms.Format(plat), bi.Path))
		cfg := ocispec.Image{
			Created:  &epoch,
			Platform: plat,
			Config: ocispec.ImageConfig{
				Entrypoint: []string{bi.Path},
				Env:        []string{"PATH=" + DefaultPath},
			},
			RootFS:  ocispec.RootFS{Type: "layers"},
			History: []ocispec.History{{Created: &epoch, CreatedBy: "COPY " + bi.Path + " # imgctl"}},
		}
		config, err := json.Marshal(cfg)
		if err != nil {
			return Result{}, err
		}
		builds = append(builds, platformBuild{
			platform: plat,
			id:       platforms.Format(plat),
			prep:     &prepared{platform: plat, state: st, config: config, names: map[string]int{}},
		})
	}
	opt := client.SolveOpt{
		FrontendAttrs: map[string]string{},
		Exports:       []client.ExportEntry{{Type: client.ExporterImage, Attrs: exportAttrs(bi.Repository, bi.Insecure, bi.Annotations)}},
		LocalMounts:   locals,
	}
	ch := make(chan *client.SolveStatus)
	var eg errgroup.Group
	eg.Go(func() error {
		for s := range ch {
			if status != nil {
				select {
				case status <- s:
				case <-ctx.Done():
				}
			}
		}
		return nil
	})
	resp, err := c.bk.Build(ctx, opt, "", buildFunc(builds, nil, nil), ch)
	_ = eg.Wait()
	if err != nil {
		return Result{}, fmt.Errorf("building %s: %s", bi.Repository, oneLine(grpcMessage(err)))
	}
	dgst := resp.ExporterResponse["containerimage.digest"]
	if dgst == "" {
		return Result{}, fmt.Errorf("building %s: BuildKit reported no image digest", bi.Repository)
	}
	return Result{Digest: dgst, Duration: time.Since(start)}, nil
}
