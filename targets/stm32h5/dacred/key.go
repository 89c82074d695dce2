package dacred

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/binary"
	"encoding/pem"
	"fmt"
)

// NewKey returns a P-256 key: random, or derived from seed and label when
// seed is not nil (simulated boards: the same seed gives the same key).
func NewKey(seed []byte, label string) (*ecdsa.PrivateKey, error) {
	if seed == nil {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return nil, fmt.Errorf("making a P-256 key: %w", err)
		}
		return k, nil
	}
	for i := uint32(0); i < 16; i++ {
		msg := append([]byte("stprobe DA key "+label+" "), seed...)
		msg = binary.LittleEndian.AppendUint32(msg, i)
		d := sha256.Sum256(msg)
		if k, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), d[:]); err == nil {
			return k, nil
		}
	}
	return nil, fmt.Errorf("deriving a P-256 key for %q: no valid scalar", label)
}

// EncodeKeyPEM returns key as ST's tools write it (CubeH5's
// ROT_Provisioning/DA/Keys/key_3_leaf.pem): a PEM "PRIVATE KEY" block
// holding PKCS #8.
func EncodeKeyPEM(key *ecdsa.PrivateKey) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("encoding the key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// EncodeKeySEC1PEM returns key as a PEM "EC PRIVATE KEY" block (SEC 1),
// the form OpenSSL's ecparam -genkey writes.
func EncodeKeySEC1PEM(key *ecdsa.PrivateKey) ([]byte, error) {
	der, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("encoding the key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}), nil
}

// EncodePublicKeyPEM returns a public key as a PEM "PUBLIC KEY" block
// (PKIX), as ST ships key_1_root_pub.pem.
func EncodePublicKeyPEM(pub *ecdsa.PublicKey) ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("encoding the public key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), nil
}

// DecodeKeyPEM reads a P-256 private key from PEM: "EC PRIVATE KEY" (SEC 1)
// or "PRIVATE KEY" (PKCS #8). Other blocks before it (EC PARAMETERS) are
// skipped.
func DecodeKeyPEM(b []byte) (*ecdsa.PrivateKey, error) {
	if len(b) > MaxKeyFileSize {
		return nil, fmt.Errorf("key file of %d bytes: a PEM key fits in %d: %w", len(b), MaxKeyFileSize, ErrFormat)
	}
	for {
		var blk *pem.Block
		blk, b = pem.Decode(b)
		if blk == nil {
			return nil, fmt.Errorf("no EC private key in the PEM file: %w", ErrFormat)
		}
		var key any
		var err error
		switch blk.Type {
		case "EC PRIVATE KEY":
			key, err = x509.ParseECPrivateKey(blk.Bytes)
		case "PRIVATE KEY":
			key, err = x509.ParsePKCS8PrivateKey(blk.Bytes)
		case "ENCRYPTED PRIVATE KEY":
			return nil, fmt.Errorf("the PEM key is encrypted: decrypt it first (openssl pkcs8 -in KEY -out PLAIN): %w", ErrFormat)
		default:
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("PEM %s: %v: %w", blk.Type, err, ErrFormat)
		}
		k, ok := key.(*ecdsa.PrivateKey)
		if !ok || k.Curve != elliptic.P256() {
			return nil, fmt.Errorf("PEM key is not an ECDSA P-256 key: %w", ErrFormat)
		}
		return k, nil
	}
}
