package dacred

import (
	"bytes"
	"encoding/base64"
	"errors"
	"reflect"
	"testing"

	"github.com/stprobe/stprobe/targets/stm32h5"
)

// seeds returns made files to start the fuzzers from.
func seeds(f *testing.F) Files {
	h533, _ := stm32h5.LookupPart("H533")
	pw, err := MakePassword(h533, MakeOptions{Seed: []byte("fuzz")})
	if err != nil {
		f.Fatal(err)
	}
	cs, err := MakeCerts(h533, MakeOptions{Seed: []byte("fuzz")})
	if err != nil {
		f.Fatal(err)
	}
	return append(pw, cs...)
}

// checkErr fails unless err is nil or wraps ErrFormat.
func checkErr(t *testing.T, err error) {
	if err != nil && !errors.Is(err, ErrFormat) {
		t.Fatalf("error %v does not wrap ErrFormat", err)
	}
}

// FuzzDecodeCertificate: never panics; what decodes re-encodes to a
// certificate that decodes to the same fields.
func FuzzDecodeCertificate(f *testing.F) {
	fs := seeds(f)
	for _, name := range []string{RootCertFile, LeafCertFile} {
		chain, err := DecodeChain(fs.Get(name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(chain[0].Encode())
	}
	f.Add(make([]byte, CertSize))
	f.Add([]byte{1, 0, 1, 1, 9})
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := DecodeCertificate(b)
		checkErr(t, err)
		if err != nil {
			return
		}
		back, err := DecodeCertificate(c.Encode())
		if err != nil || !reflect.DeepEqual(back, c) {
			t.Fatalf("round trip: %v", err)
		}
		_, _ = c.Key()
	})
}

// FuzzDecodeToken: never panics; decodes round-trip.
func FuzzDecodeToken(f *testing.F) {
	fs := seeds(f)
	key, _ := DecodeKeyPEM(fs.Get(LeafKeyFile))
	tok, _ := NewToken(stm32h5.PermFullRegression, make([]byte, 32), key)
	f.Add(tok.Encode())
	f.Add(make([]byte, TokenSize))
	f.Add([]byte{1, 0, 1})
	f.Fuzz(func(t *testing.T, b []byte) {
		tk, err := DecodeToken(b)
		checkErr(t, err)
		if err != nil {
			return
		}
		back, err := DecodeToken(tk.Encode())
		if err != nil || !reflect.DeepEqual(back, tk) {
			t.Fatalf("round trip: %v", err)
		}
	})
}

// FuzzDecodeOBK: never panics; a decoded file re-encodes to the same
// bytes; its record decodes when it has the DA size.
func FuzzDecodeOBK(f *testing.F) {
	fs := seeds(f)
	f.Add(fs.Get(PasswordOBKFile))
	f.Add(fs.Get(CertOBKFile))
	f.Add(fs.Get(PasswordOBKFile)[:80])
	f.Add([]byte{0, 1, 0xFD, 0x0F, 0xFF, 0xFF, 0xFF, 0xFF, 1, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		o, err := DecodeOBK(b)
		checkErr(t, err)
		if err != nil {
			return
		}
		if !bytes.Equal(o.Encode(), b) {
			t.Fatal("re-encoding differs")
		}
		if _, err := DecodeRecord(o.Payload); len(o.Payload) == stm32h5.OBKDASize && err != nil {
			t.Fatal(err)
		}
	})
}

// FuzzDecodeChain: never panics; a decoded chain re-encodes to a chain
// that decodes to the same certificates.
func FuzzDecodeChain(f *testing.F) {
	fs := seeds(f)
	f.Add(fs.Get(ChainFile))
	f.Add(fs.Get(RootCertFile))
	if chain, err := DecodeChain(fs.Get(ChainFile)); err == nil {
		var raw, bare []byte
		for _, c := range chain {
			raw = AppendTLV(raw, TypeCert, c.Encode(), true)
			bare = append(bare, c.Encode()...)
		}
		f.Add(raw)
		f.Add(bare)
		f.Add(base64.StdEncoding.AppendEncode(nil, chain[0].Encode()))
	}
	f.Add([]byte("AAAAAA==\n"))
	f.Add([]byte("not base64"))
	f.Fuzz(func(t *testing.T, b []byte) {
		chain, err := DecodeChain(b)
		checkErr(t, err)
		if err != nil {
			return
		}
		back, err := DecodeChain(EncodeChain(chain))
		if err != nil || !reflect.DeepEqual(back, chain) {
			t.Fatalf("round trip: %v", err)
		}
	})
}

// FuzzDecodePasswordFile: never panics (TLV splitting of untrusted
// bytes); a decoded password re-encodes to a file that decodes the same.
func FuzzDecodePasswordFile(f *testing.F) {
	fs := seeds(f)
	f.Add(fs.Get(PasswordFile))
	f.Add([]byte{0, 0, 0, 0x80, 0xFF, 0xFF, 0xFF, 0xFF})
	f.Add([]byte{0, 0, 0, 0x80, 2, 0, 0, 0, 'a', 'b', 0, 0, 0, 0, 0, 0x80, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		pw, err := DecodePasswordFile(b)
		checkErr(t, err)
		if err != nil {
			return
		}
		back, err := DecodePasswordFile(EncodePasswordFile(pw))
		if err != nil || !bytes.Equal(back, pw) {
			t.Fatalf("round trip: %v", err)
		}
	})
}

// FuzzDecodeKeyPEM: never panics on untrusted key files.
func FuzzDecodeKeyPEM(f *testing.F) {
	fs := seeds(f)
	f.Add(fs.Get(LeafKeyFile))
	f.Add([]byte("-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		_, err := DecodeKeyPEM(b)
		checkErr(t, err)
	})
}
