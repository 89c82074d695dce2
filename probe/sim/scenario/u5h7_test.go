package scenario

import (
	"context"
	"testing"
	"time"

	"github.com/stprobe/stprobe/adi"
	"github.com/stprobe/stprobe/targets"
	"github.com/stprobe/stprobe/targets/chipsim"
	"github.com/stprobe/stprobe/targets/stm32rdp"
)

// TestU5H7BoardsIdentify identifies the STM32U5 and STM32H7 boards through
// the simulated ST-LINK and the driver: family, line, revision, flash
// size, package where the family has one, and the RDP level.
func TestU5H7BoardsIdentify(t *testing.T) {
	tests := []struct {
		boardID
		tzen       bool
		flashReads bool // the first word of flash at 0x08000000 reads
	}{
		{boardID{"u585-open", "STM32U5", "STM32U575/U585", "B", 2048, targets.RDPLevel0, 0xAA}, false, true},
		{boardID{"u585-rdp05-tz", "STM32U5", "STM32U575/U585", "B", 2048, targets.RDPLevel05, 0x55}, true, false},
		{boardID{"h743-open", "STM32H7", "STM32H74x/H75x", "V", 2048, targets.RDPLevel0, 0xAA}, false, true},
		{boardID{"h743-rdp1", "STM32H7", "STM32H74x/H75x", "V", 2048, targets.RDPLevel1, 0xBB}, false, false},
	}
	ctx := context.Background()
	for _, tt := range tests {
		t.Run(tt.scenario, func(t *testing.T) {
			_, l, c := identifyBoard(t, tt.boardID)
			if c.HasPackage != (tt.family == "STM32U5") {
				t.Errorf("package read %v on %s: %s", c.HasPackage, tt.family, c)
			}
			if (c.Protection.Reg&targets.U5TZEN != 0) != (tt.tzen && tt.family == "STM32U5") {
				t.Errorf("protection reg 0x%08X, want TZEN %v", c.Protection.Reg, tt.tzen)
			}
			if _, err := l.Read32(ctx, 0, targets.FlashMemBase); (err == nil) != tt.flashReads {
				t.Errorf("flash read at 0x08000000: %v, want readable %v", err, tt.flashReads)
			}
		})
	}
}

// TestU5Level05 checks what RDP level 0.5 leaves to a debugger on the
// TrustZone board, and what level 0 with TrustZone off allows: the
// non-secure flash reads, the secure watermark's pages fault through both
// aliases, the secure flash registers fault, a reset vector catch does not
// halt the core (it starts secure) while a halt of the running chip does.
func TestU5Level05(t *testing.T) {
	const secure, nonSecure = 0x22000002, 0x62000002 // CSW word transfers; bit 30 makes them non-secure
	nsFlash := uint32(targets.FlashMemBase + u585SecurePages*targets.U5PageSize)
	tests := []struct {
		scenario string
		addr     uint32
		csw      uint32
		ok       bool
	}{
		{"u585-rdp05-tz", nsFlash, nonSecure, true},
		{"u585-rdp05-tz", nsFlash, secure, true},
		{"u585-rdp05-tz", targets.FlashMemBase, nonSecure, false},
		{"u585-rdp05-tz", targets.FlashMemBase, secure, false},
		{"u585-rdp05-tz", targets.U5FlashSecure, secure, false},
		{"u585-rdp05-tz", targets.U5FlashRegs + targets.U5FlashOPTR, nonSecure, true},
		{"u585-rdp05-tz", targets.U5FlashRegsSec + targets.U5FlashOPTR, secure, false},
		{"u585-rdp05-tz", targets.U5FlashRegs + targets.U5FlashOEM1KEYR1, secure, true},
		{"u585-open", targets.FlashMemBase, secure, true},
		{"u585-open", targets.U5FlashRegsSec + targets.U5FlashOPTR, secure, true},
		{"u585-open", targets.U5FlashRegsSec + targets.U5FlashOPTR, nonSecure, false},
		{"u585-open", targets.U5FlashSecure, secure, false}, // no secure page with TZEN off
	}
	for _, tt := range tests {
		s, _ := Lookup(tt.scenario)
		chip, err := s.NewChip()
		if err != nil {
			t.Fatal(err)
		}
		v, err := chip.AP(0).Read(tt.addr, chipsim.Word, tt.csw)
		if (err == nil) != tt.ok {
			t.Errorf("%s: read 0x%08X CSW 0x%08X: 0x%08X %v, want ok %v", tt.scenario, tt.addr, tt.csw, v, err, tt.ok)
		}
		if tt.addr == targets.U5FlashRegs+targets.U5FlashOEM1KEYR1 && v != 0 {
			t.Errorf("OEM1KEYR1 reads 0x%08X: a write-only key must read 0", v)
		}
	}
	for _, tt := range []struct {
		scenario          string
		catchReset, halts bool
	}{
		{"u585-rdp05-tz", true, false},
		{"u585-rdp05-tz", false, true},
		{"u585-open", true, true},
	} {
		s, _ := Lookup(tt.scenario)
		chip, _ := s.NewChip()
		if got := halts(t, chip, tt.catchReset); got != tt.halts {
			t.Errorf("%s, reset catch %v: halted %v, want %v", tt.scenario, tt.catchReset, got, tt.halts)
		}
	}
}

