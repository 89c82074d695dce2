package serve

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	gossh "golang.org/x/crypto/ssh"

	"github.com/stprobe/stprobe/safefile"
)

// MaxHostKeyFileSize bounds the host key file (an RSA-16384 key in
// OpenSSH's format is far below it).
const MaxHostKeyFileSize = 64 << 10

// MinRSABits is the smallest RSA host key accepted: 2048 bits, the least
// that gives 112-bit security (NIST SP 800-131A Rev. 2, section 3, table
// 2). DSA keys are refused outright (OpenSSH 7.0 disabled ssh-dss, release
// notes of 2015-08-11).
const MinRSABits = 2048

// loadHostKey reads the server's private key from path, making an
// ed25519 key there (mode 0600) when there is none. Like sshd (OpenSSH
// authfile.c, the "UNPROTECTED PRIVATE KEY FILE" check), it refuses a key
// file that its group or others may read or write, and it refuses weak key
// types.
func loadHostKey(path string) (gossh.Signer, error) {
	fi, err := os.Lstat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return makeHostKey(path)
	case err != nil:
		return nil, fmt.Errorf("host key %s: %w", path, err)
	case fi.Mode()&fs.ModeSymlink == 0 && fi.Mode().Perm()&0o077 != 0:
		return nil, fmt.Errorf("host key %s is readable or writable by others (mode %04o): anyone who reads it can pose as this bench; chmod 600 %s, or remove it to make a new one", path, fi.Mode().Perm(), path)
	}
	data, err := safefile.Read(path, "host key", MaxHostKeyFileSize)
	if err != nil {
		return nil, fmt.Errorf("host key: %w", err)
	}
	// A symbolic link is checked at its target.
	if fi, err := os.Stat(path); err == nil && fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("host key %s is readable or writable by others (mode %04o): chmod 600 the file it links to", path, fi.Mode().Perm())
	}
	signer, err := gossh.ParsePrivateKey(data)
	if err != nil {
		return nil, fmt.Errorf("host key %s: %w (an unencrypted OpenSSH or PEM private key is wanted)", path, err)
	}
	if err := strongEnough(signer.PublicKey()); err != nil {
		return nil, fmt.Errorf("host key %s: %w; remove it to make an ed25519 key, or give another with --host-key", path, err)
	}
	return signer, nil
}

// strongEnough refuses DSA and RSA keys below MinRSABits.
func strongEnough(pub gossh.PublicKey) error {
	cp, ok := pub.(gossh.CryptoPublicKey)
	if !ok {
		return fmt.Errorf("key type %s is not supported", pub.Type())
	}
	switch k := cp.CryptoPublicKey().(type) {
	case *rsa.PublicKey:
		if k.N.BitLen() < MinRSABits {
			return fmt.Errorf("an RSA key of %d bits is too weak (at least %d)", k.N.BitLen(), MinRSABits)
		}
	case *ecdsa.PublicKey, ed25519.PublicKey:
	default:
		return fmt.Errorf("key type %s is too weak or not supported (use ed25519, ECDSA or RSA of %d bits or more)", pub.Type(), MinRSABits)
	}
	return nil
}

// makeHostKey makes an ed25519 key at path, readable by its owner only.
func makeHostKey(path string) (gossh.Signer, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("host key directory: %w", err)
	}
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("host key: making a key: %w", err)
	}
	block, err := gossh.MarshalPrivateKey(priv, "stprobe host key")
	if err != nil {
		return nil, fmt.Errorf("host key: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("host key: %w", err)
	}
	if _, err := f.Write(pem.EncodeToMemory(block)); err != nil {
		f.Close()
		os.Remove(path)
		return nil, fmt.Errorf("host key: writing %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		os.Remove(path)
		return nil, fmt.Errorf("host key: writing %s: %w", path, err)
	}
	return gossh.NewSignerFromKey(priv)
}
