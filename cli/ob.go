package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/stprobe/stprobe/bench"
	"github.com/stprobe/stprobe/probe/da"
	"github.com/stprobe/stprobe/targets"
)

// obFlags are the flags of the ob sub-commands.
type obFlags struct {
	json          bool
	confirm       string
	overrideBrick bool
	stateDir      string
	daMethod      string
	fromBackup    string
	assignments   []string
	// The proof of the way back: the credentials, the .obk file, the part.
	wayBack daCreds
	obk     string
	part    string
	// rehearse runs the write on the chip's twin first (rehearse.go).
	rehearse bool
	journalFlags
}

// obRerun is how plan spells the apply command it suggests: the global
// selectors before "ob", and the ob flags that must be repeated after it.
type obRerun struct {
	global []string // e.g. --sim h533-open
	flags  []string // e.g. --state-dir DIR
}

// newOBRerun records the selectors and ob flags a suggested command needs.
func newOBRerun(g bench.Selector, f *obFlags) obRerun {
	r := obRerun{global: selectorArgs(g)}
	for _, kv := range [][2]string{{"--state-dir", f.stateDir}, {"--da-method", f.daMethod},
		{"--password", f.wayBack.password}, {"--key", f.wayBack.key}, {"--cert", f.wayBack.cert}, {"--obk", f.obk}, {"--part", f.part}} {
		if kv[1] != "" {
			r.flags = append(r.flags, kv[0], shellQuote(kv[1]))
		}
	}
	return r
}

// selectorArgs are the global flags that choose the probe g names, as a
// suggested command line spells them (--sim, --server, --probe, --share).
func selectorArgs(g bench.Selector) []string {
	var out []string
	for _, kv := range [][2]string{{"--sim", g.Sim}, {"--server", g.Server}, {"--probe", g.Serial}} {
		if kv[1] != "" {
			out = append(out, kv[0], shellQuote(kv[1]))
		}
	}
	if g.Share {
		out = append(out, "--share")
	}
	return out
}

// shellQuote quotes s for a POSIX shell when it holds anything but plain
// word characters.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_./:=@%+,-") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

const obLong = "Option bytes of the connected STM32H5 (Hot Plug on AP1), or of an STM32F1, F4, G0, G4 or L4 " +
	"(Hot Plug on AP0, the core port). FIELD names are " +
	"STM32CubeProgrammer's (PRODUCT_STATE, TZEN, NSBOOTADD, WRPSGn1, HDP1_STRT...; RDP, nBOOT0, IWDG_SW...); VALUE is a number " +
	"(0x.., decimal) or a value name (OPEN, ENABLED...). plan prints the diff, the risk class and the " +
	"phrase apply needs. Backups, the audit log and the pending-write journal live in --state-dir " +
	"(default $STPROBE_STATE_DIR, $XDG_STATE_HOME/stprobe or ~/.local/state/stprobe)."

// obCommand is `stprobe ob`: read, plan and apply option bytes.
func (a *app) obCommand() *cobra.Command {
	c := newCommand("ob", "ob read|plan|apply|lock|journal [FLAGS]",
		"option bytes: read, plan, apply",
		obLong,
		nil)
	for _, sub := range []struct{ use, syn, short string }{
		{"read", "read [--json]", "option bytes, product state and TZEN first"},
		{"plan FIELD=VALUE...", "plan (FIELD=VALUE... | --from-backup FILE) [--json] [--da-method password|certificate] [(--password FILE | --key FILE --cert FILE) --obk FILE [--part PART]]", "a change, diffed and risk-classified, with the apply command"},
		{"apply FIELD=VALUE...", "apply (FIELD=VALUE... | --from-backup FILE) --confirm PHRASE [--override-brick] [--da-method password|certificate] [(--password FILE | --key FILE --cert FILE) --obk FILE [--part PART]]", "the guarded write: backup, program, verify, audit"},
		{"lock", "lock", "lock the option registers an interrupted write left unlocked (staged _PRG values set back), audited"},
		{"journal", "journal [--clear | --discard] [--uid UID]", "every write that was interrupted or failed: list, clear, set aside"},
	} {
		c.AddCommand(a.obSubCommand(sub.use, sub.syn, sub.short))
	}
	return groupCommand(c, "read, plan, apply, lock or journal", "")
}

