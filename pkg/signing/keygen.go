package signing

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/secure-systems-lab/go-securesystemslib/encrypted"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
)

// KeyFiles are the paths of a key pair [GenerateKeyPair] wrote.
type KeyFiles struct {
	// Private is PREFIX.key: the encrypted private key, mode 0600.
	Private string
	// Public is PREFIX.pub: the PEM public key, mode 0644.
	Public string
}

// GenerateKeyPair makes a new ECDSA P-256 key pair exactly as
// `cosign generate-key-pair --output-key-prefix PREFIX` does (the steps of
// cosign's GenerateKeyPair: PKCS #8, encrypted with password by
// go-securesystemslib's scrypt and secretbox, in an "ENCRYPTED SIGSTORE
// PRIVATE KEY" block; the public key as cryptoutils writes it) and writes
// it to dir/PREFIX.key and dir/PREFIX.pub, creating dir. It refuses, with an error wrapping
// fs.ErrExist, to replace either file: a key that signed published
// versions is not overwritten by accident. [LoadSigner] and [LoadVerifier]
// (and the cosign CLI) read what it writes. The password is not kept.
func GenerateKeyPair(dir, prefix string, password []byte) (KeyFiles, error) {
	files := KeyFiles{
		Private: filepath.Join(dir, prefix+".key"),
		Public:  filepath.Join(dir, prefix+".pub"),
	}
	for _, p := range []string{files.Private, files.Public} {
		if _, err := os.Lstat(p); err == nil {
			return KeyFiles{}, fmt.Errorf("generating key pair: %s: %w", p, fs.ErrExist)
		} else if !errors.Is(err, fs.ErrNotExist) {
			return KeyFiles{}, fmt.Errorf("generating key pair: reading %s: %w", p, pathErr(err))
		}
	}
	priv, pub, err := newKeyPair(password)
	if err != nil {
		return KeyFiles{}, fmt.Errorf("generating key pair: %w", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return KeyFiles{}, fmt.Errorf("generating key pair: creating %s: %w", dir, pathErr(err))
	}
	// O_EXCL: a file that appeared since the check above is not replaced.
	if err := writeNew(files.Private, priv, 0o600); err != nil {
		return KeyFiles{}, err
	}
	if err := writeNew(files.Public, pub, 0o644); err != nil {
		os.Remove(files.Private)
		return KeyFiles{}, err
	}
	return files, nil
}

// newKeyPair returns a new ECDSA P-256 private key, encrypted with
// password, and its public key, both PEM, in cosign's format.
func newKeyPair(password []byte) (priv, pub []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, fmt.Errorf("encoding the private key: %w", err)
	}
	defer clear(der)
	enc, err := encrypted.Encrypt(der, password)
	if err != nil {
		return nil, nil, fmt.Errorf("encrypting the private key: %w", err)
	}
	pub, err = cryptoutils.MarshalPublicKeyToPEM(key.Public())
	if err != nil {
		return nil, nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: SigstorePrivateKeyPemType, Bytes: enc}), pub, nil
}

// writeNew writes data to the new file path, removing it again on failure.
func writeNew(path string, data []byte, mode os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return fmt.Errorf("generating key pair: writing %s: %w", path, pathErr(err))
	}
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return fmt.Errorf("generating key pair: writing %s: %w", path, pathErr(err))
	}
	return nil
}
