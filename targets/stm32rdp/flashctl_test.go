package stm32rdp

import (
	"bytes"
	"errors"
	"testing"

	"github.com/stprobe/stprobe/targets"
	"github.com/stprobe/stprobe/targets/chipsim"
	"github.com/stprobe/stprobe/targets/flashreg"
)

// chip builds a model of family f, line devID, with RDP byte rdp and a
// 64-byte image in flash.
func chip(t *testing.T, f targets.Family, devID uint16, rdp uint8) *Model {
	t.Helper()
	m, err := New(Config{Family: f, DevID: devID, RDP: rdp, NRSTWired: true, Image: bytes.Repeat([]byte{0x12, 0x34}, 32)})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// bus is a test's view of AP0.
type bus struct {
	t *testing.T
	m *Model
}

func (b bus) w(addr uint32, size chipsim.Size, v uint32) error {
	return b.m.AP(0).Write(addr, size, v, 0)
}

func (b bus) w32(addr, v uint32) {
	b.t.Helper()
	if err := b.w(addr, chipsim.Word, v); err != nil {
		b.t.Fatalf("write 0x%08X ← 0x%08X: %v", addr, v, err)
	}
}

func (b bus) r32(addr uint32) uint32 {
	b.t.Helper()
	v, err := b.m.AP(0).Read(addr, chipsim.Word, 0)
	if err != nil {
		b.t.Fatalf("read 0x%08X: %v", addr, err)
	}
	return v
}

const (
	flash = targets.FlashMemBase
	f1    = targets.F1FlashRegs
	f4    = targets.F4FlashRegs
	l4    = targets.L4FlashRegs
)

func TestF1Controller(t *testing.T) {
	m := chip(t, targets.STM32F1(), targets.DevIDF1MD, targets.F1RDPKey)
	b := bus{t, m}
	// Locked: a write to flash programs nothing.
	_ = b.w(flash+0x400, chipsim.Halfword, 0xBEEF)
	if got := b.r32(flash + 0x400); got != 0xFFFFFFFF {
		t.Fatalf("locked FPEC programmed 0x%08X", got)
	}
	b.w32(f1+flashreg.F1KEYR, targets.FlashKey1)
	b.w32(f1+flashreg.F1KEYR, targets.FlashKey2)
	if b.r32(f1+flashreg.F1CR)&flashreg.F1CRLock != 0 {
		t.Fatal("FPEC still locked after KEY1, KEY2")
	}
	b.w32(f1+flashreg.F1CR, flashreg.F1CRPG)
	if err := b.w(flash+0x400, chipsim.Word, 0x11111111); !errors.Is(err, chipsim.ErrBusFault) {
		t.Errorf("a word write to F1 flash: %v, want a bus fault (half-words only)", err)
	}
	if err := b.w(flash+0x400, chipsim.Halfword, 0xBEEF); err != nil {
		t.Fatal(err)
	}
	if got := b.r32(flash + 0x400); got != 0xFFFFBEEF || b.r32(f1+flashreg.F1SR)&flashreg.F1SREOP == 0 {
		t.Fatalf("after programming: 0x%08X, SR 0x%X", got, b.r32(f1+flashreg.F1SR))
	}
	_ = b.w(flash+0x400, chipsim.Halfword, 0x1234) // not erased
	if b.r32(f1+flashreg.F1SR)&flashreg.F1SRPGErr == 0 || b.r32(flash+0x400) != 0xFFFFBEEF {
		t.Errorf("programming a location not erased: SR 0x%X, flash 0x%08X; want PGERR and no change", b.r32(f1+flashreg.F1SR), b.r32(flash+0x400))
	}
	b.w32(f1+flashreg.F1SR, flashreg.F1SRPGErr|flashreg.F1SREOP)
	if b.r32(f1+flashreg.F1SR) != 0 {
		t.Errorf("SR not cleared by writing 1: 0x%X", b.r32(f1+flashreg.F1SR))
	}
	// Page erase of the 1 KiB page.
	b.w32(f1+flashreg.F1CR, flashreg.F1CRPER)
	b.w32(f1+flashreg.F1AR, flash+0x400)
	b.w32(f1+flashreg.F1CR, flashreg.F1CRPER|flashreg.F1CRSTRT)
	if b.r32(flash+0x400) != 0xFFFFFFFF || b.r32(flash) != 0x34123412 {
		t.Errorf("page erase: 0x%08X at the page, 0x%08X before it", b.r32(flash+0x400), b.r32(flash))
	}
	// A wrong key locks until reset and is a bus error.
	b.w32(f1+flashreg.F1CR, flashreg.F1CRLock)
	if err := b.w(f1+flashreg.F1KEYR, chipsim.Word, 0xDEAD); !errors.Is(err, chipsim.ErrBusFault) {
		t.Errorf("wrong key: %v", err)
	}
	_ = b.w(f1+flashreg.F1KEYR, chipsim.Word, targets.FlashKey1)
	_ = b.w(f1+flashreg.F1KEYR, chipsim.Word, targets.FlashKey2)
	if b.r32(f1+flashreg.F1CR)&flashreg.F1CRLock == 0 {
		t.Error("FPEC unlocked after a wrong key, before a reset")
	}
	m.SetNRST(true)
	m.SetNRST(false)
	b.w32(f1+flashreg.F1KEYR, targets.FlashKey1)
	b.w32(f1+flashreg.F1KEYR, targets.FlashKey2)
	if b.r32(f1+flashreg.F1CR)&flashreg.F1CRLock != 0 {
		t.Error("FPEC still locked after a reset and the right keys")
	}
}

// TestF1Regression: erasing the option bytes and programming RDP = 0xA5 at
// level 1 mass-erases the flash; FLASH_OBR shows level 0 after the reset.
func TestF1Regression(t *testing.T) {
	m := chip(t, targets.STM32F1(), targets.DevIDF1MD, 0x00)
	b := bus{t, m}
	if _, err := m.AP(0).Read(flash, chipsim.Word, 0); err == nil {
		t.Fatal("flash readable at level 1")
	}
	if _, err := m.readFlash(0); !errors.Is(err, chipsim.ErrBusFault) || m.RefusedFlashReads() != 2 {
		t.Fatalf("readFlash at level 1: %v, %d refused reads", err, m.RefusedFlashReads())
	}
	b.w32(f1+flashreg.F1KEYR, targets.FlashKey1)
	b.w32(f1+flashreg.F1KEYR, targets.FlashKey2)
	b.w32(f1+flashreg.F1CR, flashreg.F1CRPG)
	_ = b.w(flash+0x400, chipsim.Halfword, 0)
	if b.r32(f1+flashreg.F1SR)&flashreg.F1SRWRPRTErr == 0 {
		t.Error("programming at level 1 did not raise WRPRTERR")
	}
	b.w32(f1+flashreg.F1OPTKEYR, targets.FlashKey1)
	b.w32(f1+flashreg.F1OPTKEYR, targets.FlashKey2)
	b.w32(f1+flashreg.F1CR, flashreg.F1CROPTER|flashreg.F1CROPTWRE)
	b.w32(f1+flashreg.F1CR, flashreg.F1CROPTER|flashreg.F1CRSTRT|flashreg.F1CROPTWRE)
	b.w32(f1+flashreg.F1CR, flashreg.F1CROPTPG|flashreg.F1CROPTWRE)
	if err := b.w(F1OptionBytes, chipsim.Halfword, targets.F1RDPKey); err != nil {
		t.Fatal(err)
	}
	if m.MassErases() != 1 || !bytes.Equal(m.Flash(0, 64), bytes.Repeat([]byte{0xFF}, 64)) {
		t.Fatalf("RDP 0xA5 at level 1: %d mass erases, flash % X", m.MassErases(), m.Flash(0, 8))
	}
	if b.r32(F1OptionBytes) != 0xFFFF5AA5 {
		t.Errorf("option block 0x%08X, want RDP 0xA5 with complement, USER erased", b.r32(F1OptionBytes))
	}
	if b.r32(f1+flashreg.F1OBR)&flashreg.F1OBRRDPRT == 0 {
		t.Error("FLASH_OBR changed before the reset")
	}
	b.w32(0xE000ED0C, 0x05FA0004) // AIRCR.SYSRESETREQ
	obr := b.r32(f1 + flashreg.F1OBR)
	// USER, Data0, Data1 were erased and not programmed: complement
	// mismatch, OPTERR, loaded as 0xFF.
	if obr&flashreg.F1OBRRDPRT != 0 || obr&flashreg.F1OBROptErr == 0 || m.Level() != targets.RDPLevel0 {
		t.Errorf("after reset OBR 0x%08X level %v, want RDPRT clear, OPTERR set, level 0", obr, m.Level())
	}
	if b.r32(flash) != 0xFFFFFFFF {
		t.Error("flash not erased")
	}
}

func TestF4Controller(t *testing.T) {
	m := chip(t, targets.STM32F4(), targets.DevIDF411, targets.RDPByteLevel0)
	b := bus{t, m}
	_ = b.w(flash, chipsim.Halfword, 0)
	if b.r32(f4+flashreg.F4SR)&flashreg.F4SRPGSErr == 0 {
		t.Error("a write without PG did not raise PGSERR")
	}
	b.w32(f4+flashreg.F4SR, flashreg.F4Interface().Errors.Mask()|flashreg.F4SREOP)
	b.w32(f4+flashreg.F4KEYR, targets.FlashKey1)
	b.w32(f4+flashreg.F4KEYR, targets.FlashKey2)
	if err := b.w(f4+flashreg.F4KEYR, chipsim.Word, targets.FlashKey1); !errors.Is(err, chipsim.ErrBusFault) || b.r32(f4+flashreg.F4CR)&flashreg.F4CRLock == 0 {
		t.Errorf("a key while unlocked: %v, CR 0x%08X; want a bus fault and LOCK", err, b.r32(f4+flashreg.F4CR))
	}
	m.SetNRST(true)
	m.SetNRST(false)
	b.w32(f4+flashreg.F4KEYR, targets.FlashKey1)
	b.w32(f4+flashreg.F4KEYR, targets.FlashKey2)
	b.w32(f4+flashreg.F4CR, flashreg.F4CRPG|1<<8) // x16
	_ = b.w(flash+0x4000, chipsim.Word, 0)
	if b.r32(f4+flashreg.F4SR)&flashreg.F4SRPGPErr == 0 {
		t.Error("a word write with PSIZE x16 did not raise PGPERR")
	}
	if err := b.w(flash+0x4000, chipsim.Halfword, 0xA55A); err != nil || b.r32(flash+0x4000) != 0xFFFFA55A {
		t.Errorf("x16 program: %v, 0x%08X", err, b.r32(flash+0x4000))
	}
	// Sector 1 (16 KiB at 0x4000) erased, sector 0 kept.
	b.w32(f4+flashreg.F4CR, flashreg.F4CRSER|1<<3|flashreg.F4CRSTRT)
	if b.r32(flash+0x4000) != 0xFFFFFFFF || b.r32(flash) != 0x34123412 {
		t.Errorf("sector 1 erase: 0x%08X, sector 0 0x%08X", b.r32(flash+0x4000), b.r32(flash))
	}
	for snb, want := range map[uint32][2]uint32{4: {0x10000, 64 << 10}, 5: {0x20000, 128 << 10}, 7: {0x60000, 128 << 10}} {
		if off, size, ok := m.f4Sector(snb); !ok || off != want[0] || size != want[1] {
			t.Errorf("sector %d: 0x%X+0x%X %v, want 0x%X+0x%X", snb, off, size, ok, want[0], want[1])
		}
	}
	if _, _, ok := m.f4Sector(8); ok {
		t.Error("sector 8 on a 512 KiB F411")
	}
}

func TestF4Regression(t *testing.T) {
	m := chip(t, targets.STM32F4(), targets.DevIDF411, targets.RDPByteLevel1)
	b := bus{t, m}
	optcr := b.r32(f4 + flashreg.F4OPTCR)
	b.w32(f4+flashreg.F4OPTCR, optcr&^0xFF00|0xAA00) // ignored: OPTLOCK
	if b.r32(f4+flashreg.F4OPTCR) != optcr {
		t.Fatal("OPTCR written while locked")
	}
	b.w32(f4+flashreg.F4OPTKEYR, targets.OptKey1)
	b.w32(f4+flashreg.F4OPTKEYR, targets.OptKey2)
	b.w32(f4+flashreg.F4OPTCR, optcr&^0xFF03|0xAA00)
	b.w32(f4+flashreg.F4OPTCR, optcr&^0xFF03|0xAA00|flashreg.F4OPTCRStart)
	if m.MassErases() != 1 || m.Level() != targets.RDPLevel1 {
		t.Fatalf("after OPTSTRT: %d mass erases, level %v (want 1 erase, level 1 until reset)", m.MassErases(), m.Level())
	}
	b.w32(0xE000ED0C, 0x05FA0004)
	if m.Level() != targets.RDPLevel0 || b.r32(f4+flashreg.F4OPTCR)>>8&0xFF != 0xAA || b.r32(flash) != 0xFFFFFFFF {
		t.Errorf("after reset: level %v, OPTCR 0x%08X", m.Level(), b.r32(f4+flashreg.F4OPTCR))
	}
}

// l4Unlock clears CR.LOCK and OPTLOCK of a G0, G4 or L4 with the two key
// pairs (KEYR, then OPTKEYR).
func (b bus) l4Unlock() {
	b.t.Helper()
	b.w32(l4+flashreg.L4KEYR, targets.FlashKey1)
	b.w32(l4+flashreg.L4KEYR, targets.FlashKey2)
	b.w32(l4+flashreg.L4OPTKEYR, targets.OptKey1)
	b.w32(l4+flashreg.L4OPTKEYR, targets.OptKey2)
	if cr := b.r32(l4 + flashreg.L4CR); cr&(flashreg.L4CRLock|flashreg.L4CROptLock) != 0 {
		b.t.Fatalf("CR 0x%08X still locked after the keys", cr)
	}
}

func TestL4Controller(t *testing.T) {
	m := chip(t, targets.STM32L4(), targets.DevIDL47x, targets.RDPByteLevel0)
	b := bus{t, m}
	b.w32(l4+flashreg.L4KEYR, targets.FlashKey1)
	b.w32(l4+flashreg.L4KEYR, targets.FlashKey2)
	b.w32(l4+flashreg.L4CR, flashreg.L4CRPG)
	tests := []struct {
		name   string
		writes func()
		flag   uint32
	}{
		{"half-word", func() { _ = b.w(flash+0x800, chipsim.Halfword, 0) }, flashreg.L4SRSizErr},
		{"first word unaligned", func() { _ = b.w(flash+0x804, chipsim.Word, 0) }, flashreg.L4SRPGAErr},
		{"second word not next", func() { _ = b.w(flash+0x800, chipsim.Word, 1); _ = b.w(flash+0x80C, chipsim.Word, 2) }, flashreg.L4SRPGAErr},
		{"not erased", func() { _ = b.w(flash, chipsim.Word, 1); _ = b.w(flash+4, chipsim.Word, 2) }, flashreg.L4SRProgErr},
	}
	for _, tt := range tests {
		b.w32(l4+flashreg.L4SR, 0xC3FB) // EOP and every error flag (RM0351 §3.7.4)
		tt.writes()
		if sr := b.r32(l4 + flashreg.L4SR); sr&tt.flag == 0 {
			t.Errorf("%s: SR 0x%08X, want 0x%X", tt.name, sr, tt.flag)
		}
	}
	b.w32(l4+flashreg.L4SR, 0xC3FB) // EOP and every error flag (RM0351 §3.7.4)
	b.w32(flash+0x800, 0x01020304)
	b.w32(flash+0x804, 0x05060708)
	if b.r32(flash+0x800) != 0x01020304 || b.r32(flash+0x804) != 0x05060708 || b.r32(l4+flashreg.L4SR) != flashreg.L4SREOP {
		t.Errorf("double word: 0x%08X 0x%08X SR 0x%X", b.r32(flash+0x800), b.r32(flash+0x804), b.r32(l4+flashreg.L4SR))
	}
	// Page 1 of bank 1 erased, page 0 kept.
	b.w32(l4+flashreg.L4CR, flashreg.L4CRPER|1<<3|flashreg.L4CRSTRT)
	if b.r32(flash+0x800) != 0xFFFFFFFF || b.r32(flash) != 0x34123412 {
		t.Error("page 1 erase")
	}
	// WRP1A over page 0: an erase there raises WRPERR.
	b.w32(l4+flashreg.L4OPTKEYR, targets.OptKey1)
	b.w32(l4+flashreg.L4OPTKEYR, targets.OptKey2)
	b.w32(l4+0x2C, 0x00000000) // start 0, end 0
	b.w32(l4+flashreg.L4CR, flashreg.L4CROptStart)
	b.w32(l4+flashreg.L4CR, flashreg.L4CRPER|0<<3|flashreg.L4CRSTRT)
	if b.r32(l4+flashreg.L4SR)&flashreg.L4SRWRPErr == 0 || b.r32(flash) != 0x34123412 {
		t.Errorf("erase of a WRP page: SR 0x%X", b.r32(l4+flashreg.L4SR))
	}
}

func TestL4RegressionAndOBL(t *testing.T) {
	m := chip(t, targets.STM32G0(), targets.DevIDG07x, targets.RDPByteLevel1)
	b := bus{t, m}
	b.w32(l4+flashreg.L4OPTKEYR, targets.OptKey1) // ignored while LOCK is set
	if b.r32(l4+flashreg.L4CR)&flashreg.L4CROptLock == 0 {
		t.Fatal("OPTLOCK cleared while LOCK is set")
	}
	b.l4Unlock()
	b.w32(l4+flashreg.L4OPTR, b.r32(l4+flashreg.L4OPTR)&^0xFF|0xAA)
	b.w32(l4+flashreg.L4CR, flashreg.L4CROptStart)
	if m.MassErases() != 1 || m.Level() != targets.RDPLevel1 {
		t.Fatalf("after OPTSTRT: %d mass erases, level %v", m.MassErases(), m.Level())
	}
	b.w32(0xE000ED0C, 0x05FA0004) // a system reset does not load the option bytes
	if m.Level() != targets.RDPLevel1 {
		t.Fatal("a system reset loaded the option bytes of a G0")
	}
	b.l4Unlock()
	epoch := m.LinkEpoch()
	b.w32(l4+flashreg.L4CR, flashreg.L4CROBLLaunch)
	if m.LinkEpoch() != epoch+1 || m.Level() != targets.RDPLevel0 || b.r32(flash) != 0xFFFFFFFF {
		t.Errorf("after OBL_LAUNCH: epoch %d→%d, level %v", epoch, m.LinkEpoch(), m.Level())
	}
	if b.r32(l4+flashreg.L4CR) != flashreg.L4CRLock|flashreg.L4CROptLock {
		t.Errorf("CR 0x%08X after the reset, want LOCK|OPTLOCK", b.r32(l4+flashreg.L4CR))
	}
}

// FuzzFlashControllers drives each family's controller with any sequence
// of register, flash and (F1) option-byte writes: no panic, no hang, and a
// chip that ends at level 0 reads its flash.
func FuzzFlashControllers(f *testing.F) {
	f.Add([]byte{0x04, 0x23, 0x01, 0x67, 0x45, 0x04, 0xAB, 0x89, 0xEF, 0xCD, 0x10, 0x01, 0x00, 0x00, 0x00})
	f.Add([]byte{0x08, 0x23, 0x01, 0x67, 0x45, 0x08, 0xAB, 0x89, 0xEF, 0xCD, 0x14, 0x01, 0x00, 0x00, 0x00, 0xF0, 0, 0, 0, 0})
	f.Add([]byte{0x14, 0x02, 0xF8, 0x01, 0x00, 0x10, 0x42, 0x00, 0x01, 0x00})
	fams := []struct {
		fam   targets.Family
		devID uint16
	}{
		{targets.STM32F1(), targets.DevIDF1MD}, {targets.STM32F4(), targets.DevIDF411},
		{targets.STM32G0(), targets.DevIDG0Bx}, {targets.STM32G4(), targets.DevIDG47x}, {targets.STM32L4(), targets.DevIDL47x},
	}
	f.Fuzz(func(t *testing.T, seq []byte) {
		for _, fm := range fams {
			m, err := New(Config{Family: fm.fam, DevID: fm.devID, RDP: seq0(seq), NRSTWired: true, FlashKB: 64})
			if err != nil {
				t.Fatal(err)
			}
			ap := m.AP(0)
			base := fm.fam.RDP.FlashRegs
			for i := 0; i+5 <= len(seq); i += 5 {
				off := uint32(seq[i]) &^ 3
				v := uint32(seq[i+1]) | uint32(seq[i+2])<<8 | uint32(seq[i+3])<<16 | uint32(seq[i+4])<<24
				switch {
				case seq[i]&0x80 != 0: // a flash write of some width
					size := chipsim.Size(1 << (seq[i] & 3 % 3))
					addr := flash + (uint32(seq[i+1])<<8|uint32(seq[i+2]))&^(uint32(size)-1)
					_ = ap.Write(addr, size, v, 0)
				case seq[i]&0x40 != 0 && fm.fam.Name == "STM32F1":
					_ = ap.Write(F1OptionBytes+off&0xE, chipsim.Halfword, v, 0)
				default:
					_ = ap.Write(base+off, chipsim.Word, v, 0)
				}
				_, _ = ap.Read(base+off, chipsim.Word, 0)
			}
			if m.Level() == targets.RDPLevel0 {
				if _, err := ap.Read(flash, chipsim.Word, 0); err != nil {
					t.Fatalf("%s at level 0: flash unreadable: %v", fm.fam.Name, err)
				}
			}
		}
	})
}

// seq0 is the first byte of seq as an RDP byte (0xAA when empty).
func seq0(seq []byte) uint8 {
	if len(seq) == 0 {
		return 0xAA
	}
	return seq[0]
}

// A power cycle loads the G0/G4/L4 option bytes too (RM0351 §3.4.2) and
// drops the debug link.
func TestL4PowerCycleLoads(t *testing.T) {
	m := chip(t, targets.STM32L4(), targets.DevIDL47x, targets.RDPByteLevel1)
	b := bus{t, m}
	b.l4Unlock()
	b.w32(l4+flashreg.L4OPTR, b.r32(l4+flashreg.L4OPTR)&^0xFF|0xAA)
	b.w32(l4+flashreg.L4CR, flashreg.L4CROptStart)
	epoch := m.LinkEpoch()
	m.PowerCycle()
	if m.Level() != targets.RDPLevel0 || m.LinkEpoch() == epoch || b.r32(flash) != 0xFFFFFFFF {
		t.Errorf("after the power cycle: level %v, epoch %d→%d", m.Level(), epoch, m.LinkEpoch())
	}
}
