// Package matrix is the console's connection-matrix pane: the mode × AP ×
// frequency grid filling live as a sweep runs, the selected cell's
// details, the diagnosis findings with their next steps as actions, and
// the export of the matrix to a file.
package matrix

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/stprobe/stprobe/bench"
	"github.com/stprobe/stprobe/probe/sweep"
	"github.com/stprobe/stprobe/tui/common"
)

// row is one grid row: a connect mode on an access port.
type row struct {
	Mode bench.ConnectMode
	AP   uint8
}

// area is the part of the pane the arrow keys move in.
type area int

const (
	areaGrid area = iota
	areaFindings
)

// Model is the matrix pane.
type Model struct {
	common.Base
	c    *common.Context
	keys keyMap
	w, h int

	rows  []row
	cols  []int // kHz
	cells map[sweep.Key]sweep.Cell
	// trying is the cell being tried now, when live.
	trying      *sweep.Key
	live        bool // a sweep is running (as the events say)
	done, total int
	matrix      *sweep.Matrix // the last matrix the bench published
	findings    []sweep.Finding
	failed      string // why the last sweep this pane started failed

	area       area
	selR, selC int
	selF       int // selected finding
	fscroll    int // first line of the selected finding's text shown
	selA       int // selected action of the selected finding

	export common.Prompt // the file to export to

	zones []zone // where things were drawn, for the mouse

	// caches of drawn texts, valid for cacheStyles
	cacheStyles *common.Styles
	wrapCache   map[wrapKey][]string
	cellCache   map[cellKey]string
	rowsKey     rowsKey
	rowsCache   []string
}

// zone is a clickable region of the last View.
type zone struct {
	x0, y0, x1, y1 int
	kind           zoneKind
	a, b           int
}

type zoneKind int

const (
	zoneCell zoneKind = iota
	zoneFinding
	zoneAction
)

// exportDoneMsg reports an export.
type exportDoneMsg struct {
	path string
	err  error
}

// New makes the matrix pane, showing the bench's last matrix if any.
func New(c *common.Context) *Model {
	m := &Model{Base: common.Base{ID: common.PaneMatrix}, c: c, keys: newKeyMap(), cells: map[sweep.Key]sweep.Cell{}}
	m.export = common.NewPrompt(512)
	m.load(c.Snapshot())
	return m
}

// SetSize sets the pane's size.
func (m *Model) SetSize(w, h int) {
	m.w, m.h = w, h
	m.export.SetWidth(max(10, w-20))
}

// Capturing is true while the export file name is typed.
func (m *Model) Capturing() bool { return m.export.IsOpen() }

// Keys are the pane's bindings.
func (m *Model) Keys() []key.Binding {
	k := m.keys
	if m.export.IsOpen() {
		return []key.Binding{k.Confirm, k.Escape}
	}
	// what this session cannot do now (an observer, no lease) is named
	// as unavailable: the footer offers only what works
	can := m.c == nil || m.c.Unavailable() == ""
	onIf := func(b key.Binding, on bool) key.Binding {
		b.SetEnabled(on)
		return b
	}
	out := []key.Binding{onIf(k.Sweep, can), onIf(k.Cancel, can && m.live), k.Move, k.Switch}
	switch {
	case m.area == areaFindings:
		out = append(out, onIf(k.Run, can), k.Action, k.Scroll)
	case len(m.findings) > 0:
		out = append(out, k.Findings)
	}
	return append(out, onIf(k.Export, m.c == nil || !m.c.ReadOnly), onIf(k.Discover, can))
}

// load takes the matrix and findings of a snapshot when they are new.
func (m *Model) load(s bench.Snapshot) {
	if s.Matrix == nil || s.Matrix == m.matrix {
		return
	}
	m.matrix = s.Matrix
	m.findings = s.Findings
	m.live, m.trying = false, nil
	m.rows, m.cols = gridOf(s.Matrix)
	m.cells = make(map[sweep.Key]sweep.Cell, len(s.Matrix.Cells))
	for _, c := range s.Matrix.Cells {
		m.cells[c.Key] = c
	}
	m.done, m.total = len(s.Matrix.Cells), len(s.Matrix.Cells)
	m.clampSel()
}

// gridOf is a matrix's rows and columns, from its plan or its cells.
func gridOf(mx *sweep.Matrix) ([]row, []int) {
	var rows []row
	var cols []int
	for _, md := range mx.Plan.Modes {
		for _, ap := range mx.Plan.APs {
			rows = append(rows, row{md, ap})
		}
	}
	cols = slices.Clone(mx.Plan.FrequenciesKHz)
	for _, c := range mx.Cells {
		if r := (row{c.Mode, c.AP}); !slices.Contains(rows, r) {
			rows = append(rows, r)
		}
		if !slices.Contains(cols, c.KHz) {
			cols = append(cols, c.KHz)
		}
	}
	return rows, cols
}

