package flashprog

import (
	"context"
	"fmt"

	"github.com/stprobe/stprobe/guarded"
	"github.com/stprobe/stprobe/targets"
	"github.com/stprobe/stprobe/targets/flashreg"
)

// The flash interfaces of the read-out protection families (F1, F4, G0,
// G4, L4, and each bank of the H74x/75x) share one shape: a key register
// that opens the control register with KEY1 then KEY2, a status register
// whose BSY bit says an operation runs and whose error flags are cleared
// by writing 1 to them (on the H7 through a clear register), and a control
// register whose LOCK bit closes it again (PM0075 §2.3, RM0090 §3.5-§3.6,
// RM0444 §3.3, RM0440 §5.3, RM0351 §3.3, RM0433 §4; OpenOCD 0.12
// stm32f1x.c, stm32f2x.c, stm32l4x.c, stm32h7x.c). regCtl is that shape;
// f1.go, f4.go, l4.go and h7.go hold what differs, targets/flashreg the
// registers and bits.

// regCtl is one flash interface's registers and how to drive them.
type regCtl struct {
	t Target
	o ControllerOptions
	// regs is the register block the Interface's offsets count from.
	regs uint32
	flashreg.Interface
	// bank numbers the registers in messages where each bank has its own
	// ("1", "2" on the H7; empty elsewhere).
	bank string
}

// rdpCtl is what the F1, F4 and G0/G4/L4 controllers share: the chip and
// its one register set.
type rdpCtl struct {
	chip *targets.Chip
	r    regCtl
}

// Unlock writes KEY1 and KEY2 into FLASH_KEYR when FLASH_CR.LOCK is set.
func (c *rdpCtl) Unlock(ctx context.Context) error { return c.r.unlock(ctx) }

// Lock sets FLASH_CR.LOCK.
func (c *rdpCtl) Lock(ctx context.Context) error { return c.r.relock(ctx) }

func (r *regCtl) read(ctx context.Context, off uint32, name string) (uint32, error) {
	v, err := r.t.Read32(ctx, r.regs+off)
	if err != nil {
		return 0, fmt.Errorf("target: reading %s (0x%08X): %w", name, r.regs+off, err)
	}
	return v, nil
}

func (r *regCtl) write(ctx context.Context, off, v uint32, name string) error {
	if err := r.t.Write32(ctx, r.regs+off, v); err != nil {
		return fmt.Errorf("target: writing 0x%08X to %s (0x%08X): %w", v, name, r.regs+off, err)
	}
	return nil
}

// clear writes bits to the register that clears SR's flags.
func (r *regCtl) clear(ctx context.Context, bits uint32) error {
	if r.CCR == 0 {
		return r.write(ctx, r.SR, bits, "FLASH_SR")
	}
	return r.write(ctx, r.CCR, bits, "FLASH_CCR"+r.bank)
}

// unlock writes the two keys when FLASH_CR is locked (only then: on the
// F4, G0, G4, L4 and H7 a key written while unlocked is a wrong sequence
// that locks the register until reset, RM0090 §3.5.1, RM0351 §3.3.5,
// RM0433 §4.9; OpenOCD checks LOCK first for the same reason), checks that
// LOCK dropped, waits for an operation still running and clears the flags
// a previous run left.
func (r *regCtl) unlock(ctx context.Context) error {
	cr, err := r.read(ctx, r.CR, "FLASH_CR")
	if err != nil {
		return err
	}
	if cr&r.Lock != 0 {
		for _, k := range []uint32{targets.FlashKey1, targets.FlashKey2} {
			if err := r.write(ctx, r.KEYR, k, "FLASH_KEYR"+r.bank); err != nil {
				return err
			}
		}
		if cr, err = r.read(ctx, r.CR, "FLASH_CR"); err != nil {
			return err
		}
		if cr&r.Lock != 0 {
			return fmt.Errorf("target: FLASH_CR%s stays locked after the keys: a wrong key locked it until the next reset (reset the chip and try again)", r.bank)
		}
	}
	// Flags left by an earlier run (or, on the G0/G4/L4, OPTVERR after
	// power-on) are not this write's: wait for BSY and clear them.
	if _, err := r.idle(ctx, "unlock"); err != nil {
		return err
	}
	return r.clear(ctx, r.Errors.Mask()|r.EOP)
}

