package obytes

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stprobe/stprobe/statefile"
	"github.com/stprobe/stprobe/targets"
	"github.com/stprobe/stprobe/targets/chipsim"
	"github.com/stprobe/stprobe/targets/stm32h5"
)

// faultClass is what goes wrong at the chosen register access.
type faultClass int

const (
	// faultTransport: the access fails and the handle is dead afterwards
	// (a USB error; a stlink-server connection out of step).
	faultTransport faultClass = iota
	// faultStall: no answer until the caller's deadline passes: the
	// caller's context expires and the handle is dead afterwards.
	faultStall
	// faultCancel: the caller's context is cancelled just before the
	// access (SIGINT, SIGTERM, SIGHUP or SIGPIPE caught by the CLI).
	faultCancel
	// faultServerKill: the stlink-server dies at the access (server path).
	faultServerKill
	// faultServerGone: the stlink-server dies and does not come back.
	faultServerGone
)

func (c faultClass) String() string {
	return [...]string{"transport error", "stall past the deadline", "context cancel", "server killed (restarted)", "server killed (gone)"}[c]
}

// manualCtx is a context whose end the test decides: Err turns to
// context.Canceled or context.DeadlineExceeded when the fault fires, with
// no wall clock involved.
type manualCtx struct {
	mu   sync.Mutex
	done chan struct{}
	err  error
}

func newManualCtx() *manualCtx { return &manualCtx{done: make(chan struct{})} }

func (c *manualCtx) Deadline() (time.Time, bool) { return time.Time{}, false }
func (c *manualCtx) Done() <-chan struct{}       { return c.done }
func (c *manualCtx) Value(any) any               { return nil }
func (c *manualCtx) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}
func (c *manualCtx) end(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err == nil {
		c.err = err
		close(c.done)
	}
}

// injector counts the register accesses of one Apply (over every handle)
// and breaks the one numbered at.
type injector struct {
	base  Target // the chip behind every handle
	class faultClass
	at    int // -1: none
	n     int
	fired bool
	ctx   *manualCtx
	// kill stops the server (server classes); nil in process.
	kill func()
}

// handle is one register-access handle (one connection).
type handle struct {
	in   *injector
	t    Target // nil: in.base
	dead bool
}

func (h *handle) target() Target {
	if h.t != nil {
		return h.t
	}
	return h.in.base
}

var errHandleDead = errors.New("connection closed after an earlier error")

func (h *handle) gate() error {
	if h.dead {
		return errHandleDead
	}
	i := h.in
	idx := i.n
	i.n++
	if idx != i.at {
		return nil
	}
	i.fired = true
	switch i.class {
	case faultTransport:
		h.dead = true
		return errors.New("USB: transfer error (injected)")
	case faultStall:
		h.dead = true
		i.ctx.end(context.DeadlineExceeded)
		return fmt.Errorf("no answer before the deadline (injected): %w", context.DeadlineExceeded)
	case faultCancel:
		i.ctx.end(context.Canceled)
	case faultServerKill, faultServerGone:
		i.kill()
	}
	return nil
}

func (h *handle) Read32(ctx context.Context, ap uint8, addr uint32) (uint32, error) {
	if err := h.gate(); err != nil {
		return 0, err
	}
	return h.target().Read32(ctx, ap, addr)
}

func (h *handle) Write32(ctx context.Context, ap uint8, addr uint32, v uint32) error {
	if err := h.gate(); err != nil {
		return err
	}
	return h.target().Write32(ctx, ap, addr, v)
}

// faultPlan is one write the suite breaks at every step.
type faultPlan struct {
	name string
	cfg  stm32h5.Config
	args []string
}

