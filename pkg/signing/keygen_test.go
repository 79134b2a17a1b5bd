package signing_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/sigstore/cosign/v2/pkg/cosign"
	"github.com/stretchr/testify/require"

	"github.com/imgctl/imgctl/pkg/signing"
)

// TestGenerateKeyPair: the pair is cosign's (cosign's own loader reads
// the private key, the signer's public key is the .pub written), modes
// 0600 and 0644, and neither file is ever replaced.
func TestGenerateKeyPair(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "keys")
	const pw = "demo-only-password"
	files, err := signing.GenerateKeyPair(dir, "cosign", []byte(pw))
	require.NoError(t, err)
	require.Equal(t, signing.KeyFiles{Private: filepath.Join(dir, "cosign.key"), Public: filepath.Join(dir, "cosign.pub")}, files)

	for path, mode := range map[string]os.FileMode{files.Private: 0o600, files.Public: 0o644} {
		fi, err := os.Stat(path)
		require.NoError(t, err)
		require.Equal(t, mode, fi.Mode().Perm(), path)
	}
	priv, err := os.ReadFile(files.Private)
	require.NoError(t, err)
	_, err = cosign.LoadPrivateKey(priv, []byte(pw), nil)
	require.NoError(t, err, "cosign's loader reads the private key")

	s, err := signing.LoadSigner(files.Private, []byte(pw))
	require.NoError(t, err)
	pub, err := s.PublicKey()
	require.NoError(t, err)
	written, err := os.ReadFile(files.Public)
	require.NoError(t, err)
	require.Equal(t, string(pub), string(written))
	_, err = signing.LoadVerifier(files.Public)
	require.NoError(t, err)
	_, err = signing.LoadSigner(files.Private, []byte("not it"))
	require.ErrorIs(t, err, signing.ErrWrongPassword)

	// Again: refused, and the first pair is untouched.
	_, err = signing.GenerateKeyPair(dir, "cosign", []byte(pw))
	require.ErrorIs(t, err, fs.ErrExist)
	again, err := os.ReadFile(files.Private)
	require.NoError(t, err)
	require.Equal(t, priv, again)

	// A lone .pub is not replaced either, and no .key is left behind.
	other := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(other, "k.pub"), []byte("x"), 0o644))
	_, err = signing.GenerateKeyPair(other, "k", nil)
	require.ErrorIs(t, err, fs.ErrExist)
	_, err = os.Stat(filepath.Join(other, "k.key"))
	require.ErrorIs(t, err, fs.ErrNotExist)
}
