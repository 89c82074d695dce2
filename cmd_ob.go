package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/user"
	"path/filepath"
	"sort"
	"strings"

	"github.com/stprobe/stprobe/obytes"
	"github.com/stprobe/stprobe/probe"
	"github.com/stprobe/stprobe/targets"
)

// obFlags are the flags of the ob sub-commands.
type obFlags struct {
	json          bool
	confirm       string
	overrideBrick bool
	stateDir      string
	daMethod      string
	clear         bool
	fromBackup    string
	assignments   []string
}

// obEnv is what the ob commands write to and where they keep files. onEvent,
// when set, sees every apply progress event (tests use it to inject faults).
type obEnv struct {
	stdout, stderr io.Writer
	stateDir       string
	user           string
	onEvent        func(obytes.Event)
	// rerun is the command line that reaches the same probe and state
	// directory again ("stprobe --sim NAME ob" and its flags), for the
	// "to apply" hint; empty means plain "stprobe ob".
	rerun obRerun
}

// obRerun is how plan spells the apply command it suggests: the global
// selectors before "ob", and the ob flags that must be repeated after it.
type obRerun struct {
	global []string // e.g. --sim h533-open
	flags  []string // e.g. --state-dir DIR
}

// newOBRerun records the selectors and ob flags a suggested command needs.
func newOBRerun(g *globalFlags, f *obFlags) obRerun {
	var r obRerun
	for _, kv := range [][2]string{{"--sim", g.sim}, {"--server", g.server}, {"--probe", g.serial}} {
		if kv[1] != "" {
			r.global = append(r.global, kv[0], shellQuote(kv[1]))
		}
	}
	for _, kv := range [][2]string{{"--state-dir", f.stateDir}, {"--da-method", f.daMethod}} {
		if kv[1] != "" {
			r.flags = append(r.flags, kv[0], shellQuote(kv[1]))
		}
	}
	return r
}

// shellQuote quotes s for a POSIX shell when it holds anything but plain
// word characters.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_./:=@%+,-") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

const obUsage = `usage:
  stprobe ob read [--json]
  stprobe ob plan (FIELD=VALUE... | --from-backup FILE) [--json] [--da-method password|certificate]
  stprobe ob apply (FIELD=VALUE... | --from-backup FILE) --confirm PHRASE [--override-brick] [--da-method ...]
  stprobe ob journal [--clear]

Option bytes of the connected STM32H5 (Hot Plug on AP1). FIELD names are
STM32CubeProgrammer's (PRODUCT_STATE, TZEN, NSBOOTADD, WRPSGn1, HDP1_STRT...);
VALUE is a number (0x.., decimal) or a value name (OPEN, ENABLED...).
plan prints the diff, the risk class and the phrase apply needs.
Backups, the audit log and the pending-write journal live in --state-dir
(default $STPROBE_STATE_DIR, $XDG_STATE_HOME/stprobe or ~/.local/state/stprobe).
`

// cmdOB is "stprobe ob": read, plan and apply option bytes.
func cmdOB(ctx context.Context, g *globalFlags, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, obUsage)
		return errUsage
	}
	sub := args[0]
	switch sub {
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stderr, obUsage)
		return flag.ErrHelp
	}
	if strings.HasPrefix(sub, "-") {
		fmt.Fprintf(stderr, "stprobe ob: %s before the sub-command: give the sub-command first (stprobe ob read|plan|apply|journal [FLAGS])\n", sub)
		fmt.Fprint(stderr, obUsage)
		return errUsage
	}
	f, err := parseOBFlags(sub, args[1:], stderr)
	if err != nil {
		return err
	}
	env, err := newOBEnv(f, stdout, stderr)
	if err != nil {
		return err
	}
	env.rerun = newOBRerun(g, f)
	if sub == "journal" {
		return obJournal(env, f)
	}
	if err := checkApplyTarget(ctx, g, sub, probe.ListUSB); err != nil {
		return err
	}
	b, err := openBench(ctx, g)
	if err != nil {
		return err
	}
	defer b.Close()
	return runOB(ctx, b, sub, f, env)
}

