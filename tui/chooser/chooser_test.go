package chooser

import (
	"errors"
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"

	"github.com/stprobe/stprobe/bench"
	"github.com/stprobe/stprobe/probe"
	"github.com/stprobe/stprobe/probe/sim/scenario"
	"github.com/stprobe/stprobe/tui/common"
	"github.com/stprobe/stprobe/tui/internal/tuitest"
)

func newChooser(usb []probe.Info, err error) *Model {
	m := New(common.NewStyles(common.Theme{}), usb, err, scenario.List())
	m.Update(tea.WindowSizeMsg{Width: 80, Height: 24})
	return m
}

func TestChoosesSeedBoardWithoutProbes(t *testing.T) {
	m := newChooser(nil, nil)
	if v := tuitest.Plain(m.Render()); !strings.Contains(v, "no ST-LINK found on USB") || !strings.Contains(v, "▸ SIM simulated "+scenario.DefaultName) {
		t.Fatalf("chooser without probes:\n%s", v)
	}
	m.Update(tuitest.Key("enter"))
	if sel, ok := m.Chosen(); !ok || sel != (bench.Selector{Sim: scenario.DefaultName}) {
		t.Errorf("chosen %v %v", sel, ok)
	}
}

func TestChoosesUSBProbe(t *testing.T) {
	usb := []probe.Info{{Serial: "AAA", Model: "ST-LINK/V2", Firmware: "V2J46S7", Address: "1-2"}, {Serial: "BBB", Model: "STLINK-V3", Address: "1-3"}}
	m := newChooser(usb, nil)
	m.Update(tuitest.Key("down"))
	m.Update(tuitest.Key("enter"))
	if sel, _ := m.Chosen(); sel != (bench.Selector{Serial: "BBB"}) {
		t.Errorf("chosen %v, want serial BBB", sel)
	}
}

func TestTypesServerAddress(t *testing.T) {
	m := newChooser(nil, errors.New("libusb: access denied"))
	if v := tuitest.Plain(m.Render()); !strings.Contains(v, "USB: libusb: access denied") {
		t.Errorf("the USB failure is not shown:\n%s", v)
	}
	for m.items[m.cur].kind != kindServer {
		m.Update(tuitest.Key("up"))
	}
	m.Init()
	m.server.SetValue("")
	for _, r := range "bench:7184" {
		m.Update(tea.KeyPressMsg{Code: r, Text: string(r)})
	}
	m.Update(tuitest.Key("enter"))
	if sel, _ := m.Chosen(); sel != (bench.Selector{Server: "bench:7184"}) {
		t.Errorf("chosen %v, want the server typed", sel)
	}
}

func TestQuitChoosesNothing(t *testing.T) {
	m := newChooser(nil, nil)
	_, cmd := m.Update(tuitest.Key("esc"))
	if _, ok := m.Chosen(); ok || cmd == nil {
		t.Error("esc chose something or did not quit")
	}
}

func TestFitsSmallTerminal(t *testing.T) {
	m := newChooser(nil, nil)
	m.Update(tea.WindowSizeMsg{Width: 60, Height: 10})
	for range 12 {
		m.Update(tuitest.Key("down"))
	}
	v := tuitest.Plain(m.Render())
	if n := strings.Count(v, "\n"); n > 10 {
		t.Errorf("%d lines on a 10-line terminal", n)
	}
	if !strings.Contains(v, "▸") {
		t.Errorf("the current item scrolled out of view:\n%s", v)
	}
}
