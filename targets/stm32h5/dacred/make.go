package dacred

import (
	"bytes"
	"crypto/ecdsa"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"

	"github.com/stprobe/stprobe/targets/stm32h5"
)

// File is one file to write.
type File struct {
	Name   string
	Data   []byte
	Secret bool // a key or password: written owner-only
}

// Files is a set of files made together.
type Files []File

// Get returns the data of the named file, nil when absent.
func (fs Files) Get(name string) []byte {
	for _, f := range fs {
		if f.Name == name {
			return f.Data
		}
	}
	return nil
}

// Write writes every file into dir (created if needed); secrets get mode
// 0600, the rest 0644.
func (fs Files) Write(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("file: creating %s: %w", dir, err)
	}
	for _, f := range fs {
		mode := os.FileMode(0o644)
		if f.Secret {
			mode = 0o600
		}
		p := filepath.Join(dir, f.Name)
		if err := os.WriteFile(p, f.Data, mode); err != nil {
			return fmt.Errorf("file: writing %s: %w", p, err)
		}
	}
	return nil
}

// MakeOptions tune MakePassword and MakeCerts. The zero value makes random
// credentials with ST's default permission word.
type MakeOptions struct {
	// Password is the password to use (MakePassword); empty: a random one.
	Password []byte
	// Permissions is the DA record's permission word (0: ST's default
	// 0x00005077).
	Permissions uint32
	// Seed makes random passwords and keys deterministic (simulated
	// boards); nil uses the system's randomness.
	Seed []byte
	// SoCClass is what the certificates' soc_class holds: 0, "any chip",
	// as in ST's sample certificates, unless set (a DEV_ID, 0x478 for the
	// H523/H533, restricts the chain to that line).
	SoCClass uint32
	// CertPermissions is the first word of the certificates' 128-bit
	// permission mask, the rest zeros as in ST's samples (0: the DA
	// record's word, Permissions, whose default is ST's 0x00005077).
	CertPermissions uint32
}

func (o MakeOptions) permissions() uint32 {
	if o.Permissions == 0 {
		return stm32h5.DefaultDAPermissions
	}
	return o.Permissions
}

// MakePassword makes the password credentials for part: PasswordFile and,
// on OBK parts, PasswordOBKFile (the record with the password hash,
// DoEncryption set on crypto parts); on the H503, OTPImageFile (the
// 32-byte hash for OTP block 0) instead.
func MakePassword(part stm32h5.Part, o MakeOptions) (Files, error) {
	pw := bytes.Clone(o.Password)
	if len(pw) == 0 {
		var err error
		if pw, err = RandomPassword(o.Seed); err != nil {
			return nil, err
		}
	}
	if len(pw) > maxPasswordLength {
		return nil, fmt.Errorf("password of %d bytes: at most %d", len(pw), maxPasswordLength)
	}
	h := PasswordHash(pw)
	fs := Files{{Name: PasswordFile, Data: EncodePasswordFile(pw), Secret: true}}
	if !part.OBK {
		return append(fs, File{Name: OTPImageFile, Data: h[:]}), nil
	}
	return append(fs, File{Name: PasswordOBKFile, Data: NewDAOBK(part, h, o.permissions()).Encode()}), nil
}

// Chain is a made certificate chain with its keys.
type Chain struct {
	RootKey, IntermediateKey, LeafKey *ecdsa.PrivateKey
	Root, Intermediate, Leaf          *Certificate
}

// Certificates returns the chain root first.
func (c *Chain) Certificates() []*Certificate {
	return []*Certificate{c.Root, c.Intermediate, c.Leaf}
}

func (o MakeOptions) certPermissions() uint32 {
	if o.CertPermissions == 0 {
		return o.permissions()
	}
	return o.CertPermissions
}

// NewChain makes root, intermediate and leaf keys and certificates as
// MakeChain does with the default options and seed; part is kept for the
// callers that name it (the certificates are for any chip, soc_class 0).
func NewChain(_ stm32h5.Part, seed []byte) (*Chain, error) {
	return MakeChain(MakeOptions{Seed: seed})
}

