package flashprog

import (
	"context"
	"fmt"

	"github.com/stprobe/stprobe/targets"
	"github.com/stprobe/stprobe/targets/flashreg"
)

// F1 is the STM32F1 FPEC driven through the core's access port: page
// erase with PER and FLASH_AR, mass erase with MER, programming in
// half-words with PG set (the only width the FPEC programs), FLASH_SR
// read after each write until BSY drops.
type F1 struct{ rdpCtl }

// NewF1 returns the controller of an identified STM32F1.
func NewF1(chip *targets.Chip, t Target, o ControllerOptions) *F1 {
	return &F1{rdpCtl{chip, regCtl{t: t, o: o, regs: targets.F1FlashRegs, Interface: flashreg.F1Interface()}}}
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
	wrpr, err := f.r.read(ctx, flashreg.F1WRPR, "FLASH_WRPR")
	if err != nil {
		return nil, err
	}
	ps := flashreg.F1PageSize(f.chip.DevID)
	for off := uint32(0); off < size; off += ps {
		s := Sector{Name: fmt.Sprintf("page %d", off/ps), Addr: targets.FlashMemBase + off, Size: ps, id: off / ps}
		bit := min(off/flashreg.F1WRPBlock, 31)
		switch {
		case refuse != "":
			s.Protected = refuse
		case off >= flashreg.F1Bank1Max:
			s.Protected = "in bank 2 of the XL density line, whose second register set stprobe does not drive yet (use OpenOCD's stm32f1x driver)"
		case wrpr>>bit&1 == 0:
			s.Protected = fmt.Sprintf("write-protected by FLASH_WRPR bit %d (0x%08X); `ob apply` of the WRP bytes lifts it", bit, wrpr)
		}
		l.Sectors = append(l.Sectors, s)
	}
	return l, nil
}

// Erase erases one page: PER in FLASH_CR, the page's address in FLASH_AR,
// then PER with STRT; BSY is waited for and PER cleared (PM0075 §2.3.5
// "Page Erase"; OpenOCD stm32x_erase).
func (f *F1) Erase(ctx context.Context, s Sector) error {
	if _, ok := s.id.(uint32); !ok {
		return fmt.Errorf("flash: %s is not a page of this STM32F1's layout", s.Name)
	}
	if err := f.r.write(ctx, flashreg.F1CR, flashreg.F1CRPER, "FLASH_CR"); err != nil {
		return err
	}
	if err := f.r.write(ctx, flashreg.F1AR, s.Addr, "FLASH_AR"); err != nil {
		return err
	}
	return f.r.operate(ctx, "erase of "+s.Name, flashreg.F1CRPER|flashreg.F1CRSTRT)
}

// MassErase erases the whole flash: MER, then MER with STRT (PM0075
// §2.3.6 "Mass Erase"; OpenOCD stm32x_mass_erase).
func (f *F1) MassErase(ctx context.Context) error {
	return f.r.operate(ctx, "mass erase", flashreg.F1CRMER, flashreg.F1CRMER|flashreg.F1CRSTRT)
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
	return programWords(ctx, &f.r, flashreg.F1CRPG, 2, addr, data, progress, hw.WriteMem16)
}
