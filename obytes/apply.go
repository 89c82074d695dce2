package obytes

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"time"

	"github.com/stprobe/stprobe/targets"
)

// FLASH register offsets and bits of the option-byte programming sequence
// (security reference §2.2, §2.3, §2.6, §2.8).
const (
	offOPTKEYR = targets.FlashOPTKEYR
	offOPTCR   = targets.FlashOPTCR
	offNSSR    = targets.FlashNSSR
	offNSCCR   = targets.FlashNSCCR

	optKey1 = targets.OptKey1
	optKey2 = targets.OptKey2

	optcrOPTLOCK = targets.OPTCROptLock
	optcrOPTSTRT = targets.OPTCROptStart

	nssrBSY          = targets.NSSRBusy
	nssrWBNE         = targets.NSSRWriteBuf
	nssrDBNE         = targets.NSSRDataBuf
	nssrWRPERR       = targets.NSSRWRPErr
	nssrPGSERR       = targets.NSSRPGSErr
	nssrOPTCHANGEERR = targets.NSSROptChangeErr
	nssrErrors       = targets.NSSRErrors // WRPERR … OPTCHANGEERR, bits 17–23
)

// DBGMCU_SR through AP0: bit 17 says AP1 is enabled (security reference §3.1).
const (
	dbgmcuSRAP0   = targets.H5DBGMCUAP0 + targets.DBGMCUSR
	srAP1Enabled  = 1 << (16 + targets.H5CoreAP)
	defaultPolls  = 10000
	applyStepsFor = 4 // check, backup, verify, audit (besides the phases)
)

// Errors of Apply that come before any write.
var (
	// ErrNotConfirmed: the confirmation phrase does not match the plan's.
	ErrNotConfirmed = errors.New("confirmation phrase does not match the plan")
	// ErrNeedsOverride: a brick plan without the explicit override.
	ErrNeedsOverride = errors.New("this plan can brick the chip and needs the explicit override")
	// ErrStalePlan: the chip's option bytes changed since the plan was made.
	ErrStalePlan = errors.New("the option bytes changed since the plan was made; plan again")
	// ErrPendingWrite: an earlier write was interrupted; look at the chip first.
	ErrPendingWrite = errors.New("an earlier option-byte write was interrupted or failed")
	// ErrOptionChangeRefused: the chip raised OPTCHANGEERR or PGSERR.
	ErrOptionChangeRefused = errors.New("the chip refused the option-byte change")
	// ErrVerify: after the write, _CUR does not hold what was asked.
	ErrVerify = errors.New("option bytes read back differ from what was written")
)

// ErrCoreAPClosed is wrapped by a Reconnect hook whose link came back but
// whose AP1 did not (the new product state closed debug).
var ErrCoreAPClosed = errors.New("AP1 (core access port) is closed")

// UIDAddr is the 96-bit unique ID in the engineering area (three words).
const UIDAddr = targets.H5UID

// ReadUID reads the unique ID through AP1 and renders it as ST tools do
// (word 2, word 1, word 0 in hex), like targets.Chip.UIDString.
func ReadUID(ctx context.Context, t Target) (string, error) {
	var w [3]uint32
	for i := range w {
		v, err := t.Read32(ctx, CoreAP, UIDAddr+uint32(4*i))
		if err != nil {
			return "", fmt.Errorf("target: reading UID at 0x%08X through AP%d: %w", UIDAddr+uint32(4*i), CoreAP, err)
		}
		w[i] = v
	}
	return fmt.Sprintf("%08X%08X%08X", w[2], w[1], w[0]), nil
}

// Event is one progress step of Apply, for a UI to render.
type Event struct {
	Step    string
	Message string
	Done    int
	Total   int
}

