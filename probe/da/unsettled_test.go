package da

import (
	"encoding/binary"
	"strings"
	"testing"

	"github.com/stprobe/stprobe/targets"
	"github.com/stprobe/stprobe/targets/stm32h5"
	"github.com/stprobe/stprobe/targets/stm32h5/dacred"
)

// Closing an H523 is never proven while its OBK encryption is unsettled:
// with files, credentials and chip all agreeing, the one mismatch left
// names the open question, and no other part carries one.
func TestH523WayBackUnsettled(t *testing.T) {
	for _, p := range stm32h5.Parts() {
		if (p.Unsettled != "") != (p.Name == "H523") {
			t.Errorf("%s: Unsettled %q", p.Name, p.Unsettled)
		}
	}
	h523, _ := stm32h5.LookupPart("H523")
	fs, err := dacred.MakePassword(h523, dacred.MakeOptions{Seed: []byte("t")})
	if err != nil {
		t.Fatal(err)
	}
	pw, _ := dacred.DecodePasswordFile(fs.Get(dacred.PasswordFile))
	perms := make([]byte, 16)
	binary.LittleEndian.PutUint32(perms, stm32h5.DefaultDAPermissions)
	obk := fs.Get(dacred.PasswordOBKFile)
	w := WayBack{Part: h523, TZEN: targets.TZENDisabled, OBK: obk, Credentials: Credentials{Password: pw}, Record: obk[12:],
		Discovery: &Discovery{SoCClass: uint32(h523.DevID), SoCID: make([]byte, 16), State: targets.StateClosed,
			Integrity: IntegrityProvisioned, HasIntegrity: true, Permissions: perms}}
	ms := ProveWayBack(w)
	if len(ms) != 1 || ms[0].Check != CheckPartUnsettled {
		t.Fatalf("H523 way back: %v, want only %s", ms, CheckPartUnsettled)
	}
	for _, want := range []string{"H523", "DoEncryption 1", "no SAES", "--override-brick"} {
		if !strings.Contains(ms[0].String(), want) {
			t.Errorf("%q lacks %q", ms[0], want)
		}
	}
}
