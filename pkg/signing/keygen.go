package signing

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/sigstore/cosign/v2/pkg/cosign"
)

// KeyFiles are the paths of a key pair [GenerateKeyPair] wrote.
type KeyFiles struct {
	// Private is PREFIX.key: the encrypted private key, mode 0600.
	Private string
	// Public is PREFIX.pub: the PEM public key, mode 0644.
	Public string
}

// GenerateKeyPair makes a new ECDSA P-256 key pair exactly as
// `cosign generate-key-pair --output-key-prefix PREFIX` does (cosign's own
// code: an "ENCRYPTED SIGSTORE PRIVATE KEY" block, scrypt and secretbox,
// encrypted with password) and writes it to dir/PREFIX.key and
// dir/PREFIX.pub, creating dir. It refuses, with an error wrapping
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
	keys, err := cosign.GenerateKeyPair(func(bool) ([]byte, error) { return password, nil })
	if err != nil {
		return KeyFiles{}, fmt.Errorf("generating key pair: %w", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return KeyFiles{}, fmt.Errorf("generating key pair: creating %s: %w", dir, pathErr(err))
	}
	// O_EXCL: a file that appeared since the check above is not replaced.
	if err := writeNew(files.Private, keys.PrivateBytes, 0o600); err != nil {
		return KeyFiles{}, err
	}
	if err := writeNew(files.Public, keys.PublicBytes, 0o644); err != nil {
		os.Remove(files.Private)
		return KeyFiles{}, err
	}
	return files, nil
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
