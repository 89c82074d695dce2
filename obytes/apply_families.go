package obytes

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/stprobe/stprobe/statefile"
	"github.com/stprobe/stprobe/targets"
)

// The option-byte programming sequences of the families protected by
// read-out protection levels, run by Apply after the same checks, backup,
// journal and audit as the STM32H5's (apply.go). Each family has one
// sequence; docs/families.md lists every step with its source:
//
//   - STM32F1 (PM0075 §2.4, §3; RM0008 §2.5; OpenOCD 0.12 stm32f1x.c
//     stm32x_erase_options, stm32x_write_options): unlock the FPEC
//     (FLASH_KEYR) and the option bytes (FLASH_OPTKEYR → CR.OPTWRE), erase
//     the option-byte block (CR.OPTER + STRT), program its eight half-words
//     (CR.OPTPG; the FPEC writes each complement), lock, and reset the chip
//     so that FLASH_OBR/WRPR load the new values. Programming RDP = 0xA5 at
//     level 1 mass-erases the flash first.
//   - STM32F4 (RM0090 §3.6.1-3.6.2, §3.9.10; OpenOCD stm32f2x.c
//     stm32x_write_options): unlock FLASH_OPTCR (FLASH_OPTKEYR), write the
//     new values (OPTCR1 first on dual-bank lines), set OPTSTRT, wait for
//     BSY, set OPTLOCK, reset the chip.
//   - STM32G0, G4, L4 (RM0444 §3.4.2, RM0440 §5.4.2, RM0351 §3.4.2;
//     OpenOCD stm32l4x.c stm32l4_write_option, stm32l4_perform_obl_launch):
//     unlock FLASH_CR (FLASH_KEYR) and the option registers (FLASH_OPTKEYR),
//     write the registers, set OPTSTRT, wait for BSY, then OBL_LAUNCH: the
//     option bytes load and the chip resets, dropping the debug link.
//
// Unlike the STM32H5 these chips have no _PRG copy: before the start bit
// the undo writes the registers back (F4, G0/G4/L4) and locks; on the F1
// the option-byte erase is the start, after which the block must be
// programmed in full.

// Flash interface registers and bits the family sequences use (offsets
// from the family's flash register block; the simulator's controller in
// targets/stm32rdp cites the same sources).
const (
	famKey1    = 0x45670123
	famKey2    = 0xCDEF89AB
	famOptKey1 = 0x08192A3B
	famOptKey2 = 0x4C5D6E7F

	f1KEYR, f1OPTKEYR, f1SR, f1CR                        = 0x04, 0x08, 0x0C, 0x10
	f1CROPTPG, f1CROPTER, f1CRSTRT, f1CRLOCK, f1CROPTWRE = 1 << 4, 1 << 5, 1 << 6, 1 << 7, 1 << 9
	f1SRBSY, f1SRPGERR, f1SRWRPRTERR                     = 1 << 0, 1 << 2, 1 << 4
	f4KEYR, f4OPTKEYR, f4SR, f4OPTCR, f4OPTCR1           = 0x04, 0x08, 0x0C, 0x14, 0x18
	f4OPTLOCK, f4OPTSTRT, f4SRBSY, f4SRErrors            = 1 << 0, 1 << 1, 1 << 16, 0xF2 // OPERR, WRPERR, PGAERR, PGPERR, PGSERR
	l4KEYR, l4OPTKEYR, l4SR, l4CR                        = 0x08, 0x0C, 0x10, 0x14
	l4CROPTSTRT, l4CROBLLAUNCH, l4CROPTLOCK, l4CRLOCK    = 1 << 17, 1 << 27, 1 << 30, 1 << 31
	l4SRBSY, l4SRErrors                                  = 1 << 16, 0xC3FA // OPERR … FASTERR, RDERR, OPTVERR
	aircr, aircrSysReset                                 = 0xE000ED0C, 0x05FA0004
	f1OptionBlock                                        = 0x1FFFF800
	famFlashBase                                         = targets.FlashMemBase
)

// memWriter writes memory in narrower accesses than Write32: the F1's
// option bytes program by half-word only (PM0075 §2.4.3). *probe.Link has
// it.
type memWriter interface {
	WriteMem(ctx context.Context, ap uint8, addr uint32, width int, data []byte) error
}