// MakeChain makes root, intermediate and leaf keys and certificates as
// ST's tools make them: soc_class o.SoCClass (0: any chip), soc_id zeros
// (any chip), no extensions (the extensions hash all zeros), and the
// permission mask's first word o.CertPermissions (ST's 0x00005077 by
// default; the DA record's word and the product state limit it further).
func MakeChain(o MakeOptions) (*Chain, error) {
	seed := o.Seed
	c := &Chain{}
	var err error
	if c.RootKey, err = NewKey(seed, "root"); err != nil {
		return nil, err
	}
	if c.IntermediateKey, err = NewKey(seed, "intermediate"); err != nil {
		return nil, err
	}
	if c.LeafKey, err = NewKey(seed, "leaf"); err != nil {
		return nil, err
	}
	make1 := func(role uint8, key, issuer *ecdsa.PrivateKey) (*Certificate, error) {
		cert := &Certificate{Major: 1, SignatureType: SigECDSAP256, KeyType: KeyECDSAP256, Role: role, Usage: 1,
			SoCClass: o.SoCClass}
		binary.LittleEndian.PutUint32(cert.Permissions[:], o.certPermissions())
		pub, err := PublicKeyBytes(&key.PublicKey)
		if err != nil {
			return nil, err
		}
		cert.PublicKey = pub
		cert.ExtensionsHash = [32]byte{}
		return cert, cert.Sign(issuer)
	}
	if c.Root, err = make1(RoleRoot, c.RootKey, c.RootKey); err != nil {
		return nil, err
	}
	if c.Intermediate, err = make1(RoleIntermediate, c.IntermediateKey, c.RootKey); err != nil {
		return nil, err
	}
	if c.Leaf, err = make1(RoleLeaf, c.LeafKey, c.IntermediateKey); err != nil {
		return nil, err
	}
	return c, nil
}

// MakeCerts makes the certificate credentials for part as ST's tools
// write them (CubeH5's ROT_Provisioning/DA): the three keys (PEM, PKCS
// #8) and the root's public key (PEM), each certificate as base64 text
// (.b64), the intermediate and leaf chain files, and CertOBKFile (the
// record with SHA-256 of the root key). The H503 has no certificate
// method.
func MakeCerts(part stm32h5.Part, o MakeOptions) (Files, error) {
	if !part.OBK || !part.TrustZone {
		return nil, fmt.Errorf("%s: debug authentication by certificate needs TrustZone and the OBK area; this part takes a password (make-password)", part.Name)
	}
	c, err := MakeChain(o)
	if err != nil {
		return nil, err
	}
	var fs Files
	for _, k := range []struct {
		name string
		key  *ecdsa.PrivateKey
	}{{RootKeyFile, c.RootKey}, {IntermediateKey, c.IntermediateKey}, {LeafKeyFile, c.LeafKey}} {
		b, err := EncodeKeyPEM(k.key)
		if err != nil {
			return nil, err
		}
		fs = append(fs, File{Name: k.name, Data: b, Secret: true})
	}
	rootPub, err := EncodePublicKeyPEM(&c.RootKey.PublicKey)
	if err != nil {
		return nil, err
	}
	fs = append(fs,
		File{Name: RootPubKeyFile, Data: rootPub},
		File{Name: RootCertFile, Data: EncodeCertFile(c.Root)},
		File{Name: IntermediateCert, Data: EncodeCertFile(c.Intermediate)},
		File{Name: LeafCertFile, Data: EncodeCertFile(c.Leaf)},
		File{Name: IntermediateChain, Data: EncodeChain(c.Certificates()[:2])},
		File{Name: ChainFile, Data: EncodeChain(c.Certificates())},
		File{Name: CertOBKFile, Data: NewDAOBK(part, c.Root.KeyHash(), o.permissions()).Encode()},
	)
	return fs, nil
}
