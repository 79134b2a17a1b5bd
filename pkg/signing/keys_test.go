package signing_test

import (
	"crypto"
	"encoding/pem"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/sigstore/cosign/v2/pkg/cosign"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/stretchr/testify/require"

	"github.com/imgctl/imgctl/pkg/signing"
)

// keyPair is a cosign key pair as `cosign generate-key-pair` writes it:
// cosign.key (encrypted with password) and cosign.pub.
type keyPair struct {
	password []byte
	private  []byte // PEM, encrypted
	public   []byte // PEM
}

// files writes the pair into a new directory and returns the paths of
// cosign.key and cosign.pub.
func (k keyPair) files(t *testing.T) (keyPath, pubPath string) {
	t.Helper()
	dir := t.TempDir()
	keyPath, pubPath = filepath.Join(dir, "cosign.key"), filepath.Join(dir, "cosign.pub")
	require.NoError(t, os.WriteFile(keyPath, k.private, 0o600))
	require.NoError(t, os.WriteFile(pubPath, k.public, 0o644))
	return keyPath, pubPath
}

// signer loads the pair's private key, once per test binary (decrypting
// costs a second on a busy machine). Signers are safe for concurrent use
// and keep nothing open.
func (k keyPair) signer(t *testing.T) *signing.Signer {
	t.Helper()
	if s, ok := signers.Load(string(k.private)); ok {
		return s.(*signing.Signer)
	}
	keyPath, _ := k.files(t)
	s, err := signing.LoadSigner(keyPath, k.password)
	require.NoError(t, err)
	got, _ := signers.LoadOrStore(string(k.private), s)
	return got.(*signing.Signer)
}

var signers sync.Map // private key PEM -> *signing.Signer

func (k keyPair) verifier(t *testing.T) *signing.Verifier {
	t.Helper()
	_, pubPath := k.files(t)
	v, err := signing.LoadVerifier(pubPath)
	require.NoError(t, err)
	return v
}

// generate makes a key pair with cosign's own generator (scrypt makes
// this take a moment, so the pairs below are made once per test binary).
func generate(password string) keyPair {
	kb, err := cosign.GenerateKeyPair(func(bool) ([]byte, error) { return []byte(password), nil })
	if err != nil {
		panic(err)
	}
	return keyPair{password: []byte(password), private: kb.PrivateBytes, public: kb.PublicBytes}
}

var (
	// keyA and keyB are two unrelated key pairs; keyEmpty has an empty
	// password (cosign allows it).
	keyA     = sync.OnceValue(func() keyPair { return generate("correct horse battery staple") })
	keyB     = sync.OnceValue(func() keyPair { return generate("Tr0ub4dor&3") })
	keyEmpty = sync.OnceValue(func() keyPair { return generate("") })
)

// requireNoSecret fails if msg contains the password or a piece of the
// private key's PEM body.
func requireNoSecret(t *testing.T, msg string, k keyPair) {
	t.Helper()
	if len(k.password) > 0 {
		require.NotContains(t, msg, string(k.password), "the error contains the password")
	}
	blk, _ := pem.Decode(k.private)
	require.NotNil(t, blk)
	for _, line := range strings.Split(string(k.private), "\n") {
		if len(line) >= 16 && !strings.HasPrefix(line, "-----") {
			require.NotContains(t, msg, line[:16], "the error contains key bytes")
		}
	}
}

func TestLoadSigner(t *testing.T) {
	t.Parallel()
	k := keyA()
	keyPath, pubPath := k.files(t)

	t.Run("ok", func(t *testing.T) {
		s, err := signing.LoadSigner(keyPath, k.password)
		require.NoError(t, err)
		// PublicKey is the cosign.pub of the pair.
		got, err := s.PublicKey()
		require.NoError(t, err)
		gotKey, err := cryptoutils.UnmarshalPEMToPublicKey(got)
		require.NoError(t, err)
		wantKey, err := cryptoutils.UnmarshalPEMToPublicKey(k.public)
		require.NoError(t, err)
		require.True(t, gotKey.(interface{ Equal(crypto.PublicKey) bool }).Equal(wantKey))
	})

	t.Run("empty password", func(t *testing.T) {
		e := keyEmpty()
		p, _ := e.files(t)
		_, err := signing.LoadSigner(p, nil)
		require.NoError(t, err)
	})

	garbage := writeFile(t, "garbage.key", "correct horse battery staple")
	tests := []struct {
		name     string
		path     string
		password string
		want     string // exact message
		is       error
	}{
		{
			name: "wrong password", path: keyPath, password: "correct horse battery stapler",
			want: "decrypting signing key " + keyPath + ": wrong password?", is: signing.ErrWrongPassword,
		},
		{
			name: "no password", path: keyPath, password: "",
			want: "decrypting signing key " + keyPath + ": wrong password?", is: signing.ErrWrongPassword,
		},
		{
			name: "missing file", path: keyPath + ".missing", password: string(k.password),
			want: "reading signing key " + keyPath + ".missing: no such file or directory", is: fs.ErrNotExist,
		},
		{
			name: "public key instead", path: pubPath, password: string(k.password),
			want: `reading signing key ` + pubPath + `: a "PUBLIC KEY" PEM block, not an encrypted cosign private key ("ENCRYPTED SIGSTORE PRIVATE KEY", as cosign generate-key-pair writes)`,
		},
		{
			name: "not PEM", path: garbage, password: string(k.password),
			want: "reading signing key " + garbage + ": not a PEM file",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := signing.LoadSigner(tt.path, []byte(tt.password))
			require.Error(t, err)
			require.Equal(t, tt.want, err.Error())
			if tt.is != nil {
				require.ErrorIs(t, err, tt.is)
			}
			requireNoSecret(t, err.Error(), k)
		})
	}
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.WriteFile(p, []byte(content), 0o600))
	return p
}

