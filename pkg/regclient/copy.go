package regclient

import (
	"context"
	"fmt"

	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// Copy copies the manifest src (repo:tag or repo@digest) and everything
// it references — an index's every child manifest, every config and
// layer blob — to dst (repo:tag or repo@digest), byte for byte: the
// copy has src's digest. Blobs dst already holds are not uploaded again.
// An absent src is ErrNotFound.
func (c *Client) Copy(ctx context.Context, src, dst string) error {
	s, err := c.Reference(src)
	if err != nil {
		return err
	}
	d, err := c.Reference(dst)
	if err != nil {
		return err
	}
	ropts, err := c.ReadOptions(ctx, s.Context())
	if err != nil {
		return c.fail("reading manifest", s.Context(), err)
	}
	desc, err := remote.Get(s, ropts...)
	if err != nil {
		return c.fail("reading manifest "+s.Identifier(), s.Context(), err)
	}
	wopts, err := c.WriteOptions(ctx, d.Context())
	if err != nil {
		return err
	}
	// Reads of src's blobs go through src's options: the image values
	// returned by desc carry them.
	if desc.MediaType.IsIndex() {
		idx, err := desc.ImageIndex()
		if err != nil {
			return fmt.Errorf("reading index %s: %w", src, err)
		}
		err = remote.WriteIndex(d, idx, wopts...)
		if err != nil {
			return c.fail("copying "+src+" to "+d.Identifier(), d.Context(), err)
		}
		return nil
	}
	img, err := desc.Image()
	if err != nil {
		return fmt.Errorf("reading image %s: %w", src, err)
	}
	if err := remote.Write(d, img, wopts...); err != nil {
		return c.fail("copying "+src+" to "+d.Identifier(), d.Context(), err)
	}
	return nil
}
