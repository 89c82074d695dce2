package flashprog

import (
	"context"
	"fmt"

	"github.com/stprobe/stprobe/targets"
)

// The STM32H74x/75x embedded flash interface, driven register by
// register: two banks, each with its own key, control, status and clear
// registers (bank 2's at +0x100), 128 KiB sectors and a 256-bit flash word
// that the write buffer programs once its eight words are written.
// Sources: ST's CMSIS stm32h743xx.h (FLASH_KEY1/KEY2, FLASH_CR_*,
// FLASH_SR_*, FLASH_CCR_CLR_*, FLASH_WPSN_WRPSN, FLASH_OPTSR_SWAP_BANK_OPT,
// FLASH_SECTOR_SIZE, FLASH_NB_32BITWORD_IN_FLASHWORD, FLASH_BANK2_BASE);
// RM0433 §4 (embedded flash memory: sector erase, single write sequence,
// register map); OpenOCD 0.12 src/flash/nor/stm32h7x.c (FLASH_REG_BASE_B0
// and _B1, the register offsets and bits, stm32x_erase, the
// work-area-free path of stm32x_write, stm32x_protect_check).
const (
	// h7Bank2Regs is the offset of bank 2's registers from bank 1's
	// (stm32h7x.c FLASH_REG_BASE_B1 - FLASH_REG_BASE_B0).
	h7Bank2Regs = 0x100

	h7KEYR = 0x04 // FLASH_KEYR1/2
	h7CR   = 0x0C // FLASH_CR1/2
	h7SR   = 0x10 // FLASH_SR1/2
	h7CCR  = 0x14 // FLASH_CCR1/2: write 1 to clear the flag at the same bit of SR

	h7CRLock   = 1 << 0
	h7CRPG     = 1 << 1
	h7CRSER    = 1 << 2
	h7CRPSize  = 3 << 4 // PSIZE x64: the reset value, for a 2.7-3.6 V supply (stm32h7x.c FLASH_PSIZE_64)
	h7CRStart  = 1 << 7
	h7CRSNBPos = 8 // SNB[10:8]

	h7SRBusy  = 1 << 0 // BSY
	h7SRQW    = 1 << 2 // QW: the write buffer waits to be programmed
	h7SREOP   = 1 << 16
	h7SRWRP   = 1 << 17
	h7SRPGS   = 1 << 18
	h7SRSTRB  = 1 << 19
	h7SRINC   = 1 << 21
	h7SROP    = 1 << 22
	h7SRRDP   = 1 << 23
	h7SRRDS   = 1 << 24
	h7SRSNECC = 1 << 25
	h7SRDBECC = 1 << 26

	// h7OPTSwapBank is FLASH_OPTSR_CUR.SWAP_BANK_OPT (bit 31).
	h7OPTSwapBank = 1 << 31

	h7SectorSize = 128 << 10 // FLASH_SECTOR_SIZE
	h7FlashWord  = 32        // FLASH_NB_32BITWORD_IN_FLASHWORD words of 4 bytes
	h7BankKB     = 1024      // FLASH_BANK2_BASE - FLASH_BANK1_BASE
)

// h7Flags are FLASH_SR1/2's error flags (RM0433 §4.9, FLASH_SR1).
var h7Flags = []flagBit{
	{h7SRWRP, "WRPERR: the sector is write-protected (WRPSn)"},
	{h7SRPGS, "PGSERR: programming sequence error (no PG, or the bank locked)"},
	{h7SRSTRB, "STRBERR: a byte written twice into the write buffer"},
	{h7SRINC, "INCERR: inconsistent write-buffer addresses"},
	{h7SROP, "OPERR: operation error"},
	{h7SRRDP, "RDPERR: read-out protection forbids the operation"},
	{h7SRRDS, "RDSERR: secure access protection forbids the operation"},
	{h7SRSNECC, "SNECCERR: single ECC error corrected"},
	{h7SRDBECC, "DBECCERR: double ECC error"},
}

// H7 is the STM32H74x/75x flash interface driven through the core's
// access port: each bank unlocked by its own KEYR, sectors erased with SER,
// SNB and START, flash words of 32 bytes programmed with PG as eight word
// writes, the bank's SR read after each until BSY and QW drop, the error
// flags cleared through CCR.
type H7 struct {
	chip *targets.Chip
	bank [2]regCtl
}

// NewH7 returns the controller of an identified STM32H7.
func NewH7(chip *targets.Chip, t Target, o ControllerOptions) *H7 {
	h := &H7{chip: chip}
	for i := range h.bank {
		h.bank[i] = regCtl{t: t, o: o, regs: targets.H7FlashRegs + uint32(i)*h7Bank2Regs,
			keyr: h7KEYR, sr: h7SR, cr: h7CR, lock: h7CRLock, busy: h7SRBusy | h7SRQW, eop: h7SREOP, flags: h7Flags}
	}
	return h
}