// faultPlans: a safe change of several registers plus a direct register, a
// TrustZone change (the chip resets) and OPEN → PROVISIONING (0x17).
func faultPlans() []faultPlan {
	fast := 200 * time.Microsecond
	return []faultPlan{
		{"safe H563", stm32h5.Config{Line: stm32h5.LineH563, OptionDelay: fast}, []string{"IWDG_STOP=0", "WRPSGn1=0xFFFFFFFE", "NSPRIV=1", "BOR_LEV=LEVEL2"}},
		{"TZEN H533", stm32h5.Config{Line: stm32h5.LineH533, OptionDelay: fast}, []string{"TZEN=ENABLED"}},
		{"PRODUCT_STATE=0x17 H533", stm32h5.Config{Line: stm32h5.LineH533, NRSTWired: true, OptionDelay: fast}, []string{"PRODUCT_STATE=0x17"}},
	}
}

// faultStats counts what the suite did.
type faultStats struct {
	mu       sync.Mutex
	injected map[string]int
	outcomes map[string]int
}

func newFaultStats() *faultStats {
	return &faultStats{injected: map[string]int{}, outcomes: map[string]int{}}
}

func (s *faultStats) add(class faultClass, outcome string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.injected[class.String()]++
	s.outcomes[class.String()+": "+outcome]++
}

func (s *faultStats) log(t *testing.T) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	var lines []string
	total := 0
	for k, v := range s.injected {
		lines = append(lines, fmt.Sprintf("faults injected, %s: %d", k, v))
		total += v
	}
	for k, v := range s.outcomes {
		lines = append(lines, fmt.Sprintf("outcome, %s: %d", k, v))
	}
	sort.Strings(lines)
	t.Logf("fault suite: %d faults injected\n%s", total, strings.Join(lines, "\n"))
}

// chipView is what the chip holds, read straight from the model.
type chipView struct {
	cur, prg map[string]uint32
	locked   bool
}

func viewChip(t *testing.T, m *stm32h5.Model, l *Layout) chipView {
	t.Helper()
	m.Advance(time.Second) // a change still running completes
	v := chipView{cur: map[string]uint32{}, prg: map[string]uint32{}}
	for _, r := range l.Registers {
		cur, prg, ok := m.OptionRegister(r.Name)
		if !ok {
			t.Fatalf("model has no %s", r.Name)
		}
		v.cur[r.Name], v.prg[r.Name] = cur, prg
	}
	optcr, err := m.AP(CoreAP).Read(FlashBase+targets.FlashOPTCR, chipsim.Word, 0)
	if err != nil {
		t.Fatalf("reading OPTCR from the model: %v", err)
	}
	v.locked = optcr&targets.OPTCROptLock != 0
	return v
}

// armed reports a staged change or an unlocked OPTCR.
func (v chipView) armed(l *Layout) bool {
	for _, r := range l.Registers {
		if !r.Direct && v.prg[r.Name] != v.cur[r.Name] {
			return true
		}
	}
	return !v.locked
}

