package flashprog

import (
	"context"
	"fmt"

	"github.com/stprobe/stprobe/targets"
)

// The flash interface of the STM32G0, G4 and L4 (one design): RM0444
// §3.3-§3.7 (G0), RM0440 §5.3-§5.7 (G4), RM0351 §3.3-§3.7 and RM0394,
// RM0432 (L4); ST's CMSIS stm32g0xx/g4xx/l4xx headers FLASH_CR_*,
// FLASH_SR_*, FLASH_OPTR_*, FLASH_WRP1AR_*; OpenOCD 0.12
// src/flash/nor/stm32l4x.c and stm32l4x.h (stm32l4_erase,
// stm32l4_write_block_without_loader, stm32l4_mass_erase,
// stm32l4_protect_check, stm32l4_probe for the page geometry).
const (
	l4KEYR   = 0x08 // FLASH_KEYR
	l4SR     = 0x10 // FLASH_SR
	l4CR     = 0x14 // FLASH_CR
	l4OPTR   = 0x20 // FLASH_OPTR: RDP[7:0], DUALBANK b21, DBANK b22
	l4WRP1AR = 0x2C // FLASH_WRP1AR: start [7:0], end [23:16]
	l4WRP1BR = 0x30
	l4WRP2AR = 0x4C // bank 2 (dual-bank lines)
	l4WRP2BR = 0x50

	l4CRPG       = 1 << 0
	l4CRPER      = 1 << 1
	l4CRMER1     = 1 << 2
	l4CRPNBShift = 3
	l4CRMER2     = 1 << 15
	l4CRSTRT     = 1 << 16
	l4CRLock     = 1 << 31
	// FLASH_CR.BKER: bit 11, bit 13 on the G0 (stm32l4x.h FLASH_BKER,
	// FLASH_BKER_G0).
	l4CRBKER   = 1 << 11
	g0CRBKER   = 1 << 13
	l4DualBank = 1 << 21 // FLASH_OPTR DUALBANK (L47x/L49x 512/256 KiB), DUAL_BANK (G0Bx), DB1M (L4R/L4P below their largest size)
	l4DBank    = 1 << 22 // FLASH_OPTR DBANK (G47x; L4R/L4P at their largest size)

	l4SREOP     = 1 << 0
	l4SROPErr   = 1 << 1
	l4SRProgErr = 1 << 3
	l4SRWRPErr  = 1 << 4
	l4SRPGAErr  = 1 << 5
	l4SRSizErr  = 1 << 6
	l4SRPGSErr  = 1 << 7
	l4SRMisErr  = 1 << 8
	l4SRFastErr = 1 << 9
	l4SRRdErr   = 1 << 14
	l4SROptVErr = 1 << 15
	l4SRBusy    = 1 << 16
	// FLASH_SR.BSY2: bank 2 busy on the G0Bx/G0Cx (OpenOCD stm32l4x.c
	// sr_bsy_mask FLASH_BSY | FLASH_BSY2 in dual-bank mode; RM0444
	// FLASH_SR). Bit 17 is PEMPTY on the L4, so it is polled on the G0Bx
	// only.
	g0SRBusy2 = 1 << 17
)

// l4Flags are FLASH_SR's error flags (RM0351 §3.7.4 FLASH_SR).
var l4Flags = []flagBit{
	{l4SROPErr, "OPERR: operation error"},
	{l4SRProgErr, "PROGERR: programming a double word that was not erased"},
	{l4SRWRPErr, "WRPERR: the page is write-protected (WRP area) or read-out protected"},
	{l4SRPGAErr, "PGAERR: programming alignment error (the second word is not the next one)"},
	{l4SRSizErr, "SIZERR: a write narrower than 32 bits"},
	{l4SRPGSErr, "PGSERR: programming sequence error (no PG, or a page that does not exist)"},
	{l4SRMisErr, "MISERR: fast programming data miss"},
	{l4SRFastErr, "FASTERR: fast programming error"},
	{l4SRRdErr, "RDERR: PCROP read error"},
	{l4SROptVErr, "OPTVERR: option validity error"},
}

// L4 is the flash interface of the STM32G0, G4 and L4 driven through the
// core's access port: page erase with PER, PNB and BKER, bank erase with
// MER1 and MER2, programming 64-bit double words (two 32-bit writes, the
// first at a double-word boundary; RM0351 §3.3.7) with PG set, FLASH_SR
// read after each double word until BSY drops, as OpenOCD's
// stm32l4_write_block_without_loader does.
type L4 struct {
	chip *targets.Chip
	r    regCtl
}

// NewL4 returns the controller of an identified STM32G0, G4 or L4.
func NewL4(chip *targets.Chip, t Target, o ControllerOptions) *L4 {
	busy := uint32(l4SRBusy)
	if chip.DevID == targets.DevIDG0Bx {
		busy |= g0SRBusy2
	}
	return &L4{chip: chip, r: regCtl{t: t, o: o, regs: targets.L4FlashRegs, keyr: l4KEYR, sr: l4SR, cr: l4CR,
		lock: l4CRLock, busy: busy, eop: l4SREOP, flags: l4Flags}}
}

// l4Page is a page's handle: its number in its bank and the bank.
type l4Page struct {
	pnb  uint32
	bank int
}