// ApplyOptions are the confirmations, hooks and places Apply uses.
type ApplyOptions struct {
	// Confirm must equal Plan.Phrase.
	Confirm string
	// OverrideBrick must be set for a brick plan.
	OverrideBrick bool
	// StateDir holds backups, the audit log and the journal
	// (see DefaultStateDir).
	StateDir string
	// User and ProbeSerial go into the audit log and the journal.
	User, ProbeSerial string
	// Reconnect brings the link back after a reset (Hot Plug on AP1). It
	// wraps ErrCoreAPClosed when the link came back but AP1 stays closed.
	// Plans with a resetting phase need it.
	Reconnect func(ctx context.Context) error
	// Events receives progress; nil discards it.
	Events func(Event)
	// MaxPolls bounds every busy-wait (default 10000 reads).
	MaxPolls int
	// Now stamps files and records (default time.Now).
	Now func() time.Time
}

// Result is what Apply did.
type Result struct {
	Plan   *Plan     `json:"plan"`
	Backup string    `json:"backup"`
	After  *Snapshot `json:"after,omitempty"`
	// Verified is true when _CUR was read back and matches the plan.
	Verified bool `json:"verified"`
	// DebugClosed is true when the new product state closed AP1 as expected
	// and the result was checked through AP0 (DBGMCU_SR) instead.
	DebugClosed bool     `json:"debug_closed"`
	Notes       []string `json:"notes,omitempty"`
}

// WriteError is a write that failed or was interrupted, with the register
// values seen at that moment.
type WriteError struct {
	Phase string
	Step  string
	// Started is true when OPTSTRT was set: the chip may hold new values.
	Started bool
	// Seen holds the register values read when it failed (NSSR, OPTCR,
	// <REG>_CUR, <REG>_PRG).
	Seen map[string]uint32
	Err  error
}

// Error says what failed, what the chip showed and what to do.
func (e *WriteError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "target: option-byte write, phase %q, step %s: %v", e.Phase, e.Step, e.Err)
	if len(e.Seen) > 0 {
		keys := make([]string, 0, len(e.Seen))
		for k := range e.Seen {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		b.WriteString("; registers seen:")
		for _, k := range keys {
			fmt.Fprintf(&b, " %s=0x%08X", k, e.Seen[k])
		}
	}
	if e.Started {
		b.WriteString("; the programming had started: reconnect (Hot Plug, AP1) and read the option bytes; the journal records it")
	} else {
		b.WriteString("; nothing was applied")
	}
	return b.String()
}

// Unwrap returns the cause.
func (e *WriteError) Unwrap() error { return e.Err }

// executor carries one Apply run.
type executor struct {
	t      Target
	l      *Layout
	p      *Plan
	o      ApplyOptions
	done   int
	total  int
	res    *Result
	backup string
}

func (x *executor) event(step, format string, args ...any) {
	if x.o.Events == nil {
		return
	}
	x.o.Events(Event{Step: step, Message: fmt.Sprintf(format, args...), Done: x.done, Total: x.total})
}

func (x *executor) step() { x.done++ }

func (x *executor) read(ctx context.Context, off uint32) (uint32, error) {
	return x.t.Read32(ctx, CoreAP, FlashBase+off)
}

func (x *executor) write(ctx context.Context, off, v uint32) error {
	return x.t.Write32(ctx, CoreAP, FlashBase+off, v)
}

