package da

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"testing"
	"time"

	"github.com/stprobe/stprobe/probe/sim/scenario"
	"github.com/stprobe/stprobe/targets"
	"github.com/stprobe/stprobe/targets/stm32h5"
	"github.com/stprobe/stprobe/targets/stm32h5/dacred"
)

// Debug opening on the production board: AP1 answers afterwards, the chip
// keeps its state and flash.
func TestOpenDebug(t *testing.T) {
	l, sp := openScenario(t, "h533-closed-da")
	m := scenario.Model(sp)
	if m.AP1Enabled() {
		t.Fatal("AP1 open before")
	}
	res, err := NewHost(LinkPort(l), Options{}).OpenDebug(context.Background(), scenarioCreds(t, "h533-closed-da"))
	if err != nil {
		t.Fatalf("open debug: %v", err)
	}
	if !res.After.AP1Open || res.After.State != targets.StateClosed || !m.AP1Enabled() || m.FlashErased() {
		t.Errorf("after %+v, AP1 %v", res.After, m.AP1Enabled())
	}
	checkClean(t, l)
}

// Regression to TZ_CLOSED: the non-secure half erased, the DA data kept.
func TestRegressToTZ(t *testing.T) {
	l, sp := openScenario(t, "h533-closed-da")
	m := scenario.Model(sp)
	res, err := NewHost(LinkPort(l), Options{}).Regress(context.Background(), scenarioCreds(t, "h533-closed-da"), PermToTZ)
	if err != nil {
		t.Fatalf("regression: %v", err)
	}
	if res.After.State != targets.StateTZClosed || m.ProductState() != targets.StateTZClosed || m.OBKDARecord() == nil || m.DASessionActive() {
		t.Errorf("after %+v; chip %v, DA loop %v", res.After, m.ProductState(), m.DASessionActive())
	}
	checkClean(t, l)
}

// A token whose bytes were changed after signing, or signed over another
// challenge, or signed properly but not as ARM's reference host makes it
// (a non-zero extensions hash with no extensions, extensions announced
// that are not there), is refused and the chip is unchanged.
func TestTamperedToken(t *testing.T) {
	c := scenarioCreds(t, "h533-closed-da")
	for _, tc := range []struct {
		name   string
		tamper func(tok []byte, chal []byte) []byte
	}{
		{"flipped permission", func(tok, _ []byte) []byte { tok[8] ^= 0x01; return tok }},
		{"flipped signature", func(tok, _ []byte) []byte { tok[100] ^= 0x80; return tok }},
		{"extensions hash of nothing, signed", func(_ []byte, chal []byte) []byte {
			tk := dacred.Token{Major: 1, SignatureType: dacred.SigECDSAP256, ExtensionsHash: sha256.Sum256(nil)}
			binary.LittleEndian.PutUint32(tk.Requested[:], PermFull.Bit())
			if err := tk.Sign(c.Key, chal); err != nil {
				t.Fatal(err)
			}
			return tk.Encode()
		}},
		{"extensions announced, none sent, signed", func(_ []byte, chal []byte) []byte {
			tk := dacred.Token{Major: 1, SignatureType: dacred.SigECDSAP256, ExtensionsSize: 4}
			binary.LittleEndian.PutUint32(tk.Requested[:], PermFull.Bit())
			if err := tk.Sign(c.Key, chal); err != nil {
				t.Fatal(err)
			}
			return tk.Encode()
		}},
		{"old challenge", func(_ []byte, chal []byte) []byte {
			old := append([]byte(nil), chal...)
			old[0] ^= 1
			tk, _ := dacred.NewToken(PermFull.Bit(), old, c.Key)
			return tk.Encode()
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, sp := openScenario(t, "h533-closed-da")
			m := scenario.Model(sp)
			h := NewHost(LinkPort(l), Options{})
			err := h.withSession(context.Background(), "test", func(ctx context.Context, s *session) error {
				chal, err := s.transact(ctx, CmdAuthStart, nil, "AUTH_START")
				if err != nil {
					return err
				}
				for _, cert := range c.Chain {
					if st, _, err := s.exchange(ctx, CmdAuthResponse, dacred.AppendTLV(nil, dacred.TypeCert, cert.Encode(), true), "cert"); err != nil || st != StatusNeedMoreData {
						t.Fatalf("certificate: %v %v", st, err)
					}
				}
				tok, err := dacred.NewToken(PermFull.Bit(), chal[4:], c.Key)
				if err != nil {
					return err
				}
				_, err = s.transact(ctx, CmdAuthResponse, dacred.AppendTLV(nil, dacred.TypeToken, tc.tamper(tok.Encode(), chal[4:]), true), "token")
				return err
			})
			if !errors.Is(err, ErrUnauthorized) {
				t.Fatalf("got %v, want UNAUTHORIZED", err)
			}
			var se *StatusError
			if !errors.As(err, &se) || se.Status != StatusUnauthorized {
				t.Errorf("status error %v", se)
			}
			m.Advance(time.Second) // past any regression the model could run
			if m.ProductState() != targets.StateClosed || m.FlashErased() || m.Regressing() || m.OBKDARecord() == nil {
				t.Error("chip changed")
			}
		})
	}
}