// relock sets FLASH_CR.LOCK (every other control bit cleared).
func (r *regCtl) relock(ctx context.Context) error {
	return r.write(ctx, r.CR, r.Lock, "FLASH_CR")
}

// idle reads FLASH_SR until BSY drops and returns its value.
func (r *regCtl) idle(ctx context.Context, op string) (uint32, error) {
	polls := r.o.MaxPolls
	if polls <= 0 {
		polls = 100000
	}
	for i := 0; i < polls; i++ {
		sr, err := r.read(ctx, r.SR, "FLASH_SR")
		if err != nil {
			return 0, err
		}
		if sr&r.Busy == 0 {
			return sr, nil
		}
	}
	return 0, fmt.Errorf("target: %s: FLASH_SR.BSY still set after %d reads", op, polls)
}

// wait reads FLASH_SR until BSY drops, then reports and clears its error
// flags (with EOP). Where a clear register serves SR (the H7's FLASH_CCR),
// EOP is cleared after a clean operation too.
func (r *regCtl) wait(ctx context.Context, op string) error {
	sr, err := r.idle(ctx, op)
	if err != nil {
		return err
	}
	if sr&r.Errors.Mask() == 0 {
		if r.CCR != 0 && sr&r.EOP != 0 {
			return r.clear(ctx, r.EOP)
		}
		return nil
	}
	e := &FlagError{Op: op, Register: "FLASH_SR" + r.bank, NSSR: sr, Flags: r.Errors.Set(sr)}
	if err := r.clear(ctx, sr&(r.Errors.Mask()|r.EOP)); err != nil {
		return fmt.Errorf("%v; clearing them failed: %w", e, err)
	}
	return e
}

// operate writes the FLASH_CR values crs in order (the last one starts
// the operation), waits for it to end and clears FLASH_CR.
func (r *regCtl) operate(ctx context.Context, op string, crs ...uint32) error {
	for _, v := range crs {
		if err := r.write(ctx, r.CR, v, "FLASH_CR"); err != nil {
			return err
		}
	}
	werr := r.wait(ctx, op)
	if err := r.write(ctx, r.CR, 0, "FLASH_CR"); err != nil && werr == nil {
		werr = err
	}
	return werr
}

