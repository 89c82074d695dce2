package da

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/stprobe/stprobe/probe"
	"github.com/stprobe/stprobe/probe/proto"
	"github.com/stprobe/stprobe/probe/sim"
	"github.com/stprobe/stprobe/probe/sim/scenario"
	"github.com/stprobe/stprobe/targets"
	"github.com/stprobe/stprobe/targets/stm32h5"
)

// openScenario builds a fresh simulated bench and a link to it.
func openScenario(t *testing.T, name string) (*probe.Link, *sim.Probe) {
	t.Helper()
	sc, err := scenario.Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	sp := sc.NewProbe()
	l, err := probe.NewLink(context.Background(), sp)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l, sp
}

// checkClean asserts Discover left the probe idle.
func checkClean(t *testing.T, l *probe.Link) {
	t.Helper()
	if l.NRSTAsserted() || len(l.OpenedAPs()) != 0 {
		t.Errorf("probe left with NRST low %v, APs %v open", l.NRSTAsserted(), l.OpenedAPs())
	}
	mode, err := l.Mode(context.Background())
	if err != nil || mode == proto.ModeDebug {
		t.Errorf("probe mode %v (%v), want out of debug mode", mode, err)
	}
}

// Discover on every STM32H5 scenario reports what the chip model holds:
// lifecycle per product state, integrity per DA provisioning, the method
// per TrustZone, DEV_ID and UID; boards without NRST or without a target
// fail with an error naming the layer.
func TestDiscoverScenarios(t *testing.T) {
	for _, sc := range scenario.List() {
		t.Run(sc.Name, func(t *testing.T) {
			l, sp := openScenario(t, sc.Name)
			var words []Transfer
			d, err := Discover(context.Background(), l, Options{Trace: func(x Transfer) { words = append(words, x) }})
			checkClean(t, l)
			m := scenario.Model(sp)
			switch {
			case sc.Name == "no-target" || sc.Name == "no-power":
				var oe *probe.OpError
				if err == nil || !errors.As(err, &oe) || oe.Where != probe.LayerDP {
					t.Fatalf("got %v, %v; want a DP error", d, err)
				}
				return
			case sc.RDPChip != nil && !sc.RDPChip.Family.RDP.Level2 || sc.RDPChip != nil && sc.Expect.AP0 == scenario.OK:
				// F1, F4, G0, G4, L4: no DA mailbox; the discovery says so.
				if err == nil || !strings.Contains(err.Error(), "no STM32H5 DBGMCU on AP0") || probe.LayerOf(err) != probe.LayerTarget {
					t.Fatalf("discovery on %s: %v, %v; want the not-an-STM32H5 error", sc.Family(), d, err)
				}
				return
			case sc.RDPChip != nil:
				// RDP level 2: no debug port at all.
				var oe *probe.OpError
				if err == nil || !errors.As(err, &oe) || oe.Where != probe.LayerDP {
					t.Fatalf("got %v, %v; want a DP error", d, err)
				}
				return
			case sc.Name == "generic-m33":
				if err == nil || !strings.Contains(err.Error(), "no STM32H5 DBGMCU on AP0") || probe.LayerOf(err) != probe.LayerTarget {
					t.Fatalf("discovery on a generic Cortex-M33: %v, %v; want the not-an-STM32H5 error", d, err)
				}
				return
			case m != nil && !m.Config().NRSTWired:
				if err == nil || !strings.Contains(err.Error(), "no DA reply: NRST must be wired to the probe") ||
					probe.LayerOf(err) != probe.LayerTarget {
					t.Fatalf("got %v, %v; want the NRST error", d, err)
				}
				if m.DASessionActive() {
					t.Error("the ROM started a DA session without NRST")
				}
				return
			}
			if err != nil {
				t.Fatalf("discover: %v", err)
			}
			if d.State != m.ProductState() {
				t.Errorf("state %v (lifecycle 0x%04X), chip is %v", d.State, d.Lifecycle, m.ProductState())
			}
			if want := m.DAProvisioned() != stm32h5.DANone; d.Provisioned() != want || !d.HasIntegrity {
				t.Errorf("provisioned %v (integrity 0x%08X), want %v", d.Provisioned(), d.Integrity, want)
			}
			method := "password"
			if m.TZEN() == targets.TZENEnabled {
				method = "certificate"
			}
			if d.Method() != method {
				t.Errorf("method %q, want %q (TZEN %v)", d.Method(), method, m.TZEN())
			}
			if d.SoCClass != uint32(m.Line().DevID) || d.UID != m.Config().UID || len(d.SoCID) != 16 {
				t.Errorf("SoC class 0x%X UID %08X, want 0x%X %08X", d.SoCClass, d.UID, m.Line().DevID, m.Config().UID)
			}
			if d.IDCode&0xFFF != uint32(m.Line().DevID) {
				t.Errorf("IDCODE 0x%08X", d.IDCode)
			}
			if d.ReplyWord != DefaultRequestWord || d.SDAVersion != "2.4.0" || d.AuthVersion != "1.0" || d.VendorID != 0x0020 {
				t.Errorf("reply 0x%08X, SDA %q, auth %q, vendor 0x%04X", d.ReplyWord, d.SDAVersion, d.AuthVersion, d.VendorID)
			}
			perm := uint32(0)
			if d.Provisioned() && d.State != targets.StateLocked {
				perm = stm32h5.DefaultPermissions
				if !m.Line().OBK {
					perm = stm32h5.PermFullRegression | stm32h5.PermOpenDebug
				}
			}
			if d.PermissionWord() != perm {
				t.Errorf("permissions 0x%08X, want 0x%08X", d.PermissionWord(), perm)
			}
			if !m.DASessionActive() {
				t.Error("the chip is not in its DA loop after discovery")
			}
			if len(words) == 0 || words[0].Reg != "DBG_AUTH_ACK" {
				t.Errorf("trace %v", words)
			}
			if !strings.Contains(d.String(), d.StateName()) {
				t.Errorf("summary %q", d.String())
			}
		})
	}
}

