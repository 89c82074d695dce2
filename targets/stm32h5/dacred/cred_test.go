package dacred

import (
	"bytes"
	"encoding/binary"
	"errors"
	"reflect"
	"testing"

	"github.com/stprobe/stprobe/targets/stm32h5"
)

func part(t testing.TB, name string) stm32h5.Part {
	t.Helper()
	p, err := stm32h5.LookupPart(name)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// ST's sample password file: 8-byte header with length 16, then the ASCII
// password; the .obk for the H533 has ST's sample header bytes.
func TestPasswordFilesMatchST(t *testing.T) {
	fs, err := MakePassword(part(t, "H533"), MakeOptions{Password: []byte("0123456789012345")})
	if err != nil {
		t.Fatal(err)
	}
	pw := fs.Get(PasswordFile)
	want := append([]byte{0, 0, 0, 0x80, 16, 0, 0, 0}, "0123456789012345"...)
	if !bytes.Equal(pw, want) {
		t.Errorf("password.bin % x", pw)
	}
	obk := fs.Get(PasswordOBKFile)
	if len(obk) != 108 || !bytes.Equal(obk[:12], []byte{0x00, 0x01, 0xFD, 0x0F, 0x60, 0, 0, 0, 1, 0, 0, 0}) ||
		!bytes.Equal(obk[12+64:12+68], []byte{0x77, 0x50, 0, 0}) {
		t.Errorf("obk header % x, permissions % x", obk[:12], obk[76:80])
	}
	h := PasswordHash([]byte("0123456789012345"))
	if !bytes.Equal(obk[12+32:12+64], h[:]) {
		t.Error("obk does not hold the password hash")
	}
	// The H503: the sample 12-byte password 00..0B, header length 12, and
	// the OTP image is the raw hash (fff3a9bc… per the security reference).
	h503pw := []byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}
	fs, err = MakePassword(part(t, "H503"), MakeOptions{Password: h503pw})
	if err != nil {
		t.Fatal(err)
	}
	if b := fs.Get(PasswordFile); len(b) != 20 || binary.LittleEndian.Uint64(b) != 0x0000000C80000000 {
		t.Errorf("H503 password file % x", b)
	}
	if img := fs.Get(OTPImageFile); len(img) != 32 || img[0] != 0xFF || img[1] != 0xF3 || img[2] != 0xA9 || img[3] != 0xBC {
		t.Errorf("H503 OTP image % x", img)
	}
	if p, err := DecodePasswordFile(fs.Get(PasswordFile)); err != nil || !bytes.Equal(p, h503pw) {
		t.Errorf("decode: % x %v", p, err)
	}
}

// The encryption flag follows the part.
func TestOBKEncryptionPerPart(t *testing.T) {
	for _, p := range stm32h5.Parts() {
		if !p.OBK {
			continue
		}
		fs, err := MakePassword(p, MakeOptions{})
		if err != nil {
			t.Fatal(err)
		}
		f, err := DecodeOBK(fs.Get(PasswordOBKFile))
		if err != nil {
			t.Fatal(err)
		}
		if (f.Encrypt == 1) != p.Crypto || f.Dest != stm32h5.OBKDAAddr || f.Size != 96 {
			t.Errorf("%s: %+v", p.Name, f)
		}
		r, err := DecodeRecord(f.Payload)
		if err != nil || !r.IntegrityOK || r.Permissions != stm32h5.DefaultDAPermissions {
			t.Errorf("%s record %+v %v", p.Name, r, err)
		}
	}
}

// Seeded credentials are the same every time; unseeded ones differ.
func TestMakeCertsDeterministic(t *testing.T) {
	a, err := MakeCerts(part(t, "H563"), MakeOptions{Seed: []byte("board")})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := MakeCerts(part(t, "H563"), MakeOptions{Seed: []byte("board")})
	c, _ := MakeCerts(part(t, "H563"), MakeOptions{})
	if !reflect.DeepEqual(a, b) {
		t.Error("seeded certificates differ between runs")
	}
	if bytes.Equal(a.Get(ChainFile), c.Get(ChainFile)) {
		t.Error("random certificates equal the seeded ones")
	}
	names := map[string]bool{}
	for _, f := range a {
		names[f.Name] = true
	}
	for _, n := range []string{RootKeyFile, IntermediateKey, LeafKeyFile, RootCertFile, IntermediateCert, LeafCertFile, ChainFile, CertOBKFile} {
		if !names[n] {
			t.Errorf("missing %s", n)
		}
	}
	if _, err := MakeCerts(part(t, "H503"), MakeOptions{}); err == nil {
		t.Error("certificates for the H503")
	}
}

// The chain file decodes to signed certificates; the key file to the leaf
// key; the token signs over the challenge.
func TestChainKeyToken(t *testing.T) {
	fs, err := MakeCerts(part(t, "H533"), MakeOptions{Seed: []byte("x")})
	if err != nil {
		t.Fatal(err)
	}
	chain, err := DecodeChain(fs.Get(ChainFile))
	if err != nil || len(chain) != 3 {
		t.Fatalf("chain: %v %v", len(chain), err)
	}
	if raw := fs.Get(ChainFile); len(bytes.TrimSpace(raw)) != 880 { // base64 of 3 × 220 bytes
		t.Errorf("chain file of %d characters", len(raw))
	}
	for i, c := range chain {
		issuer, _ := chain[max(i-1, 0)].Key()
		if !c.SignedBy(issuer) || c.Role != uint8(i+1) {
			t.Errorf("certificate %d role %d not signed by its issuer", i, c.Role)
		}
	}
	key, err := DecodeKeyPEM(fs.Get(LeafKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	if pub, _ := PublicKeyBytes(&key.PublicKey); pub != chain[2].PublicKey {
		t.Error("leaf key does not match the leaf certificate")
	}
	chal := bytes.Repeat([]byte{7}, 32)
	tok, err := NewToken(stm32h5.PermFullRegression, chal, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := chain[2].Key()
	back, err := DecodeToken(tok.Encode())
	if err != nil || !back.SignedBy(leaf, chal) || back.RequestedWord() != stm32h5.PermFullRegression {
		t.Errorf("token: %v", err)
	}
	if back.SignedBy(leaf, bytes.Repeat([]byte{8}, 32)) {
		t.Error("token verifies over another challenge")
	}
	if _, err := DecodeKeyPEM([]byte("not pem")); !errors.Is(err, ErrFormat) {
		t.Errorf("bad PEM: %v", err)
	}
}
