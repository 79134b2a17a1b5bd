package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/imgctl/imgctl/pkg/signing"
)

// TestKeygen: keygen writes the pair with the password from
// $COSIGN_PASSWORD, prints both paths, refuses to replace them, and is a
// usage error without the variable.
func TestKeygen(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "keys")
	t.Setenv(signing.PasswordEnv, "pw")
	var out, errOut bytes.Buffer
	code := Run(context.Background(), []string{"keygen", dir, "--prefix", "demo"}, &out, &errOut)
	require.Equal(t, ExitOK, code, errOut.String())
	key, pub := filepath.Join(dir, "demo.key"), filepath.Join(dir, "demo.pub")
	require.Equal(t, key+"\n"+pub+"\n", out.String())
	_, err := signing.LoadSigner(key, []byte("pw"))
	require.NoError(t, err)

	out.Reset()
	errOut.Reset()
	code = Run(context.Background(), []string{"keygen", dir, "--prefix", "demo"}, &out, &errOut)
	require.Equal(t, ExitError, code)
	require.Contains(t, errOut.String(), "file already exists")
	require.Empty(t, out.String())

	require.NoError(t, os.Unsetenv(signing.PasswordEnv))
	errOut.Reset()
	code = Run(context.Background(), []string{"keygen", t.TempDir()}, &out, &errOut)
	require.Equal(t, ExitUsage, code)
	require.Contains(t, errOut.String(), "$COSIGN_PASSWORD is not set")
}