// checkRecords asserts the invariants after one faulted Apply and returns
// the outcome class for the counts: the chip is either unchanged and
// locked, or changed and recorded; journal and audit agree with the chip;
// nothing staged is reported as not applied.
func checkRecords(t *testing.T, label string, m *stm32h5.Model, p *Plan, dir string, res *Result, err error, mayArm bool) string {
	t.Helper()
	l, _ := ForDevID(p.DevID)
	v := viewChip(t, m, l)
	resets := false
	for _, ph := range p.Phases {
		resets = resets || ph.Resets
	}
	want := map[string]uint32{}
	for _, r := range l.Registers {
		if (!r.Direct || !resets) && p.After[r.Name] != p.Before.Cur[r.Name] {
			want[r.Name] = p.After[r.Name]
		}
	}
	onChip := (&statefile.Journal{Want: want, Before: p.Before.Cur}).Outcome(v.cur)
	recs, rerr := statefile.ReadAudit(dir)
	if rerr != nil || len(recs) == 0 {
		t.Fatalf("%s: audit %v %v", label, recs, rerr)
	}
	last := recs[len(recs)-1]
	j, jerr := statefile.CheckChipJournal(dir, p.UID)
	if jerr != nil {
		t.Fatalf("%s: journal: %v", label, jerr)
	}
	if err == nil {
		if onChip != statefile.OutcomeApplied || v.armed(l) || j != nil || last.Result != "ok" || last.Outcome != statefile.OutcomeApplied {
			t.Fatalf("%s: success but chip %s armed %v, journal %v, audit %+v", label, onChip, v.armed(l), j, last)
		}
		return "applied, audited ok"
	}
	if res == nil {
		t.Fatalf("%s: no result with %v", label, err)
	}
	msg := err.Error()
	if last.Outcome != res.Outcome {
		t.Fatalf("%s: audit says %q, result %q (%v)", label, last.Outcome, res.Outcome, err)
	}
	if (j != nil) != (res.Journal != "") {
		t.Fatalf("%s: journal file %v, result says %q", label, j, res.Journal)
	}
	if j != nil && j.State != res.Outcome {
		t.Fatalf("%s: journal state %q, result %q", label, j.State, res.Outcome)
	}
	if v.armed(l) {
		// Only when no fresh handle could be had: then it must say so.
		if !mayArm || res.Outcome != statefile.OutcomeNotUndone && res.Outcome != statefile.OutcomeUnknown || j == nil || strings.Contains(msg, "nothing was") {
			t.Fatalf("%s: chip left armed (cur %v prg %v locked %v), reported %q, journal %v: %v", label, v.cur, v.prg, v.locked, res.Outcome, j, err)
		}
		return "left staged, recorded as " + res.Outcome
	}
	switch onChip {
	case statefile.OutcomeNotApplied:
		switch res.Outcome {
		case statefile.OutcomeNotApplied, statefile.OutcomeUndone:
		case statefile.OutcomeUnknown, statefile.OutcomeNotUndone:
			if !mayArm {
				t.Fatalf("%s: chip unchanged and locked, reported %q: %v", label, res.Outcome, err)
			}
		default:
			t.Fatalf("%s: chip unchanged and locked, reported %q: %v", label, res.Outcome, err)
		}
		return "unchanged and locked, reported " + res.Outcome
	default:
		if j == nil {
			t.Fatalf("%s: chip %s but no journal: %v", label, onChip, err)
		}
		if res.Outcome != onChip && !(mayArm && res.Outcome == statefile.OutcomeUnknown) {
			t.Fatalf("%s: chip %s, reported %q: %v", label, onChip, res.Outcome, err)
		}
		if len(last.After) > 0 && res.Outcome != statefile.OutcomeUnknown {
			for name, w := range want {
				if last.After[name] != v.cur[name] {
					t.Fatalf("%s: audit after %s=0x%08X, chip 0x%08X (want 0x%08X)", label, name, last.After[name], v.cur[name], w)
				}
			}
		}
		return "changed (" + onChip + "), recorded as " + res.Outcome
	}
}

// TestFaultEveryStepInProcess breaks each write at every register access
// with each in-process fault class and checks the chip and the records.
func TestFaultEveryStepInProcess(t *testing.T) {
	stats := newFaultStats()
	for _, fp := range faultPlans() {
		// A clean run counts the accesses.
		steps := countAccesses(t, fp)
		stride := 1
		if testing.Short() {
			stride = 7
		}
		for _, class := range []faultClass{faultTransport, faultStall, faultCancel} {
			for at := 0; at < steps; at += stride {
				label := fmt.Sprintf("%s, %s at access %d/%d", fp.name, class, at, steps)
				out := runFault(t, fp, class, at, label)
				stats.add(class, out)
			}
		}
	}
	stats.log(t)
}

