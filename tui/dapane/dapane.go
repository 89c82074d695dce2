// Package dapane is the console's debug-authentication pane: what the
// chip's DA agent reports to a discovery (product state, lifecycle, whether
// DA data is provisioned, the method, the permissions, the SoC ID), what
// the option bytes say of DA, and a plain statement of the DA actions that
// are not built yet.
package dapane

import (
	"context"
	"fmt"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/stprobe/stprobe/bench"
	"github.com/stprobe/stprobe/probe/da"
	"github.com/stprobe/stprobe/tui/common"
)

// KindDiscover is the job kind of this pane's discovery (JobDoneMsg.Kind).
const KindDiscover = "dapane: discover"

// notBuiltWhy is why the DA actions are missing from this console.
const notBuiltWhy = "the debug-authentication actions (authenticating with a password, or with a certificate and its key) are still being built; stprobe can only discover for now"

// keyMap is every binding of the pane.
type keyMap struct {
	Discover, Up, Down, Regress, Open key.Binding
}

func newKeyMap() keyMap {
	b := func(help, desc string, keys ...string) key.Binding {
		return key.NewBinding(key.WithKeys(keys...), key.WithHelp(help, desc))
	}
	return keyMap{
		Discover: b("d", "discover", "d"),
		Up:       b("↑/k", "up", "up", "k"),
		Down:     b("↓/j", "down", "down", "j"),
		Regress:  b("R", "regression (not built yet)", "R"),
		Open:     b("o", "open debug (not built yet)", "o"),
	}
}

// Model is the DA pane. Create it with New.
type Model struct {
	c      *common.Context
	keys   keyMap
	w, h   int
	plain  *common.Styles
	pens   *pens
	disc   *da.Discovery
	err    error
	busy   bool
	notice string
	bad    bool
	reason string
	scroll int
}

// New returns the DA pane of the session c.
func New(c *common.Context) *Model {
	m := &Model{c: c, keys: newKeyMap()}
	if c != nil {
		m.disc = c.Snapshot().Discovery
	}
	return m
}

// Init starts nothing: the pane shows the bench's last discovery.
func (m *Model) Init() tea.Cmd { return nil }

// Title is the pane's name in the tab bar.
func (m *Model) Title() string { return common.PaneDA.String() }

// SetSize sets the area the pane draws in.
func (m *Model) SetSize(w, h int) { m.w, m.h = w, h }

// Keys are the pane's bindings; the actions that are not built yet, or
// that this session cannot run, are disabled.
func (m *Model) Keys() []key.Binding {
	k := m.keys
	d := k.Discover
	if m.c == nil || m.c.Unavailable() != "" {
		d.SetEnabled(false)
	}
	r, o := k.Regress, k.Open
	r.SetEnabled(false)
	o.SetEnabled(false)
	return []key.Binding{d, k.Up, k.Down, r, o}
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
	case common.JobDoneMsg:
		if msg.Kind != KindDiscover || !m.busy {
			return m, nil
		}
		m.busy = false
		if d, ok := msg.Value.(*da.Discovery); ok && d != nil {
			m.disc = d
		}
		m.err = msg.Err
		if msg.Err != nil {
			return m, m.fail(msg.Err.Error())
		}
		return m, m.say("DA discovery done; the chip waits in the ROM's DA loop until its next reset")
	case common.EventMsg:
		if sc, ok := msg.Event.(bench.StateChanged); ok && sc.State.Discovery != nil && !m.busy {
			m.disc = sc.State.Discovery
		}
	case common.OpenPaneMsg:
		if msg.Pane == common.PaneDA {
			return m, m.request(msg.Request)
		}
	}
	return m, nil
}

// request acts on an OpenPaneMsg's request.
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
	}
	return m.fail(fmt.Sprintf("%s is not available yet: %s", req.Action, notBuiltWhy))
}

// key handles a key press.
func (m *Model) key(msg tea.KeyPressMsg) tea.Cmd {
	k := m.keys
	switch {
	case key.Matches(msg, k.Discover):
		return m.discover()
	case key.Matches(msg, k.Up):
		m.scroll = max(0, m.scroll-1)
	case key.Matches(msg, k.Down):
		m.scroll++
	case key.Matches(msg, k.Regress):
		return m.fail("regression is not available yet: " + notBuiltWhy)
	case key.Matches(msg, k.Open):
		return m.fail("debug opening is not available yet: " + notBuiltWhy)
	}
	return nil
}

// discover runs a DA discovery on the bench.
func (m *Model) discover() tea.Cmd {
	why := ""
	switch {
	case m.c == nil:
		why = "no console session"
	case m.busy:
		why = "a discovery is running"
	default:
		why = m.c.UnavailableNow()
	}
	if why != "" {
		return m.fail("cannot run a DA discovery: " + why)
	}
	m.busy, m.err = true, nil
	b := m.c.Bench
	m.say("DA discovery: NRST low, request word, NRST released, waiting for the ROM…")
	return m.c.Job(KindDiscover, func(ctx context.Context, t bench.Token) (any, error) {
		return b.Discover(ctx, t, da.Options{})
	})
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
