package obytes

import (
	"context"
	"errors"
	"fmt"

	"github.com/stprobe/stprobe/targets"
)

// The option-byte programming sequences of the STM32U5 and STM32H7, run by
// Apply after the same checks, backup, journal and audit as the other RDP
// families (apply_families.go); docs/families.md lists every step with its
// source:
//
//   - STM32U5 (RM0456 §7.4.2 option bytes programming and loading, §7.6.2
//     read-out protection and TrustZone, §7.9 registers; CMSIS
//     stm32u585xx.h FLASH_NSCR_*, FLASH_NSSR_*; OpenOCD 0.12 stm32l4x.c,
//     whose U5 register table uses NSKEYR 0x08, OPTKEYR 0x10, NSSR 0x20,
//     NSCR 0x28, OPTR 0x40, with stm32l4_write_option and
//     stm32l4_perform_obl_launch): unlock NSCR (NSKEYR) and the option
//     registers (OPTKEYR), write the registers, set OPTSTRT, wait for BSY
//     and check OPTWERR, then OBL_LAUNCH: the option bytes load and the
//     chip resets. Leaving level 1 or 0.5 for 0 erases the flash first.
//   - STM32H7 (RM0433 §4.4 option bytes, §4.9 registers; CMSIS
//     stm32h743xx.h FLASH_OPTCR_*, FLASH_OPTSR_*, FLASH_OPTCCR_*; OpenOCD
//     0.12 stm32h7x.c stm32x_unlock_option_reg, stm32x_write_option): unlock
//     OPTCR (OPTKEYR), write the _PRG registers, clear OPTCHANGEERR
//     (OPTCCR), set OPTSTART, wait for OPT_BUSY in OPTSR_CUR to clear and
//     check OPTCHANGEERR, set OPTLOCK. The _CUR registers take the values
//     when OPT_BUSY clears; stprobe then resets the chip so that the boot
//     options apply too, and reconnects. Leaving level 1 for 0 mass-erases
//     both banks first.
//
// stprobe never writes an OEM key: on a U5 whose OEM1 key is provisioned a
// regression to level 0 is refused (the chip would refuse it without the
// key), and a closing that only that key could undo needs the brick
// override whatever proof the plan carries, since stprobe cannot check
// the key on the chip (its registers are write-only).

const (
	u5NSKEYR, u5OPTKEYR, u5NSSR, u5NSCR                       = 0x08, targets.U5FlashOPTKEYR, targets.U5FlashNSSR, targets.U5FlashNSCR
	u5CROPTSTRT, u5CROBLLAUNCH, u5CROPTLOCK, u5CRLOCK         = 1 << 17, 1 << 27, 1 << 30, 1 << 31
	u5SRBSY, u5SROPTWERR                                      = 1 << 16, 1 << 13
	u5SRErrors                                                = 0x20FA // OPERR, PROGERR, WRPERR, PGAERR, SIZERR, PGSERR, OPTWERR
	h7OPTKEYR, h7OPTCR, h7OPTSRCur, h7OPTCCR, h7PrgOffset     = targets.H7FlashOPTKEYR, targets.H7FlashOPTCR, targets.H7FlashOPTSRCur, 0x24, 4
	h7OPTLOCK, h7OPTSTART, h7OPTBUSY, h7OPTCHANGEERR, h7OPTSR = 1 << 0, 1 << 1, 1 << 0, 1 << 30, "OPTSR_CUR"
)

// u5Guard refuses, before anything is written, what a U5 would refuse or
// what stprobe cannot make safe: a regression with an OEM1 key
// provisioned, a closing only that key could undo (without the brick
// override), TrustZone turned off without a regression to level 0.
func (f *familyRun) u5Guard() error {
	x := f.x
	before, after := x.p.Before.Cur, x.p.After
	from := u5Level(before["OPTR"]&0xFF, before["OPTR"]>>31)
	to := u5Level(after["OPTR"]&0xFF, after["OPTR"]>>31)
	oem1 := before["NSSR"]&(1<<18) != 0
	switch {
	case oem1 && from != targets.RDPLevel0 && to == targets.RDPLevel0:
		return fmt.Errorf("obytes: an OEM1 key is provisioned on this STM32U5 (FLASH_NSSR OEM1LOCK) and stprobe does not write OEM keys: the chip would refuse the regression to level 0 (nothing written); %s", u5OEMWay)
	case oem1 && to > from && to != targets.RDPLevel2 && !x.o.OverrideBrick:
		return fmt.Errorf("obytes: closing this STM32U5 to RDP %v with an OEM1 key provisioned needs the brick override: stprobe cannot check the key on the chip, so the way back is not proven (nothing written)", to)
	case before["OPTR"]&targets.U5TZEN != 0 && after["OPTR"]&targets.U5TZEN == 0 && !(from != targets.RDPLevel0 && to == targets.RDPLevel0):
		return errors.New("obytes: TrustZone (TZEN) turns off only together with an RDP regression to level 0 (RM0456 §7.6.2); the chip would refuse it (nothing written)")
	}
	return nil
}