// h7Sector is a sector's handle: its bank (0 or 1) and SNB.
type h7Sector struct{ bank, snb uint32 }

// Layout reads the flash size, FLASH_OPTSR_CUR (RDP, SWAP_BANK) and each
// bank's FLASH_WPSN_CUR and lists the sectors: 2 MiB as two banks of eight
// 128 KiB sectors (RM0433 §4, flash memory organization; stm32h743xx.h FLASH_BANK2_BASE).
func (h *H7) Layout(ctx context.Context) (*Layout, error) {
	if h.chip.DevID != targets.DevIDH74x {
		return nil, fmt.Errorf("flash: the %s (DEV_ID 0x%03X) has another flash interface than the STM32H74x/75x (8 KiB sectors or one bank); stprobe does not program it yet, OpenOCD's stm32h7x driver does", h.chip.Line.Name, h.chip.DevID)
	}
	kb := flashKB(h.chip)
	if kb != 2*h7BankKB {
		return nil, fmt.Errorf("flash: this %s has %d KiB of flash, two banks of %d KiB apart at 0x08000000 and 0x08100000 (stm32h7x.cfg declares bank 2 at 0x08100000 whatever the size); stprobe drives only the 2 MiB parts yet, OpenOCD's stm32h7x driver does", h.chip.Line.Name, kb, kb/2)
	}
	l, refuse, err := newLayout(ctx, h.chip, h.bank[0].t, uint32(kb)<<10, h7FlashWord)
	if err != nil {
		return nil, err
	}
	optsr, err := h.bank[0].read(ctx, targets.H7FlashOPTSRCur, "FLASH_OPTSR_CUR")
	if err != nil {
		return nil, err
	}
	if optsr&h7OPTSwapBank != 0 {
		return nil, fmt.Errorf("flash: FLASH_OPTSR_CUR 0x%08X has SWAP_BANK set (bank 2 mapped at 0x08000000, RM0433 §4, bank swapping), which stprobe does not drive yet; clear it with `stprobe ob apply` or use OpenOCD", optsr)
	}
	addr := uint32(targets.FlashMemBase)
	for bank, reg := range []uint32{targets.H7FlashWPSN1, targets.H7FlashWPSN2} {
		name := fmt.Sprintf("FLASH_WPSN_CUR%d", bank+1)
		wpsn, err := h.bank[0].read(ctx, reg, name)
		if err != nil {
			return nil, err
		}
		for i := uint32(0); i < h7BankKB<<10/h7SectorSize; i++ {
			s := Sector{Name: fmt.Sprintf("bank %d sector %d", bank+1, i), Addr: addr, Size: h7SectorSize, id: h7Sector{uint32(bank), i}}
			switch {
			case refuse != "":
				s.Protected = refuse
			case wpsn>>i&1 == 0: // WRPSn: 0 protects the sector (stm32h7x.c stm32x_protect_check)
				s.Protected = fmt.Sprintf("write-protected by %s WRPS%d (0x%08X); `ob apply` lifts it", name, i, wpsn)
			}
			l.Sectors = append(l.Sectors, s)
			addr += h7SectorSize
		}
	}
	return l, nil
}

// Unlock writes KEY1 and KEY2 into each bank's FLASH_KEYR when its
// FLASH_CR.LOCK is set, waits for an operation still running and clears
// the flags an earlier run left.
func (h *H7) Unlock(ctx context.Context) error {
	for i := range h.bank {
		r := &h.bank[i]
		cr, err := r.read(ctx, h7CR, "FLASH_CR")
		if err != nil {
			return err
		}
		if cr&h7CRLock != 0 {
			for _, k := range []uint32{flashKey1, flashKey2} {
				if err := r.write(ctx, h7KEYR, k, fmt.Sprintf("FLASH_KEYR%d", i+1)); err != nil {
					return err
				}
			}
			if cr, err = r.read(ctx, h7CR, "FLASH_CR"); err != nil {
				return err
			}
			if cr&h7CRLock != 0 {
				return fmt.Errorf("target: FLASH_CR%d stays locked after the keys: a wrong key locked it until the next reset (reset the chip and try again)", i+1)
			}
		}
		if _, err := r.idle(ctx, "unlock"); err != nil {
			return err
		}
		if err := r.write(ctx, h7CCR, r.errors()|h7SREOP, fmt.Sprintf("FLASH_CCR%d", i+1)); err != nil {
			return err
		}
	}
	return nil
}

