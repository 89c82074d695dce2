package stm32h5

import (
	"crypto/sha256"
	"encoding/binary"
	"testing"
	"time"

	"github.com/stprobe/stprobe/targets"
	"github.com/stprobe/stprobe/targets/chipsim"
)

// closedWithPassword is a CLOSED H533 with the sample password, its agent
// past AUTH_START.
func closedAgent(t testing.TB, tzen targets.TZEN, da DA) *Model {
	m, err := New(Config{ProductState: targets.StateClosed, TZEN: tzen, DA: da, NRSTWired: true})
	if err != nil {
		t.Fatal(err)
	}
	m.mu.Lock()
	m.daAuthStartLocked()
	m.mu.Unlock()
	return m
}

// The password check: right password granted, wrong one unauthorized,
// password with TrustZone on unsupported, malformed TLVs refused.
func TestDAPasswordAnswers(t *testing.T) {
	tlv := func(typ uint16, v []byte) []byte { return appendTLV(nil, typ, v) }
	cases := []struct {
		name    string
		tzen    targets.TZEN
		payload []byte
		want    uint32
	}{
		{"right", targets.TZENDisabled, tlv(0x8000, []byte(DefaultPassword)), daStatusSuccess},
		{"wrong", targets.TZENDisabled, tlv(0x8000, []byte("0123456789012346")), daStatusUnauthorized},
		{"TrustZone on", targets.TZENEnabled, tlv(0x8000, []byte(DefaultPassword)), daStatusUnsupported},
		{"reserved set", targets.TZENDisabled, []byte{1, 0, 0, 0x80, 0, 0, 0, 0}, daStatusInvalidParams},
		{"length past the end", targets.TZENDisabled, []byte{0, 0, 0, 0x80, 9, 0, 0, 0}, daStatusInvalidParams},
		{"unknown TLV", targets.TZENDisabled, tlv(0x1234, nil), daStatusInvalidParams},
		{"bare token", targets.TZENEnabled, tlv(0x0200, make([]byte, 120)), daStatusInvalidParams},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := closedAgent(t, tc.tzen, DAPassword)
			m.mu.Lock()
			got := m.daAuthResponseLocked(tc.payload)
			m.mu.Unlock()
			if got[0]>>16 != tc.want {
				t.Errorf("status 0x%X, want 0x%X", got[0]>>16, tc.want)
			}
		})
	}
}

// A regression runs only after the answer was read, erases, and resets.
func TestDARegressionApplies(t *testing.T) {
	m := closedAgent(t, targets.TZENDisabled, DAPassword)
	m.mu.Lock()
	m.da.active, m.da.greeted = true, true
	m.daAuthResponseLocked(appendTLV(nil, 0x8000, []byte(DefaultPassword)))
	m.da.tx = daHeader(daStatusSuccess, nil)
	m.mu.Unlock()
	m.Advance(time.Second)
	if m.Regressing() || m.ProductState() != targets.StateClosed {
		t.Fatal("the regression started before the host read the answer")
	}
	b := mailbox{t, m}
	b.read(targets.DBGMCUAuthDev)
	b.read(targets.DBGMCUAuthDev)
	if !m.Regressing() {
		t.Fatal("no regression after the answer was read")
	}
	epoch := m.LinkEpoch()
	m.Advance(daRegressionTime)
	if m.ProductState() != targets.StateOpen || m.TZEN() != targets.TZENDisabled || !m.FlashErased() || m.OBKDARecord() != nil || m.LinkEpoch() == epoch {
		t.Errorf("after: %v %v erased %v", m.ProductState(), m.TZEN(), m.FlashErased())
	}
}