// TestLoadSignerFromEnv sets environment variables: not parallel.
func TestLoadSignerFromEnv(t *testing.T) {
	k := keyA()
	keyPath, _ := k.files(t)
	const keyEnv = "IMGCTL_TEST_SIGNING_KEY"

	t.Run("key from the environment", func(t *testing.T) {
		t.Setenv(keyEnv, keyPath)
		t.Setenv(signing.PasswordEnv, string(k.password))
		_, err := signing.LoadSignerFromEnv("", keyEnv)
		require.NoError(t, err)
	})
	t.Run("path wins over the environment", func(t *testing.T) {
		t.Setenv(keyEnv, keyPath+".missing")
		t.Setenv(signing.PasswordEnv, string(k.password))
		_, err := signing.LoadSignerFromEnv(keyPath, keyEnv)
		require.NoError(t, err)
	})
	t.Run("variable not set", func(t *testing.T) {
		t.Setenv(keyEnv, "")
		_, err := signing.LoadSignerFromEnv("", keyEnv)
		require.ErrorIs(t, err, signing.ErrNoKey)
		require.EqualError(t, err, "no signing key: $"+keyEnv+" is not set")
	})
	t.Run("nothing named", func(t *testing.T) {
		_, err := signing.LoadSignerFromEnv("", "")
		require.ErrorIs(t, err, signing.ErrNoKey)
	})
	t.Run("wrong password", func(t *testing.T) {
		t.Setenv(signing.PasswordEnv, "not it")
		_, err := signing.LoadSignerFromEnv(keyPath, "")
		require.ErrorIs(t, err, signing.ErrWrongPassword)
		require.EqualError(t, err, "decrypting signing key "+keyPath+": wrong password?")
		require.NotContains(t, err.Error(), "not it")
		requireNoSecret(t, err.Error(), k)
	})
	t.Run("password not set", func(t *testing.T) {
		unsetenv(t, signing.PasswordEnv)
		_, err := signing.LoadSignerFromEnv(keyPath, "")
		require.ErrorIs(t, err, signing.ErrWrongPassword)
		require.EqualError(t, err, "decrypting signing key "+keyPath+": wrong password? ($COSIGN_PASSWORD is not set: the password was empty)")
	})
	t.Run("password not set, empty password", func(t *testing.T) {
		unsetenv(t, signing.PasswordEnv)
		p, _ := keyEmpty().files(t)
		_, err := signing.LoadSignerFromEnv(p, "")
		require.NoError(t, err)
	})
}

// unsetenv unsets key for the test and restores it afterwards.
func unsetenv(t *testing.T, key string) {
	t.Helper()
	t.Setenv(key, "") // registers the restore
	require.NoError(t, os.Unsetenv(key))
}

func TestLoadVerifier(t *testing.T) {
	t.Parallel()
	keyPath, pubPath := keyA().files(t)
	_, err := signing.LoadVerifier(pubPath)
	require.NoError(t, err)

	_, err = signing.LoadVerifier(pubPath + ".missing")
	require.ErrorIs(t, err, fs.ErrNotExist)
	require.EqualError(t, err, "reading public key "+pubPath+".missing: no such file or directory")

	// The private key is not a public key; the error shows no key bytes.
	_, err = signing.LoadVerifier(keyPath)
	require.Error(t, err)
	require.True(t, strings.HasPrefix(err.Error(), "reading public key "+keyPath+": "), err.Error())
	requireNoSecret(t, err.Error(), keyA())
	require.False(t, errors.Is(err, fs.ErrNotExist))
}