// Apply carries out a confirmed plan: it checks the confirmation, re-reads
// the option bytes (refusing a stale plan), saves a backup, runs each phase
// with the chip's programming sequence (journal written before OPTSTRT),
// reconnects after a reset, verifies, and appends to the audit log. A
// failure after the first write is a *WriteError with the register values
// seen; the journal then stays for CheckJournal to report.
func Apply(ctx context.Context, t Target, p *Plan, o ApplyOptions) (*Result, error) {
	if p == nil || p.Before == nil {
		return nil, errors.New("obytes: Apply needs a plan")
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.MaxPolls <= 0 {
		o.MaxPolls = defaultPolls
	}
	if o.StateDir == "" {
		d, err := DefaultStateDir()
		if err != nil {
			return nil, err
		}
		o.StateDir = d
	}
	l, err := ForDevID(p.DevID)
	if err != nil {
		return nil, err
	}
	x := &executor{t: t, l: l, p: p, o: o, total: len(p.Phases) + applyStepsFor, res: &Result{Plan: p}}
	if err := x.preflight(); err != nil {
		x.audit("refused", err, nil)
		return nil, err
	}
	if err := x.run(ctx); err != nil {
		var after map[string]uint32
		var we *WriteError
		if errors.As(err, &we) && we.Started {
			after = curOf(we.Seen)
		}
		x.audit("failed", err, after)
		return x.res, err
	}
	return x.res, nil
}

// preflight checks what needs no chip access.
func (x *executor) preflight() error {
	if err := x.recheck(); err != nil {
		return err
	}
	if x.o.Confirm != x.p.Phrase {
		return fmt.Errorf("%w: type %q", ErrNotConfirmed, x.p.Phrase)
	}
	if x.p.NeedsOverride && !x.o.OverrideBrick {
		return fmt.Errorf("%w (%s)", ErrNeedsOverride, x.p.Risk)
	}
	for _, ph := range x.p.Phases {
		if ph.Resets && x.o.Reconnect == nil {
			return fmt.Errorf("obytes: phase %q resets the chip and no Reconnect hook was given", ph.Name)
		}
	}
	j, err := CheckJournal(x.o.StateDir)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrPendingWrite, err)
	}
	if j != nil {
		return fmt.Errorf("%w: %s Clear the journal once you have checked the chip", ErrPendingWrite, j)
	}
	return nil
}

// ErrPlanMismatch: the plan given to Apply is not what the rules make of
// its changes (edited by hand, or made by another version of the rules).
var ErrPlanMismatch = errors.New("the plan does not match what the rules make of its changes; plan again")

// recheck runs the rules again on the plan's own changes and snapshot, so
// that a plan edited after MakePlan (risk lowered, phases added) is refused.
func (x *executor) recheck() error {
	if x.p.fromRules() {
		return nil // straight from MakePlan: the rules ran once already
	}
	as := make([]Assignment, 0, len(x.p.Changes))
	for _, c := range x.p.Changes {
		f, ok := x.l.Field(c.Field)
		if !ok {
			return fmt.Errorf("%w: unknown field %s", ErrPlanMismatch, c.Field)
		}
		as = append(as, Assignment{Field: f, Value: c.To.Raw})
	}
	again, err := MakePlan(PlanInput{Layout: x.l, UID: x.p.UID, Before: x.p.Before, DA: x.p.DA}, as)
	if err != nil {
		return err
	}
	if again.Risk != x.p.Risk || again.Phrase != x.p.Phrase || again.NeedsOverride != x.p.NeedsOverride ||
		!reflect.DeepEqual(again.Phases, x.p.Phases) || !reflect.DeepEqual(again.After, x.p.After) {
		return ErrPlanMismatch
	}
	return nil
}

// run does the chip work.
func (x *executor) run(ctx context.Context) error {
	x.event("check", "re-reading the option bytes")
	now, err := ReadSnapshot(ctx, x.t, x.l)
	if err != nil {
		return fmt.Errorf("re-reading before the write: %w", err)
	}
	if x.p.UID != "" {
		uid, err := ReadUID(ctx, x.t)
		if err != nil {
			return fmt.Errorf("re-reading the chip's UID before the write: %w", err)
		}
		if uid != x.p.UID {
			return fmt.Errorf("%w: it was made for chip %s, this is chip %s", ErrStalePlan, x.p.UID, uid)
		}
	}
	for name, v := range x.p.Before.Cur {
		if now.Cur[name] != v {
			return fmt.Errorf("%w: %s_CUR was 0x%08X, now 0x%08X", ErrStalePlan, name, v, now.Cur[name])
		}
	}
	x.step()
	x.event("backup", "saving every option byte")
	path, err := WriteBackup(x.o.StateDir, x.l, x.p.UID, now, x.o.Now())
	if err != nil {
		return fmt.Errorf("backup before the write (nothing written): %w", err)
	}
	x.backup, x.res.Backup = path, path
	x.step()
	x.event("backup", "saved %s", path)

	for _, ph := range x.p.Phases {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("cancelled before phase %q (earlier phases are applied): %w", ph.Name, err)
		}
		if ph.Direct {
			err = x.direct(ctx, ph)
		} else {
			err = x.program(ctx, ph)
		}
		if err != nil {
			return err
		}
		x.step()
	}

	x.event("verify", "reading the option bytes back")
	if !x.res.DebugClosed {
		after, err := ReadSnapshot(ctx, x.t, x.l)
		if err != nil {
			return &WriteError{Phase: "verify", Step: "read back", Started: true, Err: err}
		}
		x.res.After = after
		if err := x.verifyAll(after); err != nil {
			return err
		}
		x.res.Verified = true
	}
	x.step()
	if err := ClearJournal(x.o.StateDir); err != nil {
		x.res.Notes = append(x.res.Notes, err.Error())
	}
	var after map[string]uint32
	if x.res.After != nil {
		after = x.res.After.Cur
	}
	x.audit("ok", nil, after)
	x.step()
	x.event("done", "option bytes applied")
	return nil
}

