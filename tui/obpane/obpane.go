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
	"github.com/stprobe/stprobe/tui/writeflow"
)

// The jobs this pane waits for, besides its write (writeflow.Apply).
const (
	jobRead writeflow.Job = "read"
	jobPlan writeflow.Job = "plan"
	// jobRehearse runs the planned write on the chip's twin first.
	jobRehearse writeflow.Job = "rehearse"
	// jobClearPending clears the chip's pending-write record.
	jobClearPending writeflow.Job = "clear pending"
)

// The ends of the pane's jobs: reading the option bytes, clearing the
// pending-write record, planning a change, rehearsing it on the chip's
// twin, and the write.
type (
	obRead         common.Result[*bench.OptionBytes]
	pendingCleared common.Result[struct{}]
	planned        common.Result[*bench.PlanResult]
	rehearsed      common.Result[*bench.Rehearsal]
	applied        common.Result[*bench.ApplyResult]
)

// benchApplyKind is the bench's kind of an option-byte write, as other
// sessions see it in JobStarted and JobFinished.
const benchApplyKind = "ob apply"

// The pane's names for the screens: the table (the Flow's Main), the
// write (its Run) and the backups, the pane's own. The plan is the Flow's
// Plan screen.
const (
	screenTable   = writeflow.Main
	screenApply   = writeflow.Run
	screenBackups = writeflow.Own
)

// Model is the option-byte pane. Create it with New.
type Model struct {
	// Flow is the plan → guard → progress → outcome base, with the
	// state directory (backups, audit log) and where the proof's form
	// looks for credential files.
	writeflow.Flow
	keys keyMap

	ob *bench.OptionBytes
	// readErr is why the last read failed (shown while nothing is read).
	readErr error
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

	edit *editor

	// The plan on screen, or why there is none.
	change  bench.Change
	reason  string
	plan    *bench.OBPlan
	refused *bench.RefusedError
	planErr error

	// The write's outcome.
	applyRes *bench.ApplyResult
	applyErr error
	// rehearsal is the planned write run on the chip's twin (rehearseErr:
	// why it could not be run).
	rehearsal   *bench.Rehearsal
	rehearseErr error

	// otherPlan is a plan another session made (seenPlan the last plan
	// seen in the bench's state), for observers to look at.
	otherPlan *bench.OBPlan
	otherBy   string
	seenPlan  *bench.OBPlan

	// The proof of the way back: its form, whether it is open, and the
	// files it named for the plan on screen.
	wbForm  *credform.Form
	wbOpen  bool
	wbPaths map[credform.Field]string

	backups    []backupEntry
	backupsErr error
	listed     bool
	bsel       int
}

// New returns the option-byte pane of the session c.
func New(c *common.Context, opts ...writeflow.Option) *Model {
	cfg := writeflow.Config{Pane: common.PaneOptionBytes, IsWrite: func(kind string) bool { return kind == benchApplyKind }}
	m := &Model{Flow: writeflow.New(c, cfg, opts...), keys: newKeyMap()}
	if c != nil {
		m.setOB(c.Snapshot().OptionBytes)
	}
	return m
}

// SetSize sets the area the pane draws in.
func (m *Model) SetSize(w, h int) {
	m.Flow.SetSize(w, h)
	m.follow()
}

// Capturing reports whether the pane takes every key (an edit or the
// guard dialog is open).
func (m *Model) Capturing() bool { return m.edit != nil || m.Guard != nil || m.wbOpen }

