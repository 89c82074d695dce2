package dacred

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"strings"
	"testing"

	"github.com/stprobe/stprobe/targets/stm32h5"
)

// The fixtures below are made by stprobe's own code in the formats of ST's
// DA kit (STM32CubeH5 Projects/NUCLEO-H553ZG/ROT_Provisioning/DA/:
// Certificates/*.b64, Keys/*.pem; NUCLEO-H533RE: Certificates/
// cert_root.cert, Binary/password.bin); ST's files are not copied here.

// stCertHead is the first 52 bytes every certificate stprobe makes
// carries by default, as in ST's sample certificates: version 1.0, ECDSA
// P-256 signature and key, role, usage 1, reserved 0, lifecycle 0 (any),
// oem_constraint 0, no extensions, soc_class 0 (any), soc_id zeros (any),
// and the permission mask 0x00005077 in its first word, the rest zeros.
func stCertHead(role byte) string {
	return "01000101" + hex.EncodeToString([]byte{role}) + "010000" + // version, sig, key, role, usage, reserved
		"0000" + "0000" + "00000000" + "00000000" + // lifecycle, oem, extensions_bytes, soc_class
		strings.Repeat("00", 16) + // soc_id
		"77500000" + strings.Repeat("00", 12) // permissions_mask
}

// The files make-certs writes are ST's formats, byte for byte where the
// format fixes them.
func TestMakeCertsSTFormats(t *testing.T) {
	fs, err := MakeCerts(part(t, "H533"), MakeOptions{Seed: []byte("st formats")})
	if err != nil {
		t.Fatal(err)
	}
	tlvHead := "00000102d4000000" // {u16 0, u16 0x0201, u32 212}
	for _, tc := range []struct {
		name  string
		roles []byte
	}{
		{RootCertFile, []byte{1}},
		{IntermediateCert, []byte{2}},
		{LeafCertFile, []byte{3}},
		{IntermediateChain, []byte{1, 2}},
		{ChainFile, []byte{1, 2, 3}},
	} {
		text := fs.Get(tc.name)
		// One line of base64, no newline: 220 bytes per certificate (ST's
		// samples: 296, 588 and 880 characters).
		if n := (220*len(tc.roles) + 2) / 3 * 4; len(text) != n || bytes.ContainsAny(text, "\r\n") {
			t.Errorf("%s: %d characters %q…, want %d on one line", tc.name, len(text), text[:min(16, len(text))], n)
		}
		raw, err := base64.StdEncoding.DecodeString(string(text))
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		for i, role := range tc.roles {
			item := raw[i*220 : (i+1)*220]
			if got := hex.EncodeToString(item[:8+52]); got != tlvHead+stCertHead(role) {
				t.Errorf("%s certificate %d head\n got %s\nwant %s", tc.name, i+1, got, tlvHead+stCertHead(role))
			}
			if ext := item[8+116 : 8+148]; !bytes.Equal(ext, make([]byte, 32)) {
				t.Errorf("%s certificate %d: extensions hash % x, want zeros (no extensions)", tc.name, i+1, ext)
			}
		}
	}
	// Keys: PEM PKCS #8 as key_3_leaf.pem (241 bytes, the DER of a P-256
	// key with its public point); the root's public key as PKIX.
	for _, name := range []string{RootKeyFile, IntermediateKey, LeafKeyFile} {
		k := fs.Get(name)
		if len(k) != 241 || !bytes.HasPrefix(k, []byte("-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg")) {
			t.Errorf("%s: %d bytes\n%s", name, len(k), k)
		}
	}
	if k := fs.Get(RootPubKeyFile); len(k) != 178 || !bytes.HasPrefix(k, []byte("-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE")) {
		t.Errorf("%s: %d bytes\n%s", RootPubKeyFile, len(k), k)
	}
	chain, err := DecodeChain(fs.Get(ChainFile))
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := DecodeKeyPEM(fs.Get(LeafKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := CheckChain(chain, leaf); err != nil {
		t.Errorf("the made chain and leaf key: %v", err)
	}
}

// soc_class and the permission mask are ST's unless told otherwise.
func TestMakeChainFields(t *testing.T) {
	for _, tc := range []struct {
		o          MakeOptions
		class      uint32
		perm       uint32
		recordPerm uint32
	}{
		{MakeOptions{}, 0, 0x5077, 0x5077},
		{MakeOptions{SoCClass: 0x478}, 0x478, 0x5077, 0x5077},
		{MakeOptions{Permissions: stm32h5.PermFullRegression}, 0, stm32h5.PermFullRegression, stm32h5.PermFullRegression},
		{MakeOptions{CertPermissions: 0xFFFFFFFF}, 0, 0xFFFFFFFF, 0x5077},
	} {
		tc.o.Seed = []byte("fields")
		fs, err := MakeCerts(part(t, "H563"), tc.o)
		if err != nil {
			t.Fatal(err)
		}
		chain, _ := DecodeChain(fs.Get(ChainFile))
		for _, c := range chain {
			if c.SoCClass != tc.class || c.PermissionWord() != tc.perm || !bytes.Equal(c.Permissions[4:], make([]byte, 12)) || c.ExtensionsSize != 0 {
				t.Errorf("%+v: role %d soc_class 0x%X permissions % x", tc.o, c.Role, c.SoCClass, c.Permissions)
			}
		}
		obk, _ := DecodeOBK(fs.Get(CertOBKFile))
		if r, _ := DecodeRecord(obk.Payload); r.Permissions != tc.recordPerm {
			t.Errorf("%+v: record word 0x%X", tc.o, r.Permissions)
		}
	}
}

// Every form a certificate file comes in decodes to the same certificates.
func TestDecodeChainForms(t *testing.T) {
	ch, err := MakeChain(MakeOptions{Seed: []byte("forms")})
	if err != nil {
		t.Fatal(err)
	}
	certs := ch.Certificates()
	var tlvs, bare []byte
	for _, c := range certs {
		tlvs = AppendTLV(tlvs, TypeCert, c.Encode(), true)
		bare = append(bare, c.Encode()...)
	}
	b64 := base64.StdEncoding.EncodeToString(tlvs)
	var wrapped strings.Builder // 64 characters a line, CRLF, as a Windows editor leaves it
	for i := 0; i < len(b64); i += 64 {
		wrapped.WriteString(b64[i:min(i+64, len(b64))] + "\r\n")
	}
	for _, tc := range []struct {
		name string
		file []byte
		want []*Certificate
	}{
		{"ST's .b64 chain", EncodeChain(certs), certs},
		{"ST's .b64 chain, trailing newline", append(EncodeChain(certs), '\n'), certs},
		{"base64 wrapped with CRLF", []byte(wrapped.String()), certs},
		{"ST's .b64 single certificate", EncodeCertFile(ch.Root), certs[:1]},
		{"base64 of a bare certificate (H533 cert_root.cert)", base64.StdEncoding.AppendEncode(nil, ch.Root.Encode()), certs[:1]},
		{"raw TLVs", tlvs, certs},
		{"raw bare certificates (stprobe's old .cert)", bare, certs},
		{"one raw bare certificate", ch.Leaf.Encode(), certs[2:]},
	} {
		got, err := DecodeChain(tc.file)
		if err != nil || len(got) != len(tc.want) {
			t.Errorf("%s: %d certificates, %v", tc.name, len(got), err)
			continue
		}
		for i := range got {
			if !bytes.Equal(got[i].Encode(), tc.want[i].Encode()) {
				t.Errorf("%s: certificate %d differs", tc.name, i+1)
			}
		}
	}
	for _, tc := range []struct {
		name string
		file []byte
		text string
	}{
		{"empty", nil, "empty"},
		{"spaces", []byte(" \n"), "empty"},
		{"bad base64", []byte("AAAA=AAA"), "not valid base64"},
		{"text", []byte("hello, world"), "TLV"},
		{"bare, cut", bare[:300], "whole 212-byte"},
		{"token TLV", AppendTLV(nil, TypeToken, make([]byte, TokenSize), true), "type 0x0200"},
		{"five certificates", bytes.Repeat(ch.Leaf.Encode(), 5), "at most 4"},
		{"too large", bytes.Repeat([]byte("A"), MaxChainFileSize+1), "fits in"},
	} {
		if _, err := DecodeChain(tc.file); !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), tc.text) {
			t.Errorf("%s: %v, want ErrFormat saying %q", tc.name, err, tc.text)
		}
	}
}