// OBK provisioning through the SRAM block: only in PROVISIONING; the size,
// destination and encryption rules; a crypto part given an unencrypted
// file ends up with a record that fails its integrity hash.
func TestOBKProvisioning(t *testing.T) {
	file := func(enc uint32, size int) []byte {
		rec := DARecord(sha256.Sum256([]byte("pw")), DefaultPermissions)
		b := binary.LittleEndian.AppendUint32(nil, OBKDAAddr)
		b = binary.LittleEndian.AppendUint32(b, uint32(size))
		b = binary.LittleEndian.AppendUint32(b, enc)
		return append(b, rec[:size]...)
	}
	cases := []struct {
		name        string
		line        uint16
		state       targets.ProductState
		file        []byte
		status      uint32
		provisioned bool
	}{
		{"H533 encrypted", LineH533, targets.StateProvisioning, file(1, 96), OBKProvDone, true},
		{"H533 unencrypted", LineH533, targets.StateProvisioning, file(0, 96), OBKProvDone, false},
		{"H563 plain", LineH563, targets.StateProvisioning, file(0, 96), OBKProvDone, true},
		{"H563 asks for encryption", LineH563, targets.StateProvisioning, file(1, 96), OBKProvBadEncryption, false},
		{"80 bytes", LineH533, targets.StateProvisioning, file(1, 68), OBKProvBadSize, false},
		{"H503", LineH503, targets.StateProvisioning, file(0, 96), OBKProvBadDestination, false},
		{"OPEN", LineH533, targets.StateOpen, file(1, 96), 0, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m, err := New(Config{Line: tc.line, ProductState: tc.state, NRSTWired: true})
			if err != nil {
				t.Fatal(err)
			}
			ap := m.AP(1)
			put := func(addr, v uint32) {
				if err := ap.Write(addr, chipsim.Word, v, 0); err != nil {
					t.Fatal(err)
				}
			}
			f := append(tc.file, make([]byte, (4-len(tc.file)%4)%4)...)
			for i := 0; i < len(f); i += 4 {
				put(OBKProvBlock+OBKProvData+uint32(i), binary.LittleEndian.Uint32(f[i:]))
			}
			put(OBKProvBlock+4, uint32(len(tc.file)))
			put(OBKProvBlock, OBKProvCommand)
			m.Advance(time.Millisecond)
			m.Advance(obkServiceTime)
			if st := rd(t, m, 1, OBKProvBlock+8); st != tc.status {
				t.Errorf("status 0x%08X, want 0x%08X", st, tc.status)
			}
			m.mu.Lock()
			got := m.daProvisionedLocked()
			m.mu.Unlock()
			if got != tc.provisioned {
				t.Errorf("provisioned %v, want %v", got, tc.provisioned)
			}
		})
	}
}

// FuzzDAAuthResponse: any AUTH_RESPONSE payload gets an answer, never a
// panic, on either method.
func FuzzDAAuthResponse(f *testing.F) {
	f.Add(appendTLV(nil, 0x8000, []byte(DefaultPassword)), false)
	f.Add(appendTLV(nil, 0x0201, make([]byte, 212)), true)
	f.Add(append(appendTLV(nil, 0x0201, make([]byte, 212)), appendTLV(nil, 0x0200, make([]byte, 120))...), true)
	f.Add([]byte{0, 0, 0, 2, 0xFF, 0xFF, 0xFF, 0xFF}, true)
	f.Fuzz(func(t *testing.T, payload []byte, tz bool) {
		tzen, da := targets.TZENDisabled, DAPassword
		if tz {
			tzen, da = targets.TZENEnabled, DACertificate
		}
		m := closedAgent(t, tzen, da)
		m.mu.Lock()
		defer m.mu.Unlock()
		for range 2 {
			got := m.daAuthResponseLocked(payload)
			if len(got) < 2 || got[1] != 0 {
				t.Fatalf("answer %08X", got)
			}
			if got[0]>>16 == daStatusSuccess && da == DACertificate {
				t.Fatal("an arbitrary payload authenticated")
			}
		}
	})
}

// A LOCKED chip refuses AUTH_START and AUTH_RESPONSE.
func TestDALockedRefuses(t *testing.T) {
	m, err := New(Config{ProductState: targets.StateLocked, TZEN: targets.TZENDisabled, DA: DAPassword, NRSTWired: true})
	if err != nil {
		t.Fatal(err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if got := m.daAuthStartLocked(); got[0]>>16 != daStatusUnauthorized {
		t.Errorf("AUTH_START: %08X", got)
	}
	if got := m.daAuthResponseLocked(appendTLV(nil, 0x8000, []byte(DefaultPassword))); got[0]>>16 != daStatusUnauthorized {
		t.Errorf("AUTH_RESPONSE: %08X", got)
	}
}
