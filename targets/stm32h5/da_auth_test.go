package stm32h5

import (
	"testing"
	"time"

	"github.com/stprobe/stprobe/targets"
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
