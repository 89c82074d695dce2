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
	"fmt"
	"os"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/stprobe/stprobe/bench"
	"github.com/stprobe/stprobe/probe/da"
	"github.com/stprobe/stprobe/targets"
	"github.com/stprobe/stprobe/tui/common"
	"github.com/stprobe/stprobe/tui/credform"
	"github.com/stprobe/stprobe/tui/guard"
)

// Job kinds this pane starts (JobDoneMsg.Kind).
const (
	KindDiscover = "dapane: discover"
	KindPlan     = "dapane: plan"
	KindApply    = "dapane: apply"
)

// screen is what the pane shows.
type screen int

const (
	screenMain screen = iota
	screenForm
	screenPlan
	screenRun
)

// keyMap is every binding of the pane.
type keyMap struct {
	Discover, Up, Down, Provision, Regress, Open, View key.Binding
	Make                                               key.Binding
	Apply, Back                                        key.Binding
}

func newKeyMap() keyMap {
	b := func(help, desc string, keys ...string) key.Binding {
		return key.NewBinding(key.WithKeys(keys...), key.WithHelp(help, desc))
	}
	return keyMap{
		Discover:  b("d", "discover", "d"),
		Up:        b("↑/k", "up", "up", "k"),
		Down:      b("↓/j", "down", "down", "j"),
		Provision: b("p", "provision .obk", "p"),
		Regress:   b("R", "regression", "R"),
		Open:      b("o", "open debug", "o"),
		View:      b("v", "view the last DA plan", "v"),
		Make:      b("c", "make credentials", "c"),
		Apply:     b("a", "apply (guard)", "a"),
		Back:      b("esc", "back", "esc"),
	}
}

// Option configures a Model.
type Option func(*Model)

// WithStateDir sets the directory of the option-byte backups and the audit
// log (default bench.DefaultStateDir), also searched for credentials.
func WithStateDir(dir string) Option { return func(m *Model) { m.stateDir = dir } }

// WithSearchDirs sets the directories the credential form searches for
// files under their usual names (default: the state directory and the
// current directory).
func WithSearchDirs(dirs ...string) Option {
	return func(m *Model) { m.searchDirs = append([]string{}, dirs...) }
}

// Model is the DA pane. Create it with New.
type Model struct {
	c          *common.Context
	keys       keyMap
	w, h       int
	look       common.Look
	stateDir   string
	searchDirs []string
	// made are the credential files this pane last wrote, into madeDir.
	made    []bench.CredentialFile
	madeDir string

	disc   *da.Discovery
	err    error
	busy   string
	notice string
	bad    bool
	reason string
	scroll int

	// state is the chip's product state as last reported, by the
	// discovery or the option bytes, whichever came last.
	state     targets.ProductState
	hasState  bool
	snapState targets.ProductState
	snapHas   bool
	snapAt    time.Time

	screen screen
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

	guard *guard.Model

	steps    []bench.DAStep
	res      *bench.DAResult
	applyErr error
	// watching names another session whose DA write is running.
	watching string
}

// New returns the DA pane of the session c.
func New(c *common.Context, opts ...Option) *Model {
	m := &Model{c: c, keys: newKeyMap()}
	for _, o := range opts {
		o(m)
	}
	if m.stateDir == "" {
		m.stateDir, _ = bench.DefaultStateDir()
	}
	if m.searchDirs == nil {
		wd, _ := os.Getwd()
		m.searchDirs = []string{m.stateDir, wd}
	}
	if c != nil {
		s := c.Snapshot()
		m.snapState, m.snapHas, m.snapAt = s.State, s.HasState, s.StateAt
		m.snapState, m.snapHas = s.State, s.HasState
		switch {
		case s.HasState:
			m.state, m.hasState = s.State, true
		case s.Discovery != nil:
			m.state, m.hasState = s.Discovery.State, true
		}
	}
	return m
}

// Init starts nothing: the pane shows the bench's last discovery.
func (m *Model) Init() tea.Cmd { return nil }

// Title is the pane's name in the tab bar.
func (m *Model) Title() string { return common.PaneDA.String() }

// SetSize sets the area the pane draws in.
func (m *Model) SetSize(w, h int) { m.w, m.h = w, h }

