package cli

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/imgctl/imgctl/pkg/inventory"
	"github.com/imgctl/imgctl/pkg/plan"
	"github.com/imgctl/imgctl/pkg/readmodel"
	"github.com/imgctl/imgctl/pkg/regclient"
	"github.com/imgctl/imgctl/pkg/spec"
)

// planFlags are shared by plan and publish.
type planFlags struct {
	registryFlags
	date    string
	targets []string
	refresh bool
	// unlocked reads what locked images' newest versions hold outside
	// their locks (imgctl plan shows it; publish does not need it).
	unlocked bool
	// allowGrowth names images let through over their size budget once
	// (plan and publish --allow-growth).
	allowGrowth []string
}

func (f *planFlags) add(cmd *cobra.Command) {
	f.registryFlags.add(cmd)
	cmd.Flags().StringVar(&f.date, "date", "", "publish date YYYY-MM-DD (UTC) for dated tags; default today")
	cmd.Flags().StringArrayVar(&f.targets, "target", nil, "plan only this image and what it needs; repeatable")
	cmd.Flags().StringArrayVar(&f.allowGrowth, "allow-growth", nil, "let this image's new version through once although it is over its size budget (maxSize, maxGrowth), recorded in the plan; repeatable")
	cmd.Flags().BoolVar(&f.refresh, "refresh", false, "refresh now every unchanged image that installs packages (apt, pip, r): rebuild it with those steps run again, and publish a new version only if its packages changed (policy.refreshDays does it by age)")
}

func (f *planFlags) validate() error {
	if err := f.registryFlags.validate(); err != nil {
		return err
	}
	if f.date == "" {
		f.date = time.Now().UTC().Format("2006-01-02")
	}
	if _, err := time.Parse("2006-01-02", f.date); err != nil {
		return usageErr("--date %q: want YYYY-MM-DD", f.date)
	}
	if f.registry != "" && !spec.ValidRegistry(f.registry) {
		return usageErr("--registry %q: want HOST[:PORT]/PREFIX", f.registry)
	}
	return nil
}

// makePlan loads the specs, observes the registry and computes the plan.
func makePlan(ctx context.Context, s streams, dir string, f *planFlags, c *regclient.Client) (*spec.Library, *plan.Plan, error) {
	lib, err := loadBuildable(s, dir, f.targets...)
	if err != nil {
		return nil, nil, err
	}
	reg := readmodel.Remote{C: c, Cache: &inventory.Cache{}}
	p, _, err := plan.Make(ctx, lib, reg, plan.ObserveOptions{Registry: f.registry, Targets: f.targets, Jobs: f.jobs, Unlocked: f.unlocked}, plan.Options{Date: f.date, Targets: f.targets, Refresh: f.refresh, AllowGrowth: f.allowGrowth})
	if err != nil {
		return nil, nil, err
	}
	wd, _ := os.Getwd()
	return lib, p.Relative(wd), nil
}

func newPlanCmd(s streams) *cobra.Command {
	var (
		f            planFlags
		asJSON       bool
		out          string
		detailedExit bool
	)
	cmd := &cobra.Command{
		Use:   "plan [DIR]",
		Short: "Show what publish would build, tag and deprecate, and why",
		Long: `plan loads the specs in DIR (default images/), reads the registry and prints,
for every image, whether it would be built, skipped, retired or is blocked, with the
reason and the spec position behind it; then the tags to write and the versions to
deprecate. Nothing is written.

Exit status: 0 success; 1 error; with --detailed-exitcode, 0 nothing to do,
1 error, 2 changes present (blocked images count as changes).`,
		Args: maxArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := f.validate(); err != nil {
				return err
			}
			_, p, err := makePlan(cmd.Context(), s, dirArg(args), &f, f.readClient(s))
			if err != nil {
				return err
			}
			if out != "" {
				if err := savePlan(out, p); err != nil {
					return err
				}
			}
			if asJSON {
				err = p.WriteJSON(s.out)
			} else {
				err = p.WriteText(s.out)
				if out != "" {
					fmt.Fprintf(s.out, "Saved the plan to %s; apply it with: imgctl publish --plan %s\n", out, out)
				}
			}
			if err != nil {
				return err
			}
			// Blocked images are a change to report: the library is not
			// what its specs say.
			if detailedExit && (p.HasChanges() || p.Summary.Blocked > 0) {
				return &exitError{code: ExitChanges, err: fmt.Errorf("changes present"), reported: true}
			}
			return nil
		},
	}
	f.add(cmd)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the plan as JSON (docs/plan-format.md)")
	cmd.Flags().StringVar(&out, "out", "", "save the plan to FILE for imgctl publish --plan FILE")
	cmd.Flags().BoolVar(&f.unlocked, "unlocked", false, "also list, per locked image, the packages its newest version holds outside its lock (reads that version's and its base's SBOMs)")
	cmd.Flags().BoolVar(&detailedExit, "detailed-exitcode", false, "exit 0 when there is nothing to do, 2 when there are changes, 1 on error")
	return cmd
}

// savePlan writes the plan atomically: a temporary file renamed into place.
func savePlan(path string, p *plan.Plan) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".plan-*.json")
	if err != nil {
		return fmt.Errorf("saving plan: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := p.WriteJSON(tmp); err != nil {
		tmp.Close()
		return fmt.Errorf("saving plan: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("saving plan: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("saving plan: %w", err)
	}
	return nil
}
