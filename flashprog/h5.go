package flashprog

import (
	"context"
	"fmt"
	"strings"

	"github.com/stprobe/stprobe/targets"
	"github.com/stprobe/stprobe/targets/flashreg"
)

// H5 is the STM32H5 main-flash controller driven through FLASH_NSKEYR and
// FLASH_NSCR (facts and sources: targets/h5flash.go). Sector erase sets
// SER, SNB and BKSEL with STRT in one write, as ST's HAL FLASH_Erase_Sector
// does; programming sets PG and writes each 16-byte quad-word, then reads
// FLASH_NSSR until BSY drops, as OpenOCD's stm32l4x driver does for the
// STM32H5 without its loader. Error flags are read, reported and cleared
// through FLASH_NSCCR.
//
// Secure sectors (TrustZone enabled, inside SECWMxR) go through
// FLASH_SECKEYR, FLASH_SECCR, FLASH_SECSR and FLASH_SECCCR of the secure
// register alias and the 0x0C000000 flash alias (the HAL's secure
// operations, IS_FLASH_SECURE_OPERATION); they need secure debug open.
type H5 struct {
	chip *targets.Chip
	t    Target
	o    ControllerOptions
	// layout is the last one read: Program finds a sector's side in it.
	layout      *Layout
	secUnlocked bool
	loaderRuns  int // Program calls that used the flash loader
}

// LoaderSectors counts the sectors programmed with the flash loader
// (loader.go) rather than register by register.
func (h *H5) LoaderSectors() int { return h.loaderRuns }

// side is one register set: non-secure (NSKEYR, NSCR, NSSR, NSCCR at the
// non-secure block) or secure (SECKEYR, SECCR, SECSR, SECCCR at the secure
// block), and the flash alias it programs through.
type side struct {
	name              string
	regs              uint32
	keyr, cr, sr, ccr uint32
	flashBase         uint32
}

var (
	nsSide  = side{"FLASH_NS", targets.H5FlashRegs, targets.FlashNSKEYR, targets.FlashNSCR, targets.FlashNSSR, targets.FlashNSCCR, targets.FlashMemBase}
	secSide = side{"FLASH_SEC", targets.H5FlashRegsSec, targets.FlashSECKEYR, targets.FlashSECCR, targets.FlashSECSR, targets.FlashSECCCR, targets.FlashMemBaseSecure}
)

// NewH5 returns the controller of an identified STM32H5.
func NewH5(chip *targets.Chip, t Target, o ControllerOptions) *H5 {
	if o.BytesPerPoll > 0 {
		o.QuadWordsPerPoll = o.BytesPerPoll / targets.H5QuadWord
	}
	if o.QuadWordsPerPoll <= 0 {
		o.QuadWordsPerPoll = 1
	}
	if o.MaxPolls <= 0 {
		o.MaxPolls = 100000
	}
	return &H5{chip: chip, t: t, o: o}
}

// h5Sector is the controller's handle of a sector.
type h5Sector = targets.Sector

// Layout reads the flash size word and the option registers in force
// (OPTSR_CUR: SWAP_BANK and the product state; OPTSR2_CUR: TZEN; WRPxR,
// SECWMxR, HDPxR) and judges every sector.
func (h *H5) Layout(ctx context.Context) (*Layout, error) {
	read := func(off uint32, what string) (uint32, error) {
		return h.read(ctx, nsSide, off, what)
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
		l.SecureBase = targets.FlashMemBaseSecure
		l.Notes = append(l.Notes, "TrustZone is enabled: secure sectors (SECWMxR) go through FLASH_SECKEYR/SECCR and the 0x0C000000 alias, the others through FLASH_NSCR")
	}
	for off := uint32(0); off < g.Size; off += targets.H5SectorSize {
		s, _ := g.SectorAt(off, swapped)
		sec := Sector{Name: s.String(), Addr: targets.FlashMemBase + off, Size: targets.H5SectorSize, id: s}
		bank := fmt.Sprint(s.Bank)
		switch {
		case g.WRPProtected(regs["WRP"+bank+"R"], s.Index):
			sec.Protected = fmt.Sprintf("write-protected by WRP%sR (0x%08X); an option-byte change in OPEN lifts it", bank, regs["WRP"+bank+"R"])
		case state != targets.StateOpen && g.InArea(regs["HDP"+bank+"R"], s.Index):
			sec.Protected = fmt.Sprintf("in the hide-protected area (HDP%sR 0x%08X) in product state %v", bank, regs["HDP"+bank+"R"], state)
		}
		sec.Secure = tz && g.InArea(regs["SECWM"+bank+"R"], s.Index)
		l.Sectors = append(l.Sectors, sec)
	}
	h.layout = l
	return l, nil
}

