// Package obpane is the console's option-byte pane: the chip's option bytes
// grouped by register, each field with its decoded value and meaning, the
// to-program value beside the current one where they differ; edits that
// offer only the field's valid values; the plan of the edits (diff, risk
// class, consequences) or the refusal with the real way back; for a plan
// that closes the chip, the proof of the way back (the credentials and the
// .obk file, checked by the bench: a proven close is irreversible, not
// brick); the guard that asks for the typed phrase (and the override for
// a brick change);
// the guarded write's progress, verification, backup and audit line; and
// the return to a backup of this chip.
package obpane

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/stprobe/stprobe/bench"
	"github.com/stprobe/stprobe/tui/common"
	"github.com/stprobe/stprobe/tui/credform"
	"github.com/stprobe/stprobe/tui/guard"
)

// Job kinds this pane starts (JobDoneMsg.Kind).
const (
	KindRead  = "obpane: read"
	KindPlan  = "obpane: plan"
	KindApply = "obpane: apply"
	// KindRehearse runs the planned write on the chip's twin first.
	KindRehearse = "obpane: rehearse"
	// KindClearPending clears the chip's pending-write record.
	KindClearPending = "obpane: clear pending"
)

// benchApplyKind is the bench's kind of an option-byte write, as other
// sessions see it in JobStarted and JobFinished.
const benchApplyKind = "ob apply"

// screen is what the pane shows.
type screen int

const (
	screenTable screen = iota
	screenPlan
	screenApply
	screenBackups
)

// Option configures a Model.
type Option func(*Model)

// WithStateDir sets the directory of backups and the audit log (default
// bench.DefaultStateDir).
func WithStateDir(dir string) Option { return func(m *Model) { m.stateDir = dir } }

// WithSearchDirs sets where the proof-of-the-way-back form looks for
// credential files (default: the state directory and the current
// directory).
func WithSearchDirs(dirs ...string) Option {
	return func(m *Model) { m.credDirs = append([]string{}, dirs...) }
}

// Model is the option-byte pane. Create it with New.
type Model struct {
	c        *common.Context
	keys     keyMap
	w, h     int
	look     common.Look
	stateDir string
	dirErr   error

	ob *bench.OptionBytes
	// stale is a read the bench's state may still carry that no longer
	// tells the truth (the read before a write that closed debug).
	stale *bench.OptionBytes
	rows  []row
	// fields are the indexes in rows of the field rows; sel indexes fields.
	fields []int
	sel    int
	top    int

	staged   []staged
	daMethod string

	screen screen
	edit   *editor
	guard  *guard.Model
	busy   string // the job kind this pane waits for
	notice string
	bad    bool

	// The plan on screen, or why there is none.
	change  bench.Change
	reason  string
	plan    *bench.OBPlan
	refused *bench.RefusedError
	planErr error
	scroll  int

	// The write: progress, and its outcome.
	steps    []bench.WriteEvent
	applyRes *bench.ApplyResult
	applyErr error
	// rehearsal is the planned write run on the chip's twin (rehearseErr:
	// why it could not be run).
	rehearsal   *bench.Rehearsal
	rehearseErr error
	watching    string // another session's write in progress

	// otherPlan is a plan another session made (seenPlan the last plan
	// seen in the bench's state), for observers to look at.
	otherPlan *bench.OBPlan
	otherBy   string
	seenPlan  *bench.OBPlan

	// The proof of the way back: its form, whether it is open, and the
	// files it named for the plan on screen.
	wbForm   *credform.Form
	wbOpen   bool
	wbPaths  map[credform.Field]string
	credDirs []string

	backups    []backupEntry
	backupsErr error
	listed     bool
	bsel       int
}

// New returns the option-byte pane of the session c.
func New(c *common.Context, opts ...Option) *Model {
	m := &Model{c: c, keys: newKeyMap()}
	for _, o := range opts {
		o(m)
	}
	if m.stateDir == "" {
		m.stateDir, m.dirErr = bench.DefaultStateDir()
	}
	if c != nil {
		m.setOB(c.Snapshot().OptionBytes)
	}
	return m
}