// verifyAll compares every register with the plan's expected values.
func (x *executor) verifyAll(after *Snapshot) error {
	seen := map[string]uint32{}
	bad := false
	for _, r := range x.l.Registers {
		want := x.p.After[r.Name]
		if r.Direct {
			// Plain registers are lost at reset; only check them when no
			// phase reset the chip.
			if x.resets() {
				continue
			}
		}
		if got := after.Cur[r.Name]; got != want {
			seen[r.Name+"_CUR"] = got
			seen[r.Name+"_WANT"] = want
			bad = true
		}
	}
	if bad {
		return &WriteError{Phase: "verify", Step: "compare", Started: true, Seen: seen, Err: ErrVerify}
	}
	return nil
}

func (x *executor) resets() bool {
	for _, ph := range x.p.Phases {
		if ph.Resets {
			return true
		}
	}
	return false
}

// direct writes plain registers (PRIVCFGR) at once.
func (x *executor) direct(ctx context.Context, ph Phase) error {
	for _, w := range ph.Writes {
		r, _ := x.l.Register(w.Register)
		cur, err := x.read(ctx, r.Cur)
		if err != nil {
			return &WriteError{Phase: ph.Name, Step: "read " + r.Name, Err: err}
		}
		v := cur&^w.Mask | w.Value
		x.event("program", "%s ← 0x%08X", r.Name, v)
		if err := x.write(ctx, r.Cur, v); err != nil {
			return &WriteError{Phase: ph.Name, Step: "write " + r.Name, Seen: map[string]uint32{r.Name: cur}, Err: err}
		}
		got, err := x.read(ctx, r.Cur)
		if err != nil || got&w.Mask != w.Value {
			return &WriteError{Phase: ph.Name, Step: "verify " + r.Name, Started: true, Seen: map[string]uint32{r.Name: got}, Err: errors.Join(ErrVerify, err)}
		}
	}
	return nil
}

