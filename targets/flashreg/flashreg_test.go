package flashreg

import (
	"slices"
	"testing"

	"github.com/stprobe/stprobe/targets"
)

func TestFlagsMaskAndSet(t *testing.T) {
	fs := Flags{{1 << 2, "A"}, {1 << 4, "B"}, {1 << 7, "C"}}
	if got := fs.Mask(); got != 0x94 {
		t.Errorf("Mask = 0x%X, want 0x94", got)
	}
	for _, tc := range []struct {
		sr   uint32
		want []string
	}{
		{0, nil},
		{1 << 4, []string{"B"}},
		{0xFFFFFFFF, []string{"A", "B", "C"}},
		{1<<7 | 1<<2 | 1<<3, []string{"A", "C"}},
	} {
		if got := fs.Set(tc.sr); !slices.Equal(got, tc.want) {
			t.Errorf("Set(0x%X) = %q, want %q", tc.sr, got, tc.want)
		}
	}
}

// TestInterfaces checks each interface against the status-register facts
// stated elsewhere: the write-1-to-clear masks of the reference manuals and
// BSY apart from the flags.
func TestInterfaces(t *testing.T) {
	for _, tc := range []struct {
		name  string
		ifc   Interface
		clear uint32 // the flags SR (or CCR) clears: EOP and the errors
	}{
		{"F1", F1Interface(), 0x34},                    // PM0075 §3.3 FLASH_SR: EOP, WRPRTERR, PGERR
		{"F4", F4Interface(), 0xF3},                    // RM0090 §3.9.4: EOP, OPERR, WRPERR, PGAERR, PGPERR, PGSERR
		{"L4", L4Interface(), 0xC3FB},                  // RM0351 §3.7.4
		{"H7", H7Interface(), 0x0FEF0000 &^ (1 << 27)}, // FLASH_CCR1 less CLR_CRCEND, not an error
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := tc.ifc
			if got := f.Errors.Mask() | f.EOP; got != tc.clear {
				t.Errorf("errors|EOP = 0x%X, want 0x%X", got, tc.clear)
			}
			if f.Busy == 0 || f.Busy&(f.Errors.Mask()|f.EOP) != 0 {
				t.Errorf("BSY 0x%X overlaps the flags", f.Busy)
			}
			if f.KEYR == f.SR || f.SR == f.CR || f.KEYR == f.CR {
				t.Errorf("KEYR 0x%X, SR 0x%X, CR 0x%X: two registers at one offset", f.KEYR, f.SR, f.CR)
			}
			if f.Lock == 0 || len(f.Errors) == 0 {
				t.Error("no LOCK bit or no error flags")
			}
		})
	}
	if (H7Interface().Errors.Mask()|H7SREOP)&^H7SRClearable != 0 {
		t.Error("an H7 flag that FLASH_CCR does not clear")
	}
}

func TestF4SectorSize(t *testing.T) {
	var total uint32
	for i := 0; i < 12; i++ {
		total += F4SectorSize(i)
	}
	if total != 1<<20 { // RM0090 §3.3 Table 5: sectors 0-11 are 1 MiB
		t.Errorf("sectors 0-11 hold %d bytes, want 1 MiB", total)
	}
	for i, want := range map[int]uint32{0: 16 << 10, 3: 16 << 10, 4: 64 << 10, 5: 128 << 10, 11: 128 << 10} {
		if got := F4SectorSize(i); got != want {
			t.Errorf("F4SectorSize(%d) = %d, want %d", i, got, want)
		}
	}
}

func TestLineFacts(t *testing.T) {
	for _, tc := range []struct {
		devID uint16
		page  uint32
	}{{targets.DevIDF1LD, 1 << 10}, {targets.DevIDF1MD, 1 << 10}, {targets.DevIDF1VL, 1 << 10}, {targets.DevIDF1HD, 2 << 10}, {targets.DevIDF1CL, 2 << 10}} {
		if got := F1PageSize(tc.devID); got != tc.page {
			t.Errorf("F1PageSize(0x%03X) = %d, want %d", tc.devID, got, tc.page)
		}
	}
	if !F4DualBankLine(targets.DevIDF42x) || !F4DualBankLine(targets.DevIDF469) || F4DualBankLine(targets.DevIDF411) {
		t.Error("F4DualBankLine: want the F42x and F469 only")
	}
	if L4BKER("STM32G0") != 1<<13 || L4BKER("STM32L4") != 1<<11 || L4BKER("STM32G4") != 1<<11 {
		t.Error("L4BKER: bit 13 on the G0, bit 11 elsewhere")
	}
	if !L4HasBank2Regs(targets.DevIDL47x) || L4HasBank2Regs(targets.DevIDG0Bx) {
		t.Error("L4HasBank2Regs: the L47x has WRP2xR, the G0Bx not")
	}
}