// Init starts nothing: the pane shows what the bench last read.
func (m *Model) Init() tea.Cmd { return nil }

// Title is the pane's name in the tab bar.
func (m *Model) Title() string { return common.PaneOptionBytes.String() }

// SetSize sets the area the pane draws in.
func (m *Model) SetSize(w, h int) {
	m.w, m.h = w, h
	m.follow()
}

// Capturing reports whether the pane takes every key (an edit or the
// guard dialog is open).
func (m *Model) Capturing() bool { return m.edit != nil || m.guard != nil || m.wbOpen }

// Keys are the pane's bindings for the current screen; actions this
// session cannot run are disabled.
func (m *Model) Keys() []key.Binding {
	k := m.keys
	act := func(b key.Binding) key.Binding {
		if m.c == nil || m.c.Unavailable() != "" {
			return disabled(b)
		}
		return b
	}
	switch {
	case m.wbOpen:
		return credform.Keys()
	case m.guard != nil:
		return m.guard.KeyBindings()
	case m.edit != nil:
		if m.edit.input != nil {
			return []key.Binding{k.Confirm, k.Cancel}
		}
		return []key.Binding{k.Up, k.Down, k.Confirm, k.Cancel}
	}
	switch m.screen {
	case screenPlan:
		wb := act(k.WayBack) // named always: unavailable when the plan does not close the chip
		if _, ok := closes(m.plan); !ok {
			wb = disabled(wb)
		}
		return []key.Binding{act(k.Apply), act(k.Rehearse), wb, k.Back, k.Up, k.Down}
	case screenApply:
		return []key.Binding{k.Back, k.Up, k.Down}
	case screenBackups:
		return []key.Binding{act(k.Restore), k.Read, k.Back, k.Up, k.Down}
	}
	out := []key.Binding{act(k.Edit), act(k.Plan), act(k.Read), k.Backups, k.Unstage, k.Clear, k.Method, k.Up, k.Down, k.PageUp, k.PageDown, k.Top, k.Bottom}
	// J and v are named always, as unavailable when there is nothing to
	// clear or view: they answer why when pressed
	j, v := act(k.Journal), k.View
	if !m.pending() {
		j = disabled(j)
	}
	if m.otherPlan == nil {
		v = disabled(v)
	}
	return append(out, j, v)
}

// Update handles one message.
func (m *Model) Update(msg tea.Msg) (common.Pane, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.KeyPressMsg:
		return m, m.key(msg)
	case tea.MouseClickMsg:
		m.click(msg.Mouse())
	case tea.MouseWheelMsg:
		m.wheel(msg.Mouse().Button)
	case common.JobDoneMsg:
		return m, m.jobDone(msg)
	case common.EventMsg:
		m.event(msg.Event)
	case common.OpenPaneMsg:
		if msg.Pane == common.PaneOptionBytes {
			return m, m.request(msg.Request)
		}
	case backupsMsg:
		m.listed = true
		m.backups, m.backupsErr = msg.list, msg.err
		m.bsel = min(m.bsel, max(0, len(m.backups)-1))
	}
	return m, nil
}

// say puts a message in the pane (and in the footer).
func (m *Model) say(text string) tea.Cmd {
	m.notice, m.bad = text, false
	return common.Status(text)
}

// fail puts a failure in the pane (and in the footer).
func (m *Model) fail(text string) tea.Cmd {
	m.notice, m.bad = text, true
	return common.StatusErr(text)
}

// unavailable says why an action cannot run.
func (m *Model) unavailable(action, why string) tea.Cmd {
	return m.fail(fmt.Sprintf("cannot %s: %s", action, why))
}

// runWhy is why this session cannot run a job now ("" when it can).
func (m *Model) runWhy() string {
	if m.c == nil {
		return "no console session"
	}
	if m.busy != "" {
		return "this pane is waiting for its " + strings.TrimPrefix(m.busy, "obpane: ") + " job"
	}
	return m.c.UnavailableNow()
}

