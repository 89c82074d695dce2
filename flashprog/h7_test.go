package flashprog

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/stprobe/stprobe/flashimage"
	"github.com/stprobe/stprobe/targets"
	"github.com/stprobe/stprobe/targets/chipsim"
	"github.com/stprobe/stprobe/targets/flashreg"
	"github.com/stprobe/stprobe/targets/stm32rdp"
)

// h743Open is the h743-open board of the simulator: an STM32H743 with
// 2 MiB of flash in two banks, at read-out protection level 0.
func h743Open() familyBoard {
	cfg := stm32rdp.Config{Family: targets.STM32H7(), DevID: targets.DevIDH74x, RevID: 0x2003, FlashKB: 2048,
		RDP: targets.RDPByteLevel0, NRSTWired: true, UID: [3]uint32{0x0031FF36, 0x3231470F, 0x43172231}}
	return familyBoard{"h743-open", cfg, targets.RDPByteLevel1, flashreg.H7SectorSize, targets.H7FlashRegs, flashreg.H7CRStart, flashreg.H7CR, flashreg.H7KEYR, flashreg.H7CRLock}
}

// flashBoards are the family boards and the H7's: the boards the round
// trip, RDP 1 and fault tests run on.
func flashBoards() []familyBoard { return append(familyBoards(), h743Open()) }

// TestH7Layout: 2 MiB as two banks of eight 128 KiB sectors, bank 2 at
// 0x08100000, programmed in 32-byte flash words.
func TestH7Layout(t *testing.T) {
	bd := newRDPBoard(t, h743Open().cfg)
	l, err := bd.c.Layout(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Sectors) != 16 || l.Size != 2<<20 || l.ProgramUnit != 32 || l.State != "RDP level 0" {
		t.Fatalf("layout %d sectors, size 0x%X, unit %d, state %q", len(l.Sectors), l.Size, l.ProgramUnit, l.State)
	}
	for i, want := range map[int]struct {
		name string
		addr uint32
	}{0: {"bank 1 sector 0", 0x08000000}, 7: {"bank 1 sector 7", 0x080E0000}, 8: {"bank 2 sector 0", 0x08100000}, 15: {"bank 2 sector 7", 0x081E0000}} {
		if s := l.Sectors[i]; s.Name != want.name || s.Addr != want.addr || s.Size != 128<<10 || s.Protected != "" {
			t.Errorf("sector %d: %+v, want %s at 0x%08X", i, s, want.name, want.addr)
		}
	}
}

// TestH7OtherLinesRefused: the H7 lines with another flash interface, and
// the 1 MiB H743 whose banks are not contiguous, are refused with the
// reason rather than programmed wrongly.
func TestH7OtherLinesRefused(t *testing.T) {
	for _, tc := range []struct {
		name  string
		devID uint16
		kb    uint16
		want  string
	}{
		{"h7a3", targets.DevIDH7Ax, 2048, "another flash interface"},
		{"h723", targets.DevIDH72x, 1024, "another flash interface"},
		{"h743 1 MiB", targets.DevIDH74x, 1024, "only the 2 MiB parts"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := stm32rdp.New(h743Open().cfg)
			if err != nil {
				t.Fatal(err)
			}
			chip := &targets.Chip{Family: targets.STM32H7(), DevID: tc.devID, FlashKB: tc.kb, HasFlashSize: true,
				Line: targets.Line{Name: tc.name, MaxFlashKB: 2048}}
			c, err := ControllerFor(chip, &simTarget{m: m}, ControllerOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := c.Layout(context.Background()); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("layout: %v; want a refusal saying %q", err, tc.want)
			}
		})
	}
}