// familyRun carries the family part of one Apply run.
type familyRun struct {
	x    *executor
	fam  targets.Family
	base uint32
	ap   uint8
	// written is set once an option register holds a new value (F4, G0,
	// G4, L4) before the start bit: a failure then has something to undo.
	written bool
}

func (f *familyRun) rd(ctx context.Context, off uint32) (uint32, error) {
	return f.x.t.Read32(ctx, f.ap, f.base+off)
}

func (f *familyRun) wr(ctx context.Context, off, v uint32) error {
	return f.x.t.Write32(ctx, f.ap, f.base+off, v)
}

// runFamily is run() for an RDP family: check, backup, the family's
// sequence, the reset that loads the option bytes, verification.
func (x *executor) runFamily(ctx context.Context) error {
	fam, _, ok := targets.LookupDevID(x.l.DevID)
	if !ok || fam.RDP == nil {
		return fmt.Errorf("obytes: DEV_ID 0x%03X is not a family with read-out protection levels", x.l.DevID)
	}
	f := &familyRun{x: x, fam: fam, base: fam.RDP.FlashRegs, ap: x.l.AP}
	err := x.checkAndBackup(ctx, f.uid, "")
	if err != nil {
		return err
	}

	for _, ph := range x.p.Phases {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("cancelled before phase %q (nothing written): %w", ph.Name, err)
		}
		switch fam.Name {
		case "STM32F1":
			err = f.programF1(ctx, ph)
		case "STM32F4":
			err = f.programF4(ctx, ph)
		case "STM32U5":
			err = f.programU5(ctx, ph) // apply_u5h7.go
		case "STM32H7":
			err = f.programH7(ctx, ph)
		default:
			err = f.programL4(ctx, ph)
		}
		if err != nil {
			return err
		}
		x.applied = append(x.applied, ph.Name)
		x.step()
	}
	if x.res.DebugClosed {
		x.step()
		return nil
	}
	fctx, cancel := x.finishCtx(ctx)
	defer cancel()
	return f.verify(fctx)
}

// uid reads the family's 96-bit unique ID as targets.Chip.UIDString
// renders it.
func (f *familyRun) uid(ctx context.Context) (string, error) {
	var w [3]uint32
	for i := range w {
		v, err := f.x.t.Read32(ctx, f.ap, f.fam.UIDAddr+uint32(4*i))
		if err != nil {
			return "", fmt.Errorf("target: reading UID at 0x%08X through AP%d: %w", f.fam.UIDAddr+uint32(4*i), f.ap, err)
		}
		w[i] = v
	}
	return fmt.Sprintf("%08X%08X%08X", w[2], w[1], w[0]), nil
}

// poll reads SR (at off) until none of busy is set; it returns SR.
func (f *familyRun) poll(ctx context.Context, off, busy uint32) (uint32, error) {
	for i := 0; i < f.x.o.MaxPolls; i++ {
		if err := ctx.Err(); err != nil {
			return 0, fmt.Errorf("cancelled while polling FLASH_SR: %w", err)
		}
		sr, err := f.rd(ctx, off)
		if err != nil {
			return 0, fmt.Errorf("reading FLASH_SR: %w", err)
		}
		if sr&busy == 0 {
			return sr, nil
		}
	}
	return 0, fmt.Errorf("FLASH_SR still busy after %d reads", f.x.o.MaxPolls)
}

// unlock writes two keys to the key register at keyOff unless the lock
// bit at (lockOff, lockBit) is already clear (set when clearWhenUnlocked
// is false: the F1's OPTWRE), and checks that it took.
func (f *familyRun) unlock(ctx context.Context, keyOff, k1, k2, lockOff, bit uint32, setWhenUnlocked bool, name string) error {
	locked := func() (bool, error) {
		v, err := f.rd(ctx, lockOff)
		if err != nil {
			return false, err
		}
		return (v&bit != 0) != setWhenUnlocked, nil
	}
	l, err := locked()
	if err != nil || !l {
		return err
	}
	f.x.event("unlock", "writing the %s keys", name)
	if err := f.wr(ctx, keyOff, k1); err != nil {
		return err
	}
	if err := f.wr(ctx, keyOff, k2); err != nil {
		return err
	}
	if l, err = locked(); err != nil {
		return err
	}
	if l {
		return fmt.Errorf("%s keys written but the register stays locked (a wrong key earlier locks it until the next reset): reset the chip and retry", name)
	}
	return nil
}