// l4Geometry is the page size and whether the flash of kb KiB is two
// banks, as FLASH_OPTR organises it (OpenOCD stm32l4x.c stm32l4_probe;
// RM0351 §3.3.1, RM0432 §3.3.1, RM0440 §5.3.1, RM0444 §3.3.1): 2 KiB
// pages everywhere but the G47x/G48x (4 KiB single-bank, 2 KiB with DBANK)
// and the L4R/L4S and L4P/L4Q (8 KiB single-bank, 4 KiB two banks: DBANK
// at their largest size, DB1M below it); the 1 MiB L47x/L49x are always
// two banks, their smaller parts with DUALBANK; the G0Bx/G0Cx with
// DUAL_BANK.
func l4Geometry(devID uint16, kb int, maxKB int, optr uint32) (pageSize uint32, dual bool) {
	pageSize = 2 << 10
	switch devID {
	case targets.DevIDL47x, targets.DevIDL49x:
		dual = kb == maxKB || optr&l4DualBank != 0
	case targets.DevIDG0Bx:
		dual = optr&l4DualBank != 0
	case targets.DevIDG47x:
		pageSize = 4 << 10
		if optr&l4DBank != 0 {
			pageSize, dual = 2<<10, true
		}
	case targets.DevIDL4Rx, targets.DevIDL4Px:
		pageSize = 8 << 10
		if kb == maxKB && optr&l4DBank != 0 || kb != maxKB && optr&l4DualBank != 0 {
			pageSize, dual = 4<<10, true
		}
	}
	return pageSize, dual
}

// l4Bank2WRP reports whether the line has FLASH_WRP2AR/WRP2BR (OpenOCD
// stm32l4x.c: the dual-bank L4 and G4 lines).
func l4Bank2WRP(devID uint16) bool {
	switch devID {
	case targets.DevIDL47x, targets.DevIDL49x, targets.DevIDL4Rx, targets.DevIDL4Px, targets.DevIDG47x:
		return true
	}
	return false
}

// Layout reads FLASH_OPTR (RDP, bank organisation) and the WRP area
// registers and lists the pages.
func (f *L4) Layout(ctx context.Context) (*Layout, error) {
	kb := flashKB(f.chip)
	l, refuse, err := newLayout(ctx, f.chip, f.r.t, uint32(kb)<<10, 8)
	if err != nil {
		return nil, err
	}
	optr, err := f.r.read(ctx, l4OPTR, "FLASH_OPTR")
	if err != nil {
		return nil, err
	}
	ps, dual := l4Geometry(f.chip.DevID, kb, f.chip.Line.MaxFlashKB, optr)
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
	}{{0, l4WRP1AR, "FLASH_WRP1AR"}, {0, l4WRP1BR, "FLASH_WRP1BR"}, {1, l4WRP2AR, "FLASH_WRP2AR"}, {1, l4WRP2BR, "FLASH_WRP2BR"}}
	switch {
	case !dual:
		regs = regs[:2]
	case !l4Bank2WRP(f.chip.DevID):
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

// Unlock writes KEY1 and KEY2 into FLASH_KEYR when FLASH_CR.LOCK is set.
func (f *L4) Unlock(ctx context.Context) error { return f.r.unlock(ctx) }

// Lock sets FLASH_CR.LOCK.
func (f *L4) Lock(ctx context.Context) error { return f.r.relock(ctx) }

// Erase erases one page: PER, PNB, BKER (bank 2) and STRT in one FLASH_CR
// write, as OpenOCD's stm32l4_erase does (RM0351 §3.3.6 "Page erase"),
// then BSY is waited for and PER cleared.
func (f *L4) Erase(ctx context.Context, s Sector) error {
	h, ok := s.id.(l4Page)
	if !ok {
		return fmt.Errorf("flash: %s is not a page of this %s's layout", s.Name, f.chip.Family.Name)
	}
	cr := uint32(l4CRPER | h.pnb<<l4CRPNBShift | l4CRSTRT)
	if h.bank == 1 {
		if f.chip.Family.Name == "STM32G0" {
			cr |= g0CRBKER
		} else {
			cr |= l4CRBKER
		}
	}
	if err := f.r.write(ctx, l4CR, cr, "FLASH_CR"); err != nil {
		return err
	}
	werr := f.r.wait(ctx, "erase of "+s.Name)
	if err := f.r.write(ctx, l4CR, 0, "FLASH_CR"); err != nil && werr == nil {
		werr = err
	}
	return werr
}

// MassErase erases both banks: MER1 and MER2, then STRT (RM0351 §3.3.6
// "Mass erase"; OpenOCD stm32l4_mass_erase). On a single-bank chip MER2
// is ignored.
func (f *L4) MassErase(ctx context.Context) error {
	mer := uint32(l4CRMER1 | l4CRMER2)
	if err := f.r.write(ctx, l4CR, mer, "FLASH_CR"); err != nil {
		return err
	}
	if err := f.r.write(ctx, l4CR, mer|l4CRSTRT, "FLASH_CR"); err != nil {
		return err
	}
	werr := f.r.wait(ctx, "mass erase")
	if err := f.r.write(ctx, l4CR, 0, "FLASH_CR"); err != nil && werr == nil {
		werr = err
	}
	return werr
}

// Program sets PG and writes data double word by double word, reading
// FLASH_SR after each; double words of all 0xFF are skipped (erased flash
// reads so, and RM0351 §3.3.7 allows any double word to stay erased).
func (f *L4) Program(ctx context.Context, addr uint32, data []byte, progress func(int)) error {
	return programWords(ctx, &f.r, l4CR, l4CRPG, 8, addr, data, progress, f.r.t.WriteMem)
}
