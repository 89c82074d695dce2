package flashprog

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/stprobe/stprobe/targets"
)

// H5 is the STM32H5 main-flash controller driven through FLASH_NSKEYR and
// FLASH_NSCR (facts and sources: targets/h5flash.go). Sector erase sets
// SER, SNB and BKSEL with STRT in one write, as ST's HAL FLASH_Erase_Sector
// does; programming sets PG and writes each 16-byte quad-word, then reads
// FLASH_NSSR until BSY drops, as OpenOCD's stm32l4x driver does for the
// STM32H5 without its loader. Error flags are read, reported and cleared
// through FLASH_NSCCR.
//
// Secure sectors (TrustZone enabled, inside SECWMxR) would need
// FLASH_SECKEYR and FLASH_SECCR through the secure alias; stprobe does not
// drive them yet and refuses such sectors in the plan.
type H5 struct {
	chip *targets.Chip
	t    Target
	o    ControllerOptions
	regs uint32
}

// NewH5 returns the controller of an identified STM32H5.
func NewH5(chip *targets.Chip, t Target, o ControllerOptions) *H5 {
	if o.QuadWordsPerPoll <= 0 {
		o.QuadWordsPerPoll = 1
	}
	if o.MaxPolls <= 0 {
		o.MaxPolls = 100000
	}
	return &H5{chip: chip, t: t, o: o, regs: targets.H5FlashRegs}
}

// h5Sector is the controller's handle of a sector.
type h5Sector = targets.Sector

// Layout reads the flash size word and the option registers in force
// (OPTSR_CUR: SWAP_BANK and the product state; OPTSR2_CUR: TZEN; WRPxR,
// SECWMxR, HDPxR) and judges every sector.
func (h *H5) Layout(ctx context.Context) (*Layout, error) {
	read := func(off uint32, what string) (uint32, error) {
		v, err := h.t.Read32(ctx, h.regs+off)
		if err != nil {
			return 0, fmt.Errorf("target: reading %s (0x%08X): %w", what, h.regs+off, err)
		}
		return v, nil
	}
	kb := int(h.chip.FlashKB)
	if !h.chip.HasFlashSize || kb == 0 || kb > h.chip.Line.MaxFlashKB {
		kb = h.chip.Line.MaxFlashKB
	}
	g := targets.H5FlashOf(h.chip.Line, kb)
	optsr, err := read(targets.FlashOPTSRCur, "FLASH_OPTSR_CUR")
	if err != nil {
		return nil, err
	}
	regs := map[string]uint32{}
	names := []struct {
		name string
		off  uint32
		tz   bool
	}{
		{"WRP1R", targets.FlashWRP1RCur, false}, {"WRP2R", targets.FlashWRP2RCur, false},
		{"HDP1R", targets.FlashHDP1RCur, false}, {"HDP2R", targets.FlashHDP2RCur, false},
		{"SECWM1R", targets.FlashSECWM1RCur, true}, {"SECWM2R", targets.FlashSECWM2RCur, true},
		{"OPTSR2", targets.FlashOPTSR2Cur, true},
	}
	for _, n := range names {
		if n.tz && !h.chip.Line.TrustZone {
			continue
		}
		if regs[n.name], err = read(n.off, "FLASH_"+n.name+"_CUR"); err != nil {
			return nil, err
		}
	}
	swapped := optsr&targets.OPTSRSwapBank != 0
	state := targets.ProductStateOf(optsr)
	tz := h.chip.Line.TrustZone && targets.TZENOf(regs["OPTSR2"]).Enabled()
	l := &Layout{Line: h.chip.Line.Name, Base: targets.FlashMemBase, Size: g.Size, ProgramUnit: targets.H5QuadWord, State: state.String()}
	if swapped {
		l.Notes = append(l.Notes, "SWAP_BANK is set: bank 2 is at 0x08000000, bank 1 after it")
	}
	if tz {
		l.Notes = append(l.Notes, "TrustZone is enabled: secure sectors (SECWMxR) are refused, non-secure ones programmed through FLASH_NSCR")
	}
	for off := uint32(0); off < g.Size; off += targets.H5SectorSize {
		s, _ := g.SectorAt(off, swapped)
		sec := Sector{Name: s.String(), Addr: targets.FlashMemBase + off, Size: targets.H5SectorSize, id: s}
		bank := fmt.Sprint(s.Bank)
		switch {
		case g.WRPProtected(regs["WRP"+bank+"R"], s.Index):
			sec.Protected = fmt.Sprintf("write-protected by WRP%sR (0x%08X); an option-byte change in OPEN lifts it", bank, regs["WRP"+bank+"R"])
		case tz && g.InArea(regs["SECWM"+bank+"R"], s.Index):
			sec.Protected = fmt.Sprintf("secure (SECWM%sR 0x%08X) with TrustZone enabled: programming secure flash (FLASH_SECKEYR, FLASH_SECCR) is not implemented", bank, regs["SECWM"+bank+"R"])
		case state != targets.StateOpen && g.InArea(regs["HDP"+bank+"R"], s.Index):
			sec.Protected = fmt.Sprintf("in the hide-protected area (HDP%sR 0x%08X) in product state %v", bank, regs["HDP"+bank+"R"], state)
		}
		l.Sectors = append(l.Sectors, sec)
	}
	return l, nil
}