// Keys are the pane's bindings for the current screen; actions this
// session cannot run are disabled.
func (m *Model) Keys() []key.Binding {
	k := m.keys
	act := func(b key.Binding) key.Binding {
		if m.C == nil || m.C.Unavailable() != "" {
			return disabled(b)
		}
		return b
	}
	switch {
	case m.wbOpen:
		return credform.Keys()
	case m.Guard != nil:
		return m.Guard.KeyBindings()
	case m.edit != nil:
		if m.edit.input != nil {
			return []key.Binding{k.Confirm, k.Cancel}
		}
		return []key.Binding{k.Up, k.Down, k.Confirm, k.Cancel}
	}
	switch m.Screen {
	case writeflow.Plan:
		wb := act(k.WayBack) // named always: unavailable when the plan does not close the chip
		if _, ok := closes(m.plan); !ok {
			wb = disabled(wb)
		}
		return append([]key.Binding{act(k.Apply), act(k.Rehearse), wb}, m.ScreenBindings()...)
	case screenApply:
		return m.ScreenBindings()
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
	case backupsMsg:
		m.listed = true
		m.backups, m.backupsErr = msg.list, msg.err
		m.bsel = min(m.bsel, max(0, len(m.backups)-1))
	}
	return m, m.Route(msg, writeflow.Handlers{JobDone: m.jobDone, Event: m.event, Request: m.request})
}

// key handles a key press on the current screen.
func (m *Model) key(msg tea.KeyPressMsg) tea.Cmd {
	switch {
	case m.wbOpen:
		return m.wayBackKey(msg)
	case m.Guard != nil:
		return m.guardKey(msg)
	case m.edit != nil:
		return m.editKey(msg)
	}
	k := m.keys
	switch m.Screen {
	case writeflow.Plan:
		switch {
		case key.Matches(msg, k.Apply):
			return m.startApply()
		case key.Matches(msg, k.WayBack):
			return m.openWayBack()
		case key.Matches(msg, k.Rehearse):
			return m.startRehearse()
		}
		cmd, _ := m.ScreenKey(msg)
		return cmd
	case screenApply:
		cmd, _ := m.ScreenKey(msg)
		return cmd
	case screenBackups:
		switch {
		case key.Matches(msg, k.Back):
			m.Screen = screenTable
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
					return m.Fail("this backup cannot be read: " + e.err.Error())
				}
				m.reason = "return to the backup of " + e.when()
				return m.startPlan(bench.Change{FromBackup: e.path})
			}
		}
		return nil
	}
	if n, ok := k.Lines(msg, max(1, m.tableRows()-1)); ok {
		m.move(n)
		return nil
	}
	switch {
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
			return m.Say("dropped the edit of " + f.field.Name)
		}
	case key.Matches(msg, k.Clear):
		if len(m.staged) > 0 {
			m.staged = nil
			m.rebuild()
			return m.Say("cleared every edit")
		}
	case key.Matches(msg, k.Plan):
		if why := m.RunWhy(); why != "" {
			return m.Unavailable("plan", why)
		}
		if len(m.staged) == 0 {
			return m.Fail("nothing to plan: edit a field first (enter)")
		}
		m.reason = ""
		return m.startPlan(bench.Change{Assignments: m.assignments()})
	case key.Matches(msg, k.Method):
		m.daMethod = nextMethod(m.daMethod)
		if m.daMethod == "" {
			return m.Say("DA method: as the chip tells")
		}
		return m.Say("DA method stated for plans: " + m.daMethod + " (used only when the chip cannot tell)")
	case key.Matches(msg, k.Backups):
		m.Screen = screenBackups
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
		return m.Fail("no plan from another session to look at")
	}
	m.otherPlan = nil
	ch := bench.Change{}
	for _, c := range p.Changes {
		ch.Assignments = append(ch.Assignments, fmt.Sprintf("%s=0x%X", c.Field, c.To.Raw))
	}
	m.change, m.plan, m.refused, m.planErr, m.Scroll = ch, p, nil, nil, 0
	m.reason = "planned by " + m.otherBy
	m.Screen = writeflow.Plan
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
		m.edit, m.Guard = nil, nil
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
		if m.ob == nil && m.RunWhy() == "" {
			return m.startRead()
		}
	}
	return nil
}

