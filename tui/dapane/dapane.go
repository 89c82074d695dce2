// Package dapane is the console's debug-authentication pane: what the
// chip's DA agent reports to a discovery (product state, lifecycle, whether
// DA data is provisioned, the method, the permissions, the SoC ID), what
// the option bytes say of DA, and the DA writes the product state allows —
// provisioning an .obk file (PROVISIONING), a full regression or one to
// TZ_CLOSED, a debug opening. Each write is chosen in a small form (the
// credentials, the permission, the file), planned on the bench with the
// checks shown as a checklist, confirmed in a guard by the typed phrase,
// and followed step by step to the reconnect, the verification, the
// backup and the audit line. Observers see all of it, and why each action
// is unavailable to them.
package dapane

import (
	"context"
	"errors"
	"fmt"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/stprobe/stprobe/bench"
	"github.com/stprobe/stprobe/probe/da"
	"github.com/stprobe/stprobe/tui/common"
	"github.com/stprobe/stprobe/tui/credform"
	"github.com/stprobe/stprobe/tui/writeflow"
)

// The jobs this pane waits for, besides its write (writeflow.Apply).
const (
	jobDiscover writeflow.Job = "discover"
	jobPlan     writeflow.Job = "plan"
)

// The ends of the pane's jobs: a DA discovery, planning a DA write, and
// the write.
type (
	discovered common.Result[*da.Discovery]
	planned    common.Result[*bench.DAPlan]
	applied    common.Result[*bench.DAResult]
)

// screenForm is the pane's own screen: an action's form. The discovery is
// the Flow's Main screen, the plan and the write its Plan and Run.
const screenForm = writeflow.Own

// keyMap is every binding of the pane.
type keyMap struct {
	Discover, Up, Down, Provision, Regress, Open, View key.Binding
	Make                                               key.Binding
	Apply                                              key.Binding
}

func newKeyMap() keyMap {
	return keyMap{
		Discover:  common.Binding("d", "discover", "d"),
		Up:        common.Binding("↑/k", "up", "up", "k"),
		Down:      common.Binding("↓/j", "down", "down", "j"),
		Provision: common.Binding("p", "provision .obk", "p"),
		Regress:   common.Binding("R", "regression", "R"),
		Open:      common.Binding("o", "open debug", "o"),
		View:      common.Binding("v", "view the last DA plan", "v"),
		Make:      common.Binding("c", "make credentials", "c"),
		Apply:     common.Binding("a", "apply (guard)", "a"),
	}
}

// Model is the DA pane. Create it with New.
type Model struct {
	// Flow is the plan → guard → progress → outcome base, with the
	// state directory (backups, audit log) and where the forms look for
	// credential files.
	writeflow.Flow
	keys keyMap
	// made are the credential files this pane last wrote, into madeDir.
	made    []bench.CredentialFile
	madeDir string

	disc   *da.Discovery
	err    error
	reason string

	action bench.DAAction
	form   *credform.Form
	// forms are the forms as last left, by action.
	forms map[bench.DAAction]*credform.Form
	vals  *credform.Values
	req   bench.DARequest

	plan    *bench.DAPlan
	planErr error
	// viewing is true when the plan on screen is the bench's last one,
	// shown read-only.
	viewing bool

	res      *bench.DAResult
	applyErr error
}

// New returns the DA pane of the session c.
func New(c *common.Context, opts ...writeflow.Option) *Model {
	cfg := writeflow.Config{Pane: common.PaneDA, IsWrite: isDAWrite, Write: "DA write"}
	m := &Model{Flow: writeflow.New(c, cfg, opts...), keys: newKeyMap()}
	if c != nil {
		m.disc = c.Snapshot().Discovery
	}
	return m
}

// SetSize sets the area the pane draws in.
func (m *Model) SetSize(w, h int) { m.Flow.SetSize(w, h) }

// Capturing reports whether the pane takes every key (the form or the
// guard is open).
func (m *Model) Capturing() bool { return m.Screen == screenForm || m.Guard != nil }