// checkApplyTarget keeps ob apply from writing to the simulated bench that
// openBench falls back to when no probe was chosen and none is on USB: a
// write goes only to a probe the user chose, or to a board named with --sim.
func checkApplyTarget(ctx context.Context, g *globalFlags, sub string, listUSB func(context.Context) ([]probe.Info, error)) error {
	if sub != "apply" || g.sim != "" || g.server != "" || g.serial != "" {
		return nil
	}
	found, err := listUSB(ctx)
	if len(found) > 0 {
		return nil
	}
	why := "no ST-LINK found on USB"
	if err != nil {
		why = fmt.Sprintf("no ST-LINK usable on USB (%v)", err)
	}
	return fmt.Errorf("%s: ob apply does not fall back to the simulated bench; plug the probe in, or rehearse the change with --sim SCENARIO (see: stprobe sim list)", why)
}

// newOBEnv resolves the state directory and the user name.
func newOBEnv(f *obFlags, stdout, stderr io.Writer) (*obEnv, error) {
	dir := f.stateDir
	if dir == "" {
		d, err := obytes.DefaultStateDir()
		if err != nil {
			return nil, err
		}
		dir = d
	}
	name := os.Getenv("USER")
	if u, err := user.Current(); err == nil && u.Username != "" {
		name = u.Username
	}
	return &obEnv{stdout: stdout, stderr: stderr, stateDir: dir, user: name}, nil
}

// parseOBFlags parses flags that may come before, between or after the
// FIELD=VALUE arguments.
func parseOBFlags(sub string, args []string, stderr io.Writer) (*obFlags, error) {
	f := &obFlags{}
	fs := flag.NewFlagSet("stprobe ob "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, obUsage) }
	fs.StringVar(&f.stateDir, "state-dir", "", "directory for backups, the audit log and the journal")
	switch sub {
	case "read":
		fs.BoolVar(&f.json, "json", false, "print JSON")
	case "plan", "apply":
		if sub == "plan" {
			fs.BoolVar(&f.json, "json", false, "print JSON")
		}
		fs.StringVar(&f.daMethod, "da-method", "", "the provisioned DA method when the chip cannot tell (password or certificate)")
		fs.StringVar(&f.fromBackup, "from-backup", "", "plan the return to the option bytes saved in this backup `FILE` (instead of FIELD=VALUE)")
		if sub == "apply" {
			fs.StringVar(&f.confirm, "confirm", "", "the confirmation phrase printed by plan")
			fs.BoolVar(&f.overrideBrick, "override-brick", false, "allow a change that can never be undone and may leave the chip unreachable")
		}
	case "journal":
		fs.BoolVar(&f.clear, "clear", false, "remove the pending-write record once the chip has been checked")
	default:
		fmt.Fprintf(stderr, "stprobe ob: unknown sub-command %q\n", sub)
		fmt.Fprint(stderr, obUsage)
		return nil, errUsage
	}
	for {
		if err := parseFlags(fs, args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			break
		}
		f.assignments = append(f.assignments, args[0])
		args = args[1:]
	}
	switch {
	case (sub == "plan" || sub == "apply") && (len(f.assignments) == 0) == (f.fromBackup == ""):
		fmt.Fprintf(stderr, "stprobe ob %s: give FIELD=VALUE arguments or --from-backup FILE (not both)\n", sub)
		fmt.Fprint(stderr, obUsage)
		return nil, errUsage
	case (sub == "read" || sub == "journal") && len(f.assignments) > 0:
		fmt.Fprintf(stderr, "stprobe ob %s: unexpected arguments %v\n", sub, f.assignments)
		return nil, errUsage
	case sub == "apply" && f.confirm == "":
		fmt.Fprintln(stderr, "stprobe ob apply: --confirm PHRASE is required (run `stprobe ob plan` with the same changes to get it)")
		return nil, errUsage
	}
	if _, err := targets.ParseDAMethod(f.daMethod); err != nil {
		fmt.Fprintf(stderr, "stprobe ob %s: %v\n", sub, err)
		return nil, errUsage
	}
	return f, nil
}