// Unlock writes the two NSKEYR keys when FLASH_NSCR is locked and checks
// that LOCK dropped (a wrong key locks it until reset), then clears the
// status flags a previous run left.
func (h *H5) Unlock(ctx context.Context) error {
	cr, err := h.read(ctx, targets.FlashNSCR, "FLASH_NSCR")
	if err != nil {
		return err
	}
	if cr&targets.NSCRLock != 0 {
		for _, k := range []uint32{targets.FlashKey1, targets.FlashKey2} {
			if err := h.write(ctx, targets.FlashNSKEYR, k, "FLASH_NSKEYR"); err != nil {
				return err
			}
		}
		if cr, err = h.read(ctx, targets.FlashNSCR, "FLASH_NSCR"); err != nil {
			return err
		}
		if cr&targets.NSCRLock != 0 {
			return errors.New("target: FLASH_NSCR stays locked after the NSKEYR keys: a wrong key locked it until the next reset (reset the chip and try again)")
		}
	}
	if err := h.wait(ctx, "unlock"); err != nil {
		return err
	}
	return h.clearFlags(ctx, targets.NSSRErrors|targets.NSSREndOfOp)
}

// Lock sets FLASH_NSCR.LOCK.
func (h *H5) Lock(ctx context.Context) error {
	return h.write(ctx, targets.FlashNSCR, targets.NSCRLock, "FLASH_NSCR")
}

// Erase erases one sector: SER, SNB and BKSEL (the physical bank) with
// STRT, then waits for BSY to drop and clears SER.
func (h *H5) Erase(ctx context.Context, s Sector) error {
	hs, ok := s.id.(h5Sector)
	if !ok {
		return fmt.Errorf("flash: %s is not a sector of this STM32H5's layout", s.Name)
	}
	cr := uint32(targets.NSCRSER | uint32(hs.Index)<<targets.NSCRSNBShift | targets.NSCRStart)
	if hs.Bank == 2 {
		cr |= targets.NSCRBKSEL
	}
	if err := h.write(ctx, targets.FlashNSCR, cr, "FLASH_NSCR"); err != nil {
		return err
	}
	werr := h.wait(ctx, "erase of "+s.Name)
	if err := h.write(ctx, targets.FlashNSCR, 0, "FLASH_NSCR"); err != nil && werr == nil {
		werr = err
	}
	return werr
}