// waitIdle waits until the flash interface is idle (no busy bit in the SR
// at srOff) and clears the error flags errs left set from before.
func (f *familyRun) waitIdle(ctx context.Context, ph Phase, srOff, busy, errs uint32, undo func(context.Context) error) error {
	f.x.event("wait", "waiting for the flash to be idle")
	sr, err := f.poll(ctx, srOff, busy)
	if err != nil {
		return f.failStaged(ctx, ph, "wait idle", err, undo)
	}
	if sr&errs != 0 {
		if err := f.wr(ctx, srOff, sr&errs); err != nil {
			return f.failStaged(ctx, ph, "clear stale flags", err, undo)
		}
	}
	return nil
}

// stage journals that the phase's values are about to be staged in the
// option registers; nothing is written when the journal cannot be.
func (f *familyRun) stage(ph Phase) error {
	if err := f.x.record(ph, statefile.OutcomeStaging, nil); err != nil {
		return &WriteError{Phase: ph.Name, Step: "journal", Layer: "file", Err: err}
	}
	return nil
}

// writeOption writes v to the option register name at addr and reads it
// back; label names the write in the event log, what names the register
// in the error when the value did not hold. A failure ends the phase
// (failStaged, with undo).
func (f *familyRun) writeOption(ctx context.Context, ph Phase, name string, addr, v uint32, label, what string, undo func(context.Context) error) error {
	f.x.event("program", "%s ← 0x%08X", label, v)
	if err := f.x.t.Write32(ctx, f.ap, addr, v); err != nil {
		return f.failStaged(ctx, ph, "write "+name, err, undo)
	}
	got, err := f.x.t.Read32(ctx, f.ap, addr)
	if err != nil {
		return f.failStaged(ctx, ph, "read back "+name, err, undo)
	}
	if got != v {
		return f.failStaged(ctx, ph, "read back "+name, fmt.Errorf("%s reads 0x%08X after writing 0x%08X", what, got, v), undo)
	}
	return nil
}

// journalStart records, before the start bit, that the phase's values are
// about to be applied; when the run is cancelled or the journal cannot be
// written, the staged values are undone instead.
func (f *familyRun) journalStart(ctx context.Context, ph Phase, want map[string]uint32, undo func(context.Context) error) error {
	if err := ctx.Err(); err != nil {
		return f.failStaged(ctx, ph, "before OPTSTRT", fmt.Errorf("cancelled: %w", err), undo)
	}
	if err := f.x.record(ph, statefile.OutcomeStarted, want); err != nil {
		we := &WriteError{Phase: ph.Name, Step: "journal", Layer: "file", Staged: true, Err: err}
		if undo(ctx) == nil {
			we.Undone = true
		}
		return f.x.note(we)
	}
	return nil
}

// start sets the start bit (writes cr to the register at crOff), waits
// until the SR at srOff is no longer busy and checks its error flags errs.
func (f *familyRun) start(ctx context.Context, ph Phase, crOff, cr, srOff, busy, errs uint32) error {
	f.x.started = true
	bit := "OPTSTRT"
	if f.fam.Name == "STM32H7" {
		bit = "OPTSTART" // RM0433's name for it
	}
	f.x.event("start", "setting %s", bit)
	if err := f.wr(ctx, crOff, cr); err != nil {
		return f.failStarted(ctx, ph, bit, err)
	}
	f.x.event("wait", "waiting for the option change (an RDP 1 → 0 regression mass-erases first)")
	sr, err := f.poll(ctx, srOff, busy)
	if err != nil {
		return f.failStarted(ctx, ph, "wait BSY", err)
	}
	if sr&errs != 0 {
		_ = f.wr(ctx, srOff, sr&errs)
		return f.failStarted(ctx, ph, "check FLASH_SR", fmt.Errorf("%w: FLASH_SR=0x%08X", ErrOptionChangeRefused, sr))
	}
	return nil
}