// countAccesses runs fp without a fault and returns the number of register
// accesses Apply made.
func countAccesses(t *testing.T, fp faultPlan) int {
	t.Helper()
	c := newChip(t, fp.cfg)
	in := c.setup(t)
	p, err := plan(t, in, fp.args...)
	if err != nil {
		t.Fatal(err)
	}
	inj := &injector{base: c, at: -1, ctx: newManualCtx()}
	o := faultOpts(t, c, inj, p)
	if _, err := Apply(inj.ctx, &handle{in: inj}, p, o); err != nil {
		t.Fatalf("%s without a fault: %v", fp.name, err)
	}
	return inj.n
}

// faultOpts are the options of a faulted run: Reopen gives a fresh handle
// on the same chip (Hot Plug on AP1 again).
func faultOpts(t *testing.T, c *chipTarget, inj *injector, p *Plan) ApplyOptions {
	return ApplyOptions{
		Confirm: p.Phrase, OverrideBrick: p.NeedsOverride, StateDir: t.TempDir(), User: "tester", ProbeSerial: "SIMSERIAL", Now: fixedNow,
		Reopen: func(ctx context.Context) (Target, error) {
			c.epoch = c.chip.LinkEpoch()
			h := &handle{in: inj}
			if !c.chip.AP1Enabled() {
				return h, fmt.Errorf("hot plug on AP1: %w", ErrCoreAPClosed)
			}
			return h, nil
		},
	}
}

func runFault(t *testing.T, fp faultPlan, class faultClass, at int, label string) string {
	t.Helper()
	c := newChip(t, fp.cfg)
	in := c.setup(t)
	p, err := plan(t, in, fp.args...)
	if err != nil {
		t.Fatal(err)
	}
	inj := &injector{base: c, class: class, at: at, ctx: newManualCtx()}
	o := faultOpts(t, c, inj, p)
	res, err := Apply(inj.ctx, &handle{in: inj}, p, o)
	if !inj.fired {
		t.Fatalf("%s: the fault never fired (%d accesses)", label, inj.n)
	}
	return checkRecords(t, label, c.chip, p, o.StateDir, res, err, false)
}

// Without a way to reopen the link, a staging step that loses its handle
// cannot be undone: the chip stays armed and every record says so, with
// the register values, never "nothing was applied".
func TestFaultWithoutReopenSaysStaged(t *testing.T) {
	fp := faultPlans()[2] // PRODUCT_STATE=0x17
	c := newChip(t, fp.cfg)
	in := c.setup(t)
	p, err := plan(t, in, fp.args...)
	if err != nil {
		t.Fatal(err)
	}
	inj := &injector{base: c, class: faultTransport, ctx: newManualCtx()}
	// Fault the access right after the first _PRG write.
	var writes int
	inj.at = -1
	probe := &probeWrites{Target: c, onWrite: func(addr uint32) {
		if addr == FlashBase+0x054 && writes == 0 { // OPTSR_PRG
			writes++
			inj.at = inj.n
		}
	}}
	inj.base = probe
	o := ApplyOptions{Confirm: p.Phrase, StateDir: t.TempDir(), User: "tester", ProbeSerial: "SIMSERIAL", Now: fixedNow, Reconnect: c.reconnect}
	res, err := Apply(context.Background(), &handle{in: inj}, p, o)
	var we *WriteError
	if !errors.As(err, &we) || we.Started || !we.Staged || we.Undone {
		t.Fatalf("got %v, want a staged, not undone WriteError", err)
	}
	msg := err.Error()
	if strings.Contains(msg, "nothing was") || !strings.Contains(msg, "STAGED") {
		t.Errorf("message %q", msg)
	}
	if res.Outcome != statefile.OutcomeNotUndone {
		t.Errorf("outcome %q", res.Outcome)
	}
	j, err := statefile.CheckChipJournal(o.StateDir, p.UID)
	if err != nil || j == nil || j.State != statefile.OutcomeNotUndone || !strings.Contains(j.String(), "NOT undone") {
		t.Fatalf("journal %+v %v", j, err)
	}
	v := viewChip(t, c.chip, in.Layout)
	if !v.armed(in.Layout) {
		t.Fatalf("the chip is not armed: the fault was not where intended")
	}
	recs, _ := statefile.ReadAudit(o.StateDir)
	if len(recs) != 1 || recs[0].Outcome != statefile.OutcomeNotUndone || recs[0].Journal == "" {
		t.Errorf("audit %+v", recs)
	}
	// The chip can be disarmed afterwards.
	regs, err := Disarm(context.Background(), c, in.Layout)
	if err != nil {
		t.Fatalf("Disarm: %v (%v)", err, regs)
	}
	if v := viewChip(t, c.chip, in.Layout); v.armed(in.Layout) {
		t.Errorf("still armed after Disarm: %+v", v)
	}
	checkStuck(t, c.chip)
}

