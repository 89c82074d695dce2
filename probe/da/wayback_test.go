package da

import (
	"context"
	"encoding/binary"
	"testing"

	"github.com/stprobe/stprobe/targets"
	"github.com/stprobe/stprobe/targets/stm32h5"
	"github.com/stprobe/stprobe/targets/stm32h5/dacred"
)

// wayBackFixture is a proven way back for an H533 with a password and one
// with certificates; each table row breaks one thing.
func wayBackFixture(t *testing.T) (pw, cert WayBack) {
	t.Helper()
	h533, _ := stm32h5.LookupPart("H533")
	fs, err := dacred.MakePassword(h533, dacred.MakeOptions{Seed: []byte("t")})
	if err != nil {
		t.Fatal(err)
	}
	p, _ := dacred.DecodePasswordFile(fs.Get(dacred.PasswordFile))
	disc := func() *Discovery {
		perms := make([]byte, 16)
		binary.LittleEndian.PutUint32(perms, stm32h5.DefaultDAPermissions)
		return &Discovery{SoCClass: uint32(h533.DevID), SoCID: make([]byte, 16), State: targets.StateClosed,
			Integrity: IntegrityProvisioned, HasIntegrity: true, Permissions: perms}
	}
	obk := fs.Get(dacred.PasswordOBKFile)
	pw = WayBack{Part: h533, TZEN: targets.TZENDisabled, OBK: obk, Credentials: Credentials{Password: p}, Discovery: disc(), Record: obk[12:]}
	ch, err := dacred.NewChain(h533, []byte("t"))
	if err != nil {
		t.Fatal(err)
	}
	cobk := dacred.NewDAOBK(h533, ch.Root.KeyHash(), stm32h5.DefaultDAPermissions).Encode()
	cert = WayBack{Part: h533, TZEN: targets.TZENEnabled, OBK: cobk, Credentials: Credentials{Chain: ch.Certificates(), Key: ch.LeafKey},
		Discovery: disc(), Record: cobk[12:], Permission: PermToTZ}
	return pw, cert
}

// Each mismatch ProveWayBack checks is found, alone, and named.
func TestProveWayBack(t *testing.T) {
	pw0, cert0 := wayBackFixture(t)
	for _, w := range []WayBack{pw0, cert0} {
		if ms := ProveWayBack(w); len(ms) != 0 {
			t.Fatalf("fixture not proven: %v", ms)
		}
	}
	h563, _ := stm32h5.LookupPart("H563")
	h503, _ := stm32h5.LookupPart("H503")
	other, _ := dacred.NewChain(pw0.Part, []byte("other"))
	rehash := func(obk []byte) []byte {
		f, _ := dacred.DecodeOBK(obk)
		var h [32]byte
		copy(h[:], f.Payload[32:64])
		f.Payload = stm32h5.DARecord(h, binary.LittleEndian.Uint32(f.Payload[64:]))
		return f.Encode()
	}
	edit := func(obk []byte, fn func(b []byte)) []byte {
		b := append([]byte(nil), obk...)
		fn(b)
		return b
	}
	cases := []struct {
		name    string
		base    WayBack
		breakIt func(w *WayBack)
		want    string
	}{
		{"no obk", pw0, func(w *WayBack) { w.OBK = nil }, CheckOBKFile},
		{"short obk", pw0, func(w *WayBack) { w.OBK = w.OBK[:80]; w.Record = nil }, CheckOBKSize},
		{"destination", pw0, func(w *WayBack) { w.OBK = edit(w.OBK, func(b []byte) { b[1] = 0x02 }) }, CheckOBKDestination},
		{"no encryption on a crypto part", pw0, func(w *WayBack) { w.OBK = edit(w.OBK, func(b []byte) { b[8] = 0 }) }, CheckOBKEncryption},
		{"encryption on a plain part", pw0, func(w *WayBack) {
			w.Part = h563
			w.Discovery.SoCClass = uint32(h563.DevID)
		}, CheckOBKEncryption},
		{"payload hash", pw0, func(w *WayBack) { w.OBK = edit(w.OBK, func(b []byte) { b[12] ^= 1 }); w.Record = nil }, CheckOBKHash},
		{"permission word", pw0, func(w *WayBack) {
			w.OBK = rehash(edit(w.OBK, func(b []byte) { b[12+65] &^= 0x40 }))
			w.Record = nil
		}, CheckOBKPermission},
		{"no credentials", pw0, func(w *WayBack) { w.Credentials = Credentials{} }, CheckCredentials},
		{"wrong password", pw0, func(w *WayBack) { w.Credentials.Password = []byte("not it") }, CheckCredentialsMatch},
		{"password with TrustZone on", pw0, func(w *WayBack) { w.TZEN = targets.TZENEnabled }, CheckMethodTZEN},
		{"password for to-tz", pw0, func(w *WayBack) { w.Permission = PermToTZ }, CheckPasswordPermission},
		{"certificates with TrustZone off", cert0, func(w *WayBack) { w.TZEN = targets.TZENDisabled }, CheckMethodTZEN},
		{"certificates on an H503", cert0, func(w *WayBack) { w.Part = h503; w.OBK = make([]byte, 32); w.Record = nil; w.TZEN = targets.TZENAbsent }, CheckMethodTZEN},
		{"foreign root", cert0, func(w *WayBack) { w.Credentials = Credentials{Chain: other.Certificates(), Key: other.LeafKey} }, CheckCredentialsMatch},
		{"foreign leaf key", cert0, func(w *WayBack) { w.Credentials.Key = other.LeafKey }, CheckChain},
		{"tampered certificate", cert0, func(w *WayBack) {
			leaf := *w.Credentials.Chain[2]
			leaf.Usage ^= 1
			w.Credentials.Chain = []*dacred.Certificate{w.Credentials.Chain[0], w.Credentials.Chain[1], &leaf}
		}, CheckChain},
		{"certificate withholds the permission", cert0, func(w *WayBack) {
			ch, _ := dacred.NewChain(w.Part, []byte("t"))
			ch.Leaf.Permissions[1] &^= 0x10 // bit 12
			_ = ch.Leaf.Sign(ch.IntermediateKey)
			w.Credentials.Chain = ch.Certificates()
		}, CheckChainPermission},
		{"certificate for another SoC", cert0, func(w *WayBack) {
			ch, _ := dacred.MakeChain(dacred.MakeOptions{Seed: []byte("t"), SoCClass: uint32(h563.DevID)})
			w.Credentials.Chain = ch.Certificates()
		}, CheckChainSoC},
		{"closing to LOCKED", pw0, func(w *WayBack) { w.Target = targets.StateLocked }, CheckTarget},
		{"to-tz from iROT_PROVISIONED", cert0, func(w *WayBack) { w.Target = targets.StateIROTProvisioned }, CheckTarget},
		{"no discovery", pw0, func(w *WayBack) { w.Discovery = nil }, CheckDiscovery},
		{"another part on the board", pw0, func(w *WayBack) { w.Discovery.SoCClass = 0x484 }, CheckPart},
		{"chip not provisioned", pw0, func(w *WayBack) { w.Discovery.Integrity = IntegrityNotProvisioned }, CheckChipProvisioned},
		{"chip mask lacks it", cert0, func(w *WayBack) { w.Discovery.Permissions = make([]byte, 16) }, CheckChipPermission},
		{"chip holds another record", pw0, func(w *WayBack) { w.Record = make([]byte, 96) }, CheckChipRecord},
		{"H503 OTP image size", pw0, func(w *WayBack) {
			w.Part = h503
			w.OBK = w.OBK[:20]
			w.TZEN = targets.TZENAbsent
			w.Record = nil
			w.Discovery.SoCClass = uint32(h503.DevID)
		}, CheckOTPImage},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := tc.base
			d := *w.Discovery
			w.Discovery = &d
			w.Credentials.Chain = append([]*dacred.Certificate(nil), w.Credentials.Chain...)
			tc.breakIt(&w)
			ms := ProveWayBack(w)
			found := false
			for _, m := range ms {
				found = found || m.Check == tc.want
				if m.Problem == "" || m.Fix == "" {
					t.Errorf("mismatch without words: %+v", m)
				}
			}
			if !found {
				t.Errorf("want %s, got %v", tc.want, ms)
			}
		})
	}
}