// h7ProtectFirst write-protects bank 1 sector 0 through the option
// registers as `ob apply WRPSN1=0xFE` does (RM0433 §4.4: OPTKEYR keys,
// FLASH_WPSN_PRG1, OPTSTART).
func h7ProtectFirst(t *testing.T, m *stm32rdp.Model) {
	t.Helper()
	ap := m.AP(0)
	regs := uint32(targets.H7FlashRegs)
	for _, w := range []struct{ off, v uint32 }{
		{targets.H7FlashOPTKEYR, targets.OptKey1},
		{targets.H7FlashOPTKEYR, targets.OptKey2},
		{targets.H7FlashWPSN1 + 4, 0xFE},
		{targets.H7FlashOPTCR, 1 << 1},
		{targets.H7FlashOPTCR, 1 << 0},
	} {
		if err := ap.Write(regs+w.off, chipsim.Word, w.v, cswDefault); err != nil {
			t.Fatal(err)
		}
	}
}

// TestH7WRPRefused: an image over a sector FLASH_WPSN_CUR1 protects is
// refused at the plan with nothing erased; its neighbour stays writable.
func TestH7WRPRefused(t *testing.T) {
	cfg := withOld(h743Open().cfg, 0)
	bd := newRDPBoard(t, cfg)
	h7ProtectFirst(t, bd.m)
	im, _ := flashimage.ParseBIN(pattern(3<<10, 7), targets.FlashMemBase)
	_, _, err := bd.write(im, Options{Verify: true})
	if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "WPSN_CUR1") {
		t.Fatalf("write: %v; want refused as write-protected by FLASH_WPSN_CUR1", err)
	}
	checkUntouched(t, bd, cfg.Image)
	l, err := bd.c.Layout(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if l.Sectors[0].Protected == "" || l.Sectors[1].Protected != "" || l.Sectors[8].Protected != "" {
		t.Errorf("protected: %q, %q, %q; want only bank 1 sector 0", l.Sectors[0].Protected, l.Sectors[1].Protected, l.Sectors[8].Protected)
	}
	im2, _ := flashimage.ParseBIN(pattern(3<<10, 7), targets.FlashMemBase+flashreg.H7SectorSize)
	if _, res, err := bd.write(im2, Options{Verify: true}); err != nil || !res.Verified {
		t.Errorf("write of sector 1: %v, %+v", err, res)
	}
}

// TestH7FlagsClearedThroughCCR: a program the bank refuses (locked: PG
// never set) ends with PGSERR named, and FLASH_CCR clears it so the next
// operation starts clean.
func TestH7FlagsClearedThroughCCR(t *testing.T) {
	bd := newRDPBoard(t, h743Open().cfg)
	ctx := context.Background()
	err := bd.c.Program(ctx, targets.FlashMemBase+h7BankKB<<10, pattern(64, 1), nil)
	var fe *FlagError
	if !errors.As(err, &fe) || fe.Register != "FLASH_SR2" || !strings.Contains(err.Error(), "PGSERR") {
		t.Fatalf("program on a locked bank 2: %v; want PGSERR from FLASH_SR2", err)
	}
	sr, err := bd.t.Read32(ctx, targets.H7FlashRegs+flashreg.H7Bank2Regs+flashreg.H7SR)
	if err != nil {
		t.Fatal(err)
	}
	if sr&(flashreg.H7SRPGSErr|flashreg.H7SREOP) != 0 {
		t.Errorf("FLASH_SR2 0x%08X after the error: the flags were not cleared", sr)
	}
	if got := bd.m.Flash(h7BankKB<<10, 64); !bytes.Equal(got, bytes.Repeat([]byte{0xFF}, 64)) {
		t.Error("a locked bank was programmed")
	}
	if err := bd.c.Unlock(ctx); err != nil {
		t.Fatal(err)
	}
	if err := bd.c.Program(ctx, targets.FlashMemBase+h7BankKB<<10, pattern(64, 1), nil); err != nil {
		t.Errorf("program after unlock: %v", err)
	}
	if err := bd.c.Program(ctx, targets.FlashMemBase+h7BankKB<<10-32, pattern(64, 1), nil); err == nil {
		t.Error("a program across the two banks was accepted")
	}
	if err := bd.c.Lock(ctx); err != nil {
		t.Fatal(err)
	}
	if got := bd.m.Flash(h7BankKB<<10, 64); !bytes.Equal(got, pattern(64, 1)) {
		t.Error("bank 2 does not hold what was programmed")
	}
}
