package scenario

import (
	"bytes"
	"crypto/sha256"
	"os"
	"path/filepath"
	"testing"

	"github.com/stprobe/stprobe/targets/stm32h5"
	"github.com/stprobe/stprobe/targets/stm32h5/dacred"
)

// Every board with DA provisioned hands out credentials whose hash is the
// one its chip holds, the same on every call; the others refuse.
func TestCredentials(t *testing.T) {
	for _, s := range List() {
		t.Run(s.Name, func(t *testing.T) {
			dir := t.TempDir()
			err := Credentials(s.Name, dir)
			if s.Chip == nil || s.Chip.DA == stm32h5.DANone {
				if err == nil {
					t.Fatal("credentials for a board without DA")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			m, err := stm32h5.New(*s.Chip)
			if err != nil {
				t.Fatal(err)
			}
			again, _ := CredentialFiles(s.Name)
			read := func(name string) []byte {
				b, err := os.ReadFile(filepath.Join(dir, name))
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(b, again.Get(name)) {
					t.Errorf("%s differs between calls", name)
				}
				return b
			}
			var hash [32]byte
			switch {
			case s.Chip.DA == stm32h5.DAPassword:
				pw, err := dacred.DecodePasswordFile(read(dacred.PasswordFile))
				if err != nil {
					t.Fatal(err)
				}
				hash = sha256.Sum256(pw)
				if !m.Line().OBK {
					if !bytes.Equal(read(dacred.OTPImageFile), hash[:]) {
						t.Error("OTP image is not the password hash")
					}
					return
				}
				read(dacred.PasswordOBKFile)
			default:
				chain, err := dacred.DecodeChain(read(dacred.ChainFile))
				if err != nil {
					t.Fatal(err)
				}
				read(dacred.LeafKeyFile)
				hash = chain[0].KeyHash()
			}
			if rec := m.OBKDARecord(); !bytes.Equal(rec[32:64], hash[:]) {
				t.Error("the chip does not hold the hash of the handed-out credentials")
			}
		})
	}
}