// Program sets PG and writes data quad-word by quad-word (QuadWordsPerPoll
// of them per memory write), reading FLASH_NSSR after each write; it skips
// quad-words that are all 0xFF (erased flash already reads so).
func (h *H5) Program(ctx context.Context, addr uint32, data []byte, progress func(int)) error {
	const q = targets.H5QuadWord
	if addr%q != 0 || len(data)%q != 0 {
		return fmt.Errorf("flash: program of %d bytes at 0x%08X: both must be multiples of %d", len(data), addr, q)
	}
	if err := h.write(ctx, targets.FlashNSCR, targets.NSCRPG, "FLASH_NSCR"); err != nil {
		return err
	}
	var perr error
	for i := 0; i < len(data) && perr == nil; {
		for i < len(data) && allFF(data[i:i+q]) {
			i += q
		}
		j := i
		for j < len(data) && j-i < q*h.o.QuadWordsPerPoll && !allFF(data[j:j+q]) {
			j += q
		}
		if i == j {
			break
		}
		a := addr + uint32(i)
		if err := h.t.WriteMem(ctx, a, data[i:j]); err != nil {
			perr = fmt.Errorf("target: writing %d bytes of flash at 0x%08X: %w", j-i, a, err)
			break
		}
		perr = h.wait(ctx, fmt.Sprintf("program at 0x%08X", a))
		i = j
		if progress != nil {
			progress(i)
		}
	}
	if err := h.write(ctx, targets.FlashNSCR, 0, "FLASH_NSCR"); err != nil && perr == nil {
		perr = err
	}
	if perr == nil && progress != nil {
		progress(len(data))
	}
	return perr
}

func allFF(b []byte) bool {
	for _, c := range b {
		if c != 0xFF {
			return false
		}
	}
	return true
}

// FlagError is an operation the controller ended with error flags.
type FlagError struct {
	Op    string
	NSSR  uint32
	Flags []string
}

// Error names the flags and what they mean.
func (e *FlagError) Error() string {
	return fmt.Sprintf("target: %s ended with FLASH_NSSR 0x%08X (%s); the flags were cleared", e.Op, e.NSSR, strings.Join(e.Flags, ", "))
}

// nssrFlags names the error flags of FLASH_NSSR (SVD field descriptions).
var nssrFlags = []struct {
	bit  uint32
	text string
}{
	{targets.NSSRWRPErr, "WRPERR: the sector is write-protected or secure"},
	{targets.NSSRPGSErr, "PGSERR: programming sequence error (a quad-word not erased, or no PG)"},
	{targets.NSSRStrobeErr, "STRBERR: a byte written twice into the write buffer"},
	{targets.NSSRIncErr, "INCERR: inconsistent write-buffer addresses"},
	{1 << 21, "OBKERR"},
	{1 << 22, "OBKWERR"},
	{targets.NSSROptChangeErr, "OPTCHANGEERR"},
}

// wait reads FLASH_NSSR until BSY drops, then reports and clears its error
// flags.
func (h *H5) wait(ctx context.Context, op string) error {
	for i := 0; i < h.o.MaxPolls; i++ {
		sr, err := h.read(ctx, targets.FlashNSSR, "FLASH_NSSR")
		if err != nil {
			return err
		}
		if sr&targets.NSSRBusy != 0 {
			continue
		}
		if sr&targets.NSSRErrors == 0 {
			return nil
		}
		e := &FlagError{Op: op, NSSR: sr}
		for _, f := range nssrFlags {
			if sr&f.bit != 0 {
				e.Flags = append(e.Flags, f.text)
			}
		}
		if err := h.clearFlags(ctx, sr&(targets.NSSRErrors|targets.NSSREndOfOp)); err != nil {
			return fmt.Errorf("%v; clearing them failed: %w", e, err)
		}
		return e
	}
	return fmt.Errorf("target: %s: FLASH_NSSR.BSY still set after %d reads", op, h.o.MaxPolls)
}

func (h *H5) clearFlags(ctx context.Context, bits uint32) error {
	return h.write(ctx, targets.FlashNSCCR, bits, "FLASH_NSCCR")
}

func (h *H5) read(ctx context.Context, off uint32, name string) (uint32, error) {
	v, err := h.t.Read32(ctx, h.regs+off)
	if err != nil {
		return 0, fmt.Errorf("target: reading %s (0x%08X): %w", name, h.regs+off, err)
	}
	return v, nil
}

func (h *H5) write(ctx context.Context, off, v uint32, name string) error {
	if err := h.t.Write32(ctx, h.regs+off, v); err != nil {
		return fmt.Errorf("target: writing 0x%08X to %s (0x%08X): %w", v, name, h.regs+off, err)
	}
	return nil
}
