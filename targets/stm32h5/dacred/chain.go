package dacred

import (
	"bytes"
	"crypto/ecdsa"
	"encoding/base64"
	"errors"
	"fmt"
)

// ErrKeyMismatch is wrapped when a private key is not the one the chain's
// leaf certificate certifies, or when the chain does not hold together
// (a certificate not signed by the one before it).
var ErrKeyMismatch = errors.New("the key and the certificate chain do not match")

// MaxChainCerts bounds the certificates of one chain (ST's chains hold
// three: root, intermediate, leaf).
const MaxChainCerts = 4

// EncodeChain returns a chain file as ST's tools write it (CubeH5's
// ROT_Provisioning/DA/Certificates/*.b64): base64 text, on one line and
// without a final newline, of the certificates root first, each as a
// 0x0201 TLV {u16 0, u16 0x0201, u32 212} followed by its 212 bytes.
func EncodeChain(chain []*Certificate) []byte {
	var raw []byte
	for _, c := range chain {
		raw = AppendTLV(raw, TypeCert, c.Encode(), true)
	}
	return base64.StdEncoding.AppendEncode(nil, raw)
}

// EncodeCertFile returns one certificate as ST's tools write it: the
// chain file of that one certificate (cert_root.b64, cert_leaf.b64).
func EncodeCertFile(c *Certificate) []byte { return EncodeChain([]*Certificate{c}) }

// DecodeChain decodes a certificate file into its certificates, root
// first. It takes every form the certificates come in:
//
//   - ST's base64 text (.b64): the certificates as 0x0201 TLVs, one or
//     several; whitespace and line breaks are ignored;
//   - base64 text of one bare 212-byte certificate (CubeH5's H533 sample
//     cert_root.cert);
//   - the same bytes unencoded: 0x0201 TLVs, or bare 212-byte
//     certificates back to back (the .cert files stprobe wrote before).
//
// A raw certificate begins with its format version (1) and a TLV with its
// reserved zero half, neither of which is a base64 character, so the text
// and binary forms cannot be mistaken for each other.
func DecodeChain(b []byte) ([]*Certificate, error) {
	if len(b) > MaxChainFileSize {
		return nil, fmt.Errorf("certificate file of %d bytes: a chain of %d certificates fits in %d: %w", len(b), MaxChainCerts, MaxChainFileSize, ErrFormat)
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return nil, fmt.Errorf("certificate file is empty: %w", ErrFormat)
	}
	raw := b
	if isBase64Text(b) {
		var err error
		raw, err = base64.StdEncoding.AppendDecode(nil, bytes.Join(bytes.Fields(b), nil))
		if err != nil {
			return nil, fmt.Errorf("certificate file is not valid base64 (%v): %w", err, ErrFormat)
		}
	}
	var certs [][]byte
	switch {
	case len(raw) == 0:
		return nil, fmt.Errorf("certificate file holds no certificate: %w", ErrFormat)
	case raw[0] == 1: // bare certificates: format version 1.x first
		if len(raw)%CertSize != 0 {
			return nil, fmt.Errorf("certificate file of %d bytes is not whole %d-byte certificates: %w", len(raw), CertSize, ErrFormat)
		}
		for i := 0; i < len(raw); i += CertSize {
			certs = append(certs, raw[i:i+CertSize])
		}
	default:
		items, err := TLVList{Max: maxTLVs}.Decode(raw)
		if err != nil {
			return nil, fmt.Errorf("certificate file: %w", err)
		}
		for i, it := range items {
			if it.Type != TypeCert {
				return nil, fmt.Errorf("certificate file item %d has type 0x%04X, want 0x0201 (PSA binary certificate): %w", i+1, it.Type, ErrFormat)
			}
			certs = append(certs, it.Value)
		}
	}
	if len(certs) == 0 {
		return nil, fmt.Errorf("certificate file holds no certificate: %w", ErrFormat)
	}
	if len(certs) > MaxChainCerts {
		return nil, fmt.Errorf("certificate file holds %d certificates, at most %d: %w", len(certs), MaxChainCerts, ErrFormat)
	}
	chain := make([]*Certificate, 0, len(certs))
	for i, raw := range certs {
		c, err := DecodeCertificate(raw)
		if err != nil {
			return nil, fmt.Errorf("certificate %d of the file: %w", i+1, err)
		}
		chain = append(chain, c)
	}
	return chain, nil
}

// isBase64Text reports whether b is made only of base64 characters and
// white space, with at least one of the former.
func isBase64Text(b []byte) bool {
	n := 0
	for _, c := range b {
		switch {
		case c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '+', c == '/', c == '=':
			n++
		case c == ' ', c == '\t', c == '\r', c == '\n':
		default:
			return false
		}
	}
	return n > 0
}

// CheckChain checks offline what the chip would check of a chain and its
// key, so that a mismatch is caught before anything touches the chip: the
// roles (root first, intermediates, a leaf last), each certificate signed
// by the one before it (the root by itself), and key being the private
// key of the leaf's certified public key. Its errors wrap ErrKeyMismatch
// or ErrFormat. The root's hash against the chip's provisioning is the
// chip's own check (and the proof of the way back's).
func CheckChain(chain []*Certificate, key *ecdsa.PrivateKey) error {
	if len(chain) < 2 {
		return fmt.Errorf("the chain holds %d certificate(s): it needs a root and a leaf (give cert_leaf_chain.b64): %w", len(chain), ErrFormat)
	}
	var issuer *ecdsa.PublicKey
	for i, c := range chain {
		want := RoleIntermediate
		switch i {
		case 0:
			want = RoleRoot
		case len(chain) - 1:
			want = RoleLeaf
		}
		if c.Role != want {
			hint := ""
			if i == len(chain)-1 && c.Role == RoleIntermediate {
				hint = " (this is an intermediate chain: give the leaf chain, cert_leaf_chain.b64)"
			}
			return fmt.Errorf("certificate %d of %d has role %s, want %s%s: %w", i+1, len(chain), roleName(c.Role), roleName(want), hint, ErrFormat)
		}
		pub, err := c.Key()
		if err != nil {
			return fmt.Errorf("certificate %d of %d: %w", i+1, len(chain), err)
		}
		if i == 0 {
			issuer = pub
		}
		if !c.SignedBy(issuer) {
			by := "the certificate before it"
			if i == 0 {
				by = "its own key (a root signs itself)"
			}
			return fmt.Errorf("certificate %d of %d (%s) is not signed by %s: %w", i+1, len(chain), roleName(c.Role), by, ErrKeyMismatch)
		}
		issuer = pub
	}
	if key == nil {
		return fmt.Errorf("no private key: %w", ErrKeyMismatch)
	}
	pub, err := PublicKeyBytes(&key.PublicKey)
	if err != nil {
		return fmt.Errorf("the private key: %v: %w", err, ErrKeyMismatch)
	}
	leaf := chain[len(chain)-1]
	if pub != leaf.PublicKey {
		return fmt.Errorf("the private key's public key (X %x…) is not the one the leaf certificate certifies (X %x…): give the leaf key of this chain (key_3_leaf.pem next to it): %w", pub[:4], leaf.PublicKey[:4], ErrKeyMismatch)
	}
	return nil
}

// roleName names a certificate role.
func roleName(r uint8) string {
	switch r {
	case RoleRoot:
		return "root"
	case RoleIntermediate:
		return "intermediate"
	case RoleLeaf:
		return "leaf"
	}
	return fmt.Sprintf("%d", r)
}