// obSubCommand is one of read, plan, apply, lock and journal.
func (a *app) obSubCommand(use, syn, short string) *cobra.Command {
	f := &obFlags{}
	c := newCommand(use, "ob "+syn, short, obLong, cobra.ArbitraryArgs)
	sub := c.Name()
	fs := c.Flags()
	fs.StringVar(&f.stateDir, "state-dir", "", "directory for backups, the audit log and the journal")
	switch sub {
	case "read":
		fs.BoolVar(&f.json, "json", false, "print JSON")
	case "plan", "apply":
		if sub == "plan" {
			fs.BoolVar(&f.json, "json", false, "print JSON")
		}
		fs.StringVar(&f.daMethod, "da-method", "", "the provisioned DA METHOD when the chip cannot tell (password or certificate)")
		fs.StringVar(&f.fromBackup, "from-backup", "", "plan the return to the option bytes saved in this backup FILE (instead of FIELD=VALUE)")
		f.wayBack.register(fs)
		fs.StringVar(&f.obk, "obk", "", "the .obk FILE provisioned (H503: the OTP image): with the credentials, proves the way back of a plan that closes the chip")
		fs.StringVar(&f.part, "part", "", "the PART (H523, H533...) where the chip's line has several, for the proof of the way back")
		fs.BoolVar(&f.rehearse, "rehearse", false, "first capture the chip (read-only) and run the same write on its twin; apply stops if it goes wrong there")
		if sub == "apply" {
			fs.StringVar(&f.confirm, "confirm", "", "the confirmation PHRASE printed by plan")
			fs.BoolVar(&f.overrideBrick, "override-brick", false, "allow a change that can never be undone and may leave the chip unreachable")
		}
	case "journal":
		addJournalFlags(fs, &f.journalFlags)
	}
	c.RunE = func(c *cobra.Command, args []string) error {
		f.assignments = args
		if err := a.checkOBArgs(c, sub, f); err != nil {
			return err
		}
		d, err := stateDirOr(f.stateDir)
		if err != nil {
			return err
		}
		f.stateDir = d
		if sub == "journal" {
			return a.obJournal(c, f)
		}
		return a.withBench(c.Context(), func(ctx context.Context, b *bench.Bench, tok bench.Token) error {
			return a.runOB(ctx, b, tok, sub, f)
		})
	}
	return c
}

// checkOBArgs rejects mistakes in an ob sub-command's arguments.
func (a *app) checkOBArgs(c *cobra.Command, sub string, f *obFlags) error {
	if flag := a.flagBeforeSub(); flag != "" {
		return usage(c.Parent(), fmt.Errorf("%s before the sub-command: give the sub-command first (stprobe ob read|plan|apply|lock|journal [FLAGS])", flag))
	}
	switch {
	case (sub == "plan" || sub == "apply") && (len(f.assignments) == 0) == (f.fromBackup == ""):
		return usage(c, errors.New("give FIELD=VALUE arguments or --from-backup FILE (not both)"))
	case (sub == "read" || sub == "lock" || sub == "journal") && len(f.assignments) > 0:
		return usage(c, fmt.Errorf("unexpected argument %q", f.assignments[0]))
	case sub == "apply" && f.confirm == "":
		return usage(c, errors.New("--confirm PHRASE is required (run `stprobe ob plan` with the same changes to get it)"))
	}
	if _, err := targets.ParseDAMethod(f.daMethod); err != nil {
		return usage(c, err)
	}
	if f.wayBack.given() {
		if _, err := f.wayBack.load(); err != nil {
			return usage(c, err)
		}
	}
	if f.obk != "" {
		if _, err := da.LoadOBK(f.obk); err != nil {
			return usage(c, fmt.Errorf("--obk: %w", err))
		}
	}
	return nil
}