// program runs the option-byte programming sequence for one phase.
func (x *executor) program(ctx context.Context, ph Phase) error {
	fail := func(step string, started bool, err error) error {
		we := &WriteError{Phase: ph.Name, Step: step, Started: started, Err: err, Seen: x.seen(context.WithoutCancel(ctx), ph)}
		if started {
			x.failJournal(ph, we)
		}
		return we
	}
	// 1. Not busy.
	x.event("wait", "waiting for the flash to be idle")
	sr, err := x.poll(ctx, nssrBSY|nssrWBNE|nssrDBNE)
	if err != nil {
		return fail("wait idle", false, err)
	}
	if sr&nssrErrors != 0 {
		x.event("wait", "clearing stale error flags NSSR=0x%08X", sr)
		if err := x.write(ctx, offNSCCR, sr&nssrErrors); err != nil {
			return fail("clear stale flags", false, err)
		}
	}
	// 2. Unlock.
	optcr, err := x.read(ctx, offOPTCR)
	if err != nil {
		return fail("read OPTCR", false, err)
	}
	if optcr&optcrOPTLOCK != 0 {
		x.event("unlock", "writing the OPTKEYR keys")
		if err := x.write(ctx, offOPTKEYR, optKey1); err != nil {
			return fail("unlock", false, err)
		}
		if err := x.write(ctx, offOPTKEYR, optKey2); err != nil {
			return fail("unlock", false, err)
		}
		if optcr, err = x.read(ctx, offOPTCR); err != nil {
			return fail("read OPTCR", false, err)
		}
		if optcr&optcrOPTLOCK != 0 {
			return fail("unlock", false, errors.New("OPTLOCK still reads 1 after the keys; OPTKEYR stays locked until the next reset (a wrong key was written earlier): reset the chip and retry"))
		}
	}
	// 3. Read-modify-write every _PRG (unplanned ones back to _CUR, so that
	// OPTSTRT applies nothing else).
	writes := map[string]RegWrite{}
	for _, w := range ph.Writes {
		writes[w.Register] = w
	}
	want := map[string]uint32{}
	for _, r := range x.l.Registers {
		if r.Direct {
			continue
		}
		if err := ctx.Err(); err != nil {
			x.restore(ph)
			return fail("program _PRG", false, fmt.Errorf("cancelled: %w", err))
		}
		cur, err := x.read(ctx, r.Cur)
		if err != nil {
			x.restore(ph)
			return fail("read "+r.Name+"_CUR", false, err)
		}
		prg, err := x.read(ctx, r.Prg)
		if err != nil {
			x.restore(ph)
			return fail("read "+r.Name+"_PRG", false, err)
		}
		v := cur
		if w, ok := writes[r.Name]; ok {
			v = cur&^w.Mask | w.Value
			want[r.Name] = v
		}
		if prg == v {
			continue
		}
		x.event("program", "%s_PRG ← 0x%08X (CUR 0x%08X)", r.Name, v, cur)
		if err := x.write(ctx, r.Prg, v); err != nil {
			x.restore(ph)
			return fail("write "+r.Name+"_PRG", false, err)
		}
		got, err := x.read(ctx, r.Prg)
		if err != nil {
			x.restore(ph)
			return fail("read back "+r.Name+"_PRG", false, err)
		}
		if got != v {
			x.restore(ph)
			return fail("read back "+r.Name+"_PRG", false, fmt.Errorf("%s_PRG reads 0x%08X after writing 0x%08X", r.Name, got, v))
		}
	}
	if err := ctx.Err(); err != nil {
		x.restore(ph)
		return fail("before OPTSTRT", false, fmt.Errorf("cancelled: %w", err))
	}
	// 4. Journal, then OPTSTRT.
	if err := writeJournal(x.o.StateDir, x.journal(ph, want)); err != nil {
		x.restore(ph)
		return fail("journal", false, err)
	}
	x.event("start", "setting OPTSTRT")
	if err := x.write(ctx, offOPTCR, optcr|optcrOPTSTRT); err != nil {
		if ph.Resets && ctx.Err() == nil {
			x.event("start", "link dropped at OPTSTRT: %v", err)
			return x.afterReset(ctx, ph, want, fail)
		}
		return fail("OPTSTRT", true, err)
	}
	// 5. Poll BSY.
	x.event("wait", "waiting for the option change")
	sr, err = x.poll(ctx, nssrBSY)
	if err != nil {
		if ph.Resets && ctx.Err() == nil {
			x.event("wait", "link dropped while the chip applies the change: %v", err)
			return x.afterReset(ctx, ph, want, fail)
		}
		return fail("wait BSY", true, err)
	}
	// 6. Errors.
	if sr&(nssrOPTCHANGEERR|nssrPGSERR|nssrWRPERR) != 0 {
		werr := fail("check NSSR", true, fmt.Errorf("%w: NSSR=0x%08X (%s)", ErrOptionChangeRefused, sr, nssrText(sr)))
		_ = x.write(context.WithoutCancel(ctx), offNSCCR, sr&nssrErrors)
		x.relock(context.WithoutCancel(ctx))
		return werr
	}
	// 7. Lock.
	if err := x.relock(ctx); err != nil && !ph.Resets {
		return fail("OPTLOCK", true, err)
	}
	if ph.Resets {
		return x.afterReset(ctx, ph, want, fail)
	}
	return x.verifyPhase(ctx, ph, want, fail)
}