// Unlock writes the two NSKEYR keys when FLASH_NSCR is locked and checks
// that LOCK dropped (a wrong key locks it until reset), then clears the
// status flags a previous run left. The secure side is unlocked the same
// way when a secure sector is first written.
func (h *H5) Unlock(ctx context.Context) error {
	return h.unlock(ctx, nsSide)
}

func (h *H5) unlock(ctx context.Context, sd side) error {
	cr, err := h.read(ctx, sd, sd.cr, sd.name+"CR")
	if err != nil {
		return err
	}
	if cr&targets.NSCRLock != 0 {
		for _, k := range []uint32{targets.FlashKey1, targets.FlashKey2} {
			if err := h.write(ctx, sd, sd.keyr, k, sd.name+"KEYR"); err != nil {
				return err
			}
		}
		if cr, err = h.read(ctx, sd, sd.cr, sd.name+"CR"); err != nil {
			return err
		}
		if cr&targets.NSCRLock != 0 {
			return fmt.Errorf("target: %sCR stays locked after the keys: a wrong key locked it until the next reset (reset the chip and try again)", sd.name)
		}
	}
	if err := h.wait(ctx, sd, "unlock"); err != nil {
		return err
	}
	return h.clearFlags(ctx, sd, targets.NSSRErrors|targets.NSSREndOfOp)
}

// sideFor returns the side that writes a sector, unlocking the secure one
// the first time.
func (h *H5) sideFor(ctx context.Context, secure bool) (side, error) {
	if !secure {
		return nsSide, nil
	}
	if !h.secUnlocked {
		if err := h.unlock(ctx, secSide); err != nil {
			return secSide, fmt.Errorf("%w (secure sectors need secure debug open)", err)
		}
		h.secUnlocked = true
	}
	return secSide, nil
}

// Lock sets LOCK in FLASH_NSCR (and in FLASH_SECCR when it was unlocked).
func (h *H5) Lock(ctx context.Context) error {
	err := h.write(ctx, nsSide, nsSide.cr, targets.NSCRLock, "FLASH_NSCR")
	if h.secUnlocked {
		if serr := h.write(ctx, secSide, secSide.cr, targets.NSCRLock, "FLASH_SECCR"); serr == nil {
			h.secUnlocked = false
		} else if err == nil {
			err = serr
		}
	}
	return err
}

// Erase erases one sector: SER, SNB and BKSEL (the physical bank) with
// STRT in its side's control register, then waits for BSY to drop and
// clears SER.
func (h *H5) Erase(ctx context.Context, s Sector) error {
	hs, err := sectorOf[h5Sector](s, "STM32H5")
	if err != nil {
		return err
	}
	sd, err := h.sideFor(ctx, s.Secure)
	if err != nil {
		return err
	}
	cr := uint32(targets.NSCRSER | uint32(hs.Index)<<targets.NSCRSNBShift | targets.NSCRStart)
	if hs.Bank == 2 {
		cr |= targets.NSCRBKSEL
	}
	if err := h.write(ctx, sd, sd.cr, cr, sd.name+"CR"); err != nil {
		return err
	}
	werr := h.wait(ctx, sd, "erase of "+s.Name)
	if err := h.write(ctx, sd, sd.cr, 0, sd.name+"CR"); err != nil && werr == nil {
		werr = err
	}
	return werr
}

