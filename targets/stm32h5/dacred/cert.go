package dacred

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"encoding/asn1"
	"encoding/binary"
	"fmt"
	"math/big"
)

// PSA binary certificate (ECDSA P-256, security reference §5.6).
const (
	CertSize       = 212
	certSignedSize = 148 // bytes the issuer signs
	SigECDSAP256   = 0x01
	KeyECDSAP256   = 0x01
)

// Certificate roles.
const (
	RoleRoot         uint8 = 1
	RoleIntermediate uint8 = 2
	RoleLeaf         uint8 = 3
)

// Certificate is a PSA-ADAC binary certificate.
type Certificate struct {
	Major, Minor   uint8
	SignatureType  uint8
	KeyType        uint8
	Role           uint8
	Usage          uint8
	Lifecycle      uint16 // 0: any
	OEMConstraint  uint16
	ExtensionsSize uint32
	SoCClass       uint32   // 0: any
	SoCID          [16]byte // zeros: any
	Permissions    [16]byte // 128-bit mask; the first word holds ST's bits
	PublicKey      [64]byte // X‖Y, big-endian coordinates
	ExtensionsHash [32]byte
	Signature      [64]byte // r‖s by the issuer over bytes 0..147
}

// DecodeCertificate decodes a 212-byte certificate.
func DecodeCertificate(b []byte) (*Certificate, error) {
	if len(b) != CertSize {
		return nil, fmt.Errorf("certificate of %d bytes, want %d (ECDSA P-256): %w", len(b), CertSize, ErrFormat)
	}
	c := &Certificate{
		Major: b[0], Minor: b[1], SignatureType: b[2], KeyType: b[3], Role: b[4], Usage: b[5],
		Lifecycle:      binary.LittleEndian.Uint16(b[8:]),
		OEMConstraint:  binary.LittleEndian.Uint16(b[10:]),
		ExtensionsSize: binary.LittleEndian.Uint32(b[12:]),
		SoCClass:       binary.LittleEndian.Uint32(b[16:]),
	}
	if c.Major != 1 || c.SignatureType != SigECDSAP256 || c.KeyType != KeyECDSAP256 {
		return nil, fmt.Errorf("certificate version %d.%d, signature type 0x%02X, key type 0x%02X: want 1.x ECDSA P-256: %w", c.Major, c.Minor, c.SignatureType, c.KeyType, ErrFormat)
	}
	if c.Role < RoleRoot || c.Role > RoleLeaf {
		return nil, fmt.Errorf("certificate role %d: want 1 (root), 2 (intermediate) or 3 (leaf): %w", c.Role, ErrFormat)
	}
	for _, f := range c.arrays() {
		copy(f.b, b[f.off:])
	}
	return c, nil
}

// span is a byte-array field of an encoded certificate or token: where it
// starts and the field itself.
type span struct {
	off int
	b   []byte
}

// arrays are the certificate's byte-array fields at their offsets.
func (c *Certificate) arrays() []span {
	return []span{{20, c.SoCID[:]}, {36, c.Permissions[:]}, {52, c.PublicKey[:]}, {116, c.ExtensionsHash[:]}, {148, c.Signature[:]}}
}

// Encode returns the certificate's 212 bytes.
func (c *Certificate) Encode() []byte {
	b := make([]byte, CertSize)
	b[0], b[1], b[2], b[3], b[4], b[5] = c.Major, c.Minor, c.SignatureType, c.KeyType, c.Role, c.Usage
	binary.LittleEndian.PutUint16(b[8:], c.Lifecycle)
	binary.LittleEndian.PutUint16(b[10:], c.OEMConstraint)
	binary.LittleEndian.PutUint32(b[12:], c.ExtensionsSize)
	binary.LittleEndian.PutUint32(b[16:], c.SoCClass)
	for _, f := range c.arrays() {
		copy(b[f.off:], f.b)
	}
	return b
}

// PermissionWord is the first 32 bits of the permission mask.
func (c *Certificate) PermissionWord() uint32 { return binary.LittleEndian.Uint32(c.Permissions[:]) }

// Key returns the certified public key.
func (c *Certificate) Key() (*ecdsa.PublicKey, error) {
	k, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), append([]byte{4}, c.PublicKey[:]...))
	if err != nil {
		return nil, fmt.Errorf("certificate public key is not a P-256 point: %w", ErrFormat)
	}
	return k, nil
}

// KeyHash is SHA-256 of the public key X‖Y: what the DA record holds for
// a root certificate.
func (c *Certificate) KeyHash() [32]byte { return sha256.Sum256(c.PublicKey[:]) }

// Sign signs the certificate with the issuer's key (deterministic, RFC
// 6979).
func (c *Certificate) Sign(issuer *ecdsa.PrivateKey) error {
	sig, err := signRaw(issuer, c.Encode()[:certSignedSize])
	if err != nil {
		return fmt.Errorf("signing certificate: %w", err)
	}
	c.Signature = sig
	return nil
}