// begin clears the grid for a sweep of plan (our own, so the grid's shape
// is known before the first cell).
func (m *Model) begin(p sweep.Plan) {
	m.rows, m.cols = gridOf(&sweep.Matrix{Plan: p})
	m.cells = map[sweep.Key]sweep.Cell{}
	m.findings = nil
	m.live, m.trying, m.done, m.total = true, nil, 0, len(p.Keys())
	m.failed = ""
	m.clampSel()
}

// progress applies one SweepCell event (ours or another session's).
func (m *Model) progress(p sweep.Progress) {
	k := p.Cell.Key
	if p.Index == 0 && !p.Done {
		if !m.live || m.done > 0 { // a sweep we did not start: grow the grid as it comes
			m.rows, m.cols = nil, nil
			m.cells = map[sweep.Key]sweep.Cell{}
			m.findings = nil
		}
		m.live, m.done = true, 0
	}
	m.live = true
	m.total = p.Total
	if r := (row{k.Mode, k.AP}); !slices.Contains(m.rows, r) {
		m.rows = append(m.rows, r)
	}
	if !slices.Contains(m.cols, k.KHz) {
		m.cols = append(m.cols, k.KHz)
	}
	if p.Done {
		m.cells[k] = p.Cell
		m.done = p.Index + 1
		m.trying = nil
	} else {
		kk := k
		m.trying = &kk
	}
	m.clampSel()
}

func (m *Model) clampSel() {
	m.selR = min(max(m.selR, 0), max(len(m.rows)-1, 0))
	m.selC = min(max(m.selC, 0), max(len(m.cols)-1, 0))
	m.selF = min(max(m.selF, 0), max(len(m.findings)-1, 0))
	if len(m.findings) > 0 {
		m.selA = min(max(m.selA, 0), max(len(m.actions(m.findings[m.selF]))-1, 0))
	} else {
		m.selA = 0
	}
}

// Selected is the selected cell's key, if the grid has one.
func (m *Model) Selected() (sweep.Key, bool) {
	if len(m.rows) == 0 || len(m.cols) == 0 {
		return sweep.Key{}, false
	}
	r := m.rows[m.selR]
	return sweep.Key{Mode: r.Mode, AP: r.AP, KHz: m.cols[m.selC]}, true
}

// Update handles a message.
func (m *Model) Update(msg tea.Msg) (common.Pane, tea.Cmd) {
	switch msg := msg.(type) {
	case common.EventMsg:
		switch e := msg.Event.(type) {
		case bench.SweepCell:
			m.progress(e.Progress)
		case bench.StateChanged:
			m.load(e.State)
		case bench.JobFinished:
			if e.Job.Kind == benchSweepKind {
				m.live, m.trying = false, nil
				m.load(m.c.Snapshot())
			}
		case bench.Dropped:
			m.load(m.c.Snapshot())
		}
		return m, nil
	case common.JobDoneMsg:
		return m, m.jobDone(msg.Msg)
	case planMsg:
		return m, m.runSweep(msg.plan)
	case exportDoneMsg:
		if msg.err != nil {
			return m, common.StatusErr(msg.err.Error())
		}
		return m, common.Status("matrix written to " + msg.path)
	case tea.KeyPressMsg:
		if m.export.IsOpen() {
			return m, m.exportKey(msg)
		}
		return m, m.key(msg)
	case tea.MouseClickMsg:
		return m, m.click(msg.Mouse())
	case tea.MouseWheelMsg:
		switch msg.Mouse().Button {
		case tea.MouseWheelUp:
			m.move(-1, 0)
		case tea.MouseWheelDown:
			m.move(1, 0)
		}
		return m, nil
	}
	return m, nil
}

// jobDone reports the end of a job this pane started. The grid follows
// the bench's events only (they may still be on their way when the job's
// result arrives), so this only tells the user.
func (m *Model) jobDone(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case sweepDone:
		switch {
		case msg.Err == nil && msg.Value != nil:
			return common.Status(summary(msg.Value.Matrix, msg.Value.Findings))
		case errors.Is(msg.Err, context.Canceled):
			return common.Status("sweep cancelled: the matrix is partial")
		case msg.Err != nil:
			m.failed = msg.Err.Error()
			return common.StatusErr("sweep: " + msg.Err.Error())
		}
	}
	return nil
}

// summary counts a matrix's outcomes in one line.
func summary(mx *sweep.Matrix, findings []sweep.Finding) string {
	if mx == nil {
		return "sweep done"
	}
	var parts []string
	for _, o := range sweep.Outcomes() {
		if n := mx.Count(o); n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, lookOf(o).word))
		}
	}
	return fmt.Sprintf("sweep done: %s; %d findings", strings.Join(parts, ", "), len(findings))
}