// want is the value each register the phase writes must end with.
func (f *familyRun) want(ph Phase) map[string]uint32 {
	out := map[string]uint32{}
	for _, w := range ph.Writes {
		out[w.Register] = f.x.p.Before.Cur[w.Register]&^w.Mask | w.Value
	}
	return out
}

// failStaged ends a phase that failed before its start bit. undo writes
// the option registers back (when any was written) and locks the flash
// interface; the error says whether that was done.
func (f *familyRun) failStaged(ctx context.Context, ph Phase, step string, err error, undo func(context.Context) error) error {
	we := &WriteError{Phase: ph.Name, Step: step, Staged: f.written, Err: err}
	uctx, cancel := f.x.finishCtx(ctx)
	defer cancel()
	f.x.event("undo", "writing the option registers back and locking the flash interface")
	uerr := undo(uctx)
	switch {
	case uerr == nil:
		we.Undone = f.written
	case f.written:
		we.UndoErr = fmt.Errorf("%w; %s", uerr, f.reloadAdvice())
	default:
		// Nothing was written: at worst the flash interface stays unlocked
		// until the next reset.
		we.Err = fmt.Errorf("%w (the flash interface could not be locked again: %v; it locks at the next reset)", err, uerr)
	}
	we.Seen = f.seen(uctx)
	return f.x.note(we)
}

// reloadAdvice says what takes a written, unstarted option value back out
// of the registers on this family.
func (f *familyRun) reloadAdvice() string {
	switch f.fam.Name {
	case "STM32F1", "STM32F4":
		return fmt.Sprintf("on the %s a reset (NRST or power) loads the option registers again from the option bytes and locks them", f.fam.Name)
	case "STM32H7":
		return "on the STM32H7 the _PRG registers hold the unstarted values until a reset reloads them from the option bytes: reset the chip (NRST or power) before anything sets OPTSTART"
	}
	return fmt.Sprintf("on the %s a system reset does NOT reload the option registers: power-cycle the board (or OBL_LAUNCH) so that they load from the option bytes again, and never set OPTSTRT before", f.fam.Name)
}

// failStarted ends a phase that failed after its start bit: the chip is
// read back for the records.
func (f *familyRun) failStarted(ctx context.Context, ph Phase, step string, err error) error {
	f.x.started = true
	uctx, cancel := f.x.finishCtx(ctx)
	defer cancel()
	we := &WriteError{Phase: ph.Name, Step: step, Started: true, Err: err, Seen: f.seen(uctx)}
	if cur := curOf(we.Seen); cur != nil {
		we.Outcome = outcomeOf(f.x.planWant(), f.x.p.Before.Cur, we.Seen)
	} else {
		we.Outcome = statefile.OutcomeUnknown
	}
	return f.x.note(we)
}

// seen reads the option registers (as <REG>_CUR) and FLASH_SR/CR, best
// effort.
func (f *familyRun) seen(ctx context.Context) map[string]uint32 {
	out := map[string]uint32{}
	srOff, crOff := uint32(l4SR), uint32(l4CR)
	switch f.fam.Name {
	case "STM32F1":
		srOff, crOff = f1SR, f1CR
	case "STM32F4":
		srOff, crOff = f4SR, f4OPTCR
	case "STM32U5":
		srOff, crOff = u5NSSR, u5NSCR
	case "STM32H7":
		srOff, crOff = h7OPTSRCur, h7OPTCR
	}
	v, err := f.rd(ctx, srOff)
	if err != nil {
		return out
	}
	out["SR"] = v
	if v, err := f.rd(ctx, crOff); err == nil {
		out["CR"] = v
	}
	for _, r := range f.x.l.Registers {
		if v, err := f.x.t.Read32(ctx, f.ap, r.CurAddr()); err == nil {
			out[r.Name+"_CUR"] = v
		}
	}
	return out
}

// ---- STM32F1 ----