// key handles a key press on the current screen.
func (m *Model) key(msg tea.KeyPressMsg) tea.Cmd {
	switch {
	case m.wbOpen:
		return m.wayBackKey(msg)
	case m.guard != nil:
		return m.guardKey(msg)
	case m.edit != nil:
		return m.editKey(msg)
	}
	k := m.keys
	switch m.screen {
	case screenPlan:
		switch {
		case key.Matches(msg, k.Apply):
			return m.startApply()
		case key.Matches(msg, k.WayBack):
			return m.openWayBack()
		case key.Matches(msg, k.Rehearse):
			return m.startRehearse()
		case key.Matches(msg, k.Back):
			m.screen = screenTable
		case key.Matches(msg, k.Up):
			m.scroll = max(0, m.scroll-1)
		case key.Matches(msg, k.Down):
			m.scroll++
		}
		return nil
	case screenApply:
		switch {
		case key.Matches(msg, k.Back):
			if m.busy == KindApply {
				return m.fail("the write is running: wait for it (" + common.CancelKey + " stops it between phases)")
			}
			m.screen = screenTable
		case key.Matches(msg, k.Up):
			m.scroll = max(0, m.scroll-1)
		case key.Matches(msg, k.Down):
			m.scroll++
		}
		return nil
	case screenBackups:
		switch {
		case key.Matches(msg, k.Back):
			m.screen = screenTable
		case key.Matches(msg, k.Up):
			m.bsel = max(0, m.bsel-1)
		case key.Matches(msg, k.Down):
			m.bsel = min(max(0, len(m.backups)-1), m.bsel+1)
		case key.Matches(msg, k.Read):
			return m.listBackups()
		case key.Matches(msg, k.Restore):
			if m.bsel < len(m.backups) {
				e := m.backups[m.bsel]
				if e.err != nil {
					return m.fail("this backup cannot be read: " + e.err.Error())
				}
				m.reason = "return to the backup of " + e.when()
				return m.startPlan(bench.Change{FromBackup: e.path})
			}
		}
		return nil
	}
	switch {
	case key.Matches(msg, k.Up):
		m.move(-1)
	case key.Matches(msg, k.Down):
		m.move(1)
	case key.Matches(msg, k.PageUp):
		m.move(-max(1, m.tableRows()-1))
	case key.Matches(msg, k.PageDown):
		m.move(max(1, m.tableRows()-1))
	case key.Matches(msg, k.Top):
		m.move(-len(m.fields))
	case key.Matches(msg, k.Bottom):
		m.move(len(m.fields))
	case key.Matches(msg, k.Read):
		return m.startRead()
	case key.Matches(msg, k.Edit):
		return m.openEditor()
	case key.Matches(msg, k.Unstage):
		if f := m.selected(); f != nil && m.unstage(f.field.Name) {
			m.rebuild()
			return m.say("dropped the edit of " + f.field.Name)
		}
	case key.Matches(msg, k.Clear):
		if len(m.staged) > 0 {
			m.staged = nil
			m.rebuild()
			return m.say("cleared every edit")
		}
	case key.Matches(msg, k.Plan):
		if why := m.runWhy(); why != "" {
			return m.unavailable("plan", why)
		}
		if len(m.staged) == 0 {
			return m.fail("nothing to plan: edit a field first (enter)")
		}
		m.reason = ""
		return m.startPlan(bench.Change{Assignments: m.assignments()})
	case key.Matches(msg, k.Method):
		m.daMethod = nextMethod(m.daMethod)
		if m.daMethod == "" {
			return m.say("DA method: as the chip tells")
		}
		return m.say("DA method stated for plans: " + m.daMethod + " (used only when the chip cannot tell)")
	case key.Matches(msg, k.Backups):
		m.screen = screenBackups
		return m.listBackups()
	case key.Matches(msg, k.Journal):
		return m.clearJournal()
	case key.Matches(msg, k.View):
		return m.viewOtherPlan()
	}
	return nil
}

// viewOtherPlan shows the plan another session made, read-only.
func (m *Model) viewOtherPlan() tea.Cmd {
	p := m.otherPlan
	if p == nil {
		return m.fail("no plan from another session to look at")
	}
	m.otherPlan = nil
	ch := bench.Change{}
	for _, c := range p.Changes {
		ch.Assignments = append(ch.Assignments, fmt.Sprintf("%s=0x%X", c.Field, c.To.Raw))
	}
	m.change, m.plan, m.refused, m.planErr, m.scroll = ch, p, nil, nil, 0
	m.reason = "planned by " + m.otherBy
	m.screen = screenPlan
	return nil
}

