package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sort"

	"github.com/spf13/cobra"
	"golang.org/x/sync/errgroup"

	"github.com/imgctl/imgctl/pkg/mirror"
	"github.com/imgctl/imgctl/pkg/spec"
)

func newMirrorCmd(s streams) *cobra.Command {
	var (
		f      registryFlags
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "mirror [DIR]",
		Short: "Copy the library's external bases into policy.mirror (for a scheduled job)",
		Long: `mirror copies every external base of the library in DIR (default images/) —
each from: that is not "scratch", of every image not retired — as it is upstream now
into policy.mirror, as publish does before building: by digest to
PREFIX/<upstream repository path>@<digest>, the whole index (every platform), with
the upstream's cosign signatures and attestations (sha256-<hex>.sig/.att/.sbom) and
OCI referrers, and the upstream tag recorded as the same tag in the mirror
repository. What the mirror holds is skipped; nothing in it is overwritten but its
record of an upstream tag, and nothing is deleted (docs/mirror.md).

A base whose upstream is unreachable or whose tag is gone is reported with a
warning naming the mirror's copy, not an error, when the mirror has one.

Exit status: 0 success; 1 error (a base neither upstream nor the mirror has).`,
		Args: maxArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := f.validate(); err != nil {
				return err
			}
			if f.registry != "" {
				return usageErr("--registry: mirror copies to policy.mirror; the library's registry is not used")
			}
			lib, err := loadLibrary(s, dirArg(args))
			if err != nil {
				return err
			}
			if lib.Policy.Mirror == "" {
				return usageErr("policy.mirror is not set in %s: there is no mirror to copy to", lib.Dir)
			}
			bases := externalBases(lib)
			warn := slog.New(slog.NewTextHandler(s.errOut, &slog.HandlerOptions{Level: slog.LevelWarn}))
			m := &mirror.Mirror{Prefix: lib.Policy.Mirror, Registry: f.client(s), Log: warn}
			out := make([]mirror.Copied, len(bases))
			errs := make([]error, len(bases))
			var g errgroup.Group
			g.SetLimit(f.jobs)
			for i, ref := range bases {
				g.Go(func() error {
					out[i], errs[i] = m.Sync(cmd.Context(), ref)
					if errs[i] != nil {
						errs[i] = fmt.Errorf("mirroring %s: %w", ref, errs[i])
					}
					return nil
				})
			}
			_ = g.Wait()
			var done []mirror.Copied
			for i := range bases {
				if errs[i] == nil {
					done = append(done, out[i])
				}
			}
			if asJSON {
				if done == nil {
					done = []mirror.Copied{}
				}
				enc := json.NewEncoder(s.out)
				enc.SetIndent("", "  ")
				if err := enc.Encode(struct {
					Mirror string          `json:"mirror"`
					Bases  []mirror.Copied `json:"bases"`
				}{lib.Policy.Mirror, done}); err != nil {
					return err
				}
			} else {
				writeMirrored(s, lib.Policy.Mirror, done)
			}
			return errors.Join(errs...)
		},
	}
	f.add(cmd)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print what was copied as JSON")
	return cmd
}

// externalBases are the from: references of lib's images that are not
// retired, sorted, without scratch or duplicates.
func externalBases(lib *spec.Library) []string {
	seen := map[string]bool{}
	var out []string
	for _, n := range lib.Names() {
		im := lib.Image(n)
		if im.IsExternal() && im.From != "scratch" && im.Deprecated == nil && !seen[im.From] {
			seen[im.From] = true
			out = append(out, im.From)
		}
	}
	sort.Strings(out)
	return out
}

// writeMirrored prints one line per base: copied, present or gone.
func writeMirrored(s streams, prefix string, cs []mirror.Copied) {
	copied := 0
	for _, c := range cs {
		state := "present"
		switch {
		case c.Gone:
			state = "gone"
		case !c.Present:
			state = "copied"
			copied++
		}
		line := fmt.Sprintf("%-8s %s -> %s", state, c.Upstream, c.Mirror)
		if c.Artifacts > 0 {
			line += fmt.Sprintf(" (+%d signatures, attestations, referrers)", c.Artifacts)
		}
		fmt.Fprintln(s.out, line)
		if c.Warning != "" {
			fmt.Fprintf(s.out, "         warning: %s\n", c.Warning)
		}
	}
	fmt.Fprintf(s.out, "%d external bases in %s: %d copied.\n", len(cs), prefix, copied)
}