// f1Bytes are the eight option bytes (RDP, USER, Data0, Data1, WRP0..3)
// that give FLASH_OBR obr and FLASH_WRPR wrpr once loaded (RM0008 §2.5,
// PM0075 §3.3 FLASH_OBR: RDPRT [1], USER [9:2], Data0 [17:10], Data1
// [25:18]). RDP is 0xA5 for level 0; for level 1 the byte 0x00, as
// OpenOCD's stm32f1x lock writes.
func f1Bytes(obr, wrpr uint32) [8]byte {
	rdp := byte(targets.F1RDPKey)
	if obr&(1<<1) != 0 {
		rdp = 0x00
	}
	return [8]byte{rdp, byte(obr >> 2), byte(obr >> 10), byte(obr >> 18), byte(wrpr), byte(wrpr >> 8), byte(wrpr >> 16), byte(wrpr >> 24)}
}

func (f *familyRun) programF1(ctx context.Context, ph Phase) error {
	x := f.x
	mw, ok := x.t.(memWriter)
	if !ok {
		return errors.New("obytes: the F1's option bytes program by half-word and this connection writes words only (nothing written)")
	}
	if err := f.stage(ph); err != nil {
		return err
	}
	lock := func(ctx context.Context) error { return f.wr(ctx, f1CR, f1CRLOCK) }
	if err := f.waitIdle(ctx, ph, f1SR, f1SRBSY, f1SRPGERR|f1SRWRPRTERR, lock); err != nil {
		return err
	}
	if err := f.unlock(ctx, f1KEYR, famKey1, famKey2, f1CR, f1CRLOCK, false, "FLASH_KEYR"); err != nil {
		return f.failStaged(ctx, ph, "unlock FPEC", err, lock)
	}
	if err := f.unlock(ctx, f1OPTKEYR, famKey1, famKey2, f1CR, f1CROPTWRE, true, "FLASH_OPTKEYR"); err != nil {
		return f.failStaged(ctx, ph, "unlock option bytes", err, lock)
	}
	want := f.want(ph)
	after := x.p.After
	obytesNew := f1Bytes(after["OBR"], after["WRPR"])
	if err := ctx.Err(); err != nil {
		return f.failStaged(ctx, ph, "before the erase", fmt.Errorf("cancelled: %w", err), lock)
	}
	// The option-byte erase is the point of no return: from here the block
	// must be programmed in full, or the next reset loads erased bytes
	// (RDP 0xFF: level 1).
	if err := x.record(ph, statefile.OutcomeStarted, want); err != nil {
		// Nothing is written before the erase: lock and stop.
		_ = lock(ctx)
		return x.note(&WriteError{Phase: ph.Name, Step: "journal", Layer: "file", Err: err})
	}
	fctx, cancel := x.finishCtx(ctx)
	defer cancel()
	x.started = true
	x.event("start", "erasing the option-byte block (OPTER, STRT)")
	if err := f.wr(fctx, f1CR, f1CROPTER|f1CROPTWRE); err != nil {
		return f.failStarted(fctx, ph, "option erase", err)
	}
	if err := f.wr(fctx, f1CR, f1CROPTER|f1CRSTRT|f1CROPTWRE); err != nil {
		return f.failStarted(fctx, ph, "option erase", err)
	}
	if err := f.f1Check(fctx); err != nil {
		return f.failStarted(fctx, ph, "option erase", err)
	}
	if err := f.wr(fctx, f1CR, f1CROPTPG|f1CROPTWRE); err != nil {
		return f.failStarted(fctx, ph, "OPTPG", err)
	}
	names := []string{"RDP", "USER", "Data0", "Data1", "WRP0", "WRP1", "WRP2", "WRP3"}
	for i, b := range obytesNew {
		x.event("program", "%s ← 0x%02X", names[i], b)
		if err := mw.WriteMem(fctx, f.ap, f1OptionBlock+uint32(2*i), 2, []byte{b, 0x00}); err != nil {
			return f.failStarted(fctx, ph, "program "+names[i], err)
		}
		if err := f.f1Check(fctx); err != nil {
			return f.failStarted(fctx, ph, "program "+names[i], err)
		}
	}
	if err := lock(fctx); err != nil {
		return f.failStarted(fctx, ph, "LOCK", err)
	}
	return f.resetToLoad(fctx, ph, "the option bytes load at reset (PM0075 §2.5)")
}