// Program sets PG and, when the core is halted, runs the flash loader
// (loader.go) over data in blocks of LoaderBlock bytes; otherwise (or with
// ControllerOptions.RegisterByRegister) it writes data quad-word by
// quad-word (QuadWordsPerPoll
// of them per memory write), reading FLASH_NSSR after each write; it skips
// quad-words that are all 0xFF (erased flash already reads so).
func (h *H5) Program(ctx context.Context, addr uint32, data []byte, progress func(int)) error {
	const q = targets.H5QuadWord
	if addr%q != 0 || len(data)%q != 0 {
		return fmt.Errorf("flash: program of %d bytes at 0x%08X: both must be multiples of %d", len(data), addr, q)
	}
	secure := false
	if s := h.layout.sectorAt(addr); s != nil {
		secure = s.Secure
		if uint64(addr)+uint64(len(data)) > s.End() {
			return fmt.Errorf("flash: program of %d bytes at 0x%08X runs past %s", len(data), addr, s.Name)
		}
	}
	sd, err := h.sideFor(ctx, secure)
	if err != nil {
		return err
	}
	through := addr - targets.FlashMemBase + sd.flashBase
	useLoader, err := h.loaderFor(ctx, sd)
	if err != nil {
		return err
	}
	if err := h.write(ctx, sd, sd.cr, targets.NSCRPG, sd.name+"CR"); err != nil {
		return err
	}
	var perr error
	if useLoader {
		h.loaderRuns++
		perr = h.programLoader(ctx, sd, through, data, progress)
	}
	for i := 0; i < len(data) && perr == nil && !useLoader; {
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
		a := through + uint32(i)
		if err := h.t.WriteMem(ctx, a, data[i:j]); err != nil {
			perr = fmt.Errorf("target: writing %d bytes of flash at 0x%08X: %w", j-i, a, err)
			break
		}
		perr = h.wait(ctx, sd, fmt.Sprintf("program at 0x%08X", a))
		i = j
		if progress != nil {
			progress(i)
		}
	}
	if err := h.write(ctx, sd, sd.cr, 0, sd.name+"CR"); err != nil && perr == nil {
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
	Op string
	// Register is FLASH_NSSR or FLASH_SECSR, NSSR its value.
	Register string
	NSSR     uint32
	Flags    []string
}

// Error names the flags and what they mean.
func (e *FlagError) Error() string {
	return fmt.Sprintf("target: %s ended with %s 0x%08X (%s); the flags were cleared", e.Op, e.Register, e.NSSR, strings.Join(e.Flags, ", "))
}

// nssrFlags names the error flags of FLASH_NSSR (SVD field descriptions).
var nssrFlags = flashreg.Flags{
	{Bit: targets.NSSRWRPErr, Text: "WRPERR: the sector is write-protected or secure"},
	{Bit: targets.NSSRPGSErr, Text: "PGSERR: programming sequence error (a quad-word not erased, or no PG)"},
	{Bit: targets.NSSRStrobeErr, Text: "STRBERR: a byte written twice into the write buffer"},
	{Bit: targets.NSSRIncErr, Text: "INCERR: inconsistent write-buffer addresses"},
	{Bit: 1 << 21, Text: "OBKERR"},
	{Bit: 1 << 22, Text: "OBKWERR"},
	{Bit: targets.NSSROptChangeErr, Text: "OPTCHANGEERR"},
}

// wait reads the side's status register until BSY drops, then reports
// and clears its error flags.
func (h *H5) wait(ctx context.Context, sd side, op string) error {
	for i := 0; i < h.o.MaxPolls; i++ {
		sr, err := h.read(ctx, sd, sd.sr, sd.name+"SR")
		if err != nil {
			return err
		}
		if sr&targets.NSSRBusy != 0 {
			continue
		}
		if sr&targets.NSSRErrors == 0 {
			return nil
		}
		e := &FlagError{Op: op, Register: sd.name + "SR", NSSR: sr, Flags: nssrFlags.Set(sr)}
		if err := h.clearFlags(ctx, sd, sr&(targets.NSSRErrors|targets.NSSREndOfOp)); err != nil {
			return fmt.Errorf("%v; clearing them failed: %w", e, err)
		}
		return e
	}
	return fmt.Errorf("target: %s: %sSR.BSY still set after %d reads", op, sd.name, h.o.MaxPolls)
}

func (h *H5) clearFlags(ctx context.Context, sd side, bits uint32) error {
	return h.write(ctx, sd, sd.ccr, bits, sd.name+"CCR")
}

func (h *H5) read(ctx context.Context, sd side, off uint32, name string) (uint32, error) {
	v, err := h.t.Read32(ctx, sd.regs+off)
	if err != nil {
		return 0, fmt.Errorf("target: reading %s (0x%08X): %w", name, sd.regs+off, err)
	}
	return v, nil
}

func (h *H5) write(ctx context.Context, sd side, off, v uint32, name string) error {
	if err := h.t.Write32(ctx, sd.regs+off, v); err != nil {
		return fmt.Errorf("target: writing 0x%08X to %s (0x%08X): %w", v, name, sd.regs+off, err)
	}
	return nil
}