// key handles a key press.
func (m *Model) key(msg tea.KeyPressMsg) tea.Cmd {
	k := m.keys
	switch {
	case key.Matches(msg, k.Sweep):
		return m.startSweep()
	case key.Matches(msg, k.Cancel):
		if !m.live {
			return common.Status("no sweep is running")
		}
		if err := m.c.CancelJob(); err != nil {
			return common.StatusErr("cannot cancel: " + err.Error())
		}
		return common.Status("cancelling the sweep…")
	case key.Matches(msg, k.Switch):
		if m.area == areaGrid && len(m.findings) > 0 {
			m.area = areaFindings
		} else {
			m.area = areaGrid
		}
	case key.Matches(msg, k.Up):
		m.move(-1, 0)
	case key.Matches(msg, k.Down):
		m.move(1, 0)
	case key.Matches(msg, k.Left):
		m.move(0, -1)
	case key.Matches(msg, k.Right):
		m.move(0, 1)
	case key.Matches(msg, k.Run):
		if m.area == areaFindings {
			return m.runAction()
		}
		if len(m.findings) > 0 {
			m.area = areaFindings
		}
	case key.Matches(msg, k.ScrollUp) && m.area == areaFindings:
		m.fscroll = max(0, m.fscroll-max(1, m.h/2))
	case key.Matches(msg, k.ScrollDown) && m.area == areaFindings:
		m.fscroll += max(1, m.h/2) // the view clamps it
	case key.Matches(msg, k.Export):
		return m.startExport()
	case key.Matches(msg, k.Discover):
		return m.discover()
	}
	return nil
}

// move moves the selection in the current area.
func (m *Model) move(dr, dc int) {
	if m.area == areaGrid {
		m.selR += dr
		m.selC += dc
	} else {
		if dr != 0 {
			m.selF += dr
			m.selA, m.fscroll = 0, 0
		}
		m.selA += dc
	}
	m.clampSel()
}

// runAction takes the selected finding's selected action, or says why not.
func (m *Model) runAction() tea.Cmd {
	if len(m.findings) == 0 {
		return nil
	}
	acts := m.actions(m.findings[m.selF])
	if len(acts) == 0 {
		return common.Status("stprobe cannot take this step for you: follow the advice by hand")
	}
	a := acts[min(m.selA, len(acts)-1)]
	if why := a.Unavailable(); why != "" {
		return common.StatusErr(a.Label + ": " + why)
	}
	return a.Run()
}

// click selects the cell, finding or action under the mouse.
func (m *Model) click(p tea.Mouse) tea.Cmd {
	for _, z := range m.zones {
		if p.X < z.x0 || p.X >= z.x1 || p.Y < z.y0 || p.Y >= z.y1 {
			continue
		}
		switch z.kind {
		case zoneCell:
			m.area, m.selR, m.selC = areaGrid, z.a, z.b
		case zoneFinding:
			m.area, m.selF, m.selA, m.fscroll = areaFindings, z.a, 0, 0
		case zoneAction:
			m.area, m.selF, m.selA = areaFindings, z.a, z.b
			m.clampSel()
			return m.runAction()
		}
		m.clampSel()
		return nil
	}
	return nil
}

// startExport asks for the file to write the matrix to.
func (m *Model) startExport() tea.Cmd {
	if m.matrix == nil {
		return common.StatusErr("no matrix to export yet: press s to sweep")
	}
	name := "stprobe-matrix"
	if s := m.c.Snapshot(); s.Scenario != "" {
		name += "-" + s.Scenario
	} else if s.Probe.Serial != "" {
		name += "-" + s.Probe.Serial
	}
	return m.export.Ask("export to: ", name+".md")
}

// exportKey edits the file name; enter writes, esc gives up.
func (m *Model) exportKey(msg tea.KeyPressMsg) tea.Cmd {
	path, answered, cmd := m.export.Key(msg, m.keys.Confirm, m.keys.Escape)
	if !answered {
		return cmd
	}
	if path == "" {
		return common.StatusErr("export: give a file name ending in .md, .json or .csv")
	}
	mx, fs := m.matrix, m.findings
	return func() tea.Msg { return exportDoneMsg{path: path, err: Export(path, mx, fs)} }
}

// Export writes the matrix to path, as JSON (.json), CSV (.csv) or a
// Markdown table (anything else).
func Export(path string, mx *sweep.Matrix, findings []sweep.Finding) (err error) {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("export: file: %w", err)
	}
	defer func() {
		if cerr := f.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("export: file %s: %w", path, cerr)
		}
	}()
	switch strings.ToLower(filepath.Ext(path)) {
	case ".json":
		err = sweep.WriteJSON(f, mx, findings)
	case ".csv":
		err = sweep.WriteCSV(f, mx)
	default:
		err = sweep.WriteMarkdown(f, mx, findings)
	}
	if err != nil {
		return fmt.Errorf("export to %s: %w", path, err)
	}
	return nil
}
