// Package flashpane is the console's Flash pane: a firmware file (BIN at an
// address, Intel HEX, ELF), the plan of the write (the sectors erased and
// whether they hold data), the guard (the phrase), the progress of the
// erase, program and verify steps, and the result — "put the firmware
// back" after a regression.
package flashpane

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"

	"github.com/stprobe/stprobe/bench"
	"github.com/stprobe/stprobe/tui/common"
	"github.com/stprobe/stprobe/tui/credform"
	"github.com/stprobe/stprobe/tui/guard"
)

// The ends of the pane's jobs: planning the write, and the write.
type (
	planned common.Result[*bench.FlashPlan]
	written common.Result[*bench.FlashOutcome]
)

// screen is what the pane shows.
type screen int

const (
	screenFile    screen = iota // the file path (typed while the field has the focus)
	screenWorking               // a plan or a write runs
	screenPlan                  // the plan, waiting for w
	screenResult                // how the write ended
)

// Option tunes the pane.
type Option func(*Model)

// WithStateDir keeps the journal and the audit log in dir ("" : the
// default state directory).
func WithStateDir(dir string) Option { return func(m *Model) { m.stateDir = dir } }

// Model is the Flash pane.
type Model struct {
	common.Base
	c        *common.Context
	look     common.Look
	keys     keyMap
	w, h     int
	stateDir string

	screen   screen
	in       textinput.Model
	verify   bool
	resetRun bool
	file     string
	image    *bench.FlashImage
	plan     *bench.FlashPlan
	guard    *guard.Model
	matches  []string // the paths a tab completion found several of
	step     bench.WriteEvent
	outcome  *bench.FlashOutcome
	err      error
}

type keyMap struct {
	Type, Plan, Complete, Stop, Write, Edit, Verify, ResetRun, Back key.Binding
}

// New builds the pane.
func New(c *common.Context, opts ...Option) *Model {
	m := &Model{Base: common.Base{ID: common.PaneFlash}, c: c, verify: true, resetRun: true}
	m.keys = keyMap{
		Type:     common.Binding("e", "type the file's path", "e", "enter"),
		Plan:     common.Binding("enter", "plan the write", "enter"),
		Complete: common.Binding("tab", "complete the path", "tab"),
		Stop:     common.Binding("esc", "stop typing (tab and 1-5 move between panes)", "esc"),
		Write:    common.Binding("w", "write (asks the phrase)", "w"),
		Edit:     common.Binding("e", "choose another file", "e"),
		Verify:   common.Binding("v", "verify on/off", "v"),
		ResetRun: common.Binding("r", "reset and run on/off", "r"),
		Back:     common.Binding("esc", "back", "esc"),
	}
	m.in = common.TextInput(c, "file: ", "app.hex, app.elf, or app.bin@0x08000000")
	for _, o := range opts {
		o(m)
	}
	return m
}

// SetSize sets the pane's size.
func (m *Model) SetSize(w, h int) {
	m.w, m.h = w, h
	m.in.SetWidth(max(10, w-12))
}

// Capturing is true while the file or the phrase is typed. The field does
// not have the focus until e (or enter) is pressed, so that the console's
// tab and digit keys still leave the pane.
func (m *Model) Capturing() bool { return m.typing() || m.guard != nil }

// typing is true while the file's path is typed.
func (m *Model) typing() bool { return m.screen == screenFile && m.in.Focused() }

// Keys are the bindings of the current screen.
func (m *Model) Keys() []key.Binding {
	k := m.keys
	switch {
	case m.guard != nil:
		return m.guard.KeyBindings()
	case m.typing():
		return []key.Binding{k.Plan, k.Complete, k.Stop}
	case m.screen == screenFile:
		return []key.Binding{m.act(k.Type)}
	case m.screen == screenPlan:
		return []key.Binding{m.act(k.Write), k.Verify, k.ResetRun, k.Edit, k.Back}
	case m.screen == screenResult:
		return []key.Binding{k.Edit, m.act(k.Plan)}
	}
	return nil
}

// act is b, disabled (its help kept) when this session cannot use the
// probe now: an observer, or a session without the lease.
func (m *Model) act(b key.Binding) key.Binding {
	if m.c.Unavailable() != "" {
		b.SetEnabled(false)
	}
	return b
}

// Update handles keys, the jobs' results and the write's steps.
func (m *Model) Update(msg tea.Msg) (common.Pane, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.KeyPressMsg:
		return m, m.key(msg)
	case common.JobDoneMsg:
		return m, m.jobDone(msg.Msg)
	case common.EventMsg:
		if s, ok := msg.Event.(bench.FlashStep); ok && m.screen == screenWorking {
			m.step = s.Step
		}
	case common.OpenPaneMsg:
		if msg.Pane == m.ID {
			m.toFile()
		}
	}
	return m, nil
}

