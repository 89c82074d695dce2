package scenario

import (
	"context"
	"errors"
	"testing"

	"github.com/stprobe/stprobe/probe"
	"github.com/stprobe/stprobe/probe/sim"
	"github.com/stprobe/stprobe/targets"
)

// boardID is what identifying a board of the families beyond the STM32H5
// must find.
type boardID struct {
	scenario, family, line, rev string
	flashKB                     uint16
	level                       targets.RDPLevel
	raw                         uint8
}

// identifyBoard connects to a fresh copy of the board in Hot Plug through
// the simulated ST-LINK and the driver, identifies the chip and checks what
// every family shows alike: family, line, revision, the DPIDR the family
// shows, flash size and UID, and the RDP level through the family's own
// register.
func identifyBoard(t *testing.T, want boardID) (*sim.Probe, *probe.Link, *targets.Chip) {
	t.Helper()
	ctx := context.Background()
	s, err := Lookup(want.scenario)
	if err != nil {
		t.Fatal(err)
	}
	if s.Family() != want.family {
		t.Errorf("Family() = %q, want %q", s.Family(), want.family)
	}
	sp := s.NewProbe()
	l, err := probe.NewLink(ctx, sp)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	r, err := probe.Connect(ctx, l, probe.ConnectOptions{Mode: probe.ModeHotPlug, AP: 0})
	if err != nil || !r.OK() {
		t.Fatalf("connect: %v %v", err, r.Err)
	}
	c, err := targets.Identify(ctx, l, r.DPIDR)
	if err != nil {
		t.Fatal(err)
	}
	if c.Family.Name != want.family || c.Line.Name != want.line || c.Revision != want.rev || c.IDCodeAP != 0 || !c.DPIDRKnownForFamily {
		t.Errorf("identified %s (family %s, DPIDR 0x%08X known %v)", c, c.Family.Name, c.DPIDR, c.DPIDRKnownForFamily)
	}
	if !c.HasFlashSize || c.FlashKB != want.flashKB || !c.HasUID {
		t.Errorf("engineering area: %s (%v)", c, c.EngineeringAreaErr)
	}
	if !c.HasProtection || c.Protection.Level != want.level || c.Protection.Raw != want.raw {
		t.Errorf("protection %v reg 0x%08X (read %v: %v), want %v 0x%02X", c.Protection, c.Protection.Reg, c.HasProtection, c.ProtectionErr, want.level, want.raw)
	}
	return sp, l, c
}

// TestFamilyBoardsIdentify identifies every board of the families beyond
// the STM32H5 through the simulated ST-LINK and the driver (identifyBoard),
// finds no product state on them, and reads flash on an open board where
// RDP level 1 refuses it.
func TestFamilyBoardsIdentify(t *testing.T) {
	tests := []boardID{
		{"f103-open", "STM32F1", "STM32F10x medium density", "Y", 64, targets.RDPLevel0, 0xA5},
		{"f103-rdp1", "STM32F1", "STM32F10x medium density", "Y", 64, targets.RDPLevel1, 0x00},
		{"f411-open", "STM32F4", "STM32F411", "A", 512, targets.RDPLevel0, 0xAA},
		{"g071-open", "STM32G0", "STM32G07x/G08x", "B", 128, targets.RDPLevel0, 0xAA},
		{"g474-open", "STM32G4", "STM32G47x/G48x", "rev 0x2000", 512, targets.RDPLevel0, 0xAA},
		{"l476-open", "STM32L4", "STM32L47x/L48x", "4", 1024, targets.RDPLevel0, 0xAA},
	}
	ctx := context.Background()
	for _, tt := range tests {
		t.Run(tt.scenario, func(t *testing.T) {
			sp, l, c := identifyBoard(t, tt)
			if _, _, err := targets.ReadProductState(ctx, l, c); !errors.Is(err, targets.ErrNoProductState) {
				t.Errorf("ReadProductState on %s: %v, want ErrNoProductState", tt.family, err)
			}
			// Flash reads: erased on an open board, refused under RDP 1.
			_, err := l.Read32(ctx, 0, targets.FlashMemBase)
			if (err != nil) != (tt.level == targets.RDPLevel1) {
				t.Errorf("flash read at 0x08000000: %v under %v", err, tt.level)
			}
			if m := RDPModel(sp); m == nil || (m.RefusedFlashReads() > 0) != (tt.level == targets.RDPLevel1) {
				t.Errorf("the model refused %d flash reads under %v", m.RefusedFlashReads(), tt.level)
			}
		})
	}
}