// CheckOBK on the files make-password and make-certs write, for every
// part: no mismatch.
func TestCheckOBKMadeFiles(t *testing.T) {
	for _, p := range stm32h5.Parts() {
		fs, err := dacred.MakePassword(p, dacred.MakeOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if !p.OBK {
			if len(fs.Get(dacred.OTPImageFile)) != 32 || fs.Get(dacred.PasswordOBKFile) != nil {
				t.Errorf("%s: files %v", p.Name, fs)
			}
			continue
		}
		if ms := CheckOBK(fs.Get(dacred.PasswordOBKFile), p, PermFull); len(ms) != 0 {
			t.Errorf("%s password: %v", p.Name, ms)
		}
		cs, err := dacred.MakeCerts(p, dacred.MakeOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if ms := CheckOBK(cs.Get(dacred.CertOBKFile), p, PermFull, PermToTZ, PermOpenDebug); len(ms) != 0 {
			t.Errorf("%s certificates: %v", p.Name, ms)
		}
	}
}

// check-obk against a chip: the seed board before and after provisioning.
func TestCheckOBKChip(t *testing.T) {
	ctx := context.Background()
	l, _ := openScenario(t, "h533-provisioning")
	obApply(t, l, "TZEN=0xC3")
	h533, _ := stm32h5.LookupPart("H533")
	fs, _ := dacred.MakePassword(h533, dacred.MakeOptions{})
	obk := fs.Get(dacred.PasswordOBKFile)
	h := NewHost(LinkPort(l), Options{})
	d, err := h.Discover(ctx)
	if err != nil {
		t.Fatal(err)
	}
	rec, err := h.ReadDARecord(ctx, h533)
	if err != nil {
		t.Fatal(err)
	}
	names := func(ms []Mismatch) map[string]bool {
		out := map[string]bool{}
		for _, m := range ms {
			out[m.Check] = true
		}
		return out
	}
	if got := names(CheckOBKChip(obk, h533, d, rec)); !got[CheckChipProvisioned] || !got[CheckChipRecord] || len(got) != 2 {
		t.Errorf("before provisioning: %v", got)
	}
	if _, err := h.Provision(ctx, h533, obk); err != nil {
		t.Fatal(err)
	}
	d, _ = h.Discover(ctx)
	rec, _ = h.ReadDARecord(ctx, h533)
	if ms := CheckOBKChip(obk, h533, d, rec, PermFull); len(ms) != 0 {
		t.Errorf("after provisioning: %v", ms)
	}
}