// After a discovery the chip waits in the DA loop; Reboot lets it boot.
func TestReboot(t *testing.T) {
	l, sp := openScenario(t, "h533-closed-da")
	m := scenario.Model(sp)
	h := NewHost(LinkPort(l), Options{})
	if _, err := h.Discover(context.Background()); err != nil || !m.DASessionActive() {
		t.Fatalf("discover: %v", err)
	}
	if err := h.Reboot(context.Background()); err != nil || m.DASessionActive() {
		t.Fatalf("reboot: %v, DA loop %v", err, m.DASessionActive())
	}
	checkClean(t, l)
}

// LoadCredentials takes one method.
func TestLoadCredentials(t *testing.T) {
	dir := t.TempDir()
	if err := scenario.Credentials("h533-closed-da", dir); err != nil {
		t.Fatal(err)
	}
	c, err := LoadCredentials("", dir+"/"+dacred.LeafKeyFile, dir+"/"+dacred.ChainFile)
	if err != nil || c.Method() != "certificate" {
		t.Fatalf("%v %v", c.Method(), err)
	}
	if _, err := LoadCredentials(dir+"/x", dir+"/"+dacred.LeafKeyFile, ""); err == nil {
		t.Error("two methods accepted")
	}
}

// Every board that comes with DA provisioned regresses with the
// credentials `sim credentials` hands out (LOCKED refuses).
func TestScenarioCredentialsRegress(t *testing.T) {
	for _, sc := range scenario.List() {
		if sc.Chip == nil || sc.Chip.DA == stm32h5.DANone {
			continue
		}
		t.Run(sc.Name, func(t *testing.T) {
			l, sp := openScenario(t, sc.Name)
			m := scenario.Model(sp)
			_, err := NewHost(LinkPort(l), Options{}).Regress(context.Background(), scenarioCreds(t, sc.Name), PermFull)
			if sc.Chip.ProductState == targets.StateLocked {
				if !errors.Is(err, ErrLocked) {
					t.Fatalf("LOCKED: %v", err)
				}
				return
			}
			if err != nil || m.ProductState() != targets.StateOpen || !m.FlashErased() {
				t.Fatalf("regression: %v; chip %v", err, m.ProductState())
			}
		})
	}
}

// The preconditions of a regression, one table for the bench's plan, the
// host's last check and the console's checklist: the first that fails
// names its cause, and a failed state or provisioning check hides the rest.
func TestPreconditions(t *testing.T) {
	disc := func(st targets.ProductState, integrity uint32, crypto uint8, perm uint32) *Discovery {
		d := &Discovery{State: st, Integrity: integrity, HasIntegrity: true, Cryptosystems: []uint8{crypto},
			Permissions: binary.LittleEndian.AppendUint32(nil, perm)}
		return d
	}
	pw := Credentials{Password: []byte("pw")}
	closedPW := disc(targets.StateClosed, IntegrityProvisioned, CryptoPassword, 0x5077)
	for _, tc := range []struct {
		name   string
		d      *Discovery
		c      Credentials
		perm   Permission
		checks int
		cause  error
	}{
		{"closed, password, full", closedPW, pw, PermFull, 5, nil},
		{"locked", disc(targets.StateLocked, IntegrityProvisioned, CryptoPassword, 0x5077), pw, PermFull, 2, ErrLocked},
		{"open", disc(targets.StateOpen, IntegrityProvisioned, CryptoPassword, 0x5077), pw, PermFull, 2, ErrNotPermitted},
		{"not provisioned", disc(targets.StateClosed, IntegrityNotProvisioned, CryptoPassword, 0x5077), pw, PermFull, 2, ErrNotProvisioned},
		{"password to TZ", closedPW, pw, PermToTZ, 5, ErrNotPermitted},
		{"certificate offered, password given", disc(targets.StateTZClosed, IntegrityProvisioned, CryptoECDSAP256, 0x5077), pw, PermFull, 5, ErrWrongMethod},
		{"permission word lacks the full regression", disc(targets.StateClosed, IntegrityProvisioned, CryptoPassword, 0), pw, PermFull, 5, ErrNotPermitted},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cs := Preconditions(tc.d, tc.c, tc.perm)
			if len(cs) != tc.checks {
				t.Errorf("%d checks, want %d: %+v", len(cs), tc.checks, cs)
			}
			u := Unmet(cs)
			switch {
			case tc.cause == nil && u != nil:
				t.Errorf("unmet %+v, want all to hold", *u)
			case tc.cause != nil && (u == nil || !errors.Is(u.Cause, tc.cause) || u.Problem == "" || u.Next == ""):
				t.Errorf("unmet %+v, want cause %v with a problem and a next step", u, tc.cause)
			}
			err := precheck("test", tc.d, tc.c, tc.perm)
			if (err == nil) != (tc.cause == nil) || (tc.cause != nil && !errors.Is(err, tc.cause)) {
				t.Errorf("precheck: %v, want %v", err, tc.cause)
			}
		})
	}
}
