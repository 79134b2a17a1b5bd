package cli

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/imgctl/imgctl/pkg/signing"
)

func newKeygenCmd(s streams) *cobra.Command {
	var prefix string
	cmd := &cobra.Command{
		Use:   "keygen [DIR] [--prefix NAME]",
		Short: "Make a cosign signing key pair (what cosign generate-key-pair writes)",
		Long: `keygen makes a new ECDSA P-256 key pair in DIR (default .), with cosign's
own code, in the files ` + "`cosign generate-key-pair`" + ` writes: NAME.key, the private
key encrypted with the password in $COSIGN_PASSWORD (which must be set; it may
be empty), and NAME.pub, the public key that verify, catalog and the cosign
CLI check signatures with. It never replaces an existing NAME.key or
NAME.pub. It prints the two paths.`,
		Args: maxArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			pw, ok := os.LookupEnv(signing.PasswordEnv)
			if !ok {
				return usageErr("$%s is not set: it is the password the private key is encrypted with (set it, empty for none)", signing.PasswordEnv)
			}
			dir := "."
			if len(args) > 0 {
				dir = args[0]
			}
			files, err := signing.GenerateKeyPair(dir, prefix, []byte(pw))
			if err != nil {
				return err
			}
			fmt.Fprintln(s.out, files.Private)
			fmt.Fprintln(s.out, files.Public)
			return nil
		},
	}
	cmd.Flags().StringVar(&prefix, "prefix", "cosign", "the files' NAME: NAME.key and NAME.pub")
	return cmd
}
