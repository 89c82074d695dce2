package flashprog

import (
	"context"
	"fmt"

	"github.com/stprobe/stprobe/targets"
)

// The STM32F1 flash program/erase controller (FPEC): PM0075 (STM32F10xxx
// flash programming manual) §2.3-§2.5 and §3.3 register map; RM0008 §3.3;
// ST's CMSIS stm32f103xb.h FLASH_CR_*, FLASH_SR_*, FLASH_OBR_*; OpenOCD
// 0.12 src/flash/nor/stm32f1x.c (stm32x_erase, stm32x_write_block without
// its loader, stm32x_mass_erase, stm32x_protect_check).
const (
	f1KEYR = 0x04 // FLASH_KEYR
	f1SR   = 0x0C // FLASH_SR
	f1CR   = 0x10 // FLASH_CR
	f1AR   = 0x14 // FLASH_AR: the page a page erase erases
	f1WRPR = 0x20 // FLASH_WRPR: the WRP option bytes as loaded

	f1CRPG   = 1 << 0
	f1CRPER  = 1 << 1
	f1CRMER  = 1 << 2
	f1CRSTRT = 1 << 6
	f1CRLock = 1 << 7

	f1SRBusy     = 1 << 0
	f1SRPGErr    = 1 << 2
	f1SRWRPRTErr = 1 << 4
	f1SREOP      = 1 << 5

	// f1WRPBlock is what one FLASH_WRPR bit protects: 4 KiB (four 1 KiB
	// pages on low and medium density, two 2 KiB pages on high density,
	// XL and connectivity lines); bit 31 protects the rest of the flash
	// on lines larger than 128 KiB (PM0075 §2.5 "Write protection option
	// bytes"; OpenOCD stm32f1x.c ppage_size).
	f1WRPBlock = 4 << 10
	// f1Bank1Max is the first bank of the XL density line: its flash
	// above 512 KiB has a second register set (PM0075 §1 for XL; OpenOCD
	// stm32f1x.c FLASH_BANK1_REG_OFFSET… register_base 0x40022040), which
	// stprobe does not drive.
	f1Bank1Max = 512 << 10
)

// f1Flags are FLASH_SR's error flags (PM0075 §3.3 FLASH_SR).
var f1Flags = []flagBit{
	{f1SRPGErr, "PGERR: programming a location that was not erased"},
	{f1SRWRPRTErr, "WRPRTERR: the page is write-protected (WRP) or read-out protected"},
}

// F1 is the STM32F1 FPEC driven through the core's access port: page
// erase with PER and FLASH_AR, mass erase with MER, programming in
// half-words with PG set (the only width the FPEC programs), FLASH_SR
// read after each write until BSY drops.
type F1 struct {
	chip *targets.Chip
	r    regCtl
}

// NewF1 returns the controller of an identified STM32F1.
func NewF1(chip *targets.Chip, t Target, o ControllerOptions) *F1 {
	return &F1{chip: chip, r: regCtl{t: t, o: o, regs: targets.F1FlashRegs, keyr: f1KEYR, sr: f1SR, cr: f1CR,
		lock: f1CRLock, busy: f1SRBusy, eop: f1SREOP, flags: f1Flags}}
}

// f1PageSize is the page of the line: 1 KiB on low- and medium-density
// lines and the F100 low/medium value line, 2 KiB on high-density, XL and
// connectivity lines (PM0075 §2.2 Table 2-5; RM0041 §3.3.3; OpenOCD
// stm32f1x.c page_size by device ID).
func f1PageSize(devID uint16) uint32 {
	switch devID {
	case targets.DevIDF1LD, targets.DevIDF1MD, targets.DevIDF1VL:
		return 1 << 10
	}
	return 2 << 10
}