// Keys are the pane's bindings on the current screen; the actions this
// session cannot run now are disabled.
func (m *Model) Keys() []key.Binding {
	k := m.keys
	off := func(b key.Binding, why string) key.Binding {
		if why != "" {
			b.SetEnabled(false)
		}
		return b
	}
	switch {
	case m.Guard != nil:
		return m.Guard.KeyBindings()
	case m.Screen == screenForm:
		return credform.Keys()
	case m.Screen == writeflow.Plan:
		why := m.applyWhy()
		return append([]key.Binding{off(k.Apply, why)}, m.ScreenBindings()...)
	case m.Screen == writeflow.Run:
		return m.ScreenBindings()
	}
	d := off(k.Discover, m.RunWhy())
	out := []key.Binding{d, off(k.Make, m.why(actionMake)), off(k.Provision, m.why(bench.DAProvision)), off(k.Regress, m.why(bench.DARegress)),
		off(k.Open, m.why(bench.DAOpenDebug)), k.Up, k.Down}
	// v is named always, as unavailable before any DA plan
	view := k.View
	if m.C == nil || m.C.Snapshot().DAPlan == nil {
		view.SetEnabled(false)
	}
	return append(out, view)
}

// Update handles one message.
func (m *Model) Update(msg tea.Msg) (common.Pane, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.KeyPressMsg:
		return m, m.key(msg)
	case tea.MouseWheelMsg:
		switch msg.Mouse().Button {
		case tea.MouseWheelUp:
			m.Scroll = max(0, m.Scroll-1)
		case tea.MouseWheelDown:
			m.Scroll++
		}
	case credsMadeMsg:
		return m, m.credsMade(msg)
	}
	return m, m.Route(msg, writeflow.Handlers{JobDone: m.jobDone, Event: m.event, Request: m.request})
}

// request acts on an OpenPaneMsg's request: "discover", or an action
// ("provision", "regress", "open-debug") that opens its form.
func (m *Model) request(r any) tea.Cmd {
	req, ok := r.(common.DARequest)
	if !ok {
		return nil
	}
	m.reason = req.Reason
	switch req.Action {
	case "":
		return nil
	case "discover":
		return m.discover()
	case string(bench.DAProvision), string(bench.DARegress), "regression", string(bench.DAOpenDebug):
		a := bench.DAAction(req.Action)
		if req.Action == "regression" {
			a = bench.DARegress
		}
		return m.openForm(a)
	}
	return m.Fail(fmt.Sprintf("unknown DA action %q: the pane does discover, provision, regress and open-debug", req.Action))
}

// key handles a key press on the current screen.
func (m *Model) key(msg tea.KeyPressMsg) tea.Cmd {
	if m.Guard != nil {
		return m.guardKey(msg)
	}
	k := m.keys
	switch m.Screen {
	case screenForm:
		return m.formKey(msg)
	case writeflow.Plan, writeflow.Run:
		done := m.Screen == writeflow.Run && !m.Applying()
		if done && (key.Matches(msg, k.Discover) || key.Matches(msg, k.Provision) || key.Matches(msg, k.Regress) || key.Matches(msg, k.Open)) {
			// From the outcome, straight on to the next action.
			m.Screen, m.Scroll = writeflow.Main, 0
			return m.key(msg)
		}
		if m.Screen == writeflow.Plan && key.Matches(msg, k.Apply) {
			return m.openGuard()
		}
		cmd, _ := m.ScreenKey(msg)
		if m.Screen == writeflow.Main {
			m.viewing = false
		}
		return cmd
	}
	switch {
	case key.Matches(msg, k.Discover):
		return m.discover()
	case key.Matches(msg, k.Up):
		m.Scroll = max(0, m.Scroll-1)
	case key.Matches(msg, k.Down):
		m.Scroll++
	case key.Matches(msg, k.Provision):
		return m.openForm(bench.DAProvision)
	case key.Matches(msg, k.Regress):
		return m.openForm(bench.DARegress)
	case key.Matches(msg, k.Open):
		return m.openForm(bench.DAOpenDebug)
	case key.Matches(msg, k.View):
		return m.viewLastPlan()
	case key.Matches(msg, k.Make):
		return m.openForm(actionMake)
	}
	return nil
}