// programWords sets the program bits in FLASH_CR, writes data unit by unit
// with write (unit 2: a half-word; 4: a word; 8: a double word of two
// words; 32: the H7's flash word), skipping units of all 0xFF, reads
// FLASH_SR until BSY drops after every QuadWordsPerPoll units (1 by
// default: after each), and clears FLASH_CR.
func programWords(ctx context.Context, r *regCtl, pg uint32, unit int, addr uint32, data []byte, progress func(int), write func(context.Context, uint32, []byte) error) error {
	if addr%uint32(unit) != 0 || len(data)%unit != 0 {
		return fmt.Errorf("flash: program of %d bytes at 0x%08X: both must be multiples of %d", len(data), addr, unit)
	}
	if err := r.write(ctx, r.CR, pg, "FLASH_CR"); err != nil {
		return err
	}
	perr := programRuns(ctx, r, unit, addr, data, progress, write)
	if err := r.write(ctx, r.CR, 0, "FLASH_CR"); err != nil && perr == nil {
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

// rdpLevel reads the read-out protection level in force from the
// family's option register (targets.RDPScheme: F1 FLASH_OBR.RDPRT, F4
// FLASH_OPTCR[15:8], G0/G4/L4 FLASH_OPTR[7:0]).
func rdpLevel(ctx context.Context, chip *targets.Chip, t Target) (targets.RDPLevel, uint8, error) {
	s := chip.Family.RDP
	v, err := t.Read32(ctx, s.Addr())
	if err != nil {
		return 0, 0, fmt.Errorf("target: reading %s (0x%08X): %w", s.RegName, s.Addr(), err)
	}
	lvl, raw := s.Level(v)
	return lvl, raw, nil
}

// rdpRefusal is why no sector may be erased or programmed at read-out
// protection level 1 or above, and the way out.
func rdpRefusal(lvl targets.RDPLevel, raw uint8) string {
	return fmt.Sprintf("read-out protection %v (RDP 0x%02X): the debugger may neither read nor erase the flash; the way back is `stprobe ob apply RDP=0xAA`, which mass-erases the whole flash on the way to level 0 (irreversible: keep nothing you cannot lose)", lvl, raw)
}

// flashKB is the flash size the chip reported, or the line's largest when
// it was not read.
func flashKB(chip *targets.Chip) int {
	kb := int(chip.FlashKB)
	if !chip.HasFlashSize || kb == 0 || kb > chip.Line.MaxFlashKB {
		kb = chip.Line.MaxFlashKB
	}
	return kb
}

// HalfWordWriter is a Target that also writes memory in 16-bit accesses:
// the STM32F1 programs flash only that way (PM0075 §2.3.3: a write that is
// not a half-word is a bus error).
type HalfWordWriter interface {
	WriteMem16(ctx context.Context, addr uint32, data []byte) error
}

// MassEraser is a controller that erases the whole main flash in one
// operation (FLASH_CR MER): `flash erase --all` uses it.
type MassEraser interface {
	MassErase(ctx context.Context) error
}

// newLayout starts the layout of an RDP-family chip, judging the
// protection level: at level 1 every sector is refused with the reason.
func newLayout(ctx context.Context, chip *targets.Chip, t Target, size uint32, unit int) (*Layout, string, error) {
	lvl, raw, err := rdpLevel(ctx, chip, t)
	if err != nil {
		return nil, "", err
	}
	l := &Layout{Line: chip.Line.Name, Base: targets.FlashMemBase, Size: size, ProgramUnit: unit, State: fmt.Sprintf("RDP %v", lvl)}
	refuse := ""
	if lvl >= targets.RDPLevel1 {
		refuse = rdpRefusal(lvl, raw)
		l.Notes = append(l.Notes, refuse)
		l.Unreadable = refuse
	}
	return l, refuse, nil
}

// erasesAll reports whether the plan erases every sector of the flash.
func (p *Plan) erasesAll() bool {
	return p.Layout != nil && len(p.Erase) > 0 && len(p.Erase) == len(p.Layout.Sectors)
}

// noteMassErase says in the plan that erasing every sector is one mass
// erase on a controller that has it.
func (p *Plan) noteMassErase(c Controller) {
	if _, ok := c.(MassEraser); ok && p.erasesAll() {
		p.Notes = append(p.Notes, "every sector is erased by one mass erase (FLASH_CR MER)")
	}
}

// massErase erases the n sectors of a plan in one mass erase, the journal
// (markAll) saying first that all are being erased, then that all are.
func massErase(ctx context.Context, m MassEraser, n int, emit guarded.Emit, markAll func(holds string) error) error {
	emit.Send(guarded.Event{Step: "erase", Done: 0, Total: n, Message: "mass erase of the whole flash"})
	if err := markAll(SectorErasing); err != nil {
		return err
	}
	if err := m.MassErase(ctx); err != nil {
		return err
	}
	return markAll(SectorErased)
}

// programStep is the plan's step that programs, named by the layout's
// program unit.
func programStep(l *Layout) string {
	switch {
	case l == nil:
		return "program"
	case l.ProgramUnit == 32:
		return "program flash word (256 bits) by flash word"
	case l.ProgramUnit == 16:
		return "program quad-word by quad-word"
	case l.ProgramUnit == 8:
		return "program double word by double word"
	case l.ProgramUnit == 4:
		return "program word by word"
	case l.ProgramUnit == 2:
		return "program half-word by half-word"
	}
	return fmt.Sprintf("program %d bytes at a time", l.ProgramUnit)
}