// startRead reads the option bytes on the bench.
func (m *Model) startRead() tea.Cmd {
	if why := m.RunWhy(); why != "" {
		return m.Unavailable("read the option bytes", why)
	}
	b, dam, dir := m.C.Bench, m.daMethod, m.StateDir
	return m.Start(jobRead, "reading the option bytes (Hot Plug on AP1)…", common.Job[obRead](m.C, m.ID,
		func(ctx context.Context, t bench.Token) (*bench.OptionBytes, error) {
			return b.ReadOptionBytes(ctx, t, bench.OBRequest{DAMethod: dam, StateDir: dir})
		}))
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
		return m.Fail("no interrupted write is recorded for this chip")
	}
	if why := m.RunWhy(); why != "" {
		return m.Unavailable("clear the pending-write record", why)
	}
	b, dir := m.C.Bench, m.StateDir
	return m.Start(jobClearPending, "clearing the pending-write record…", common.Job[pendingCleared](m.C, m.ID,
		func(ctx context.Context, t bench.Token) (struct{}, error) {
			return struct{}{}, b.ClearPending(ctx, t, dir, "cleared in the console after checking the chip")
		}))
}

// startPlan plans a change on the bench (nothing is written).
func (m *Model) startPlan(ch bench.Change) tea.Cmd {
	if why := m.RunWhy(); why != "" {
		return m.Unavailable("plan the change", why)
	}
	ch.DAMethod = m.daMethod
	m.change = ch
	if ch.WayBack == nil {
		m.wbPaths = nil
	}
	m.plan, m.refused, m.planErr, m.Scroll = nil, nil, nil, 0
	m.rehearsal, m.rehearseErr = nil, nil
	m.Screen = writeflow.Plan
	b := m.C.Bench
	return m.Start(jobPlan, "planning: reading the chip and checking the rules (nothing is written)…", common.Job[planned](m.C, m.ID,
		func(ctx context.Context, t bench.Token) (*bench.PlanResult, error) {
			return b.PlanOptionBytes(ctx, t, ch)
		}))
}

// startApply applies the plan on screen: at once for safe and caution
// plans (the plan on screen is the confirmation), through the guard for
// irreversible and brick ones.
func (m *Model) startApply() tea.Cmd {
	if m.plan == nil {
		return m.Fail("no plan to apply")
	}
	if why := m.RunWhy(); why != "" {
		return m.Unavailable("apply", why)
	}
	if m.plan.Header().Typed() {
		return m.OpenGuard(m.guardDialog(m.plan))
	}
	return m.apply("", false) // the plan on screen is the confirmation (bench.ApplyRequest.Seen)
}

// apply runs the guarded write of m.change with the given confirmation.
func (m *Model) apply(confirm string, override bool) tea.Cmd {
	if why := m.RunWhy(); why != "" {
		return m.Unavailable("apply", why)
	}
	req := bench.ApplyRequest{Change: m.change, Confirm: confirm, OverrideBrick: override, Seen: confirm == "", StateDir: m.StateDir}
	b := m.C.Bench
	m.applyRes, m.applyErr = nil, nil
	return m.StartApply("applying: backup, programming, verification…", common.Job[applied](m.C, m.ID,
		func(ctx context.Context, t bench.Token) (*bench.ApplyResult, error) {
			return b.ApplyOptionBytes(ctx, t, req)
		}))
}

// startRehearse runs the planned (or refused) change on the chip's twin,
// captured now: nothing is written to the chip, and the plan screen then
// says what the twin ended in, or what went wrong there.
func (m *Model) startRehearse() tea.Cmd {
	if m.plan == nil && m.refused == nil {
		return m.Fail("no plan to rehearse")
	}
	if why := m.RunWhy(); why != "" {
		return m.Unavailable("rehearse", why)
	}
	b, req := m.C.Bench, bench.ApplyRequest{Change: m.change}
	m.rehearsal, m.rehearseErr = nil, nil
	return m.Start(jobRehearse, "rehearsing: capturing the chip (read-only) and running the write on its twin…", common.Job[rehearsed](m.C, m.ID,
		func(ctx context.Context, t bench.Token) (*bench.Rehearsal, error) {
			return b.Rehearse(ctx, t, req)
		}))
}