// wayBackFiles loads the proof-of-the-way-back files the flags name (nil
// when none is given).
func (f *obFlags) wayBackFiles() (*bench.WayBackFiles, error) {
	if !f.wayBack.given() && f.obk == "" && f.part == "" {
		return nil, nil
	}
	w := &bench.WayBackFiles{Part: f.part}
	if f.wayBack.given() {
		c, err := f.wayBack.load()
		if err != nil {
			return nil, err
		}
		w.Credentials = c
	}
	if f.obk != "" {
		b, err := da.LoadOBK(f.obk)
		if err != nil {
			return nil, fmt.Errorf("file: --obk: %w", err)
		}
		w.OBK = b
	}
	return w, nil
}

// flagBeforeSub is the flag given between "ob" and its sub-command, if
// any: the ob flags belong after the sub-command.
func (a *app) flagBeforeSub() string {
	args := a.args
	for i := 0; i < len(args); i++ {
		s := args[i]
		switch {
		case s == "--":
			return ""
		case strings.HasPrefix(s, "-"):
			if !strings.Contains(s, "=") && globalTakesValue(s) {
				i++
			}
		case s == "ob":
			if i+1 < len(args) && strings.HasPrefix(args[i+1], "-") {
				return args[i+1]
			}
			return ""
		default:
			return ""
		}
	}
	return ""
}

// globalTakesValue reports whether the global flag s takes a value.
func globalTakesValue(s string) bool {
	switch strings.TrimLeft(s, "-") {
	case "sim", "server", "probe", "log-level", "log-file":
		return true
	}
	return false
}

// runOB runs one of read, plan and apply on an open bench.
func (a *app) runOB(ctx context.Context, b *bench.Bench, tok bench.Token, sub string, f *obFlags) error {
	change := bench.Change{Assignments: f.assignments, FromBackup: f.fromBackup, DAMethod: f.daMethod}
	wb, err := f.wayBackFiles()
	if err != nil {
		return err
	}
	change.WayBack = wb
	if f.rehearse && (sub == "plan" || sub == "apply") {
		if err := a.rehearse(ctx, b, tok, sub, f, change); err != nil {
			return inputMistake(err)
		}
	}
	switch sub {
	case "read":
		o, err := b.ReadOptionBytes(ctx, tok, bench.OBRequest{DAMethod: f.daMethod, StateDir: f.stateDir})
		if err != nil {
			return err
		}
		return a.obRead(o, f, a.warnJournal(o.Pending, o.PendingErr, o.Chip.UIDString()))
	case "plan":
		pr, err := b.PlanOptionBytes(ctx, tok, change)
		if pr != nil && pr.OptionBytes != nil && pr.OptionBytes.Chip != nil {
			a.warnPending(f.stateDir, pr.OptionBytes.Chip.UIDString())
		}
		return inputMistake(a.obPlan(pr, err, f))
	case "lock":
		return a.obLock(ctx, b, tok, f)
	}
	err = a.obApply(ctx, b, tok, f, change)
	if chip := b.Snapshot().Chip; chip != nil {
		err = pendingHint(err, f.stateDir, chip.UIDString())
	}
	return inputMistake(err)
}

// inputMistake marks the errors that are mistakes in the FIELD=VALUE
// arguments (exit status 2) rather than failures of the chip or the probe.
func inputMistake(err error) error {
	if errors.Is(err, bench.ErrUnknownField) || errors.Is(err, bench.ErrInvalidValue) {
		return &inputError{err}
	}
	return err
}

// obReadJSON is the JSON form of ob read.
type obReadJSON struct {
	Chip    string `json:"chip"`
	DevID   uint16 `json:"dev_id"`
	UID     string `json:"uid,omitempty"`
	AP1Open bool   `json:"ap1_open"`
	// ProductState has the shape of every product state stprobe prints;
	// the field itself, with its meaning, is in Registers.
	ProductState *targets.ProductState `json:"product_state,omitempty"`
	TZEN         *bench.FieldValue     `json:"tzen,omitempty"`
	DA           *targets.DAStatus     `json:"da,omitempty"`
	Registers    []obRegJSON           `json:"registers,omitempty"`
	APPresent    uint16                `json:"ap_present,omitempty"`
	APEnabled    uint16                `json:"ap_enabled,omitempty"`
	Error        string                `json:"error,omitempty"`
	PendingWrite *bench.Journal        `json:"pending_write,omitempty"`
	// PendingOutcome is what the chip read now holds of the pending write.
	PendingOutcome string `json:"pending_write_outcome,omitempty"`
	// OptionsUnlocked is set when FLASH_OPTCR.OPTLOCK reads 0.
	OptionsUnlocked bool `json:"option_registers_unlocked,omitempty"`
	// Family, CoreAP and Protection are set on the families protected by
	// read-out protection levels (F1, F4, G0, G4, L4), read through CoreAP.
	Family     string              `json:"family,omitempty"`
	CoreAP     *uint8              `json:"core_ap,omitempty"`
	Protection *targets.Protection `json:"protection,omitempty"`
	WriteNote  string              `json:"write_note,omitempty"`

	state *bench.FieldValue // PRODUCT_STATE decoded, for the text
}