// nextMethod cycles the DA method stated for plans.
func nextMethod(s string) string {
	switch s {
	case "":
		return "password"
	case "password":
		return "certificate"
	}
	return ""
}

// request acts on an OpenPaneMsg's request.
func (m *Model) request(r any) tea.Cmd {
	switch r := r.(type) {
	case common.PlanRequest:
		m.reason = r.Reason
		m.edit, m.guard = nil, nil
		if r.FromBackup != "" {
			return m.startPlan(bench.Change{FromBackup: r.FromBackup})
		}
		m.staged = nil
		for _, a := range r.Assignments {
			name, val, _ := strings.Cut(a, "=")
			m.stage(strings.TrimSpace(name), strings.TrimSpace(val))
		}
		m.rebuild()
		if len(m.staged) == 0 {
			return nil
		}
		return m.startPlan(bench.Change{Assignments: m.assignments()})
	case *common.PlanRequest:
		if r != nil {
			return m.request(*r)
		}
	case nil:
		// Opened with nothing read yet: read, when this session can.
		if m.ob == nil && m.runWhy() == "" {
			return m.startRead()
		}
	}
	return nil
}

// startRead reads the option bytes on the bench.
func (m *Model) startRead() tea.Cmd {
	if why := m.runWhy(); why != "" {
		return m.unavailable("read the option bytes", why)
	}
	b, dam, dir := m.c.Bench, m.daMethod, m.stateDir
	m.busy = KindRead
	m.say("reading the option bytes (Hot Plug on AP1)…")
	return m.c.Job(common.PaneOptionBytes, KindRead, func(ctx context.Context, t bench.Token) (any, error) {
		return b.ReadOptionBytes(ctx, t, bench.OBRequest{DAMethod: dam, StateDir: dir})
	})
}

// pending reports whether the bench found an interrupted write of the chip
// on screen in the state directory.
func (m *Model) pending() bool {
	return m.ob != nil && (m.ob.Pending != nil || m.ob.PendingErr != nil)
}

// clearJournal asks the bench to remove the chip's pending-write record
// once the user has looked at the chip.
func (m *Model) clearJournal() tea.Cmd {
	if !m.pending() {
		return m.fail("no interrupted write is recorded for this chip")
	}
	if why := m.runWhy(); why != "" {
		return m.unavailable("clear the pending-write record", why)
	}
	b, dir := m.c.Bench, m.stateDir
	m.busy = KindClearPending
	return m.c.Job(common.PaneOptionBytes, KindClearPending, func(ctx context.Context, t bench.Token) (any, error) {
		return nil, b.ClearPending(ctx, t, dir, "cleared in the console after checking the chip")
	})
}

// startPlan plans a change on the bench (nothing is written).
func (m *Model) startPlan(ch bench.Change) tea.Cmd {
	if why := m.runWhy(); why != "" {
		return m.unavailable("plan the change", why)
	}
	ch.DAMethod = m.daMethod
	m.change = ch
	if ch.WayBack == nil {
		m.wbPaths = nil
	}
	m.plan, m.refused, m.planErr, m.scroll = nil, nil, nil, 0
	m.rehearsal, m.rehearseErr = nil, nil
	m.screen = screenPlan
	m.busy = KindPlan
	b := m.c.Bench
	m.say("planning: reading the chip and checking the rules (nothing is written)…")
	return m.c.Job(common.PaneOptionBytes, KindPlan, func(ctx context.Context, t bench.Token) (any, error) {
		return b.PlanOptionBytes(ctx, t, ch)
	})
}

// startApply applies the plan on screen: at once for safe and caution
// plans (the plan on screen is the confirmation), through the guard for
// irreversible and brick ones.
func (m *Model) startApply() tea.Cmd {
	if m.plan == nil {
		return m.fail("no plan to apply")
	}
	if why := m.runWhy(); why != "" {
		return m.unavailable("apply", why)
	}
	if m.plan.Header().Typed() {
		m.guard = m.newGuard(m.plan)
		return m.guard.Focus()
	}
	return m.apply("", false) // the plan on screen is the confirmation (bench.ApplyRequest.Seen)
}