// CheckChain refuses, offline, a key that is not the leaf's and a chain
// that does not hold together.
func TestCheckChain(t *testing.T) {
	ch, _ := MakeChain(MakeOptions{Seed: []byte("mine")})
	other, _ := MakeChain(MakeOptions{Seed: []byte("theirs")})
	good := ch.Certificates()
	tampered := *ch.Intermediate
	tampered.Permissions[0] ^= 1
	for _, tc := range []struct {
		name  string
		chain []*Certificate
		key   *ecdsa.PrivateKey
		err   error
		text  string
	}{
		{"good", good, ch.LeafKey, nil, ""},
		{"another chain's leaf key", good, other.LeafKey, ErrKeyMismatch, "not the one the leaf certificate certifies"},
		{"the root key", good, ch.RootKey, ErrKeyMismatch, "leaf"},
		{"no key", good, nil, ErrKeyMismatch, "no private key"},
		{"intermediate chain", good[:2], ch.IntermediateKey, ErrFormat, "cert_leaf_chain.b64"},
		{"root only", good[:1], ch.RootKey, ErrFormat, "needs a root and a leaf"},
		{"leaf first", []*Certificate{ch.Leaf, ch.Intermediate, ch.Root}, ch.LeafKey, ErrFormat, "role leaf, want root"},
		{"foreign intermediate", []*Certificate{ch.Root, other.Intermediate, ch.Leaf}, ch.LeafKey, ErrKeyMismatch, "certificate 2 of 3"},
		{"tampered intermediate", []*Certificate{ch.Root, &tampered, ch.Leaf}, ch.LeafKey, ErrKeyMismatch, "not signed"},
	} {
		err := CheckChain(tc.chain, tc.key)
		if tc.err == nil {
			if err != nil {
				t.Errorf("%s: %v", tc.name, err)
			}
			continue
		}
		if !errors.Is(err, tc.err) || !strings.Contains(err.Error(), tc.text) {
			t.Errorf("%s: %v, want %v saying %q", tc.name, err, tc.err, tc.text)
		}
	}
}