// obRegJSON is one register in ob read --json.
type obRegJSON struct {
	Name    string             `json:"name"`
	Meaning string             `json:"meaning"`
	Addr    uint32             `json:"addr_cur"`
	Cur     uint32             `json:"cur"`
	Prg     uint32             `json:"prg"`
	Fields  []bench.FieldValue `json:"fields"`
}

// obRead renders the option bytes read (or why they cannot be read).
func (a *app) obRead(o *bench.OptionBytes, f *obFlags, j *bench.Journal) error {
	out := obReadJSON{Chip: o.Chip.String(), DevID: o.Chip.DevID, UID: o.Chip.UIDString(), AP1Open: o.Closed == nil, PendingWrite: j}
	var result error
	if o.Closed != nil {
		why := o.Closed.Why()
		out.Error, out.APPresent, out.APEnabled = why, o.Closed.Present, o.Closed.Enabled
		result = fmt.Errorf("%w: %s", bench.ErrOptionBytesUnreadable, why)
	} else if o.RDPFamily() {
		out.AP1Open = false // these families have no AP1
		out.Family = o.Chip.Family.Name
		ap := o.Layout.AP
		out.CoreAP = &ap
		if o.Chip.HasProtection {
			p := o.Chip.Protection
			out.Protection = &p
		}
		out.WriteNote = o.Layout.WriteNote()
		for _, r := range o.Layout.Registers {
			out.Registers = append(out.Registers, obRegJSON{
				Name: r.Name, Meaning: r.Meaning, Addr: r.CurAddr(), Cur: o.Snap.Cur[r.Name], Prg: o.Snap.Prg[r.Name],
				Fields: o.Layout.Decode(r.Name, o.Snap.Cur[r.Name]),
			})
		}
	} else {
		out.state, out.TZEN = o.Field("PRODUCT_STATE"), o.Field("TZEN")
		if out.state != nil {
			ps := targets.ProductState(out.state.Raw)
			out.ProductState = &ps
		}
		out.DA = &o.DA
		out.OptionsUnlocked = o.Snap.Unlocked
		if j != nil {
			out.PendingOutcome = j.OutcomeOn(o.Snap.Cur, o.Snap.Prg)
		}
		for _, r := range o.Layout.Registers {
			out.Registers = append(out.Registers, obRegJSON{
				Name: r.Name, Meaning: r.Meaning, Addr: r.CurAddr(), Cur: o.Snap.Cur[r.Name], Prg: o.Snap.Prg[r.Name],
				Fields: o.Layout.Decode(r.Name, o.Snap.Cur[r.Name]),
			})
		}
	}
	if f.json {
		if err := writeJSON(a.stdout, out); err != nil {
			return err
		}
		return result
	}
	w := a.stdout
	if o.Closed != nil {
		fmt.Fprintf(w, "chip:          %s\n", out.Chip)
		fmt.Fprintf(w, "AP1:           closed\n")
		if o.Closed.StatusErr == nil {
			fmt.Fprintf(w, "DBGMCU_SR:     AP present 0x%04X, enabled 0x%04X (through AP0)\n", o.Closed.Present, o.Closed.Enabled)
		}
		fmt.Fprintf(w, "option bytes:  cannot be read: %s\n", out.Error)
		return result
	}
	if o.RDPFamily() {
		a.obReadFamily(w, o, &out)
		return nil
	}
	fmt.Fprintf(w, "product state: %s — %s\n", out.state.Text(), out.state.Meaning)
	if out.TZEN != nil {
		fmt.Fprintf(w, "TZEN:          %s — %s\n", out.TZEN.Text(), out.TZEN.Meaning)
	} else {
		fmt.Fprintf(w, "TZEN:          absent (no TrustZone on %s)\n", o.Layout.LineName)
	}
	fmt.Fprintf(w, "chip:          %s\n", out.Chip)
	fmt.Fprintf(w, "DA data:       %v\n", o.DA)
	if out.OptionsUnlocked {
		fmt.Fprintf(w, "UNLOCKED:      %s\n", unlockedText)
	}
	switch {
	case j == nil:
	case out.PendingOutcome == bench.OutcomeArmed:
		fmt.Fprintf(w, "PENDING WRITE: the interrupted write of %s is on this chip: %s\n", strings.Join(j.Changes, " "), out.PendingOutcome)
	default:
		fmt.Fprintf(w, "PENDING WRITE: the interrupted write of %s is %s on this chip\n", strings.Join(j.Changes, " "), out.PendingOutcome)
	}
	for _, r := range out.Registers {
		fmt.Fprintf(w, "\n%-9s CUR 0x%08X  PRG 0x%08X  @0x%08X  %s\n", r.Name, r.Cur, r.Prg, r.Addr, r.Meaning)
		if r.Cur != r.Prg {
			fmt.Fprintf(w, "          note: _PRG differs from _CUR (a change was staged but not applied)\n")
		}
		for _, fv := range r.Fields {
			fmt.Fprintf(w, "  %-15s %-8s %-24s %s\n", fv.Field, fv.Bits, fv.Text(), fv.Meaning)
		}
	}
	return nil
}

