package cli

import (
	"fmt"
	"log/slog"

	"github.com/spf13/cobra"

	"github.com/imgctl/imgctl/pkg/plan"
	"github.com/imgctl/imgctl/pkg/spec"
)

func newScannerCmd(s streams) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "scanner",
		Short: "imgctl's SBOM scanner image",
	}
	cmd.AddCommand(newScannerPushCmd(s))
	return cmd
}

func newScannerPushCmd(s streams) *cobra.Command {
	var (
		rf        registryFlags
		bk        buildkitFlags
		af        attestFlags
		cacheRepo string
		repo      string
	)
	cmd := &cobra.Command{
		Use:   "push [DIR]",
		Short: "Push imgctl's SBOM scanner image where publish looks for it; print its digest reference",
		Long: `scanner push packages imgctl's SBOM scanner (the binaries hack/scanner.sh
builds, one per platform) as a scratch image with BuildKit and pushes it to
REPO:sbom-scanner-<hash of the binaries>, where REPO is the build cache
repository of the library in DIR (REGISTRY/imgctl-cache, or --cache-repo,
or policy.cacheRepo) unless --repo names another. publish does the same
by itself when the scanner is missing; run this to push it ahead of time,
for example to pin it with policy.sbomScanner. A scanner already there is
not pushed again. Prints the digest reference BuildKit runs.`,
		Args: maxArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := rf.validate(); err != nil {
				return err
			}
			if cacheRepo != "" && !spec.ValidRegistry(cacheRepo) {
				return usageErr("--cache-repo %q: want HOST[:PORT]/PATH", cacheRepo)
			}
			if repo == "" {
				lib, err := loadLibrary(s, dirArg(args))
				if err != nil {
					return err
				}
				registry := lib.Registry
				if rf.registry != "" {
					registry = rf.registry
				}
				repo = scannerRepo(lib, &plan.Plan{Registry: registry}, cacheRepo)
			} else if !spec.ValidRegistry(repo) {
				return usageErr("--repo %q: want HOST[:PORT]/PATH", repo)
			}
			l, err := af.localScanner()
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			c := rf.client(s)
			bc, err := bk.pool(ctx, rf.jobs, slog.New(slog.NewTextHandler(s.errOut, &slog.HandlerOptions{Level: slog.LevelWarn})))
			if err != nil {
				return err
			}
			defer bc.Close()
			ref, pushed, err := l.Ensure(ctx, c, bc, repo, c.PlainHTTP(repo), nil)
			if err != nil {
				return err
			}
			if pushed {
				fmt.Fprintf(s.errOut, "pushed %s:%s\n", repo, l.Tag)
			} else {
				fmt.Fprintf(s.errOut, "%s:%s is already there\n", repo, l.Tag)
			}
			fmt.Fprintln(s.out, ref)
			return nil
		},
	}
	rf.add(cmd)
	bk.add(cmd)
	af.addScannerDir(cmd)
	cmd.Flags().StringVar(&cacheRepo, "cache-repo", "", "the build cache prefix publish uses (default policy.cacheRepo, else REGISTRY/imgctl-cache)")
	cmd.Flags().StringVar(&repo, "repo", "", "push to this repository HOST[:PORT]/PATH instead")
	return cmd
}
