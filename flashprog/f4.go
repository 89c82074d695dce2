package flashprog

import (
	"context"
	"fmt"

	"github.com/stprobe/stprobe/targets"
	"github.com/stprobe/stprobe/targets/flashreg"
)

// F4 is the STM32F4 flash interface driven through the core's access
// port: sector erase with SER and SNB, mass erase with MER (and MER1 on
// dual-bank lines), programming with the parallelism the supply allows
// (see flashreg.F4CRPSize16): 32-bit words with PSIZE x32 from 2.7 V (or when
// the supply was not measured: a Nucleo, a Black Pill run at 3.3 V),
// half-words with PSIZE x16 from 2.1 V (OpenOCD stm32f2x.c programs x16
// at any voltage), refused below; FLASH_SR is read after each write until
// BSY drops.
type F4 struct{ rdpCtl }

// NewF4 returns the controller of an identified STM32F4.
func NewF4(chip *targets.Chip, t Target, o ControllerOptions) *F4 {
	return &F4{rdpCtl{chip, regCtl{t: t, o: o, regs: targets.F4FlashRegs, Interface: flashreg.F4Interface()}}}
}

// f4Sector is a sector's handle: SNB as FLASH_CR takes it (bit 4 selects
// bank 2 on dual-bank lines).
type f4Sector struct{ snb uint32 }

// f4Dual reports whether the line's flash of kb KiB is two banks of
// sectors: a dual-bank line at 2 MiB (flashreg.F4DualBankLine; OpenOCD
// stm32f2x.c has_large_mem for 2048 KiB).
func f4Dual(devID uint16, kb int) bool {
	return flashreg.F4DualBankLine(devID) && kb >= 2048
}

// f4Sizes are the sizes of the sectors of one bank of bankKB KiB
// (flashreg.F4SectorSize), the last one cut at the bank's end.
func f4Sizes(bankKB int) []uint32 {
	var out []uint32
	for off, i := uint32(0), 0; off < uint32(bankKB)<<10; i++ {
		size := min(flashreg.F4SectorSize(i), uint32(bankKB)<<10-off)
		out = append(out, size)
		off += size
	}
	return out
}

// Layout reads FLASH_OPTCR (RDP, nWRP, SPRMOD, DB1M) and FLASH_OPTCR1 on
// dual-bank lines and lists the sectors.
func (f *F4) Layout(ctx context.Context) (*Layout, error) {
	kb := flashKB(f.chip)
	_, unit, err := f4Parallelism(f.r.o.TargetMillivolts)
	if err != nil {
		return nil, err
	}
	l, refuse, err := newLayout(ctx, f.chip, f.r.t, uint32(kb)<<10, unit)
	if err != nil {
		return nil, err
	}
	optcr, err := f.r.read(ctx, flashreg.F4OPTCR, "FLASH_OPTCR")
	if err != nil {
		return nil, err
	}
	dual := f4Dual(f.chip.DevID, kb)
	if !dual && flashreg.F4DualBankLine(f.chip.DevID) && optcr&flashreg.F4OPTCRDB1M != 0 {
		return nil, fmt.Errorf("flash: this %d KiB %s has DB1M set (two banks of 512 KiB, RM0090 §3.3 Table 7), an organisation stprobe does not drive yet; use OpenOCD's stm32f2x driver", kb, f.chip.Line.Name)
	}
	var optcr1 uint32
	if dual {
		if optcr1, err = f.r.read(ctx, flashreg.F4OPTCR1, "FLASH_OPTCR1"); err != nil {
			return nil, err
		}
	}
	type bank struct {
		kb   int
		snb  uint32 // SNB bit 4: bank 2
		nwrp uint32
		reg  string
	}
	banks := []bank{{kb, 0, optcr, "FLASH_OPTCR"}}
	if dual {
		banks = []bank{{kb / 2, 0, optcr, "FLASH_OPTCR"}, {kb / 2, 0x10, optcr1, "FLASH_OPTCR1"}}
	}
	addr := uint32(targets.FlashMemBase)
	unjudged := false
	for bi, b := range banks {
		for i, size := range f4Sizes(b.kb) {
			snb := b.snb | uint32(i)
			name := fmt.Sprintf("sector %d", i)
			if dual {
				name = fmt.Sprintf("sector %d", i+12*bi)
			}
			s := Sector{Name: name, Addr: addr, Size: size, id: f4Sector{snb}}
			bit := b.nwrp >> (16 + i) & 1
			switch {
			case refuse != "":
				s.Protected = refuse
			case i >= 12:
				unjudged = true // nWRP has 12 bits (RM0090 §3.9.7)
			case optcr&flashreg.F4OPTCRSPRMOD == 0 && bit == 0:
				s.Protected = fmt.Sprintf("write-protected by %s nWRP%d (0x%08X); `ob apply` lifts it", b.reg, i, b.nwrp)
			case optcr&flashreg.F4OPTCRSPRMOD != 0 && bit == 1:
				s.Protected = fmt.Sprintf("PCROP-protected (SPRMOD set, %s nWRP%d; RM0090 §3.7.5): it cannot be erased by sector", b.reg, i)
			}
			l.Sectors = append(l.Sectors, s)
			addr += size
		}
	}
	if unjudged {
		l.Notes = append(l.Notes, "stprobe does not read the write protection of sectors 12 and up of this single-bank line; the chip refuses a protected one with WRPERR, reported")
	}
	return l, nil
}