// apply runs the guarded write of m.change with the given confirmation.
func (m *Model) apply(confirm string, override bool) tea.Cmd {
	if why := m.runWhy(); why != "" {
		return m.unavailable("apply", why)
	}
	req := bench.ApplyRequest{Change: m.change, Confirm: confirm, OverrideBrick: override, Seen: confirm == "", StateDir: m.stateDir}
	b := m.c.Bench
	m.guard = nil
	m.screen = screenApply
	m.busy = KindApply
	m.steps, m.applyRes, m.applyErr, m.scroll = nil, nil, nil, 0
	m.say("applying: backup, programming, verification…")
	return m.c.Job(common.PaneOptionBytes, KindApply, func(ctx context.Context, t bench.Token) (any, error) {
		return b.ApplyOptionBytes(ctx, t, req)
	})
}

// startRehearse runs the planned (or refused) change on the chip's twin,
// captured now: nothing is written to the chip, and the plan screen then
// says what the twin ended in, or what went wrong there.
func (m *Model) startRehearse() tea.Cmd {
	if m.plan == nil && m.refused == nil {
		return m.fail("no plan to rehearse")
	}
	if why := m.runWhy(); why != "" {
		return m.unavailable("rehearse", why)
	}
	b, req := m.c.Bench, bench.ApplyRequest{Change: m.change}
	m.busy = KindRehearse
	m.rehearsal, m.rehearseErr = nil, nil
	m.say("rehearsing: capturing the chip (read-only) and running the write on its twin…")
	return m.c.Job(common.PaneOptionBytes, KindRehearse, func(ctx context.Context, t bench.Token) (any, error) {
		return b.Rehearse(ctx, t, req)
	})
}

// audit is the audit line the last write added (nil when none).
func (m *Model) audit() *bench.AuditRecord {
	if m.applyRes == nil || m.applyRes.Result == nil {
		return nil
	}
	return m.applyRes.Result.Audit
}

// jobDone takes the result of a job this pane started.
func (m *Model) jobDone(msg common.JobDoneMsg) tea.Cmd {
	if msg.Kind != m.busy {
		return nil
	}
	m.busy = ""
	switch msg.Kind {
	case KindRead:
		if o, ok := msg.Value.(*bench.OptionBytes); ok && o != nil {
			m.setOB(o)
		}
		if msg.Err != nil {
			return m.fail("reading the option bytes: " + msg.Err.Error())
		}
		if m.ob != nil && m.ob.Closed != nil {
			return m.fail("AP1 is closed: the option bytes cannot be read")
		}
		return m.say("option bytes read")
	case KindClearPending:
		if msg.Err != nil {
			return m.fail("clearing the pending-write record: " + msg.Err.Error())
		}
		if o := m.c.Snapshot().OptionBytes; o != nil {
			m.setOB(o)
		}
		return m.say("pending-write record cleared")
	case KindPlan:
		if pr, ok := msg.Value.(*bench.PlanResult); ok && pr != nil {
			if pr.OptionBytes != nil {
				m.setOB(pr.OptionBytes)
			}
			m.plan = pr.Plan
		}
		var ref *bench.RefusedError
		switch {
		case errors.As(msg.Err, &ref):
			m.plan, m.refused = nil, ref
			return m.fail("refused before any write")
		case msg.Err != nil:
			m.plan, m.planErr = nil, msg.Err
			if common.IsUnavailable(msg.Err) {
				return m.unavailable("plan the change", msg.Err.Error())
			}
			return m.fail("no plan: " + msg.Err.Error())
		case m.plan == nil:
			m.planErr = errors.New("the bench returned no plan")
			return m.fail("no plan")
		}
		return m.say(fmt.Sprintf("plan ready: %s; press a to apply", m.plan.Risk))
	case KindRehearse:
		m.rehearsal, _ = msg.Value.(*bench.Rehearsal)
		m.rehearseErr = msg.Err
		if msg.Err != nil {
			return m.fail("rehearsal: " + msg.Err.Error())
		}
		if m.rehearsal == nil {
			return m.fail("rehearsal: the bench returned nothing")
		}
		return m.say(m.rehearsal.Text())
	case KindApply:
		if res, ok := msg.Value.(*bench.ApplyResult); ok && res != nil {
			m.applyRes = res
		}
		m.applyErr = msg.Err
		m.afterApply()
		if msg.Err != nil {
			// how it ended, from the write's own report ("cancelled:
			// staged and undone"), not the bare cause
			return m.fail(applyOutcome(msg.Err))
		}
		m.staged = nil
		m.rebuild()
		if r := m.applyRes; r != nil && r.Result != nil && r.Result.DebugClosed {
			return m.say("option bytes applied; debug is closed now, as planned: r reads what AP0 tells")
		}
		return m.say("option bytes applied")
	}
	return nil
}

