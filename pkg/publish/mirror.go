package publish

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"github.com/imgctl/imgctl/pkg/mirror"
	"github.com/imgctl/imgctl/pkg/plan"
	"github.com/imgctl/imgctl/pkg/spec"
)

// BaseMirror copies an external base, by digest, into policy.mirror and
// says where the copy is (*mirror.Mirror).
type BaseMirror interface {
	Copy(ctx context.Context, upstream, digest string) (mirror.Copied, error)
}

var _ BaseMirror = (*mirror.Mirror)(nil)

// mirrorBases copies the external base of every image p builds into the
// mirror, before any build, and returns the copies by base reference:
// PREFIX/<path>@<digest>, what those images are built FROM. Without
// policy.mirror it copies nothing.
func (pub *Publisher) mirrorBases(ctx context.Context, lib *spec.Library, p *plan.Plan) (map[string]string, []mirror.Copied, error) {
	if lib.Policy.Mirror == "" {
		return nil, nil, nil
	}
	digests := map[string]string{}
	for _, st := range p.Images {
		if st.Action == plan.Build && st.Base.Image == "" && st.Base.Ref != "scratch" && st.Base.Digest != "" {
			digests[st.Base.Ref] = st.Base.Digest
		}
	}
	if len(digests) == 0 {
		return nil, nil, nil
	}
	if pub.Mirror == nil {
		return nil, nil, errors.New("policy.mirror is set and the publisher has no mirror")
	}
	refs := make([]string, 0, len(digests))
	for ref := range digests {
		refs = append(refs, ref)
	}
	sort.Strings(refs)
	copied := make([]mirror.Copied, len(refs))
	err := pub.each(ctx, len(refs), func(ctx context.Context, i int) error {
		c, err := pub.Mirror.Copy(ctx, refs[i], digests[refs[i]])
		if err != nil {
			return fmt.Errorf("mirroring external base %s: %w", refs[i], err)
		}
		copied[i] = c
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	out := map[string]string{}
	for i, ref := range refs {
		out[ref] = copied[i].Mirror
		pub.logger().Info("external base in the mirror", "upstream", copied[i].Upstream, "mirror", copied[i].Mirror,
			"copied", !copied[i].Present, "artifacts", copied[i].Artifacts)
	}
	return out, copied, nil
}
