package flashprog

import (
	"context"
	"fmt"

	"github.com/stprobe/stprobe/targets"
)

// The STM32F4 flash interface: RM0090 §3.5-§3.7 and §3.9 register map
// (RM0383 §3 for the F411, RM0368, RM0390, RM0401, RM0402, RM0430 the
// same interface); ST's CMSIS stm32f4xx headers FLASH_CR_*, FLASH_SR_*,
// FLASH_OPTCR_*; OpenOCD 0.12 src/flash/nor/stm32f2x.c (stm32x_erase,
// stm32x_write_block without its loader, stm32x_mass_erase,
// stm32x_protect_check, get_sector_size).
const (
	f4KEYR   = 0x04 // FLASH_KEYR
	f4SR     = 0x0C // FLASH_SR
	f4CR     = 0x10 // FLASH_CR
	f4OPTCR  = 0x14 // FLASH_OPTCR: RDP[15:8], nWRP[27:16], DB1M b30, SPRMOD b31
	f4OPTCR1 = 0x18 // FLASH_OPTCR1: nWRP of bank 2 [27:16] (dual-bank lines)

	f4CRPG       = 1 << 0
	f4CRSER      = 1 << 1
	f4CRMER      = 1 << 2
	f4CRSNBShift = 3
	// PSIZE by supply voltage: x8 from 1.8 V, x16 from 2.1 V, x32 from 2.7
	// V (RM0090 "Program/erase parallelism" table; ST HAL
	// stm32f4xx_hal_flash_ex.h FLASH_VOLTAGE_RANGE_1..3 and FLASH_PSIZE_*).
	f4CRPSize16 = 1 << 8
	f4CRPSize32 = 2 << 8
	f4CRMER1    = 1 << 15
	f4CRSTRT    = 1 << 16
	f4CRLock    = 1 << 31

	f4SREOP    = 1 << 0
	f4SROPErr  = 1 << 1
	f4SRWRPErr = 1 << 4
	f4SRPGAErr = 1 << 5
	f4SRPGPErr = 1 << 6
	f4SRPGSErr = 1 << 7
	f4SRBusy   = 1 << 16

	f4OPTDB1M   = 1 << 30
	f4OPTSPRMOD = 1 << 31
)

// f4Flags are FLASH_SR's error flags (RM0090 §3.9.4 FLASH_SR).
var f4Flags = []flagBit{
	{f4SROPErr, "OPERR: operation error"},
	{f4SRWRPErr, "WRPERR: the sector is write-protected (nWRP) or read-out protected"},
	{f4SRPGAErr, "PGAERR: programming alignment error"},
	{f4SRPGPErr, "PGPERR: programming parallelism error (the access width differs from PSIZE)"},
	{f4SRPGSErr, "PGSERR: programming sequence error (no PG)"},
}

// F4 is the STM32F4 flash interface driven through the core's access
// port: sector erase with SER and SNB, mass erase with MER (and MER1 on
// dual-bank lines), programming with the parallelism the supply allows
// (see f4CRPSize16): 32-bit words with PSIZE x32 from 2.7 V (or when
// the supply was not measured: a Nucleo, a Black Pill run at 3.3 V),
// half-words with PSIZE x16 from 2.1 V (OpenOCD stm32f2x.c programs x16
// at any voltage), refused below; FLASH_SR is read after each write until
// BSY drops.
type F4 struct {
	chip *targets.Chip
	r    regCtl
}

// NewF4 returns the controller of an identified STM32F4.
func NewF4(chip *targets.Chip, t Target, o ControllerOptions) *F4 {
	return &F4{chip: chip, r: regCtl{t: t, o: o, regs: targets.F4FlashRegs, keyr: f4KEYR, sr: f4SR, cr: f4CR,
		lock: f4CRLock, busy: f4SRBusy, eop: f4SREOP, flags: f4Flags}}
}

// f4Sector is a sector's handle: SNB as FLASH_CR takes it (bit 4 selects
// bank 2 on dual-bank lines).
type f4Sector struct{ snb uint32 }

// f4Dual reports whether the line's flash of kb KiB is two banks of
// sectors: the 2 MiB STM32F42x/F43x and F469/F479 (RM0090 §3.3 Table 6;
// RM0386 §3.3; OpenOCD stm32f2x.c has_large_mem for 2048 KiB).
func f4Dual(devID uint16, kb int) bool {
	return (devID == targets.DevIDF42x || devID == targets.DevIDF469) && kb >= 2048
}