// obReadFamily prints the option bytes of a family protected by read-out
// protection levels: one value per register (no _PRG copy) and each field
// decoded.
func (a *app) obReadFamily(w io.Writer, o *bench.OptionBytes, out *obReadJSON) {
	fmt.Fprintf(w, "chip:          %s\n", out.Chip)
	if out.Protection != nil {
		fmt.Fprintf(w, "protection:    %v — %s\n", *out.Protection, out.Protection.Debug(o.Chip.Family))
	}
	fmt.Fprintf(w, "read through:  AP%d, the %s core port (FLASH registers at 0x%08X, loaded from the option bytes at reset)\n", *out.CoreAP, out.Family, o.Layout.RDP.FlashRegs)
	for _, r := range out.Registers {
		fmt.Fprintf(w, "\n%-9s 0x%08X  @0x%08X  %s\n", r.Name, r.Cur, r.Addr, r.Meaning)
		for _, fv := range r.Fields {
			fmt.Fprintf(w, "  %-17s %-8s %-24s %s\n", fv.Field, fv.Bits, fv.Text(), fv.Meaning)
		}
	}
	fmt.Fprintf(w, "\nwrites:        %s\n", out.WriteNote)
}

// unlockedText says what an unlocked FLASH_OPTCR means and what to do.
const unlockedText = "the option registers are unlocked (FLASH_OPTCR.OPTLOCK reads 0): a write was interrupted or another tool left them so, and any OPTSTRT would apply what the _PRG registers hold. Lock them: stprobe ob lock (the next ob apply, or a reset, also locks them)"

// obLock locks the option registers and says what it found and did.
func (a *app) obLock(ctx context.Context, b *bench.Bench, tok bench.Token, f *obFlags) error {
	res, err := b.LockOptionBytes(ctx, tok, bench.LockRequest{StateDir: f.stateDir})
	w := a.stdout
	if res != nil && res.OptionBytes != nil && res.OptionBytes.Chip != nil {
		fmt.Fprintf(w, "chip:          %s\n", res.OptionBytes.Chip.String())
	}
	if res == nil || res.Lock == nil {
		return err
	}
	l := res.Lock
	if !l.Wrote {
		fmt.Fprintln(w, "option registers: already locked, nothing staged; nothing written")
		return err
	}
	if l.WasUnlocked {
		fmt.Fprintln(w, "found:         FLASH_OPTCR unlocked (OPTLOCK 0)")
	}
	if len(l.Restored) > 0 {
		fmt.Fprintf(w, "found:         staged _PRG values in %s, set back to _CUR\n", strings.Join(l.Restored, ", "))
	}
	if err != nil {
		return err
	}
	fmt.Fprintln(w, "LOCKED:        FLASH_OPTCR.OPTLOCK set and read back")
	fmt.Fprintf(w, "audit log:     %s\n", filepath.Join(f.stateDir, bench.AuditFile))
	return nil
}

