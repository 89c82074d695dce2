package flashprog

import (
	"context"
	"fmt"
	"strconv"

	"github.com/stprobe/stprobe/targets"
	"github.com/stprobe/stprobe/targets/flashreg"
)

// h7BankKB is one bank of the STM32H74x/75x flash in KiB (register facts
// and sources: targets/flashreg).
const h7BankKB = flashreg.H7BankSize >> 10

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
		h.bank[i] = regCtl{t: t, o: o, regs: targets.H7FlashRegs + uint32(i)*flashreg.H7Bank2Regs,
			Interface: flashreg.H7Interface(), bank: strconv.Itoa(i + 1)}
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
	l, refuse, err := newLayout(ctx, h.chip, h.bank[0].t, uint32(kb)<<10, flashreg.H7FlashWord)
	if err != nil {
		return nil, err
	}
	optsr, err := h.bank[0].read(ctx, targets.H7FlashOPTSRCur, "FLASH_OPTSR_CUR")
	if err != nil {
		return nil, err
	}
	if optsr&flashreg.H7OPTSRSwapBank != 0 {
		return nil, fmt.Errorf("flash: FLASH_OPTSR_CUR 0x%08X has SWAP_BANK set (bank 2 mapped at 0x08000000, RM0433 §4, bank swapping), which stprobe does not drive yet; clear it with `stprobe ob apply` or use OpenOCD", optsr)
	}
	addr := uint32(targets.FlashMemBase)
	for bank, reg := range []uint32{targets.H7FlashWPSN1, targets.H7FlashWPSN2} {
		name := fmt.Sprintf("FLASH_WPSN_CUR%d", bank+1)
		wpsn, err := h.bank[0].read(ctx, reg, name)
		if err != nil {
			return nil, err
		}
		for i := uint32(0); i < h7BankKB<<10/flashreg.H7SectorSize; i++ {
			s := Sector{Name: fmt.Sprintf("bank %d sector %d", bank+1, i), Addr: addr, Size: flashreg.H7SectorSize, id: h7Sector{uint32(bank), i}}
			switch {
			case refuse != "":
				s.Protected = refuse
			case wpsn>>i&1 == 0: // WRPSn: 0 protects the sector (stm32h7x.c stm32x_protect_check)
				s.Protected = fmt.Sprintf("write-protected by %s WRPS%d (0x%08X); `ob apply` lifts it", name, i, wpsn)
			}
			l.Sectors = append(l.Sectors, s)
			addr += flashreg.H7SectorSize
		}
	}
	return l, nil
}

// Unlock writes KEY1 and KEY2 into each bank's FLASH_KEYR when its
// FLASH_CR.LOCK is set, waits for an operation still running and clears
// the flags an earlier run left.
func (h *H7) Unlock(ctx context.Context) error {
	for i := range h.bank {
		if err := h.bank[i].unlock(ctx); err != nil {
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
	id, err := sectorOf[h7Sector](s, "STM32H7")
	if err != nil {
		return err
	}
	r := &h.bank[id.bank]
	cr := flashreg.H7CRSER | flashreg.H7CRPSize | id.snb<<flashreg.H7CRSNBShift
	return r.operate(ctx, "erase of "+s.Name, cr, cr|flashreg.H7CRStart)
}

// Program sets PG and PSIZE in the bank's FLASH_CR and writes data flash
// word by flash word (eight 32-bit writes each; RM0433 §4, single
// write sequence), reading FLASH_SR until BSY and QW drop after every
// QuadWordsPerPoll flash words; flash words of all 0xFF are skipped (erased
// flash reads so, and an unwritten word keeps its ECC free).
func (h *H7) Program(ctx context.Context, addr uint32, data []byte, progress func(int)) error {
	if addr%flashreg.H7FlashWord != 0 || len(data)%flashreg.H7FlashWord != 0 {
		return fmt.Errorf("flash: program of %d bytes at 0x%08X: both must be multiples of %d (a flash word)", len(data), addr, flashreg.H7FlashWord)
	}
	off := uint64(addr) - targets.FlashMemBase
	end := off + uint64(len(data))
	if addr < targets.FlashMemBase || end > 2*h7BankKB<<10 || (off < h7BankKB<<10) != (end <= h7BankKB<<10) {
		return fmt.Errorf("flash: program of %d bytes at 0x%08X: not inside one bank of the STM32H7's flash", len(data), addr)
	}
	r := &h.bank[off>>20]
	return programWords(ctx, r, flashreg.H7CRPG|flashreg.H7CRPSize, flashreg.H7FlashWord, addr, data, progress, r.t.WriteMem)
}