// obJournal shows (and optionally clears) the pending-write journal.
func obJournal(env *obEnv, f *obFlags) error {
	j, err := obytes.CheckJournal(env.stateDir)
	if err != nil {
		return err
	}
	if j == nil {
		fmt.Fprintln(env.stdout, "no interrupted option-byte write recorded")
		return nil
	}
	fmt.Fprintln(env.stdout, "PENDING WRITE: "+j.String())
	if len(j.Seen) > 0 {
		fmt.Fprintf(env.stdout, "registers seen when it failed: %s\n", regList(j.Seen))
	}
	if f.clear {
		if err := obytes.ClearJournal(env.stateDir); err != nil {
			return err
		}
		fmt.Fprintln(env.stdout, "journal cleared")
	}
	return nil
}

// obSession is a connected chip with its option bytes read.
type obSession struct {
	b      *bench
	conn   *probe.ConnectReport
	chip   *targets.Chip
	layout *obytes.Layout
	snap   *obytes.Snapshot
	da     targets.DAStatus
	// closed is set when AP1 does not answer; present and enable then hold
	// DBGMCU_SR as read through AP0, apErr why it could not be read.
	closed          error
	present, enable uint16
	apErr           error
}

// hotPlugAP1 are the connect options of every ob command.
var hotPlugAP1 = probe.ConnectOptions{Mode: probe.ModeHotPlug, AP: 1, FrequencyKHz: 4000}

// connectOB connects Hot Plug on AP1 and reads the chip and its option
// bytes. When AP1 is closed it falls back to AP0 and fills closed.
func connectOB(ctx context.Context, b *bench, daMethod string) (*obSession, error) {
	s := &obSession{b: b}
	rep, err := probe.Connect(ctx, b.Link, hotPlugAP1)
	if err != nil {
		return nil, fmt.Errorf("connecting Hot Plug on AP1: %w", err)
	}
	s.conn = rep
	if !rep.OK() {
		if !rep.DPOK {
			return nil, fmt.Errorf("connecting Hot Plug on AP1: the debug port does not answer (step %q): %w", rep.FailedStep, rep.Err)
		}
		s.closed = fmt.Errorf("AP1 does not answer Hot Plug (step %q): %w", rep.FailedStep, rep.Err)
		_ = b.Link.OpenAP(ctx, 0)
	}
	chip, err := targets.Identify(ctx, b.Link, rep.DPIDR)
	if err != nil {
		err = fmt.Errorf("identifying the chip (the ob commands know the STM32H5 only): %w", err)
		if s.closed != nil {
			return nil, fmt.Errorf("%v; and through AP0: %w", s.closed, err)
		}
		return nil, err
	}
	s.chip = chip
	if s.closed != nil {
		s.present, s.enable, s.apErr = targets.ReadAPStatus(ctx, b.Link)
		return s, nil
	}
	if s.layout, err = obytes.ForLine(chip.Line); err != nil {
		return nil, err
	}
	if s.snap, err = obytes.ReadSnapshot(ctx, b.Link, s.layout); err != nil {
		return nil, err
	}
	s.da = targets.ReadDAStatus(ctx, b.Link, chip, targets.TZENOf(s.snap.Cur["OPTSR2"]))
	if m, _ := targets.ParseDAMethod(daMethod); m != targets.DAMethodUnknown && s.da.Provisioned && s.da.Method != m {
		if s.da.Method != targets.DAMethodUnknown || s.layout.DevID == targets.DevIDH503 && m != targets.DAPassword {
			return nil, fmt.Errorf("--da-method %s contradicts what the chip shows (%v)", m, s.da)
		}
		s.da.Method = m
		s.da.Source += "; method " + m.String() + " stated with --da-method"
	}
	return s, nil
}

// runOB runs one ob sub-command on an open bench.
func runOB(ctx context.Context, b *bench, sub string, f *obFlags, env *obEnv) error {
	j, jerr := obytes.CheckJournal(env.stateDir)
	if jerr != nil {
		fmt.Fprintf(env.stderr, "WARNING: %v\n", jerr)
	} else if j != nil {
		fmt.Fprintf(env.stderr, "WARNING: PENDING WRITE: %s\n  (see `stprobe ob journal`; clear it with `stprobe ob journal --clear` once checked)\n", j)
	}
	s, err := connectOB(ctx, b, f.daMethod)
	if err != nil {
		return err
	}
	switch sub {
	case "read":
		return obRead(s, f, env, j)
	case "plan":
		_, err := obPlan(s, f, env)
		return inputMistake(err)
	case "apply":
		return inputMistake(obApply(ctx, s, f, env))
	}
	return errUsage
}