func (m *Model) key(msg tea.KeyPressMsg) tea.Cmd {
	if m.guard != nil {
		out, cmd := m.guard.Update(msg)
		switch out {
		case guard.Confirmed:
			typed := m.guard.Typed()
			m.guard = nil
			return m.write(typed)
		case guard.Cancelled:
			m.guard = nil
		}
		return cmd
	}
	k := m.keys
	switch m.screen {
	case screenFile:
		if !m.in.Focused() {
			if key.Matches(msg, k.Type) {
				if why := m.c.Unavailable(); why != "" {
					return common.StatusErr(why)
				}
				m.in.Focus()
			}
			return nil
		}
		m.matches = nil
		switch {
		case key.Matches(msg, k.Plan):
			return m.planCmd()
		case key.Matches(msg, k.Complete):
			m.complete()
			return nil
		case key.Matches(msg, k.Stop):
			m.in.Blur()
			return nil
		}
		var cmd tea.Cmd
		m.in, cmd = m.in.Update(msg)
		return cmd
	case screenPlan:
		switch {
		case key.Matches(msg, k.Write):
			if why := m.c.Unavailable(); why != "" {
				return common.StatusErr(why)
			}
			return m.openGuard()
		case key.Matches(msg, k.Verify):
			m.verify = !m.verify
		case key.Matches(msg, k.ResetRun):
			m.resetRun = !m.resetRun
		case key.Matches(msg, k.Edit), key.Matches(msg, k.Back):
			m.toFile()
		}
	case screenResult:
		switch {
		case key.Matches(msg, k.Edit):
			m.toFile()
		case key.Matches(msg, k.Plan):
			return m.planCmd()
		}
	}
	return nil
}

// toFile goes back to the file field.
func (m *Model) toFile() {
	m.screen, m.guard, m.err = screenFile, nil, nil
	m.in.Focus()
}

// complete completes the path typed as a shell does (not after "@ADDR");
// several names left are listed under the field.
func (m *Model) complete() {
	v := m.in.Value()
	if strings.TrimSpace(v) == "" || strings.Contains(v, "@") {
		return
	}
	got, matches := credform.CompletePath(v, false)
	if got != v {
		m.in.SetValue(got)
		m.in.CursorEnd()
	}
	if len(matches) > 1 {
		m.matches = matches
	}
}

// parseFile reads "PATH" or "PATH@ADDR" (a raw binary's address).
func parseFile(s string) (string, bench.FlashImageOptions, error) {
	s = strings.TrimSpace(s)
	var o bench.FlashImageOptions
	if path, addr, ok := strings.Cut(s, "@"); ok {
		var v uint64
		if _, err := fmt.Sscanf(strings.ToLower(strings.TrimSpace(addr)), "0x%x", &v); err != nil || v > 0xFFFFFFFF {
			return "", o, fmt.Errorf("the address after @ is a 0x hex number, e.g. app.bin@0x08000000")
		}
		s, o.Addr, o.HasAddr = strings.TrimSpace(path), uint32(v), true
	}
	if s == "" {
		return "", o, errors.New("type the path of a BIN (with @ADDR), Intel HEX or ELF file")
	}
	return s, o, nil
}

// request is the write the pane would make.
func (m *Model) request() bench.FlashRequest {
	return bench.FlashRequest{Name: m.file, Image: m.image, Verify: m.verify, ResetRun: m.resetRun, StateDir: m.stateDir}
}

// planCmd reads the file and plans the write.
func (m *Model) planCmd() tea.Cmd {
	path, o, err := parseFile(m.in.Value())
	if err != nil {
		m.err = err
		return nil
	}
	im, err := bench.ReadFlashImage(path, o)
	if err != nil {
		m.err = err
		return nil
	}
	m.file, m.image, m.err, m.plan, m.outcome = path, im, nil, nil, nil
	m.screen, m.step = screenWorking, bench.WriteEvent{Step: "plan", Message: "reading the sectors the image covers"}
	m.in.Blur()
	req := m.request()
	return common.Job[planned](m.c, m.ID, func(ctx context.Context, t bench.Token) (*bench.FlashPlan, error) {
		return m.c.Bench.PlanFlash(ctx, t, req)
	})
}

// openGuard opens the phrase dialog in front of the write.
func (m *Model) openGuard() tea.Cmd {
	p := m.plan
	if p == nil {
		return nil
	}
	h := p.Header()
	d := guard.Dialog{Title: "⚠ CAUTION: this erases " + h.Erases, Plan: h}
	for _, c := range h.Changes {
		d.Lines = append(d.Lines, guard.Line{Text: c, Tone: guard.Normal})
	}
	if p.NotEmpty > 0 {
		d.Lines = append(d.Lines, guard.Line{Text: fmt.Sprintf("%d of the %s hold data that will be lost (the CLI's --save-flash keeps a copy)", p.NotEmpty, bench.FlashSectors(len(p.Erase))), Tone: guard.Warn})
	}
	m.guard = guard.New(m.c, d)
	return m.guard.Focus()
}

// write starts the guarded write with the phrase typed.
func (m *Model) write(typed string) tea.Cmd {
	req := m.request()
	req.Confirm = typed
	m.screen, m.step = screenWorking, bench.WriteEvent{Step: "write", Message: "starting"}
	return common.Job[written](m.c, m.ID, func(ctx context.Context, t bench.Token) (*bench.FlashOutcome, error) {
		return m.c.Bench.Flash(ctx, t, req)
	})
}

// jobDone takes the end of one of the pane's jobs.
func (m *Model) jobDone(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case planned:
		m.plan, m.err = msg.Value, msg.Err
		if msg.Err != nil || m.plan == nil {
			m.toFile()
			m.err = msg.Err
			return nil
		}
		m.screen = screenPlan
	case written:
		m.outcome, m.err = msg.Value, msg.Err
		m.screen = screenResult
		if msg.Err == nil {
			return common.Status("flash written: " + m.file)
		}
		return common.StatusErr("flash write: " + msg.Err.Error())
	}
	return nil
}