// f1Check waits for the FPEC and reports PGERR or WRPRTERR.
func (f *familyRun) f1Check(ctx context.Context) error {
	sr, err := f.poll(ctx, f1SR, f1SRBSY)
	if err != nil {
		return err
	}
	if sr&(f1SRPGERR|f1SRWRPRTERR) != 0 {
		_ = f.wr(ctx, f1SR, sr&(f1SRPGERR|f1SRWRPRTERR))
		var flags []string
		if sr&f1SRPGERR != 0 {
			flags = append(flags, "PGERR")
		}
		if sr&f1SRWRPRTERR != 0 {
			flags = append(flags, "WRPRTERR")
		}
		return fmt.Errorf("%w: FLASH_SR=0x%08X (%s)", ErrOptionChangeRefused, sr, strings.Join(flags, ", "))
	}
	return nil
}

// ---- STM32F4 ----

func (f *familyRun) programF4(ctx context.Context, ph Phase) error {
	x := f.x
	if err := f.stage(ph); err != nil {
		return err
	}
	before := x.p.Before.Cur
	undo := func(ctx context.Context) error {
		optcr, err := f.rd(ctx, f4OPTCR)
		if err != nil {
			return err
		}
		if optcr&f4OPTLOCK == 0 {
			if _, ok := before["OPTCR1"]; ok {
				if err := f.wr(ctx, f4OPTCR1, before["OPTCR1"]); err != nil {
					return err
				}
			}
			if err := f.wr(ctx, f4OPTCR, before["OPTCR"]&^(f4OPTSTRT|f4OPTLOCK)); err != nil {
				return err
			}
			if err := f.wr(ctx, f4OPTCR, before["OPTCR"]&^f4OPTSTRT|f4OPTLOCK); err != nil {
				return err
			}
		}
		return nil
	}
	if err := f.waitIdle(ctx, ph, f4SR, f4SRBSY, f4SRErrors, undo); err != nil {
		return err
	}
	if err := f.unlock(ctx, f4OPTKEYR, famOptKey1, famOptKey2, f4OPTCR, f4OPTLOCK, false, "FLASH_OPTKEYR"); err != nil {
		return f.failStaged(ctx, ph, "unlock OPTCR", err, undo)
	}
	want := f.want(ph)
	optcr := x.p.After["OPTCR"] &^ (f4OPTSTRT | f4OPTLOCK)
	f.written = true
	if v, ok := want["OPTCR1"]; ok {
		x.event("program", "OPTCR1 ← 0x%08X", v)
		if err := f.wr(ctx, f4OPTCR1, v); err != nil {
			return f.failStaged(ctx, ph, "write OPTCR1", err, undo)
		}
	}
	x.event("program", "OPTCR ← 0x%08X", optcr)
	if err := f.wr(ctx, f4OPTCR, optcr); err != nil {
		return f.failStaged(ctx, ph, "write OPTCR", err, undo)
	}
	if err := f.journalStart(ctx, ph, want, undo); err != nil {
		return err
	}
	fctx, cancel := x.finishCtx(ctx)
	defer cancel()
	if err := f.start(fctx, ph, f4OPTCR, optcr|f4OPTSTRT, f4SR, f4SRBSY, f4SRErrors); err != nil {
		return err
	}
	if err := f.wr(fctx, f4OPTCR, optcr|f4OPTLOCK); err != nil {
		return f.failStarted(fctx, ph, "OPTLOCK", err)
	}
	return f.resetToLoad(fctx, ph, "the option bytes load at reset (RM0090 §3.6.1)")
}

// ---- STM32G0, G4, L4 ----

func (f *familyRun) programL4(ctx context.Context, ph Phase) error {
	return f.programOBL(ctx, ph, oblRegs{keyr: l4KEYR, optkeyr: l4OPTKEYR, sr: l4SR, cr: l4CR,
		lock: l4CRLOCK, optLock: l4CROPTLOCK, optStrt: l4CROPTSTRT, oblLaunch: l4CROBLLAUNCH,
		busy: l4SRBSY, errors: l4SRErrors, keyName: "FLASH_KEYR", crName: "FLASH_CR"})
}

// oblRegs are the registers and bits of a flash interface whose option
// bytes are programmed by OPTSTRT and loaded by OBL_LAUNCH (G0, G4, L4, U5).
type oblRegs struct {
	keyr, optkeyr, sr, cr                           uint32
	lock, optLock, optStrt, oblLaunch, busy, errors uint32
	keyName, crName                                 string
}