// Capturing reports whether the pane takes every key (the form or the
// guard is open).
func (m *Model) Capturing() bool { return m.screen == screenForm || m.guard != nil }

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
	case m.guard != nil:
		return m.guard.KeyBindings()
	case m.screen == screenForm:
		return credform.Keys()
	case m.screen == screenPlan:
		why := m.applyWhy()
		return []key.Binding{off(k.Apply, why), k.Back, k.Up, k.Down}
	case m.screen == screenRun:
		return []key.Binding{k.Back, k.Up, k.Down}
	}
	d := off(k.Discover, m.discoverWhy())
	out := []key.Binding{d, off(k.Make, m.why(actionMake)), off(k.Provision, m.why(bench.DAProvision)), off(k.Regress, m.why(bench.DARegress)),
		off(k.Open, m.why(bench.DAOpenDebug)), k.Up, k.Down}
	// v is named always, as unavailable before any DA plan
	view := k.View
	if m.c == nil || m.c.Snapshot().DAPlan == nil {
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
			m.scroll = max(0, m.scroll-1)
		case tea.MouseWheelDown:
			m.scroll++
		}
	case credsMadeMsg:
		return m, m.credsMade(msg)
	case common.JobDoneMsg:
		return m, m.jobDone(msg)
	case common.EventMsg:
		m.event(msg.Event)
	case common.OpenPaneMsg:
		if msg.Pane == common.PaneDA {
			return m, m.request(msg.Request)
		}
	}
	return m, nil
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
	return m.fail(fmt.Sprintf("unknown DA action %q: the pane does discover, provision, regress and open-debug", req.Action))
}