// halts halts the core on AP0, by a reset vector catch through NRST or by
// a halt request to the running core, and reports whether it halted.
func halts(t *testing.T, chip chipsim.Chip, catchReset bool) bool {
	t.Helper()
	const csw = 0x22000002
	p := chip.AP(0)
	write := func(addr, v uint32) {
		if err := p.Write(addr, chipsim.Word, v, csw); err != nil {
			t.Fatalf("write 0x%08X: %v", addr, err)
		}
	}
	if catchReset {
		chip.SetNRST(true)
		write(adi.RegDHCSR, adi.DHCSRDebugKey|adi.DHCSRCDebugEn)
		write(adi.RegDEMCR, adi.DEMCRVCCoreReset)
		chip.SetNRST(false)
	} else {
		write(adi.RegDHCSR, adi.DHCSRDebugKey|adi.DHCSRCDebugEn|adi.DHCSRCHalt)
	}
	chip.Advance(time.Millisecond)
	d, err := p.Read(adi.RegDHCSR, chipsim.Word, csw)
	return err == nil && d&adi.DHCSRSHalt != 0
}

// TestH7Ports: DBGMCU answers through AP0 at 0x5C001000 and through AP2 at
// 0xE00E1000 with the same IDCODE and the same DBGMCU_CR; AP1 reaches
// SRAM4 and not the core.
func TestH7Ports(t *testing.T) {
	const csw = 0x22000002
	s, _ := Lookup("h743-open")
	chip, err := s.NewChip()
	if err != nil {
		t.Fatal(err)
	}
	id0, err0 := chip.AP(0).Read(targets.DBGMCUH7, chipsim.Word, csw)
	id2, err2 := chip.AP(2).Read(targets.H7DBGMCUAPB, chipsim.Word, csw)
	if err0 != nil || err2 != nil || id0 != id2 || id0&0xFFF != uint32(targets.DevIDH74x) {
		t.Errorf("IDCODE AP0 0x%08X (%v), AP2 0x%08X (%v)", id0, err0, id2, err2)
	}
	// OpenOCD's examine-end sets DBG_SLEEP/STOP/STANDBY through AP2.
	if err := chip.AP(2).Write(targets.H7DBGMCUAPB+targets.DBGMCUCR, chipsim.Word, 0x3F, csw); err != nil {
		t.Fatal(err)
	}
	if cr, _ := chip.AP(0).Read(targets.DBGMCUH7+targets.DBGMCUCR, chipsim.Word, csw); cr != 0x3F {
		t.Errorf("DBGMCU_CR through AP0 reads 0x%08X after writing 0x3F through AP2", cr)
	}
	if err := chip.AP(1).Write(targets.H7SRAM4, chipsim.Word, 0x12345678, csw); err != nil {
		t.Errorf("SRAM4 through AP1: %v", err)
	}
	if _, err := chip.AP(1).Read(adi.RegCPUID, chipsim.Word, csw); err == nil {
		t.Error("AP1 (D3) reaches the core's CPUID")
	}
	if chip.AP(3) != nil {
		t.Error("an AP3 on a single-core H743")
	}
}

// TestU5H7Level2: a U5 or an H7 set to RDP level 2 (0xCC) does not answer
// SWD at all, with NRST held low or not (RM0456 §7.6.2, RM0433 §4.5.3).
func TestU5H7Level2(t *testing.T) {
	for _, cfg := range []*stm32rdp.Config{
		u585().board(targets.RDPByteLevel2, stm32rdp.FirmwareIdle),
		h743().board(targets.RDPByteLevel2, stm32rdp.FirmwareIdle),
	} {
		m, err := stm32rdp.New(*cfg)
		if err != nil {
			t.Fatal(err)
		}
		for _, held := range []bool{false, true} {
			m.SetNRST(held)
			if m.SWDResponds() || m.Level() != targets.RDPLevel2 {
				t.Errorf("%s at 0xCC, NRST held %v: SWD answers %v, level %v", cfg.Family.Name, held, m.SWDResponds(), m.Level())
			}
		}
	}
}
