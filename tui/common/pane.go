package common

import (
	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/stprobe/stprobe/bench"
)

// Pane is one screen of the console (matrix, option bytes, DA, log, flash). The
// root model routes key and mouse messages to the focused pane only, a
// JobDoneMsg to the pane that started the job, and every other message
// (EventMsg, OpenPaneMsg, spinner ticks...) to every pane. Mouse messages arrive with X/Y relative to the pane's
// top-left corner (inside its border).
type Pane interface {
	// Init starts the pane (usually nil).
	Init() tea.Cmd
	// Update handles one message and returns the pane to keep.
	Update(tea.Msg) (Pane, tea.Cmd)
	// View draws the pane in exactly the size SetSize gave it.
	View() string
	// SetSize tells the pane the size it has to draw in.
	SetSize(w, h int)
	// Keys are the pane's bindings for the help (short help: the enabled
	// ones; full help: all). Disabled bindings keep their help text.
	Keys() []key.Binding
	// Title is the pane's name in the tab bar ("Matrix", "Option bytes").
	Title() string
}

// Base is what every pane's Title and Init have the same: the pane's name
// in the tab bar comes from its id, and Init starts nothing (a pane shows
// what the bench last said until asked for more). A pane embeds it, made
// with its id, and starts its jobs as that pane (Job(c, m.ID, ...)).
type Base struct {
	// ID is the pane's place in the tab order.
	ID PaneID
}

// Title is the pane's name in the tab bar.
func (b Base) Title() string { return b.ID.String() }

// Init starts nothing.
func (Base) Init() tea.Cmd { return nil }

// Focuser is implemented by panes that want to know when they gain or
// lose the focus.
type Focuser interface {
	Focus()
	Blur()
}

// Capturer is implemented by panes that sometimes take all keys (a text
// input, a guard dialog being typed into): while Capturing is true the root
// model does not act on its own keys (tab, digits, q) and sends them all to
// the pane; ctrl+c still quits.
type Capturer interface {
	Capturing() bool
}

// PaneID names a pane, for OpenPaneMsg and the digit keys.
type PaneID int

// The panes, in tab order; PaneNone is the root model itself (the jobs it
// starts, such as identifying the chip).
const (
	PaneNone   PaneID = -1
	PaneMatrix PaneID = iota - 1
	PaneOptionBytes
	PaneDA
	PaneLog
	PaneFlash
)

// String is the pane's name.
func (p PaneID) String() string {
	switch p {
	case PaneMatrix:
		return "Matrix"
	case PaneOptionBytes:
		return "Option bytes"
	case PaneDA:
		return "Debug auth"
	case PaneLog:
		return "Log"
	case PaneFlash:
		return "Flash"
	}
	return "pane?"
}

// Short is the pane's name in a narrow tab bar ("OB" for "Option bytes").
func (p PaneID) Short() string {
	switch p {
	case PaneOptionBytes:
		return "OB"
	case PaneDA:
		return "DA"
	}
	return p.String()
}

// Keys the root model binds, for "why unavailable" texts.
const (
	TakeKey   = "L"
	CancelKey = "ctrl+x"
)

// EventMsg carries one bench event to the panes. The root model has
// already recorded a StateChanged event's snapshot in the Context.
type EventMsg struct{ Event bench.Event }

// JobDoneMsg is the end of a job started with Job. The root model hands
// it to the pane that started it (From) and to no other; Msg is that
// pane's own message saying how the job ended, made by the job, which the
// pane handles as any other of its messages. Err is the job's error, for
// the root model too (a refusal for want of the lease goes to the footer).
type JobDoneMsg struct {
	From PaneID
	Msg  tea.Msg
	Err  error
}

// OpenPaneMsg asks the root model to focus pane Pane; the root then
// forwards the message to that pane, which acts on Request (nil: just
// show). Matrix findings use it: "plan TZEN=0xC3" is
// OpenPaneMsg{PaneOptionBytes, PlanRequest{Assignments: ["TZEN=0xC3"]}}.
type OpenPaneMsg struct {
	Pane    PaneID
	Request any
}

// PlanRequest asks the option-byte pane to plan a change, pre-filled (the
// user still reviews it; nothing is applied without the pane's guard).
type PlanRequest struct {
	Assignments []string // "TZEN=0xC3", "PRODUCT_STATE=OPEN"
	FromBackup  string   // a backup file to restore from, instead
	Reason      string   // why it is proposed (the finding's title)
}

// DARequest asks the DA pane to start Action ("discover", ...).
type DARequest struct {
	Action string
	Reason string
}

// StatusMsg puts a short message in the footer for a while: a result, or
// why an action is unavailable. Err marks it as a failure.
type StatusMsg struct {
	Text string
	Err  bool
}

// Status is a command that shows text in the footer.
func Status(text string) tea.Cmd {
	return func() tea.Msg { return StatusMsg{Text: text} }
}

// StatusErr is a command that shows a failure in the footer.
func StatusErr(text string) tea.Cmd {
	return func() tea.Msg { return StatusMsg{Text: text, Err: true} }
}