// key handles a key press on the current screen.
func (m *Model) key(msg tea.KeyPressMsg) tea.Cmd {
	if m.guard != nil {
		return m.guardKey(msg)
	}
	k := m.keys
	switch m.screen {
	case screenForm:
		return m.formKey(msg)
	case screenPlan, screenRun:
		done := m.screen == screenRun && m.busy != KindApply
		if done && (key.Matches(msg, k.Discover) || key.Matches(msg, k.Provision) || key.Matches(msg, k.Regress) || key.Matches(msg, k.Open)) {
			// From the outcome, straight on to the next action.
			m.screen, m.scroll = screenMain, 0
			return m.key(msg)
		}
		switch {
		case m.screen == screenPlan && key.Matches(msg, k.Apply):
			return m.openGuard()
		case key.Matches(msg, k.Back):
			if m.busy == KindApply {
				return m.fail("the DA write is running: wait for it (" + common.CancelKey + " stops it)")
			}
			m.screen, m.scroll, m.viewing = screenMain, 0, false
		case key.Matches(msg, k.Up):
			m.scroll = max(0, m.scroll-1)
		case key.Matches(msg, k.Down):
			m.scroll++
		}
		return nil
	}
	switch {
	case key.Matches(msg, k.Discover):
		return m.discover()
	case key.Matches(msg, k.Up):
		m.scroll = max(0, m.scroll-1)
	case key.Matches(msg, k.Down):
		m.scroll++
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
	if m.c == nil || m.c.Snapshot().DAPlan == nil {
		return m.fail("no DA plan to look at")
	}
	m.plan, m.planErr, m.viewing, m.scroll = m.c.Snapshot().DAPlan, nil, true, 0
	m.action = m.plan.Action
	m.screen = screenPlan
	return nil
}

// discoverWhy is why a discovery cannot run now ("" when it can).
func (m *Model) discoverWhy() string {
	switch {
	case m.c == nil:
		return "no console session"
	case m.busy != "":
		return "this pane is waiting for its " + strings.TrimPrefix(m.busy, "dapane: ") + " job"
	}
	return m.c.UnavailableNow()
}

// discover runs a DA discovery on the bench.
func (m *Model) discover() tea.Cmd {
	if why := m.discoverWhy(); why != "" {
		return m.fail("cannot run a DA discovery: " + why)
	}
	m.busy, m.err = KindDiscover, nil
	b := m.c.Bench
	m.say("DA discovery: NRST low, request word, NRST released, waiting for the ROM…")
	return m.c.Job(common.PaneDA, KindDiscover, func(ctx context.Context, t bench.Token) (any, error) {
		return b.Discover(ctx, t, da.Options{})
	})
}

// jobDone takes the result of a job this pane started.
func (m *Model) jobDone(msg common.JobDoneMsg) tea.Cmd {
	if msg.Kind != m.busy {
		return nil
	}
	m.busy = ""
	switch msg.Kind {
	case KindDiscover:
		if d, ok := msg.Value.(*da.Discovery); ok && d != nil {
			m.setDiscovery(d)
		}
		m.err = msg.Err
		if msg.Err != nil {
			return m.fail(msg.Err.Error())
		}
		return m.say("DA discovery done; the chip waits in the ROM's DA loop until its next reset")
	case KindPlan:
		p, _ := msg.Value.(*bench.DAPlan)
		m.plan, m.planErr = p, msg.Err
		if p != nil && p.Discovery != nil {
			m.setDiscovery(p.Discovery)
		}
		if msg.Err != nil {
			return m.fail("refused or failed before any write: " + msg.Err.Error())
		}
		if m.plan == nil {
			return m.fail("the bench returned no plan")
		}
		return m.say(fmt.Sprintf("plan ready: %s; press a to confirm", m.plan.Risk))
	case KindApply:
		if res, ok := msg.Value.(*bench.DAResult); ok && res != nil {
			m.res = res
		}
		m.applyErr = msg.Err
		if r := m.res; r != nil && r.Auth != nil && r.Auth.After != nil {
			m.state, m.hasState = r.Auth.After.State, true
		}
		if msg.Err != nil {
			return m.fail("the DA write failed or was refused: see the pane")
		}
		return m.say("DA " + string(m.action) + " done: " + m.outcomeText())
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

// setDiscovery records a new discovery and the state it reports.
func (m *Model) setDiscovery(d *da.Discovery) {
	if d == nil || d == m.disc {
		return
	}
	m.disc = d
	m.state, m.hasState = d.State, true
}

// event follows the bench: discoveries and reads by anyone, and DA writes
// in progress (ours and other sessions').
func (m *Model) event(ev bench.Event) {
	switch ev := ev.(type) {
	case bench.StateChanged:
		s := ev.State
		if s.Discovery != nil && s.Discovery != m.disc && m.busy != KindDiscover {
			m.setDiscovery(s.Discovery)
		}
		if s.HasState && (!m.snapHas || s.State != m.snapState || s.StateAt != m.snapAt) {
			// The bench's state is the freshest: every job that looks at
			// the chip (a discovery too) updates it.
			m.state, m.hasState = s.State, true
		}
		m.snapAt = s.StateAt
		m.snapState, m.snapHas = s.State, s.HasState
	case bench.JobStarted:
		if isDAWrite(ev.Job.Kind) && m.busy != KindApply {
			m.watching = ev.Job.Holder.String()
			m.steps = nil
		}
	case bench.DAStep:
		if m.busy == KindApply || m.watching != "" {
			m.addStep(ev)
		}
	case bench.JobFinished:
		if isDAWrite(ev.Job.Kind) && m.watching != "" && m.busy != KindApply {
			if ev.Err != nil {
				m.notice, m.bad = fmt.Sprintf("the DA write by %s failed: %v", m.watching, ev.Err), true
			} else {
				m.notice, m.bad = "the DA write by "+m.watching+" is done", false
			}
			m.watching = ""
		}
	}
}

// isDAWrite reports whether a bench job kind is a DA write.
func isDAWrite(kind string) bool {
	return kind == "da "+string(bench.DAProvision) || kind == "da "+string(bench.DARegress) || kind == "da "+string(bench.DAOpenDebug)
}

// addStep records a step, folding a run of progress steps into one.
func (m *Model) addStep(s bench.DAStep) {
	progress := s.Step.Total > 0 || s.Step.Step == "flash" || s.Step.Step == "save-flash"
	if n := len(m.steps); n > 0 && progress && m.steps[n-1].Step.Step == s.Step.Step {
		m.steps[n-1] = s
		return
	}
	if len(m.steps) < 200 {
		m.steps = append(m.steps, s)
	}
}

// say puts a message in the pane and in the footer.
func (m *Model) say(text string) tea.Cmd {
	m.notice, m.bad = text, false
	return common.Status(text)
}

// fail puts a failure in the pane and in the footer.
func (m *Model) fail(text string) tea.Cmd {
	m.notice, m.bad = text, true
	return common.StatusErr(text)
}

// yesNo is "yes" or "no".
func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
