package cli

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/imgctl/imgctl/pkg/prune"
	"github.com/imgctl/imgctl/pkg/readmodel"
	"github.com/imgctl/imgctl/pkg/regclient"
	"github.com/imgctl/imgctl/pkg/retention"
	"github.com/imgctl/imgctl/pkg/spec"
)

func newPruneCmd(s streams) *cobra.Command {
	var (
		f            registryFlags
		apply        bool
		asJSON       bool
		date         string
		inUse        []string
		detailedExit bool
	)
	cmd := &cobra.Command{
		Use:   "prune [DIR] [--apply] [--in-use FILE]...",
		Short: "Delete old versions from the registry by policy.retention (a plan unless --apply)",
		Long: `prune judges every published version of the library in DIR (default images/)
by policy.retention and prints what it would delete and why, like imgctl plan:
a version is deleted once it is past its end of life by afterEndOfLifeDays,
unless it is latest or a moving tag's target, one of the keepNewest newest, pinned
by a spec (parent: "x@VERSION"), the base of a kept version, tagged by a tag imgctl
did not write, or in use.

--in-use FILE (repeatable) names what runs: a Kubernetes pod list (kubectl get
pods -A -o json), an imgctl launcher output (imgctl launcher …), or plain lines
of digests or references; every version it names is kept, reported as in use.

With --apply it deletes each chosen version — its tags, its index, its platform
and attestation manifests, and every referrer of them (lifecycle markers,
signatures, attestations) — in an order that an interrupted prune re-runs to
completion (docs/lifecycle.md). A registry that does not delete (distribution
with storage.delete.enabled: false) is an error before anything is deleted.

Exit status: 0 success; 1 error; with --detailed-exitcode (without --apply),
0 nothing to delete, 1 error, 2 versions to delete.`,
		Args: maxArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := f.validate(); err != nil {
				return err
			}
			if date == "" {
				date = time.Now().UTC().Format("2006-01-02")
			}
			day, err := time.Parse("2006-01-02", date)
			if err != nil {
				return usageErr("--date %q: want YYYY-MM-DD", date)
			}
			if f.registry != "" && !spec.ValidRegistry(f.registry) {
				return usageErr("--registry %q: want HOST[:PORT]/PREFIX", f.registry)
			}
			if apply && detailedExit {
				return usageErr("--detailed-exitcode reports a plan: not with --apply")
			}
			lib, err := loadLibrary(s, dirArg(args))
			if err != nil {
				return err
			}
			var refs []retention.Ref
			var files []retention.InUseFile
			for _, file := range inUse {
				data, err := os.ReadFile(file)
				if err != nil {
					return fmt.Errorf("reading --in-use %s: %w", file, err)
				}
				r, info, err := retention.ParseInUse(file, data)
				if err != nil {
					return err
				}
				refs, files = append(refs, r...), append(files, info)
			}
			c := f.client(s)
			obs, err := retention.Observe(cmd.Context(), lib, readmodel.Remote{C: c}, retention.ObserveOptions{Registry: f.registry, Jobs: f.jobs})
			if err != nil {
				return err
			}
			wd, _ := os.Getwd()
			p := retention.Compute(retention.Input{Library: lib, Observation: obs, InUse: refs, InUseFiles: files, Day: day, Dir: wd})
			if asJSON {
				err = p.WriteJSON(s.out)
			} else {
				err = p.WriteText(s.out)
			}
			if err != nil {
				return err
			}
			if !apply {
				if detailedExit && p.HasChanges() {
					return &exitError{code: ExitChanges, err: fmt.Errorf("versions to delete"), reported: true}
				}
				return nil
			}
			if !p.HasChanges() {
				return nil
			}
			res, err := prune.Apply(cmd.Context(), pruneRegistry{c}, p, prune.Options{Jobs: f.jobs, Log: s.errOut})
			summary := fmt.Sprintf("Deleted %d versions: %d manifests, %d referrers, %d tags.\n", res.Versions, res.Manifests, res.Referrers, res.Tags)
			if asJSON {
				fmt.Fprint(s.errOut, summary)
			} else {
				fmt.Fprint(s.out, summary)
			}
			if err != nil {
				return fmt.Errorf("pruning (run imgctl prune --apply again to finish): %w", err)
			}
			return nil
		},
	}
	f.add(cmd)
	cmd.Flags().BoolVar(&apply, "apply", false, "delete what the plan chooses (without it prune only prints the plan)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the plan as JSON (docs/prune-format.md)")
	cmd.Flags().StringVar(&date, "date", "", "judge end of life on YYYY-MM-DD (UTC); default today")
	cmd.Flags().StringArrayVar(&inUse, "in-use", nil, "keep every version FILE names (a pod list, a launcher output or plain lines of digests and references); repeatable")
	cmd.Flags().BoolVar(&detailedExit, "detailed-exitcode", false, "exit 0 when there is nothing to delete, 2 when there is, 1 on error")
	return cmd
}

// pruneRegistry adapts the registry client to prune.Registry.
type pruneRegistry struct{ *regclient.Client }

var _ prune.Registry = pruneRegistry{}

// Resolve returns the digest ref points at.
func (r pruneRegistry) Resolve(ctx context.Context, ref string) (string, error) {
	d, err := r.Head(ctx, ref)
	if err != nil {
		return "", err
	}
	return d.Digest.String(), nil
}