// obPlanJSON is the JSON form of ob plan (a plan or its refusals).
type obPlanJSON struct {
	Plan    *bench.OBPlan   `json:"plan,omitempty"`
	Refused []bench.Refusal `json:"refused,omitempty"`
	Error   string          `json:"error,omitempty"`
}

// obPlan renders the plan job's outcome: the plan, or the refusals.
func (a *app) obPlan(pr *bench.PlanResult, err error, f *obFlags) error {
	var re *bench.RefusedError
	refused := errors.As(err, &re)
	if f.json && (err == nil || refused || pr != nil && pr.Plan != nil) {
		out := obPlanJSON{}
		if pr != nil {
			out.Plan = pr.Plan
		}
		if refused {
			out.Refused = re.Refusals
		}
		if err != nil {
			out.Error = err.Error()
		}
		if jerr := writeJSON(a.stdout, out); jerr != nil {
			return jerr
		}
		return err
	}
	if refused {
		printRefusals(a.stdout, re)
		return errors.New("refused before any write (nothing was written)")
	}
	if err != nil {
		return err
	}
	printPlan(a.stdout, pr.OptionBytes.Chip, pr.Plan, newOBRerun(a.sel, f))
	return nil
}

// obApply runs the guarded write: the plan is printed as soon as the bench
// has made it, each step on stderr as it goes, then the outcome.
func (a *app) obApply(ctx context.Context, b *bench.Bench, tok bench.Token, f *obFlags, change bench.Change) error {
	req := bench.ApplyRequest{Change: change, Confirm: f.confirm, OverrideBrick: f.overrideBrick, StateDir: f.stateDir}
	var res *bench.ApplyResult
	var err error
	var shown *bench.OBPlan
	followFrom(b, func(s bench.Snapshot) { shown = s.Plan }, func(ev bench.Event) {
		switch ev := ev.(type) {
		case bench.StateChanged:
			if p := ev.State.Plan; p != nil && p != shown && ev.State.Chip != nil {
				shown = p
				printPlan(a.stdout, ev.State.Chip, p, newOBRerun(a.sel, f))
			}
		case bench.ApplyStep:
			e := ev.Step
			fmt.Fprintf(a.stderr, "  [%d/%d] %s: %s\n", e.Done, e.Total, e.Step, e.Message)
		}
	}, func() { res, err = b.ApplyOptionBytes(ctx, tok, req) })

	var re *bench.RefusedError
	if errors.As(err, &re) {
		printRefusals(a.stdout, re)
		return errors.New("refused before any write (nothing was written)")
	}
	if err != nil {
		if res != nil && res.Result != nil && res.Result.Backup != "" {
			fmt.Fprintf(a.stdout, "backup of the option bytes before the write: %s\n", res.Result.Backup)
		}
		return err
	}
	r, w := res.Result, a.stdout
	fmt.Fprintf(w, "\nAPPLIED. backup: %s\n", r.Backup)
	for _, n := range r.Notes {
		fmt.Fprintf(w, "note: %s\n", n)
	}
	switch {
	case r.Verified:
		fmt.Fprintln(w, "verified: every _CUR register reads what was asked")
	case r.DebugClosed:
		fmt.Fprintln(w, "AP1 no longer answers; only AP0 (DBGMCU, DA mailbox) does, as the new product state intends")
	}
	if r.After != nil && res.OptionBytes != nil && res.OptionBytes.Layout != nil {
		for _, d := range res.OptionBytes.Layout.Diff(res.Plan.Before.Cur, r.After.Cur) {
			fmt.Fprintf(w, "  %-15s %s → %s\n", d.Field, d.From.Text(), d.To.Text())
		}
	}
	fmt.Fprintf(w, "audit log: %s\n", filepath.Join(f.stateDir, bench.AuditFile))
	return nil
}