// Erase erases one sector: SER, SNB and STRT in one FLASH_CR write, as
// OpenOCD's stm32x_erase does (RM0090 §3.6.3 "Sector Erase"), then BSY
// is waited for and SER cleared.
func (f *F4) Erase(ctx context.Context, s Sector) error {
	h, err := sectorOf[f4Sector](s, "STM32F4")
	if err != nil {
		return err
	}
	return f.r.operate(ctx, "erase of "+s.Name, flashreg.F4CRSER|h.snb<<flashreg.F4CRSNBShift|flashreg.F4CRSTRT)
}

// MassErase erases the whole flash: MER (with MER1 on dual-bank lines),
// then STRT (RM0090 §3.6.4 "Mass Erase"; OpenOCD stm32x_mass_erase).
func (f *F4) MassErase(ctx context.Context) error {
	mer := uint32(flashreg.F4CRMER)
	if f4Dual(f.chip.DevID, flashKB(f.chip)) {
		mer |= flashreg.F4CRMER1
	}
	return f.r.operate(ctx, "mass erase", mer, mer|flashreg.F4CRSTRT)
}

// f4Parallelism is PSIZE and the program unit for a supply of mv
// millivolts (0: not measured, taken as the 3.3 V of every board the bench
// meets), or why the F4 cannot be programmed by stprobe at that voltage.
func f4Parallelism(mv int) (psize uint32, unit int, err error) {
	switch {
	case mv == 0 || mv >= 2700:
		return flashreg.F4CRPSize32, 4, nil
	case mv >= 2100:
		return flashreg.F4CRPSize16, 2, nil
	}
	return 0, 0, fmt.Errorf("flash: the target supply reads %d mV; below 2.1 V the STM32F4 programs byte by byte (PSIZE x8, ST HAL FLASH_VOLTAGE_RANGE_1), which stprobe does not drive", mv)
}

// Program sets PG with the PSIZE the supply allows and writes data word by
// word (half-word by half-word at x16), reading FLASH_SR after each write
// (RM0090 "Programming" in the flash chapter); units of all 0xFF are skipped (erased
// flash reads so).
func (f *F4) Program(ctx context.Context, addr uint32, data []byte, progress func(int)) error {
	psize, unit, err := f4Parallelism(f.r.o.TargetMillivolts)
	if err != nil {
		return err
	}
	write := f.r.t.WriteMem
	if unit == 2 {
		hw, ok := f.r.t.(HalfWordWriter)
		if !ok {
			return fmt.Errorf("flash: at %d mV the STM32F4 programs half-words (PSIZE x16) and this link offers no 16-bit writes", f.r.o.TargetMillivolts)
		}
		write = hw.WriteMem16
	}
	return programWords(ctx, &f.r, flashreg.F4CRPG|psize, unit, addr, data, progress, write)
}