// afterReset reconnects after a resetting phase and verifies it.
func (x *executor) afterReset(ctx context.Context, ph Phase, want map[string]uint32, fail func(string, bool, error) error) error {
	x.event("reconnect", "the chip resets; reconnecting (Hot Plug, AP1)")
	err := x.o.Reconnect(ctx)
	switch {
	case err == nil:
	case errors.Is(err, ErrCoreAPClosed) && ph.MayCloseDebug:
		sr, rerr := x.t.Read32(ctx, 0, dbgmcuSRAP0)
		if rerr != nil {
			return fail("reconnect", true, fmt.Errorf("AP1 closed and DBGMCU_SR unreadable through AP0: %w", errors.Join(err, rerr)))
		}
		if sr&srAP1Enabled != 0 {
			return fail("reconnect", true, fmt.Errorf("AP1 does not answer although DBGMCU_SR=0x%08X says it is enabled: %w", sr, err))
		}
		x.res.DebugClosed = true
		x.res.Notes = append(x.res.Notes, fmt.Sprintf("AP1 is closed after the change, as the new product state intends; DBGMCU_SR=0x%08X through AP0 confirms it. _CUR cannot be read back any more.", sr))
		x.event("verify", "AP1 closed as expected (DBGMCU_SR=0x%08X)", sr)
		return nil
	default:
		return fail("reconnect", true, err)
	}
	return x.verifyPhase(ctx, ph, want, fail)
}

// verifyPhase checks that each written register's _CUR holds what was asked.
func (x *executor) verifyPhase(ctx context.Context, ph Phase, want map[string]uint32, fail func(string, bool, error) error) error {
	x.event("verify", "checking _CUR")
	for _, w := range ph.Writes {
		r, _ := x.l.Register(w.Register)
		got, err := x.read(ctx, r.Cur)
		if err != nil {
			return fail("verify "+r.Name, true, err)
		}
		if got&w.Mask != w.Value {
			return fail("verify "+r.Name, true, fmt.Errorf("%w: %s_CUR=0x%08X, wanted 0x%08X under mask 0x%08X", ErrVerify, r.Name, got, want[r.Name], w.Mask))
		}
	}
	return nil
}

// poll reads NSSR until none of bits is set, within MaxPolls and the ctx.
func (x *executor) poll(ctx context.Context, bits uint32) (uint32, error) {
	for i := 0; i < x.o.MaxPolls; i++ {
		if err := ctx.Err(); err != nil {
			return 0, fmt.Errorf("cancelled while polling NSSR: %w", err)
		}
		sr, err := x.read(ctx, offNSSR)
		if err != nil {
			return 0, fmt.Errorf("reading NSSR: %w", err)
		}
		if sr&bits == 0 {
			return sr, nil
		}
	}
	return 0, fmt.Errorf("NSSR still busy after %d reads", x.o.MaxPolls)
}

// relock sets OPTCR.OPTLOCK.
func (x *executor) relock(ctx context.Context) error {
	optcr, err := x.read(ctx, offOPTCR)
	if err != nil {
		return fmt.Errorf("reading OPTCR to relock: %w", err)
	}
	if err := x.write(ctx, offOPTCR, optcr&^optcrOPTSTRT|optcrOPTLOCK); err != nil {
		return fmt.Errorf("setting OPTLOCK: %w", err)
	}
	return nil
}