// Layout reads the read-out protection (FLASH_OBR.RDPRT) and the write
// protection (FLASH_WRPR, a 0 bit protects its 4 KiB block) and lists the
// pages.
func (f *F1) Layout(ctx context.Context) (*Layout, error) {
	size := uint32(flashKB(f.chip)) << 10
	l, refuse, err := newLayout(ctx, f.chip, f.r.t, size, 2)
	if err != nil {
		return nil, err
	}
	wrpr, err := f.r.read(ctx, f1WRPR, "FLASH_WRPR")
	if err != nil {
		return nil, err
	}
	ps := f1PageSize(f.chip.DevID)
	for off := uint32(0); off < size; off += ps {
		s := Sector{Name: fmt.Sprintf("page %d", off/ps), Addr: targets.FlashMemBase + off, Size: ps, id: off / ps}
		bit := min(off/f1WRPBlock, 31)
		switch {
		case refuse != "":
			s.Protected = refuse
		case off >= f1Bank1Max:
			s.Protected = "in bank 2 of the XL density line, whose second register set stprobe does not drive yet (use OpenOCD's stm32f1x driver)"
		case wrpr>>bit&1 == 0:
			s.Protected = fmt.Sprintf("write-protected by FLASH_WRPR bit %d (0x%08X); `ob apply` of the WRP bytes lifts it", bit, wrpr)
		}
		l.Sectors = append(l.Sectors, s)
	}
	return l, nil
}

// Unlock writes KEY1 and KEY2 into FLASH_KEYR when FLASH_CR.LOCK is set.
func (f *F1) Unlock(ctx context.Context) error { return f.r.unlock(ctx) }

// Lock sets FLASH_CR.LOCK.
func (f *F1) Lock(ctx context.Context) error { return f.r.relock(ctx) }

// Erase erases one page: PER in FLASH_CR, the page's address in FLASH_AR,
// then PER with STRT; BSY is waited for and PER cleared (PM0075 §2.3.5
// "Page Erase"; OpenOCD stm32x_erase).
func (f *F1) Erase(ctx context.Context, s Sector) error {
	if _, ok := s.id.(uint32); !ok {
		return fmt.Errorf("flash: %s is not a page of this STM32F1's layout", s.Name)
	}
	if err := f.r.write(ctx, f1CR, f1CRPER, "FLASH_CR"); err != nil {
		return err
	}
	if err := f.r.write(ctx, f1AR, s.Addr, "FLASH_AR"); err != nil {
		return err
	}
	if err := f.r.write(ctx, f1CR, f1CRPER|f1CRSTRT, "FLASH_CR"); err != nil {
		return err
	}
	werr := f.r.wait(ctx, "erase of "+s.Name)
	if err := f.r.write(ctx, f1CR, 0, "FLASH_CR"); err != nil && werr == nil {
		werr = err
	}
	return werr
}

// MassErase erases the whole flash: MER, then MER with STRT (PM0075
// §2.3.6 "Mass Erase"; OpenOCD stm32x_mass_erase).
func (f *F1) MassErase(ctx context.Context) error {
	if err := f.r.write(ctx, f1CR, f1CRMER, "FLASH_CR"); err != nil {
		return err
	}
	if err := f.r.write(ctx, f1CR, f1CRMER|f1CRSTRT, "FLASH_CR"); err != nil {
		return err
	}
	werr := f.r.wait(ctx, "mass erase")
	if err := f.r.write(ctx, f1CR, 0, "FLASH_CR"); err != nil && werr == nil {
		werr = err
	}
	return werr
}

// Program sets PG and writes data half-word by half-word (16-bit
// accesses: PM0075 §2.3.3), reading FLASH_SR after each write as OpenOCD
// does without its loader (or after QuadWordsPerPoll half-words);
// half-words of 0xFFFF are skipped (erased flash reads so already).
func (f *F1) Program(ctx context.Context, addr uint32, data []byte, progress func(int)) error {
	if addr%2 != 0 || len(data)%2 != 0 {
		return fmt.Errorf("flash: program of %d bytes at 0x%08X: both must be multiples of 2", len(data), addr)
	}
	hw, ok := f.r.t.(HalfWordWriter)
	if !ok {
		return fmt.Errorf("flash: the STM32F1 programs flash in 16-bit writes and this link offers none")
	}
	if err := f.r.write(ctx, f1CR, f1CRPG, "FLASH_CR"); err != nil {
		return err
	}
	perr := programRuns(ctx, &f.r, 2, addr, data, progress, hw.WriteMem16)
	if err := f.r.write(ctx, f1CR, 0, "FLASH_CR"); err != nil && perr == nil {
		perr = err
	}
	if perr == nil && progress != nil {
		progress(len(data))
	}
	return perr
}