// SignedBy reports whether pub made the certificate's signature.
func (c *Certificate) SignedBy(pub *ecdsa.PublicKey) bool {
	return verifyRaw(pub, c.Encode()[:certSignedSize], c.Signature)
}

// PublicKeyBytes returns X‖Y of a P-256 public key.
func PublicKeyBytes(pub *ecdsa.PublicKey) ([64]byte, error) {
	var out [64]byte
	b, err := pub.Bytes()
	if err != nil || len(b) != 65 {
		return out, fmt.Errorf("public key is not a P-256 key")
	}
	copy(out[:], b[1:])
	return out, nil
}

// signRaw signs SHA-256(msg) and returns r‖s.
func signRaw(key *ecdsa.PrivateKey, msg []byte) ([64]byte, error) {
	var out [64]byte
	h := sha256.Sum256(msg)
	der, err := key.Sign(nil, h[:], crypto.SHA256)
	if err != nil {
		return out, err
	}
	var rs struct{ R, S *big.Int }
	if rest, err := asn1.Unmarshal(der, &rs); err != nil || len(rest) != 0 || rs.R == nil || rs.S == nil {
		return out, fmt.Errorf("unexpected signature encoding")
	}
	rs.R.FillBytes(out[:32])
	rs.S.FillBytes(out[32:])
	return out, nil
}

// verifyRaw checks an r‖s signature over SHA-256(msg).
func verifyRaw(pub *ecdsa.PublicKey, msg []byte, sig [64]byte) bool {
	if pub == nil {
		return false
	}
	h := sha256.Sum256(msg)
	return ecdsa.Verify(pub, h[:], new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:]))
}

// PSA binary token (security reference §5.6).
const (
	TokenSize       = 120
	tokenSignedSize = 56
)

// Token is a PSA-ADAC binary token: the permission asked for, signed by
// the leaf key over the token head and the device's challenge.
type Token struct {
	Major, Minor   uint8
	SignatureType  uint8
	ExtensionsSize uint32
	Requested      [16]byte
	ExtensionsHash [32]byte
	Signature      [64]byte
}

// NewToken builds and signs a token asking for the permission bits in
// perm, answering challenge.
func NewToken(perm uint32, challenge []byte, leaf *ecdsa.PrivateKey) (*Token, error) {
	// No extensions: the extensions hash is all zeros, as ARM's reference
	// host (psa-adac psa_adac_sign_token) writes it; not SHA-256 of nothing.
	t := &Token{Major: 1, SignatureType: SigECDSAP256}
	binary.LittleEndian.PutUint32(t.Requested[:], perm)
	if err := t.Sign(leaf, challenge); err != nil {
		return nil, err
	}
	return t, nil
}

// Sign signs the token's first 56 bytes and challenge with the leaf key
// (deterministic, RFC 6979).
func (t *Token) Sign(leaf *ecdsa.PrivateKey, challenge []byte) error {
	sig, err := signRaw(leaf, append(t.Encode()[:tokenSignedSize], challenge...))
	if err != nil {
		return fmt.Errorf("signing the token: %w", err)
	}
	t.Signature = sig
	return nil
}

// DecodeToken decodes a 120-byte token.
func DecodeToken(b []byte) (*Token, error) {
	if len(b) != TokenSize {
		return nil, fmt.Errorf("token of %d bytes, want %d: %w", len(b), TokenSize, ErrFormat)
	}
	t := &Token{Major: b[0], Minor: b[1], SignatureType: b[2], ExtensionsSize: binary.LittleEndian.Uint32(b[4:])}
	if t.Major != 1 || t.SignatureType != SigECDSAP256 {
		return nil, fmt.Errorf("token version %d.%d signature type 0x%02X: want 1.x ECDSA P-256: %w", t.Major, t.Minor, t.SignatureType, ErrFormat)
	}
	for _, f := range t.arrays() {
		copy(f.b, b[f.off:])
	}
	return t, nil
}

// arrays are the token's byte-array fields at their offsets.
func (t *Token) arrays() []span {
	return []span{{8, t.Requested[:]}, {24, t.ExtensionsHash[:]}, {56, t.Signature[:]}}
}

// Encode returns the token's 120 bytes.
func (t *Token) Encode() []byte {
	b := make([]byte, TokenSize)
	b[0], b[1], b[2] = t.Major, t.Minor, t.SignatureType
	binary.LittleEndian.PutUint32(b[4:], t.ExtensionsSize)
	for _, f := range t.arrays() {
		copy(b[f.off:], f.b)
	}
	return b
}

// RequestedWord is the first 32 bits of the requested permissions.
func (t *Token) RequestedWord() uint32 { return binary.LittleEndian.Uint32(t.Requested[:]) }

// SignedBy reports whether pub signed the token for challenge.
func (t *Token) SignedBy(pub *ecdsa.PublicKey, challenge []byte) bool {
	return verifyRaw(pub, append(t.Encode()[:tokenSignedSize], challenge...), t.Signature)
}