// restore puts the phase's _PRG registers back to _CUR and relocks, best
// effort, when the phase stops before OPTSTRT.
func (x *executor) restore(ph Phase) {
	ctx := context.Background()
	for _, w := range ph.Writes {
		r, _ := x.l.Register(w.Register)
		if cur, err := x.read(ctx, r.Cur); err == nil {
			_ = x.write(ctx, r.Prg, cur)
		}
	}
	_ = x.relock(ctx)
}

// seen reads the registers worth reporting after a failure, best effort.
func (x *executor) seen(ctx context.Context, ph Phase) map[string]uint32 {
	out := map[string]uint32{}
	if v, err := x.read(ctx, offNSSR); err == nil {
		out["NSSR"] = v
	}
	if v, err := x.read(ctx, offOPTCR); err == nil {
		out["OPTCR"] = v
	}
	for _, w := range ph.Writes {
		r, _ := x.l.Register(w.Register)
		if v, err := x.read(ctx, r.Cur); err == nil {
			out[r.Name+"_CUR"] = v
		}
		if !r.Direct {
			if v, err := x.read(ctx, r.Prg); err == nil {
				out[r.Name+"_PRG"] = v
			}
		}
	}
	return out
}

// journal builds the pending-write record of a phase.
func (x *executor) journal(ph Phase, want map[string]uint32) *Journal {
	return &Journal{
		Time: x.o.Now().UTC(), ChipUID: x.p.UID, Line: x.l.LineName, ProbeSerial: x.o.ProbeSerial,
		Phase: ph.Name, Changes: changeList(x.p), Before: x.p.Before.Cur, Want: want, Backup: x.backup,
	}
}

// failJournal records a failure in the journal (best effort: the journal
// written before OPTSTRT stays either way).
func (x *executor) failJournal(ph Phase, we *WriteError) {
	j, err := CheckJournal(x.o.StateDir)
	if err != nil || j == nil {
		j = x.journal(ph, nil)
	}
	j.Failure = fmt.Sprintf("step %s: %v", we.Step, we.Err)
	j.Seen = we.Seen
	_ = writeJournal(x.o.StateDir, j)
}

// audit appends the outcome to the audit log; a failure to do so becomes a
// note (the write itself is what matters to the caller).
func (x *executor) audit(result string, err error, after map[string]uint32) {
	rec := AuditRecord{
		Time: x.o.Now().UTC(), User: x.o.User, ProbeSerial: x.o.ProbeSerial, ChipUID: x.p.UID, Line: x.p.LineName,
		Changes: changeList(x.p), Risk: x.p.Risk, Before: x.p.Before.Cur, After: after, Result: result, Backup: x.backup,
	}
	if err != nil {
		rec.Error = err.Error()
	}
	if aerr := AppendAudit(x.o.StateDir, rec); aerr != nil {
		x.res.Notes = append(x.res.Notes, "audit log: "+aerr.Error())
	}
}

// changeList renders a plan's changes as FIELD=0xVALUE.
func changeList(p *Plan) []string {
	var out []string
	for _, c := range p.Changes {
		out = append(out, fmt.Sprintf("%s=0x%X", c.Field, c.To.Raw))
	}
	return out
}

// curOf keeps the <REG>_CUR entries of a seen map, by register name.
func curOf(seen map[string]uint32) map[string]uint32 {
	out := map[string]uint32{}
	for k, v := range seen {
		if name, ok := strings.CutSuffix(k, "_CUR"); ok {
			out[name] = v
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// nssrText names the error flags set in an NSSR value.
func nssrText(sr uint32) string {
	var out []string
	for _, f := range []struct {
		bit  uint32
		name string
	}{
		{nssrWRPERR, "WRPERR"}, {nssrPGSERR, "PGSERR"}, {1 << 19, "STRBERR"}, {1 << 20, "INCERR"},
		{1 << 21, "OBKERR"}, {1 << 22, "OBKWERR"}, {nssrOPTCHANGEERR, "OPTCHANGEERR"},
	} {
		if sr&f.bit != 0 {
			out = append(out, f.name)
		}
	}
	if len(out) == 0 {
		return "no error flag"
	}
	return strings.Join(out, ", ")
}