// afterApply shows the chip as it is after a write.
func (m *Model) afterApply() {
	r := m.applyRes
	if r == nil || r.Result == nil || r.OptionBytes == nil {
		return
	}
	switch {
	case r.Result.After != nil:
		o := r.OptionBytes
		m.setOB(&bench.OptionBytes{Chip: o.Chip, Layout: o.Layout, Snap: r.Result.After, DA: o.DA})
	case r.Result.DebugClosed:
		m.stale = r.OptionBytes
		m.ob = nil
		m.rebuild()
	}
}

// event follows the bench: new reads by anyone, and writes in progress.
func (m *Model) event(ev bench.Event) {
	switch ev := ev.(type) {
	case bench.StateChanged:
		if o := ev.State.OptionBytes; o != nil && o != m.ob && o != m.stale && m.busy == "" {
			m.setOB(o)
		}
		ours := m.c != nil && ev.State.Lease != nil && ev.State.Lease.Holder == m.c.Holder
		if p := ev.State.Plan; p != nil && p != m.plan && p != m.seenPlan && m.busy == "" && !ours {
			m.seenPlan = p
			m.otherPlan = p
			m.otherBy = "another session"
			if l := ev.State.Lease; l != nil {
				m.otherBy = l.Holder.String()
			}
		}
	case bench.JobStarted:
		if ev.Job.Kind == benchApplyKind && m.busy != KindApply {
			m.watching = ev.Job.Holder.String()
			m.steps = nil
		}
	case bench.ApplyStep:
		if len(m.steps) < 500 {
			m.steps = append(m.steps, ev.Step)
		}
	case bench.JobFinished:
		if ev.Job.Kind == benchApplyKind && m.busy != KindApply && m.watching != "" {
			if ev.Err != nil {
				m.notice, m.bad = fmt.Sprintf("the write by %s failed: %v", m.watching, ev.Err), true
			} else {
				m.notice, m.bad = "the write by "+m.watching+" is done", false
			}
			m.watching = ""
		}
	}
}

// setOB shows a new read of the option bytes.
func (m *Model) setOB(o *bench.OptionBytes) {
	if o == nil || o == m.ob {
		return
	}
	var name string
	if f := m.selected(); f != nil {
		name = f.field.Name
	}
	m.ob = o
	if m.edit != nil && (o.Layout == nil || o.Snap == nil) {
		m.edit = nil // the chip closed under the editor
	}
	m.rebuild()
	if name != "" {
		m.selectField(name)
	}
}

// assignments are the staged edits as FIELD=VALUE arguments.
func (m *Model) assignments() []string {
	out := make([]string, 0, len(m.staged))
	for _, s := range m.staged {
		out = append(out, s.field+"="+s.value)
	}
	return out
}

// applyOutcome is how a write that returned err ended, for the footer:
// the write's own report ("cancelled: staged and undone (nothing was
// applied)"); a plain failure points at the pane, which says it all.
func applyOutcome(err error) string {
	o := bench.WriteOutcome(err)
	if strings.HasPrefix(o, "failed: ") {
		return "the write failed: see the pane"
	}
	return o
}

// textInput is a text field styled from the session's styles, without a