// programOBL is one phase on an OPTSTRT/OBL_LAUNCH flash interface:
// journal, unlock both keys, write and read back each register, OPTSTRT,
// OBL_LAUNCH (the chip resets), reconnect. A failure before OPTSTRT writes
// the registers back and locks the interface.
func (f *familyRun) programOBL(ctx context.Context, ph Phase, g oblRegs) error {
	x := f.x
	if err := f.stage(ph); err != nil {
		return err
	}
	before := x.p.Before.Cur
	undo := func(ctx context.Context) error {
		cr, err := f.rd(ctx, g.cr)
		if err != nil {
			return err
		}
		if cr&g.optLock == 0 {
			for _, w := range ph.Writes {
				r, _ := x.l.Register(w.Register)
				if err := x.t.Write32(ctx, f.ap, r.CurAddr(), before[w.Register]); err != nil {
					return err
				}
			}
		}
		if cr&g.lock != 0 {
			return nil // locked: the register ignores writes
		}
		return f.wr(ctx, g.cr, g.lock|g.optLock)
	}
	if err := f.waitIdle(ctx, ph, g.sr, g.busy, g.errors, undo); err != nil {
		return err
	}
	if err := f.unlock(ctx, g.keyr, famKey1, famKey2, g.cr, g.lock, false, g.keyName); err != nil {
		return f.failStaged(ctx, ph, "unlock "+g.crName, err, undo)
	}
	if err := f.unlock(ctx, g.optkeyr, famOptKey1, famOptKey2, g.cr, g.optLock, false, "FLASH_OPTKEYR"); err != nil {
		return f.failStaged(ctx, ph, "unlock option registers", err, undo)
	}
	want := f.want(ph)
	f.written = true
	for _, w := range ph.Writes {
		r, _ := x.l.Register(w.Register)
		if err := f.writeOption(ctx, ph, r.Name, r.CurAddr(), want[w.Register], r.Name, "FLASH_"+r.Name, undo); err != nil {
			return err
		}
	}
	if err := f.journalStart(ctx, ph, want, undo); err != nil {
		return err
	}
	fctx, cancel := x.finishCtx(ctx)
	defer cancel()
	if err := f.start(fctx, ph, g.cr, g.optStrt, g.sr, g.busy, g.errors); err != nil {
		return err
	}
	// OBL_LAUNCH loads the option bytes and resets the chip: the write
	// itself may fail as the link drops (OpenOCD stm32l4x.c ignores its
	// result for that reason; RM0456 FLASH_NSCR says the same of the U5).
	x.event("reset", "setting OBL_LAUNCH: the option bytes load, the chip resets")
	if err := f.wr(fctx, g.cr, g.oblLaunch); err != nil {
		x.event("reset", "link dropped at OBL_LAUNCH, as expected: %v", err)
	}
	return f.reconnect(fctx, ph)
}

// resetToLoad resets the chip (AIRCR.SYSRESETREQ) so that the option bytes
// load (F1, F4), then reconnects.
func (f *familyRun) resetToLoad(ctx context.Context, ph Phase, why string) error {
	f.x.event("reset", "resetting the chip: %s", why)
	if err := f.x.t.Write32(ctx, f.ap, aircr, aircrSysReset); err != nil {
		f.x.event("reset", "the link dropped at the reset: %v", err)
	}
	return f.reconnect(ctx, ph)
}

// reconnect connects again after the reset, over a fresh handle from Reopen
// when needed.
func (f *familyRun) reconnect(ctx context.Context, ph Phase) error {
	x := f.x
	x.event("reconnect", "reconnecting (Hot Plug, AP%d)", f.ap)
	var err error
	if x.o.Reconnect != nil {
		err = x.o.Reconnect(ctx)
	} else {
		err = errors.New("no Reconnect hook")
	}
	if err != nil && x.o.Reopen != nil {
		t, rerr := x.o.Reopen(ctx)
		if t != nil && rerr == nil {
			x.t, x.reopened, err = t, true, nil
		} else {
			err = fmt.Errorf("%w; opening the probe again: %v", err, rerr)
		}
	}
	if err != nil && f.closesDebug() {
		// Level 2 disables the debug port for ever: a link that does not
		// come back is what the plan intended (RM0090 §3.7.3, RM0351
		// §3.5.1). The option bytes cannot be read back.
		x.res.DebugClosed = true
		x.res.Notes = append(x.res.Notes, fmt.Sprintf("the debug port no longer answers after the reset (%v), as RDP level 2 intends: the chip cannot be debugged again and its option bytes cannot be read back", err))
		x.event("verify", "debug port silent after the reset, as RDP level 2 intends")
		return nil
	}
	if err != nil {
		return f.failStarted(ctx, ph, "reconnect", err)
	}
	return nil
}