// f4Sizes are the sizes of the sectors of one bank of bankKB KiB: four of
// 16 KiB, one of 64 KiB, then 128 KiB ones (RM0090 §3.3 Table 5, RM0383
// §3.3 Table 4; OpenOCD stm32f2x.c).
func f4Sizes(bankKB int) []uint32 {
	var out []uint32
	for off, i := 0, 0; off < bankKB<<10; i++ {
		size := 128 << 10
		switch {
		case i < 4:
			size = 16 << 10
		case i == 4:
			size = 64 << 10
		}
		size = min(size, bankKB<<10-off)
		out = append(out, uint32(size))
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
	optcr, err := f.r.read(ctx, f4OPTCR, "FLASH_OPTCR")
	if err != nil {
		return nil, err
	}
	dual := f4Dual(f.chip.DevID, kb)
	if !dual && (f.chip.DevID == targets.DevIDF42x || f.chip.DevID == targets.DevIDF469) && optcr&f4OPTDB1M != 0 {
		return nil, fmt.Errorf("flash: this %d KiB %s has DB1M set (two banks of 512 KiB, RM0090 §3.3 Table 7), an organisation stprobe does not drive yet; use OpenOCD's stm32f2x driver", kb, f.chip.Line.Name)
	}
	var optcr1 uint32
	if dual {
		if optcr1, err = f.r.read(ctx, f4OPTCR1, "FLASH_OPTCR1"); err != nil {
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
			case optcr&f4OPTSPRMOD == 0 && bit == 0:
				s.Protected = fmt.Sprintf("write-protected by %s nWRP%d (0x%08X); `ob apply` lifts it", b.reg, i, b.nwrp)
			case optcr&f4OPTSPRMOD != 0 && bit == 1:
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

// Unlock writes KEY1 and KEY2 into FLASH_KEYR when FLASH_CR.LOCK is set.
func (f *F4) Unlock(ctx context.Context) error { return f.r.unlock(ctx) }

// Lock sets FLASH_CR.LOCK.
func (f *F4) Lock(ctx context.Context) error { return f.r.relock(ctx) }

// Erase erases one sector: SER, SNB and STRT in one FLASH_CR write, as
// OpenOCD's stm32x_erase does (RM0090 §3.6.3 "Sector Erase"), then BSY
// is waited for and SER cleared.
func (f *F4) Erase(ctx context.Context, s Sector) error {
	h, ok := s.id.(f4Sector)
	if !ok {
		return fmt.Errorf("flash: %s is not a sector of this STM32F4's layout", s.Name)
	}
	if err := f.r.write(ctx, f4CR, f4CRSER|h.snb<<f4CRSNBShift|f4CRSTRT, "FLASH_CR"); err != nil {
		return err
	}
	werr := f.r.wait(ctx, "erase of "+s.Name)
	if err := f.r.write(ctx, f4CR, 0, "FLASH_CR"); err != nil && werr == nil {
		werr = err
	}
	return werr
}

// MassErase erases the whole flash: MER (with MER1 on dual-bank lines),
// then STRT (RM0090 §3.6.4 "Mass Erase"; OpenOCD stm32x_mass_erase).
func (f *F4) MassErase(ctx context.Context) error {
	mer := uint32(f4CRMER)
	if f4Dual(f.chip.DevID, flashKB(f.chip)) {
		mer |= f4CRMER1
	}
	if err := f.r.write(ctx, f4CR, mer, "FLASH_CR"); err != nil {
		return err
	}
	if err := f.r.write(ctx, f4CR, mer|f4CRSTRT, "FLASH_CR"); err != nil {
		return err
	}
	werr := f.r.wait(ctx, "mass erase")
	if err := f.r.write(ctx, f4CR, 0, "FLASH_CR"); err != nil && werr == nil {
		werr = err
	}
	return werr
}

// f4Parallelism is PSIZE and the program unit for a supply of mv
// millivolts (0: not measured, taken as the 3.3 V of every board the bench
// meets), or why the F4 cannot be programmed by stprobe at that voltage.
func f4Parallelism(mv int) (psize uint32, unit int, err error) {
	switch {
	case mv == 0 || mv >= 2700:
		return f4CRPSize32, 4, nil
	case mv >= 2100:
		return f4CRPSize16, 2, nil
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
	return programWords(ctx, &f.r, f4CR, f4CRPG|psize, unit, addr, data, progress, write)
}

// programWords sets the program bits in FLASH_CR, writes data unit by unit
// with write (unit 2: a half-word; 4: a word; 8: a double word of two
// words), skipping units of all
// 0xFF, reads FLASH_SR until BSY drops after every QuadWordsPerPoll units
// (1 by default: after each), and clears FLASH_CR.
func programWords(ctx context.Context, r *regCtl, cr, pg uint32, unit int, addr uint32, data []byte, progress func(int), write func(context.Context, uint32, []byte) error) error {
	if addr%uint32(unit) != 0 || len(data)%unit != 0 {
		return fmt.Errorf("flash: program of %d bytes at 0x%08X: both must be multiples of %d", len(data), addr, unit)
	}
	if err := r.write(ctx, cr, pg, "FLASH_CR"); err != nil {
		return err
	}
	perr := programRuns(ctx, r, unit, addr, data, progress, write)
	if err := r.write(ctx, cr, 0, "FLASH_CR"); err != nil && perr == nil {
		perr = err
	}
	if perr == nil && progress != nil {
		progress(len(data))
	}
	return perr
}

// programRuns writes data in runs of at most QuadWordsPerPoll units that
// are not all 0xFF, each with one memory write (write), and waits for BSY
// after each run.
func programRuns(ctx context.Context, r *regCtl, unit int, addr uint32, data []byte, progress func(int), write func(context.Context, uint32, []byte) error) error {
	per := r.o.QuadWordsPerPoll
	if r.o.BytesPerPoll > 0 {
		per = r.o.BytesPerPoll / unit
	}
	per = max(per, 1)
	for i := 0; i < len(data); {
		for i < len(data) && allFF(data[i:i+unit]) {
			i += unit
		}
		j := i
		for j < len(data) && j-i < unit*per && !allFF(data[j:j+unit]) {
			j += unit
		}
		if i == j {
			break
		}
		a := addr + uint32(i)
		if err := write(ctx, a, data[i:j]); err != nil {
			return fmt.Errorf("target: writing %d bytes of flash at 0x%08X: %w", j-i, a, err)
		}
		if err := r.wait(ctx, fmt.Sprintf("program at 0x%08X", a)); err != nil {
			return err
		}
		if progress != nil && i/1024 != j/1024 {
			progress(j)
		}
		i = j
	}
	return nil
}
