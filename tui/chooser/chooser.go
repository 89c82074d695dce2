// Package chooser is the console's probe chooser: the ST-LINKs found on
// USB, a stlink-server address to type, and the simulated boards. It
// returns the bench.Selector the user picked; the caller opens the bench.
package chooser

import (
	"errors"
	"strings"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"

	"github.com/stprobe/stprobe/bench"
	"github.com/stprobe/stprobe/tui/common"
)

// ErrCancelled is returned when the user leaves the chooser without
// choosing.
var ErrCancelled = errors.New("no probe chosen")

// DefaultServer is the address offered for stlink-server.
const DefaultServer = "localhost:7184"

// kind is what an item opens.
type kind int

const (
	kindUSB kind = iota
	kindServer
	kindSim
)

// item is one line of the chooser.
type item struct {
	kind   kind
	title  string
	detail string
	sel    bench.Selector
}

// Model is the chooser.
type Model struct {
	st     *common.Styles
	items  []item
	cur    int
	top    int // first item on screen
	server textinput.Model
	note   string // why USB found nothing, when it says so
	w, h   int

	chosen *bench.Selector
	done   bool

	up, down, enter, quit key.Binding
}

// New makes a chooser for the USB probes found (usbErr: why the USB
// search failed, if it did) and the simulated boards.
func New(st *common.Styles, usb []bench.ProbeInfo, usbErr error, sims []bench.Scenario) *Model {
	m := &Model{st: st, w: 80, h: 24,
		up:    key.NewBinding(key.WithKeys("up", "k")),
		down:  key.NewBinding(key.WithKeys("down", "j", "tab")),
		enter: key.NewBinding(key.WithKeys("enter")),
		quit:  key.NewBinding(key.WithKeys("esc", "ctrl+c")),
	}
	for _, p := range usb {
		t := p.Model
		if t == "" {
			t = "ST-LINK"
		}
		if p.Firmware != "" {
			t += " " + p.Firmware
		}
		m.items = append(m.items, item{kind: kindUSB, title: t, detail: "serial " + p.Serial + " · USB " + p.Address, sel: bench.Selector{Serial: p.Serial}})
	}
	switch {
	case usbErr != nil:
		m.note = "USB: " + usbErr.Error()
	case len(usb) == 0:
		m.note = "no ST-LINK found on USB"
	}
	m.items = append(m.items, item{kind: kindServer, title: "stlink-server", detail: "a probe shared by ST's stlink-server (TCP)"})
	for _, s := range sims {
		m.items = append(m.items, item{kind: kindSim, title: "simulated " + s.Name, detail: s.Description, sel: bench.Selector{Sim: s.Name}})
	}
	m.server = textinput.New()
	m.server.Prompt = "address: "
	m.server.SetValue(DefaultServer)
	m.server.CharLimit = 255
	m.server.SetWidth(32)
	if len(usb) == 0 { // start on the seed board when there is no probe
		for i, it := range m.items {
			if it.kind == kindSim && it.sel.Sim == bench.DefaultScenario {
				m.cur = i
			}
		}
	}
	return m
}

// Chosen is the selector picked, and whether one was.
func (m *Model) Chosen() (bench.Selector, bool) {
	if m.chosen == nil {
		return bench.Selector{}, false
	}
	return *m.chosen, true
}

// Init focuses the address field when it is the current item.
func (m *Model) Init() tea.Cmd { return m.focus() }

func (m *Model) focus() tea.Cmd {
	if m.items[m.cur].kind == kindServer {
		return m.server.Focus()
	}
	m.server.Blur()
	return nil
}

// Update handles a message.
func (m *Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.w, m.h = msg.Width, msg.Height
		m.server.SetWidth(32)
		return m, nil
	case tea.MouseClickMsg:
		y := msg.Mouse().Y - 3 // the title lines
		if i := m.top + y; y >= 0 && i < len(m.items) {
			m.cur = i
			return m, m.focus()
		}
		return m, nil
	case tea.KeyPressMsg:
		switch {
		case key.Matches(msg, m.quit):
			m.done = true
			return m, tea.Quit
		case key.Matches(msg, m.up):
			m.cur = (m.cur + len(m.items) - 1) % len(m.items)
			return m, m.focus()
		case key.Matches(msg, m.down):
			m.cur = (m.cur + 1) % len(m.items)
			return m, m.focus()
		case key.Matches(msg, m.enter):
			it := m.items[m.cur]
			sel := it.sel
			if it.kind == kindServer {
				addr := strings.TrimSpace(m.server.Value())
				if addr == "" {
					return m, nil
				}
				sel = bench.Selector{Server: addr}
			}
			m.chosen, m.done = &sel, true
			return m, tea.Quit
		}
		if m.items[m.cur].kind == kindServer {
			var cmd tea.Cmd
			m.server, cmd = m.server.Update(msg)
			return m, cmd
		}
		if msg.String() == "q" {
			m.done = true
			return m, tea.Quit
		}
	}
	return m, nil
}

// View draws the chooser.
func (m *Model) View() tea.View {
	v := tea.NewView(m.Render())
	v.AltScreen = true
	v.MouseMode = tea.MouseModeCellMotion
	return v
}

// Render is the chooser as a string: one line per item, scrolled to keep
// the current one in view.
func (m *Model) Render() string {
	st := m.st
	var b strings.Builder
	b.WriteString(" " + st.Accent.Render("stprobe") + " — choose the probe\n")
	if m.note != "" {
		b.WriteString(" " + st.Muted.Render(m.note) + "\n")
	} else {
		b.WriteString("\n")
	}
	b.WriteString("\n")
	rows := max(1, m.h-5)
	m.top = min(max(m.top, m.cur-rows+1), m.cur)
	m.top = max(0, min(m.top, len(m.items)-rows))
	for i := m.top; i < len(m.items) && i < m.top+rows; i++ {
		it := m.items[i]
		mark := "  "
		title := it.title
		if i == m.cur {
			mark = st.Accent.Render("▸ ")
			title = st.Selected.Render(title)
		}
		tag := map[kind]string{kindUSB: "USB ", kindServer: "TCP ", kindSim: "SIM "}[it.kind]
		detail := it.detail
		if it.kind == kindServer && i == m.cur {
			detail = m.server.View()
		}
		line := " " + mark + st.Muted.Render(tag) + title + "  " + st.Muted.Render(detail)
		b.WriteString(truncate(line, m.w) + "\n")
	}
	b.WriteString("\n " + st.Muted.Render("↑/↓ choose · enter open · esc quit"))
	return lipgloss.NewStyle().MaxWidth(m.w).MaxHeight(m.h).Render(b.String())
}

func truncate(s string, w int) string {
	if w <= 0 || lipgloss.Width(s) <= w {
		return s
	}
	return lipgloss.NewStyle().MaxWidth(w-1).Render(s) + "…"
}