// audit is the audit line the last write added (nil when none).
func (m *Model) audit() *bench.AuditRecord {
	if m.applyRes == nil || m.applyRes.Result == nil {
		return nil
	}
	return m.applyRes.Result.Audit
}

// jobDone takes the end of the job the pane waited for.
func (m *Model) jobDone(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case obRead:
		m.setOB(msg.Value)
		m.readErr = msg.Err
		if msg.Err != nil && m.ob == nil {
			return m.Fail("reading the option bytes failed: see the pane")
		}
		if msg.Err != nil {
			return m.Fail("reading the option bytes: " + msg.Err.Error())
		}
		if m.ob != nil && m.ob.Closed != nil {
			return m.Fail("AP1 is closed: the option bytes cannot be read")
		}
		return m.Say("option bytes read")
	case pendingCleared:
		if msg.Err != nil {
			return m.Fail("clearing the pending-write record: " + msg.Err.Error())
		}
		if o := m.C.Snapshot().OptionBytes; o != nil {
			m.setOB(o)
		}
		return m.Say("pending-write record cleared")
	case planned:
		if pr := msg.Value; pr != nil {
			if pr.OptionBytes != nil {
				m.setOB(pr.OptionBytes)
			}
			m.plan = pr.Plan
		}
		var ref *bench.RefusedError
		switch {
		case errors.As(msg.Err, &ref):
			m.plan, m.refused = nil, ref
			return m.Fail("refused before any write")
		case msg.Err != nil:
			m.plan, m.planErr = nil, msg.Err
			if common.IsUnavailable(msg.Err) {
				return m.Unavailable("plan the change", msg.Err.Error())
			}
			return m.Fail("no plan: " + msg.Err.Error())
		case m.plan == nil:
			m.planErr = errors.New("the bench returned no plan")
			return m.Fail("no plan")
		}
		return m.Say(fmt.Sprintf("plan ready: %s; press a to apply", m.plan.Risk))
	case rehearsed:
		m.rehearsal, m.rehearseErr = msg.Value, msg.Err
		if msg.Err != nil {
			return m.Fail("rehearsal: " + msg.Err.Error())
		}
		if m.rehearsal == nil {
			return m.Fail("rehearsal: the bench returned nothing")
		}
		return m.Say(m.rehearsal.Text())
	case applied:
		if msg.Value != nil {
			m.applyRes = msg.Value
		}
		m.applyErr = msg.Err
		m.afterApply()
		if msg.Err != nil {
			// how it ended, from the write's own report ("cancelled:
			// staged and undone"), not the bare cause
			return m.Fail(writeflow.Ended(msg.Err))
		}
		m.staged = nil
		m.rebuild()
		if r := m.applyRes; r != nil && r.Result != nil && r.Result.DebugClosed {
			return m.Say("option bytes applied; debug is closed now, as planned: r reads what AP0 tells")
		}
		return m.Say("option bytes applied")
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
func (m *Model) event(ev bench.Event) tea.Cmd {
	switch ev := ev.(type) {
	case bench.StateChanged:
		if o := ev.State.OptionBytes; o != nil && o != m.ob && o != m.stale && m.Waiting() == "" {
			m.setOB(o)
		}
		ours := m.C != nil && ev.State.Lease != nil && ev.State.Lease.Holder == m.C.Holder
		if p := ev.State.Plan; p != nil && p != m.plan && p != m.seenPlan && m.Waiting() == "" && !ours {
			m.seenPlan = p
			m.otherPlan = p
			m.otherBy = "another session"
			if l := ev.State.Lease; l != nil {
				m.otherBy = l.Holder.String()
			}
		}
	case bench.ApplyStep:
		m.AddStep(writeflow.Step{Name: ev.Step.Step, Message: ev.Step.Message, Done: ev.Step.Done, Total: ev.Step.Total}, false)
	}
	return m.Watch(ev)
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