// Lock sets LOCK in both banks' FLASH_CR.
func (h *H7) Lock(ctx context.Context) error {
	var first error
	for i := range h.bank {
		if err := h.bank[i].relock(ctx); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// Erase erases one sector: SER, SNB and PSIZE in the bank's FLASH_CR,
// then the same with START, as stm32h7x.c stm32x_erase does (RM0433 §4,
// sector erase); BSY and QW are waited for and FLASH_CR cleared.
func (h *H7) Erase(ctx context.Context, s Sector) error {
	id, ok := s.id.(h7Sector)
	if !ok {
		return fmt.Errorf("flash: %s is not a sector of this STM32H7's layout", s.Name)
	}
	r := &h.bank[id.bank]
	cr := h7CRSER | h7CRPSize | id.snb<<h7CRSNBPos
	if err := r.write(ctx, h7CR, cr, "FLASH_CR"); err != nil {
		return err
	}
	if err := r.write(ctx, h7CR, cr|h7CRStart, "FLASH_CR"); err != nil {
		return err
	}
	werr := h.wait(ctx, r, "erase of "+s.Name)
	if err := r.write(ctx, h7CR, 0, "FLASH_CR"); err != nil && werr == nil {
		werr = err
	}
	return werr
}

// Program sets PG and PSIZE in the bank's FLASH_CR and writes data flash
// word by flash word (eight 32-bit writes each; RM0433 §4, single
// write sequence), reading FLASH_SR until BSY and QW drop after every
// QuadWordsPerPoll flash words; flash words of all 0xFF are skipped (erased
// flash reads so, and an unwritten word keeps its ECC free).
func (h *H7) Program(ctx context.Context, addr uint32, data []byte, progress func(int)) error {
	if addr%h7FlashWord != 0 || len(data)%h7FlashWord != 0 {
		return fmt.Errorf("flash: program of %d bytes at 0x%08X: both must be multiples of %d (a flash word)", len(data), addr, h7FlashWord)
	}
	off := uint64(addr) - targets.FlashMemBase
	end := off + uint64(len(data))
	if addr < targets.FlashMemBase || end > 2*h7BankKB<<10 || (off < h7BankKB<<10) != (end <= h7BankKB<<10) {
		return fmt.Errorf("flash: program of %d bytes at 0x%08X: not inside one bank of the STM32H7's flash", len(data), addr)
	}
	r := &h.bank[off>>20]
	if err := r.write(ctx, h7CR, h7CRPG|h7CRPSize, "FLASH_CR"); err != nil {
		return err
	}
	// regCtl's program loop waits with its own wait, which clears flags in
	// SR; the H7 clears them in CCR, so the loop here is the H7's own.
	perr := h.programRuns(ctx, r, addr, data, progress)
	if err := r.write(ctx, h7CR, 0, "FLASH_CR"); err != nil && perr == nil {
		perr = err
	}
	if perr == nil && progress != nil {
		progress(len(data))
	}
	return perr
}

func (h *H7) programRuns(ctx context.Context, r *regCtl, addr uint32, data []byte, progress func(int)) error {
	const unit = h7FlashWord
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
		if err := r.t.WriteMem(ctx, a, data[i:j]); err != nil {
			return fmt.Errorf("target: writing %d bytes of flash at 0x%08X: %w", j-i, a, err)
		}
		if err := h.wait(ctx, r, fmt.Sprintf("program at 0x%08X", a)); err != nil {
			return err
		}
		if progress != nil && i/1024 != j/1024 {
			progress(j)
		}
		i = j
	}
	return nil
}

// wait reads the bank's FLASH_SR until BSY and QW drop, then reports its
// error flags and clears them (and EOP) through FLASH_CCR.
func (h *H7) wait(ctx context.Context, r *regCtl, op string) error {
	sr, err := r.idle(ctx, op)
	if err != nil {
		return err
	}
	bank := 1 + (r.regs-targets.H7FlashRegs)/h7Bank2Regs
	if sr&r.errors() == 0 {
		if sr&h7SREOP != 0 {
			return r.write(ctx, h7CCR, h7SREOP, fmt.Sprintf("FLASH_CCR%d", bank))
		}
		return nil
	}
	e := &FlagError{Op: op, Register: fmt.Sprintf("FLASH_SR%d", bank), NSSR: sr}
	for _, f := range r.flags {
		if sr&f.bit != 0 {
			e.Flags = append(e.Flags, f.text)
		}
	}
	if err := r.write(ctx, h7CCR, sr&(r.errors()|h7SREOP), fmt.Sprintf("FLASH_CCR%d", bank)); err != nil {
		return fmt.Errorf("%v; clearing them failed: %w", e, err)
	}
	return e
}