// programU5 is the U5's sequence for one phase (RM0456, FLASH_NSKEYR,
// FLASH_OPTKEYR, OPTSTRT and OBL_LAUNCH in FLASH_NSCR), after its own
// refusals.
func (f *familyRun) programU5(ctx context.Context, ph Phase) error {
	if err := f.u5Guard(); err != nil {
		return err
	}
	return f.programOBL(ctx, ph, oblRegs{keyr: u5NSKEYR, optkeyr: u5OPTKEYR, sr: u5NSSR, cr: u5NSCR,
		lock: u5CRLOCK, optLock: u5CROPTLOCK, optStrt: u5CROPTSTRT, oblLaunch: u5CROBLLAUNCH,
		busy: u5SRBSY, errors: u5SRErrors, keyName: "FLASH_NSKEYR", crName: "FLASH_NSCR"})
}

// h7Prg is the value a _PRG register takes for cur's register: OPTSR_PRG
// has neither OPT_BUSY nor OPTCHANGEERR (status bits of OPTSR_CUR only).
func h7Prg(name string, v uint32) uint32 {
	if name == h7OPTSR {
		return v &^ (h7OPTBUSY | h7OPTCHANGEERR)
	}
	return v
}

// programH7 is the H7's sequence for one phase.
func (f *familyRun) programH7(ctx context.Context, ph Phase) error {
	x := f.x
	if err := f.stage(ph); err != nil {
		return err
	}
	before := x.p.Before.Cur
	undo := func(ctx context.Context) error {
		cr, err := f.rd(ctx, h7OPTCR)
		if err != nil {
			return err
		}
		if cr&h7OPTLOCK != 0 {
			return nil
		}
		for _, w := range ph.Writes {
			r, _ := x.l.Register(w.Register)
			if err := x.t.Write32(ctx, f.ap, r.CurAddr()+h7PrgOffset, h7Prg(w.Register, before[w.Register])); err != nil {
				return err
			}
		}
		return f.wr(ctx, h7OPTCR, h7OPTLOCK)
	}
	x.event("wait", "waiting for the option interface to be idle (OPT_BUSY)")
	sr, err := f.poll(ctx, h7OPTSRCur, h7OPTBUSY)
	if err != nil {
		return f.failStaged(ctx, ph, "wait idle", err, undo)
	}
	if sr&h7OPTCHANGEERR != 0 {
		if err := f.wr(ctx, h7OPTCCR, h7OPTCHANGEERR); err != nil {
			return f.failStaged(ctx, ph, "clear OPTCHANGEERR", err, undo)
		}
	}
	if err := f.unlock(ctx, h7OPTKEYR, famOptKey1, famOptKey2, h7OPTCR, h7OPTLOCK, false, "FLASH_OPTKEYR"); err != nil {
		return f.failStaged(ctx, ph, "unlock FLASH_OPTCR", err, undo)
	}
	want := f.want(ph)
	f.written = true
	for _, w := range ph.Writes {
		r, _ := x.l.Register(w.Register)
		v := h7Prg(w.Register, want[w.Register])
		if err := f.writeOption(ctx, ph, r.Name, r.CurAddr()+h7PrgOffset, v, trimCur(r.Name)+"_PRG", "the _PRG twin of FLASH_"+r.Name, undo); err != nil {
			return err
		}
	}
	if err := f.journalStart(ctx, ph, want, undo); err != nil {
		return err
	}
	fctx, cancel := x.finishCtx(ctx)
	defer cancel()
	if err := f.start(fctx, ph, h7OPTCR, h7OPTSTART, h7OPTSRCur, h7OPTBUSY, h7OPTCHANGEERR); err != nil {
		_ = f.wr(fctx, h7OPTCCR, h7OPTCHANGEERR)
		_ = f.wr(fctx, h7OPTCR, h7OPTLOCK)
		return err
	}
	if err := f.wr(fctx, h7OPTCR, h7OPTLOCK); err != nil {
		return f.failStarted(fctx, ph, "OPTLOCK", err)
	}
	return f.resetToLoad(fctx, ph, "the option bytes apply when OPT_BUSY clears; the boot address and bank swap at the next reset (RM0433 §4.4)")
}

// trimCur drops the _CUR of an H7 register name (OPTSR_CUR → OPTSR,
// PRAR_CUR1 → PRAR1) for the event log.
func trimCur(name string) string {
	for i := 0; i+4 <= len(name); i++ {
		if name[i:i+4] == "_CUR" {
			return name[:i] + name[i+4:]
		}
	}
	return name
}