// inputMistake marks the errors that are mistakes in the FIELD=VALUE
// arguments (exit status 2) rather than failures of the chip or the probe.
func inputMistake(err error) error {
	if errors.Is(err, obytes.ErrUnknownField) || errors.Is(err, obytes.ErrInvalidValue) {
		return &inputError{err}
	}
	return err
}

// fieldOf returns the decoded field of the session's _CUR values.
func (s *obSession) fieldOf(name string) *obytes.FieldValue {
	fd, ok := s.layout.Field(name)
	if !ok {
		return nil
	}
	v := s.layout.DecodeField(fd, s.snap.Cur[fd.Register])
	return &v
}

// obReadJSON is the JSON form of ob read.
type obReadJSON struct {
	Chip         string             `json:"chip"`
	DevID        uint16             `json:"dev_id"`
	UID          string             `json:"uid,omitempty"`
	AP1Open      bool               `json:"ap1_open"`
	ProductState *obytes.FieldValue `json:"product_state,omitempty"`
	TZEN         *obytes.FieldValue `json:"tzen,omitempty"`
	DA           *targets.DAStatus  `json:"da,omitempty"`
	Registers    []obRegJSON        `json:"registers,omitempty"`
	APPresent    uint16             `json:"ap_present,omitempty"`
	APEnabled    uint16             `json:"ap_enabled,omitempty"`
	Error        string             `json:"error,omitempty"`
	PendingWrite *obytes.Journal    `json:"pending_write,omitempty"`
}

// obRegJSON is one register in ob read --json.
type obRegJSON struct {
	Name    string              `json:"name"`
	Meaning string              `json:"meaning"`
	Addr    uint32              `json:"addr_cur"`
	Cur     uint32              `json:"cur"`
	Prg     uint32              `json:"prg"`
	Fields  []obytes.FieldValue `json:"fields"`
}

// errOBUnreadable is returned by ob read when AP1 is closed.
var errOBUnreadable = errors.New("option bytes unreadable")