// closesDebug reports whether the plan sets RDP level 2.
func (f *familyRun) closesDebug() bool {
	rdp, ok := f.x.l.Field("RDP")
	return ok && f.x.l.rdpLevelOf(rdp.Get(f.x.p.After[rdp.Register])) == targets.RDPLevel2
}

// verify reads the option bytes back and compares them with the plan; after
// an RDP level 1 → 0 regression it checks that flash reads back erased.
func (f *familyRun) verify(ctx context.Context) error {
	x := f.x
	x.event("verify", "reading the option bytes back")
	after, err := ReadSnapshot(ctx, x.t, x.l)
	if err != nil {
		return f.failStarted(ctx, x.p.Phases[len(x.p.Phases)-1], "read back", err)
	}
	x.res.After = after
	if err := x.verifyAll(after); err != nil {
		return err
	}
	x.res.Verified = true
	x.step()
	rdp, ok := x.l.Field("RDP")
	if !ok {
		return nil
	}
	from := x.l.rdpLevelOf(rdp.Get(x.p.Before.Cur[rdp.Register]))
	to := x.l.rdpLevelOf(rdp.Get(after.Cur[rdp.Register]))
	if (from == targets.RDPLevel1 || from == targets.RDPLevel05) && to == targets.RDPLevel0 {
		v, err := x.t.Read32(ctx, f.ap, famFlashBase)
		switch {
		case err != nil:
			x.res.Notes = append(x.res.Notes, fmt.Sprintf("RDP is level 0, but flash at 0x%08X does not read yet (%v): a power cycle may be needed for the level to come into force", uint32(famFlashBase), err))
		case v == 0xFFFFFFFF:
			x.res.Notes = append(x.res.Notes, fmt.Sprintf("RDP is level 0 and the flash was mass-erased: 0x%08X reads 0xFFFFFFFF", uint32(famFlashBase)))
		default:
			x.res.Notes = append(x.res.Notes, fmt.Sprintf("RDP is level 0, but flash at 0x%08X reads 0x%08X, not erased", uint32(famFlashBase), v))
		}
	}
	return nil
}

// WriteNote says in one line how option bytes of this layout are written:
// the family's sequence, or why stprobe does not write them.
func (l *Layout) WriteNote() string {
	if why := l.ApplyRefusal(); why != "" {
		return why
	}
	switch l.Family {
	case "STM32F1":
		return "stprobe ob apply: FPEC and option keys, option-byte erase, eight half-words programmed, reset to load them (an RDP 1 → 0 change mass-erases the flash)"
	case "STM32F4":
		return "stprobe ob apply: option keys, FLASH_OPTCR written, OPTSTRT, reset to load them (an RDP 1 → 0 change mass-erases the flash)"
	case "STM32G0", "STM32G4", "STM32L4":
		return "stprobe ob apply: flash and option keys, option registers written, OPTSTRT, OBL_LAUNCH to load them (the chip resets; an RDP 1 → 0 change mass-erases the flash)"
	case "STM32U5":
		return "stprobe ob apply: NSKEYR and option keys, FLASH_OPTR and the other option registers written, OPTSTRT, OBL_LAUNCH to load them (the chip resets; leaving level 1 or 0.5 for 0 erases the flash; OEM keys are never written)"
	case "STM32H7":
		return "stprobe ob apply: option keys, the _PRG registers written, OPTSTART, OPT_BUSY, OPTLOCK, reset (leaving level 1 for 0 mass-erases both banks)"
	}
	return "stprobe ob apply: unlock, _PRG registers, OPTSTRT"
}