// A second discovery on the same board works: the NRST assertion ends the
// previous session.
func TestDiscoverTwice(t *testing.T) {
	l, _ := openScenario(t, "h533-tz-closed-no-da")
	for i := range 2 {
		d, err := Discover(context.Background(), l, Options{})
		if err != nil {
			t.Fatalf("run %d: %v", i, err)
		}
		if d.State != targets.StateTZClosed || d.Provisioned() {
			t.Errorf("run %d: %v", i, d)
		}
	}
}

// Wrong magic words: the ROM never starts, the host says so at the target
// layer; a reply outside the accepted set is named.
func TestDiscoverWrongWords(t *testing.T) {
	l, _ := openScenario(t, "h533-closed-da")
	_, err := Discover(context.Background(), l, Options{RequestWord: OEDAWord, MaxPolls: 20})
	if err == nil || !strings.Contains(err.Error(), "no DA reply") {
		t.Errorf("OEDA request: %v", err)
	}
	_, err = Discover(context.Background(), l, Options{ReplyWords: []uint32{0x12345678}})
	if err == nil || !strings.Contains(err.Error(), "unexpected DA reply word 0x53544441") {
		t.Errorf("reply set: %v", err)
	}
	checkClean(t, l)
}

// A cancelled discovery stops and still leaves the probe clean.
func TestDiscoverCancelled(t *testing.T) {
	l, _ := openScenario(t, "h533-locked")
	ctx, cancel := context.WithCancel(context.Background())
	n := 0
	_, err := Discover(ctx, l, Options{Trace: func(Transfer) {
		if n++; n == 3 {
			cancel()
		}
	}})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("got %v, want cancelled", err)
	}
	checkClean(t, l)
}

// The configurable ACK roles matter: swapped bits never see the reply.
func TestDiscoverSwappedAckBits(t *testing.T) {
	l, _ := openScenario(t, "h533-closed-da")
	_, err := Discover(context.Background(), l, Options{SwapAckBits: true, MaxPolls: 20})
	if err == nil {
		t.Fatal("discovery with swapped ACK bits succeeded on a chip using the default roles")
	}
	checkClean(t, l)
	d, err := Discover(context.Background(), l, Options{})
	if err != nil || d.State != targets.StateClosed || !d.Provisioned() || d.Method() != "certificate" {
		t.Errorf("after a failed attempt: %v, %v", d, err)
	}
}