func obRead(s *obSession, f *obFlags, env *obEnv, j *obytes.Journal) error {
	out := obReadJSON{Chip: s.chip.String(), DevID: s.chip.DevID, UID: s.chip.UIDString(), AP1Open: s.closed == nil, PendingWrite: j}
	var result error
	if s.closed != nil {
		why := closedWhy(s)
		out.Error, out.APPresent, out.APEnabled = why, s.present, s.enable
		result = fmt.Errorf("%w: %s", errOBUnreadable, why)
	} else {
		out.ProductState, out.TZEN = s.fieldOf("PRODUCT_STATE"), s.fieldOf("TZEN")
		out.DA = &s.da
		for _, r := range s.layout.Registers {
			out.Registers = append(out.Registers, obRegJSON{
				Name: r.Name, Meaning: r.Meaning, Addr: obytes.FlashBase + r.Cur, Cur: s.snap.Cur[r.Name], Prg: s.snap.Prg[r.Name],
				Fields: s.layout.Decode(r.Name, s.snap.Cur[r.Name]),
			})
		}
	}
	if f.json {
		if err := writeJSON(env.stdout, out); err != nil {
			return err
		}
		return result
	}
	w := env.stdout
	if s.closed != nil {
		fmt.Fprintf(w, "chip:          %s\n", out.Chip)
		fmt.Fprintf(w, "AP1:           closed\n")
		if s.apErr == nil {
			fmt.Fprintf(w, "DBGMCU_SR:     AP present 0x%04X, enabled 0x%04X (through AP0)\n", s.present, s.enable)
		}
		fmt.Fprintf(w, "option bytes:  cannot be read: %s\n", out.Error)
		return result
	}
	fmt.Fprintf(w, "product state: %s — %s\n", out.ProductState.Text(), out.ProductState.Meaning)
	if out.TZEN != nil {
		fmt.Fprintf(w, "TZEN:          %s — %s\n", out.TZEN.Text(), out.TZEN.Meaning)
	} else {
		fmt.Fprintf(w, "TZEN:          absent (no TrustZone on %s)\n", s.layout.LineName)
	}
	fmt.Fprintf(w, "chip:          %s\n", out.Chip)
	fmt.Fprintf(w, "DA data:       %v\n", s.da)
	if j != nil && j.ChipUID == out.UID {
		fmt.Fprintf(w, "PENDING WRITE: the interrupted write of %s is %s on this chip\n", strings.Join(j.Changes, " "), j.Outcome(s.snap.Cur))
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

// closedWhy explains why the option bytes cannot be read.
func closedWhy(s *obSession) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%v", s.closed)
	switch {
	case s.apErr != nil:
		fmt.Fprintf(&b, "; DBGMCU_SR unreadable through AP0: %v", s.apErr)
	case s.enable&2 == 0:
		b.WriteString("; DBGMCU_SR says AP1 is not enabled: the product state closes debug (TZ_CLOSED without an application that opens it, CLOSED or LOCKED); debug authentication can reopen it if DA data was provisioned, never in LOCKED (stprobe da discover tells the product state and whether DA is provisioned)")
	default:
		b.WriteString("; DBGMCU_SR says AP1 is enabled, so check the wiring, the SWD clock and the connect mode")
	}
	return b.String()
}

// obPlanJSON is the JSON form of ob plan (a plan or its refusals).
type obPlanJSON struct {
	Plan    *obytes.Plan     `json:"plan,omitempty"`
	Refused []obytes.Refusal `json:"refused,omitempty"`
	Error   string           `json:"error,omitempty"`
}

// obPlan makes the plan and prints it.
func obPlan(s *obSession, f *obFlags, env *obEnv) (*obytes.Plan, error) {
	if s.closed != nil {
		return nil, fmt.Errorf("%w: %s", errOBUnreadable, closedWhy(s))
	}
	as, err := s.assignments(f)
	if err != nil {
		return nil, err
	}
	p, err := obytes.MakePlan(obytes.PlanInput{Layout: s.layout, UID: s.chip.UIDString(), Before: s.snap, DA: s.da}, as)
	if f.json {
		out := obPlanJSON{Plan: p}
		var re *obytes.RefusedError
		if errors.As(err, &re) {
			out.Refused = re.Refusals
		}
		if err != nil {
			out.Error = err.Error()
		}
		if jerr := writeJSON(env.stdout, out); jerr != nil {
			return nil, jerr
		}
		return p, err
	}
	if err != nil {
		var re *obytes.RefusedError
		if errors.As(err, &re) {
			printRefusals(env.stdout, re)
			return nil, errors.New("refused before any write (nothing was written)")
		}
		return nil, err
	}
	printPlan(env.stdout, s, p, env.rerun)
	return p, nil
}

// assignments are the requested changes: the FIELD=VALUE arguments, or
// every field that differs from a backup of this chip.
func (s *obSession) assignments(f *obFlags) ([]obytes.Assignment, error) {
	if f.fromBackup == "" {
		return s.layout.ParseAssignments(f.assignments)
	}
	bk, err := obytes.ReadBackup(f.fromBackup)
	if err != nil {
		return nil, err
	}
	switch {
	case bk.Snapshot == nil:
		return nil, fmt.Errorf("backup %s holds no option bytes", f.fromBackup)
	case bk.DevID != s.layout.DevID:
		return nil, fmt.Errorf("backup %s holds the option bytes of an %s; this chip is an %s", f.fromBackup, bk.LineName, s.layout.LineName)
	case bk.UID != s.chip.UIDString():
		return nil, fmt.Errorf("backup %s holds the option bytes of the chip with UID %s; this chip's UID is %s (backups are restored only to the chip they came from)", f.fromBackup, bk.UID, s.chip.UIDString())
	}
	as := s.layout.AssignmentsTo(s.snap.Cur, bk.Snapshot.Cur)
	if len(as) == 0 {
		return nil, obytes.ErrNoChange
	}
	return as, nil
}

// printRefusals explains each refused change.
func printRefusals(w io.Writer, re *obytes.RefusedError) {
	fmt.Fprintln(w, "REFUSED before any write:")
	for _, r := range re.Refusals {
		fmt.Fprintf(w, "  %s %s → %s\n    why: %s\n", r.Field, r.From, r.To, r.Reason)
		if r.WayBack != "" {
			fmt.Fprintf(w, "    instead: %s\n", r.WayBack)
		}
	}
}

// printPlan shows the diff, the risk and the phrase.
func printPlan(w io.Writer, s *obSession, p *obytes.Plan, rerun obRerun) {
	fmt.Fprintf(w, "chip:    %s\n", s.chip.String())
	fmt.Fprintf(w, "DA data: %v\n\n", p.DA)
	for _, c := range p.Changes {
		fmt.Fprintf(w, "  %-13s %-15s %s → %s\n      %s\n", strings.ToUpper(c.Risk.String()), c.Field, c.From.Text(), c.To.Text(), c.To.Meaning)
		fmt.Fprintf(w, "      %s\n", c.Why)
	}
	for _, n := range p.Notes {
		fmt.Fprintf(w, "  note: %s\n", n)
	}
	fmt.Fprintf(w, "\nrisk: %s\n", strings.ToUpper(p.Risk.String()))
	for _, ph := range p.Phases {
		extra := ""
		if ph.Resets {
			extra = " (the chip resets; reconnect Hot Plug on AP1)"
		}
		if ph.MayCloseDebug {
			extra += " (AP1 may stay closed afterwards)"
		}
		fmt.Fprintf(w, "step: %s%s\n", ph.Name, extra)
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

// obApply plans again, checks the confirmation and applies.
func obApply(ctx context.Context, s *obSession, f *obFlags, env *obEnv) error {
	if s.closed != nil {
		return fmt.Errorf("%w: %s", errOBUnreadable, closedWhy(s))
	}
	pf := *f
	pf.json = false
	p, err := obPlan(s, &pf, env)
	if err != nil {
		return err
	}
	b := s.b
	o := obytes.ApplyOptions{
		Confirm: f.confirm, OverrideBrick: f.overrideBrick, StateDir: env.stateDir,
		User: env.user, ProbeSerial: b.Info.Serial,
		Reconnect: func(ctx context.Context) error { return reconnectAP1(ctx, b.Link) },
		Events: func(e obytes.Event) {
			fmt.Fprintf(env.stderr, "  [%d/%d] %s: %s\n", e.Done, e.Total, e.Step, e.Message)
			if env.onEvent != nil {
				env.onEvent(e)
			}
		},
	}
	res, err := obytes.Apply(ctx, b.Link, p, o)
	if errors.Is(err, obytes.ErrNeedsOverride) {
		err = fmt.Errorf("%w; nothing was written. Add --override-brick only if you accept that this chip may never be debugged again", err)
	}
	if err != nil {
		if res != nil && res.Backup != "" {
			fmt.Fprintf(env.stdout, "backup of the option bytes before the write: %s\n", res.Backup)
		}
		return err
	}
	w := env.stdout
	fmt.Fprintf(w, "\nAPPLIED. backup: %s\n", res.Backup)
	for _, n := range res.Notes {
		fmt.Fprintf(w, "note: %s\n", n)
	}
	switch {
	case res.Verified:
		fmt.Fprintln(w, "verified: every _CUR register reads what was asked")
	case res.DebugClosed:
		fmt.Fprintln(w, "AP1 no longer answers; only AP0 (DBGMCU, DA mailbox) does, as the new product state intends")
	}
	if res.After != nil {
		for _, d := range s.layout.Diff(p.Before.Cur, res.After.Cur) {
			fmt.Fprintf(w, "  %-15s %s → %s\n", d.Field, d.From.Text(), d.To.Text())
		}
	}
	fmt.Fprintf(w, "audit log: %s\n", filepath.Join(env.stateDir, obytes.AuditFile))
	return nil
}

// reconnectAP1 is the Reconnect hook: Hot Plug on AP1 again; when the debug
// port answers but AP1 does not, it opens AP0 and wraps
// obytes.ErrCoreAPClosed.
func reconnectAP1(ctx context.Context, l *probe.Link) error {
	rep, err := probe.Connect(ctx, l, hotPlugAP1)
	if err != nil {
		return fmt.Errorf("reconnecting Hot Plug on AP1: %w", err)
	}
	if rep.OK() {
		return nil
	}
	if rep.DPOK {
		_ = l.OpenAP(ctx, 0)
		return fmt.Errorf("%w: step %q: %v", obytes.ErrCoreAPClosed, rep.FailedStep, rep.Err)
	}
	return fmt.Errorf("reconnecting Hot Plug on AP1: step %q: %w", rep.FailedStep, rep.Err)
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
