package cli

import (
	"fmt"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/spf13/cobra"

	"github.com/imgctl/imgctl/pkg/vulndb"
)

func newVulnDBCmd(s streams) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "vulndb",
		Short: "Store the vulnerability feed in the library's registry",
	}
	var (
		f  registryFlags
		to string
	)
	push := &cobra.Command{
		Use:   "push FEED_DIR [DIR] [--to REF]",
		Short: "Store an OSV feed directory as one OCI artifact (REGISTRY/imgctl-vulndb:latest and a dated tag)",
		Long: `push reads FEED_DIR/<Ecosystem>/all.zip (OSV's per-ecosystem archives, as
https://osv-vulnerabilities.storage.googleapis.com/<Ecosystem>/all.zip serves
them), checks that every record parses, and pushes them as one OCI artifact to
--to, else policy.vulnDB, else REGISTRY/imgctl-vulndb:latest of the library in
DIR (default images/); the artifact is also tagged with the day it was pushed
(YYYY.MM.DD). Point policy.vulnDB at it and every CI runner reads the feed from
the organisation's registry; one scheduled job refreshes it.`,
		Args: rangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := f.validate(); err != nil {
				return err
			}
			dest := to
			if dest == "" {
				lib, _, _, err := libraryArgs(s, args[1:])
				if err != nil {
					return err
				}
				dest = lib.Policy.VulnDB
				if dest == "" {
					registry := lib.Registry
					if f.registry != "" {
						registry = f.registry
					}
					dest = registry + "/" + vulndb.Repository + ":latest"
				}
			}
			archives, err := vulndb.ReadDir(args[0])
			if err != nil {
				return err
			}
			feed, err := vulndb.Load(archives)
			if err != nil {
				return err
			}
			img, err := vulndb.Artifact(archives, feed)
			if err != nil {
				return err
			}
			c := f.client(s)
			ref, err := c.Reference(dest)
			if err != nil {
				return usageErr("--to %q: %v", dest, err)
			}
			opts, err := c.WriteOptions(cmd.Context(), ref.Context())
			if err != nil {
				return err
			}
			opts = append(opts, remote.WithContext(cmd.Context()))
			if err := remote.Write(ref, img, opts...); err != nil {
				return fmt.Errorf("pushing the feed to %s: %w", dest, err)
			}
			dated := ref.Context().Tag(time.Now().UTC().Format("2006.01.02"))
			if err := remote.Tag(dated, img, opts...); err != nil {
				return fmt.Errorf("tagging the feed %s: %w", dated, err)
			}
			d, _ := img.Digest()
			fmt.Fprintf(s.out, "pushed the feed of %s (%d records: %v) to %s and %s (%s)\n",
				feed.Date.Format("2006-01-02"), feed.Records, feed.Ecosystems, ref, dated.TagStr(), d)
			return nil
		},
	}
	f.add(push)
	push.Flags().StringVar(&to, "to", "", "the artifact reference to push to (default policy.vulnDB, else REGISTRY/imgctl-vulndb:latest)")
	cmd.AddCommand(push)
	return cmd
}