// Keys are read as PKCS #8 (ST's key_3_leaf.pem) and SEC 1, with or
// without an EC PARAMETERS block and with CRLF line ends.
func TestDecodeKeyPEMForms(t *testing.T) {
	key, _ := NewKey([]byte("pem"), "leaf")
	pk8, _ := EncodeKeyPEM(key)
	sec1, _ := EncodeKeySEC1PEM(key)
	params := pem.EncodeToMemory(&pem.Block{Type: "EC PARAMETERS", Bytes: []byte{0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07}})
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	der384, _ := x509.MarshalPKCS8PrivateKey(p384)
	for _, tc := range []struct {
		name string
		file []byte
		ok   bool
		text string
	}{
		{"PKCS #8", pk8, true, ""},
		{"SEC 1", sec1, true, ""},
		{"EC PARAMETERS then SEC 1", append(params, sec1...), true, ""},
		{"CRLF", bytes.ReplaceAll(pk8, []byte("\n"), []byte("\r\n")), true, ""},
		{"public key only", mustPub(t, key), false, "no EC private key"},
		{"encrypted", pem.EncodeToMemory(&pem.Block{Type: "ENCRYPTED PRIVATE KEY", Bytes: []byte{0x30, 0}}), false, "encrypted"},
		{"P-384", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der384}), false, "not an ECDSA P-256"},
		{"too large", append(bytes.Repeat([]byte("#"), MaxKeyFileSize), pk8...), false, "fits in"},
	} {
		k, err := DecodeKeyPEM(tc.file)
		if tc.ok {
			if err != nil || !k.Equal(key) {
				t.Errorf("%s: %v", tc.name, err)
			}
			continue
		}
		if !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), tc.text) {
			t.Errorf("%s: %v, want ErrFormat saying %q", tc.name, err, tc.text)
		}
	}
}

func mustPub(t *testing.T, k *ecdsa.PrivateKey) []byte {
	t.Helper()
	b, err := EncodePublicKeyPEM(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The token as ARM's reference host signs it with no extensions: version
// 1.0, ECDSA P-256, reserved 0, extensions_bytes 0, the requested
// permission, and an extensions hash of 32 zero bytes; the signature over
// those 56 bytes and the challenge; the same bytes each time (RFC 6979).
func TestTokenBytesNoExtensions(t *testing.T) {
	key, _ := NewKey([]byte("token"), "leaf")
	chal := bytes.Repeat([]byte{0xA5}, 32)
	tok, err := NewToken(stm32h5.PermFullRegression, chal, key)
	if err != nil {
		t.Fatal(err)
	}
	b := tok.Encode()
	want := "01000100" + "00000000" + "00400000" + strings.Repeat("00", 12) + strings.Repeat("00", 32)
	if got := hex.EncodeToString(b[:56]); got != want {
		t.Errorf("token head\n got %s\nwant %s", got, want)
	}
	if !tok.SignedBy(&key.PublicKey, chal) {
		t.Error("the token's signature does not verify over its head and the challenge")
	}
	again, _ := NewToken(stm32h5.PermFullRegression, chal, key)
	if !bytes.Equal(again.Encode(), b) {
		t.Error("two tokens over the same challenge differ: signing is not deterministic")
	}
	if binary.LittleEndian.Uint32(b[4:]) != 0 {
		t.Error("extensions_bytes not zero")
	}
}

// The password file is ST's (8-byte header, the password unpadded) and
// one longer than the format allows is refused.
func TestPasswordFileBound(t *testing.T) {
	pw := bytes.Repeat([]byte("p"), maxPasswordLength)
	f := EncodePasswordFile(pw)
	if len(f) != MaxPasswordFileSize {
		t.Fatalf("longest password file %d bytes, bound %d", len(f), MaxPasswordFileSize)
	}
	if got, err := DecodePasswordFile(f); err != nil || !bytes.Equal(got, pw) {
		t.Errorf("longest password: %v", err)
	}
	if _, err := DecodePasswordFile(append(f, 0)); !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), "at most 72") {
		t.Errorf("one byte more: %v", err)
	}
}
