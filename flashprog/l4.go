package flashprog

import (
	"context"
	"fmt"

	"github.com/stprobe/stprobe/targets"
	"github.com/stprobe/stprobe/targets/flashreg"
)

// L4 is the flash interface of the STM32G0, G4 and L4 driven through the
// core's access port: page erase with PER, PNB and BKER, bank erase with
// MER1 and MER2, programming 64-bit double words (two 32-bit writes, the
// first at a double-word boundary; RM0351 §3.3.7) with PG set, FLASH_SR
// read after each double word until BSY drops, as OpenOCD's
// stm32l4_write_block_without_loader does.
type L4 struct{ rdpCtl }

// NewL4 returns the controller of an identified STM32G0, G4 or L4.
func NewL4(chip *targets.Chip, t Target, o ControllerOptions) *L4 {
	ifc := flashreg.L4Interface()
	if chip.DevID == targets.DevIDG0Bx {
		ifc.Busy |= flashreg.G0SRBusy2
	}
	return &L4{rdpCtl{chip, regCtl{t: t, o: o, regs: targets.L4FlashRegs, Interface: ifc}}}
}

// l4Page is a page's handle: its number in its bank and the bank.
type l4Page struct {
	pnb  uint32
	bank int
}

// Layout reads FLASH_OPTR (RDP, bank organisation) and the WRP area
// registers and lists the pages.
func (f *L4) Layout(ctx context.Context) (*Layout, error) {
	kb := flashKB(f.chip)
	l, refuse, err := newLayout(ctx, f.chip, f.r.t, uint32(kb)<<10, 8)
	if err != nil {
		return nil, err
	}
	optr, err := f.r.read(ctx, flashreg.L4OPTR, "FLASH_OPTR")
	if err != nil {
		return nil, err
	}
	ps, dual := flashreg.L4Geometry(f.chip.DevID, kb, f.chip.Line.MaxFlashKB, optr)
	if dual && f.chip.DevID == targets.DevIDG47x && kb < f.chip.Line.MaxFlashKB {
		// OpenOCD stm32l4x.c hole_sectors: bank 2 of a trimmed G47x stays
		// at half the largest flash, leaving a gap after bank 1.
		return nil, fmt.Errorf("flash: this %d KiB %s is dual-bank with a gap between its banks (DBANK set on a part smaller than %d KiB), an organisation stprobe does not drive yet; use OpenOCD's stm32l4x driver", kb, f.chip.Line.Name, f.chip.Line.MaxFlashKB)
	}
	pages := uint32(kb<<10) / ps
	perBank := pages
	if dual {
		perBank = pages / 2
		l.Notes = append(l.Notes, fmt.Sprintf("two banks of %d pages of %d KiB", perBank, ps>>10))
	}
	// WRP areas: start and end page numbers in the bank, as many bits as
	// the largest flash of the line has pages in a bank (OpenOCD
	// stm32l4x.c wrpxxr_mask: unimplemented bits read 0 on some parts, 1 on
	// others); an area with start > end protects nothing (RM0351 §3.5.2
	// and §3.7.10; RM0440 §5.7.10; RM0444 §3.7.9).
	maxPages := uint32(f.chip.Line.MaxFlashKB<<10) / ps
	if dual {
		maxPages /= 2
	}
	mask := maxPages - 1
	type area struct {
		bank       int
		name       string
		v          uint32
		start, end uint32
	}
	regs := []struct {
		bank int
		off  uint32
		name string
	}{{0, flashreg.L4WRP1AR, "FLASH_WRP1AR"}, {0, flashreg.L4WRP1BR, "FLASH_WRP1BR"}, {1, flashreg.L4WRP2AR, "FLASH_WRP2AR"}, {1, flashreg.L4WRP2BR, "FLASH_WRP2BR"}}
	switch {
	case !dual:
		regs = regs[:2]
	case !flashreg.L4HasBank2Regs(f.chip.DevID):
		regs = regs[:2]
		l.Notes = append(l.Notes, "stprobe does not read the write protection of bank 2 of this line; the chip refuses a protected page with WRPERR, reported")
	}
	var areas []area
	for _, r := range regs {
		v, err := f.r.read(ctx, r.off, r.name)
		if err != nil {
			return nil, err
		}
		areas = append(areas, area{r.bank, r.name, v, v & mask, v >> 16 & mask})
	}
	for p := uint32(0); p < pages; p++ {
		bank, pnb := 0, p
		if p >= perBank {
			bank, pnb = 1, p-perBank
		}
		name := fmt.Sprintf("page %d", p)
		if dual {
			name = fmt.Sprintf("bank %d page %d", bank+1, pnb)
		}
		s := Sector{Name: name, Addr: targets.FlashMemBase + p*ps, Size: ps, id: l4Page{pnb, bank}}
		if refuse != "" {
			s.Protected = refuse
		}
		for _, a := range areas {
			if s.Protected == "" && a.bank == bank && a.start <= a.end && pnb >= a.start && pnb <= a.end {
				s.Protected = fmt.Sprintf("write-protected by %s (0x%08X, pages %d-%d of the bank); `ob apply` lifts it", a.name, a.v, a.start, a.end)
			}
		}
		l.Sectors = append(l.Sectors, s)
	}
	return l, nil
}

// Erase erases one page: PER, PNB, BKER (bank 2) and STRT in one FLASH_CR
// write, as OpenOCD's stm32l4_erase does (RM0351 §3.3.6 "Page erase"),
// then BSY is waited for and PER cleared.
func (f *L4) Erase(ctx context.Context, s Sector) error {
	h, ok := s.id.(l4Page)
	if !ok {
		return fmt.Errorf("flash: %s is not a page of this %s's layout", s.Name, f.chip.Family.Name)
	}
	cr := uint32(flashreg.L4CRPER | h.pnb<<flashreg.L4CRPNBShift | flashreg.L4CRSTRT)
	if h.bank == 1 {
		cr |= flashreg.L4BKER(f.chip.Family.Name)
	}
	return f.r.operate(ctx, "erase of "+s.Name, cr)
}

// MassErase erases both banks: MER1 and MER2, then STRT (RM0351 §3.3.6
// "Mass erase"; OpenOCD stm32l4_mass_erase). On a single-bank chip MER2
// is ignored.
func (f *L4) MassErase(ctx context.Context) error {
	mer := uint32(flashreg.L4CRMER1 | flashreg.L4CRMER2)
	return f.r.operate(ctx, "mass erase", mer, mer|flashreg.L4CRSTRT)
}

// Program sets PG and writes data double word by double word, reading
// FLASH_SR after each; double words of all 0xFF are skipped (erased flash
// reads so, and RM0351 §3.3.7 allows any double word to stay erased).
func (f *L4) Program(ctx context.Context, addr uint32, data []byte, progress func(int)) error {
	return programWords(ctx, &f.r, flashreg.L4CRPG, 8, addr, data, progress, f.r.t.WriteMem)
}