// probeWrites calls onWrite before each write.
type probeWrites struct {
	Target
	onWrite func(addr uint32)
}

func (p *probeWrites) Write32(ctx context.Context, ap uint8, addr uint32, v uint32) error {
	p.onWrite(addr)
	return p.Target.Write32(ctx, ap, addr, v)
}

// checkStuck makes sure the product state did not move.
func checkStuck(t *testing.T, m *stm32h5.Model) {
	t.Helper()
	if m.ProductState() != targets.StateOpen {
		t.Errorf("product state %v", m.ProductState())
	}
}

// A journal or audit path that cannot be written is a file-layer error,
// never labelled target:, and never silent.
func TestRecordFailuresAreErrors(t *testing.T) {
	t.Run("audit after a good write", func(t *testing.T) {
		c := newChip(t, stm32h5.Config{Line: stm32h5.LineH563})
		in := c.setup(t)
		p, _ := plan(t, in, "IWDG_STOP=0")
		o := opts(t, c, p)
		if err := os.Mkdir(filepath.Join(o.StateDir, statefile.AuditFile), 0o700); err != nil {
			t.Fatal(err)
		}
		res, err := Apply(context.Background(), c, p, o)
		var re *RecordError
		if !errors.As(err, &re) || !re.Applied || !strings.HasPrefix(err.Error(), "file:") {
			t.Fatalf("got %v, want a RecordError saying the write was applied", err)
		}
		if res == nil || !res.Verified || res.Audited {
			t.Errorf("result %+v", res)
		}
		j, jerr := statefile.CheckChipJournal(o.StateDir, p.UID)
		if jerr != nil || j == nil || j.State != statefile.OutcomeApplied || !strings.Contains(j.Failure, "audit") {
			t.Errorf("journal %+v %v: it must stay and say applied", j, jerr)
		}
	})
	t.Run("journal before the first write", func(t *testing.T) {
		c := newChip(t, stm32h5.Config{Line: stm32h5.LineH563})
		in := c.setup(t)
		p, _ := plan(t, in, "IWDG_STOP=0")
		o := opts(t, c, p)
		if err := os.WriteFile(filepath.Dir(statefile.JournalPath(o.StateDir, "X")), nil, 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := Apply(context.Background(), c, p, o)
		if err == nil || !strings.HasPrefix(err.Error(), "file:") || strings.Contains(err.Error(), "target:") || errors.Is(err, ErrPendingWrite) {
			t.Fatalf("got %v", err)
		}
		if c.flashWrites != 0 {
			t.Errorf("%d FLASH writes without a journal", c.flashWrites)
		}
	})
	t.Run("backup", func(t *testing.T) {
		c := newChip(t, stm32h5.Config{Line: stm32h5.LineH563})
		in := c.setup(t)
		p, _ := plan(t, in, "IWDG_STOP=0")
		o := opts(t, c, p)
		if err := os.WriteFile(statefile.BackupsDir(o.StateDir), nil, 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := Apply(context.Background(), c, p, o)
		if err == nil || !strings.Contains(err.Error(), "file:") || strings.Contains(err.Error(), "target:") || c.flashWrites != 0 {
			t.Fatalf("got %v, %d writes", err, c.flashWrites)
		}
	})
}