// viewLastPlan shows the bench's last DA plan, read-only.
func (m *Model) viewLastPlan() tea.Cmd {
	if m.C == nil || m.C.Snapshot().DAPlan == nil {
		return m.Fail("no DA plan to look at")
	}
	m.plan, m.planErr, m.viewing, m.Scroll = m.C.Snapshot().DAPlan, nil, true, 0
	m.action = m.plan.Action
	m.Screen = writeflow.Plan
	return nil
}

// discover runs a DA discovery on the bench.
func (m *Model) discover() tea.Cmd {
	if why := m.RunWhy(); why != "" {
		return m.Fail("cannot run a DA discovery: " + why)
	}
	m.err = nil
	b := m.C.Bench
	return m.Start(jobDiscover, "DA discovery: NRST low, request word, NRST released, waiting for the ROM…", common.Job[discovered](m.C, m.ID,
		func(ctx context.Context, t bench.Token) (*da.Discovery, error) {
			return b.Discover(ctx, t, da.Options{})
		}))
}

// jobDone takes the end of the job the pane waited for.
func (m *Model) jobDone(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case discovered:
		m.setDiscovery(msg.Value)
		m.err = msg.Err
		if msg.Err != nil {
			return m.Fail("the DA discovery failed: see the pane")
		}
		return m.Say("DA discovery done; the chip waits in the ROM's DA loop until its next reset")
	case planned:
		m.plan, m.planErr = msg.Value, msg.Err
		if p := msg.Value; p != nil && p.Discovery != nil {
			m.setDiscovery(p.Discovery)
		}
		if msg.Err != nil {
			return m.Fail("refused or failed before any write: " + msg.Err.Error())
		}
		if m.plan == nil {
			return m.Fail("the bench returned no plan")
		}
		return m.Say(fmt.Sprintf("plan ready: %s; press a to confirm", m.plan.Risk))
	case applied:
		if msg.Value != nil {
			m.res = msg.Value
		}
		m.applyErr = msg.Err
		if msg.Err != nil {
			if errors.Is(msg.Err, context.Canceled) {
				return m.Fail("DA " + string(m.action) + " cancelled: see the pane")
			}
			return m.Fail("the DA write failed or was refused: see the pane")
		}
		return m.Say("DA " + string(m.action) + " done: " + m.outcomeText())
	}
	return nil
}

// outcomeText is the write's result in a few words.
func (m *Model) outcomeText() string {
	r := m.res
	if r == nil {
		return "no result"
	}
	if r.Auth != nil && r.Auth.After != nil {
		return fmt.Sprintf("the chip is %v now", r.Auth.After.State)
	}
	if r.Provisioned != nil {
		return fmt.Sprintf("provisioned, record read back: %v", yesNo(r.Provisioned.ReadBack))
	}
	return r.Outcome
}

// setDiscovery records a new discovery to show.
func (m *Model) setDiscovery(d *da.Discovery) {
	if d != nil {
		m.disc = d
	}
}

// event follows the bench: discoveries and reads by anyone, and DA writes
// in progress (ours and other sessions').
func (m *Model) event(ev bench.Event) tea.Cmd {
	switch ev := ev.(type) {
	case bench.StateChanged:
		if d := ev.State.Discovery; d != nil && d != m.disc && !m.Running(jobDiscover) {
			m.setDiscovery(d)
		}
	case bench.DAStep:
		if m.Following() {
			// a run of progress steps folds into one
			fold := ev.Step.Total > 0 || ev.Step.Step == "flash" || ev.Step.Step == "save-flash"
			msg := ev.Step.Message
			if ev.Step.Total > 0 {
				msg = fmt.Sprintf("%d%%: %s", ev.Step.Done*100/ev.Step.Total, msg)
			}
			m.AddStep(writeflow.Step{Name: ev.Step.Step, Message: msg}, fold)
		}
	}
	return m.Watch(ev)
}

// isDAWrite reports whether a bench job kind is a DA write.
func isDAWrite(kind string) bool {
	return kind == "da "+string(bench.DAProvision) || kind == "da "+string(bench.DARegress) || kind == "da "+string(bench.DAOpenDebug)
}

// yesNo is "yes" or "no".
func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