// printRefusals explains each refused change.
func printRefusals(w io.Writer, re *bench.RefusedError) {
	fmt.Fprintln(w, "REFUSED before any write:")
	for _, r := range re.Refusals {
		fmt.Fprintf(w, "  %s %s → %s\n    why: %s\n", r.Field, r.From, r.To, r.Reason)
		if r.WayBack != "" {
			fmt.Fprintf(w, "    instead: %s\n", r.WayBack)
		}
	}
}

// printPlan shows the diff, the risk, the phrase and the apply command.
func printPlan(w io.Writer, chip *targets.Chip, p *bench.OBPlan, rerun obRerun) {
	fmt.Fprintf(w, "chip:    %s\n", chip.String())
	if chip.Family.RDP == nil {
		fmt.Fprintf(w, "DA data: %v\n", p.DA)
	}
	fmt.Fprintln(w)
	for _, c := range p.Changes {
		fmt.Fprintf(w, "  %-13s %-15s %s → %s\n      %s\n", strings.ToUpper(c.Risk.String()), c.Field, c.From.Text(), c.To.Text(), c.To.Meaning)
		fmt.Fprintf(w, "      %s\n", c.Why)
	}
	for _, n := range p.Notes {
		fmt.Fprintf(w, "  note: %s\n", n)
	}
	printWayBack(w, p.WayBack)
	fmt.Fprintf(w, "\nrisk: %s\n", strings.ToUpper(p.Risk.String()))
	for _, ph := range p.Phases {
		extra := ""
		if ph.Resets && p.NotWritable == "" {
			extra = " (the chip resets; reconnect Hot Plug on AP1)"
			if fam, _, ok := targets.LookupDevID(p.DevID); ok && fam.RDP != nil {
				extra = fmt.Sprintf(" (the chip resets to load them; reconnect Hot Plug on AP%d)", fam.CoreAP)
			}
		}
		if ph.MayCloseDebug {
			extra += " (AP1 may stay closed afterwards)"
		}
		fmt.Fprintf(w, "step: %s%s\n", ph.Name, extra)
	}
	if p.NotWritable != "" {
		if p.NeedsOverride {
			fmt.Fprintln(w, "THIS CAN NEVER BE UNDONE AND MAY LEAVE THE CHIP UNREACHABLE.")
		}
		fmt.Fprintf(w, "to apply: not with stprobe: %s\n", p.NotWritable)
		return
	}
	fmt.Fprintf(w, "confirmation phrase: %s\n", p.Phrase)
	args := append([]string{"stprobe"}, rerun.global...)
	args = append(args, "ob", "apply")
	for _, c := range p.Changes {
		args = append(args, fmt.Sprintf("%s=0x%X", c.Field, c.To.Raw))
	}
	args = append(args, rerun.flags...)
	args = append(args, "--confirm", shellQuote(p.Phrase))
	if p.NeedsOverride {
		args = append(args, "--override-brick")
		fmt.Fprintln(w, "THIS CAN NEVER BE UNDONE AND MAY LEAVE THE CHIP UNREACHABLE: apply needs --override-brick and the phrase.")
	}
	fmt.Fprintf(w, "to apply: %s\n", strings.Join(args, " "))
}

// regList renders register values sorted by name.
func regList(m map[string]uint32) string {
	var parts []string
	for k, v := range m {
		parts = append(parts, fmt.Sprintf("%s=0x%08X", k, v))
	}
	sort.Strings(parts)
	return strings.Join(parts, " ")
}

// writeJSON prints v indented.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// printWayBack shows the proof of the way back as a checklist.
func printWayBack(w io.Writer, wb *bench.WayBackProof) {
	if wb == nil {
		return
	}
	if wb.Proven() {
		fmt.Fprintln(w, "\nway back: PROVEN")
	} else {
		fmt.Fprintln(w, "\nway back: NOT PROVEN")
	}
	for _, c := range wb.Checked {
		fmt.Fprintf(w, "  checked: %s\n", c)
	}
	for _, m := range wb.Mismatches {
		fmt.Fprintf(w, "  MISMATCH %s: %s\n    fix: %s\n", m.Check, m.Problem, m.Fix)
	}
}
