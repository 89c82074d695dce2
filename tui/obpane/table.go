package obpane

import (
	"fmt"
	"strings"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"

	"github.com/stprobe/stprobe/bench"
	"github.com/stprobe/stprobe/tui/common"
)

// row is one line of the table: a register heading (field nil) or a field
// with its decoded current and to-program values.
type row struct {
	reg   *bench.Register
	field *bench.Field
	cur   bench.FieldValue
	prg   bench.FieldValue
	// differs is true when _PRG holds another value than _CUR.
	differs bool
	// next is the staged value, when the field has an edit.
	next    *bench.FieldValue
	nextRaw string // the staged value as typed, when it does not parse
}

// staged is one edit waiting to be planned.
type staged struct {
	field string
	value string // as the bench parses it: 0xNN or a name
}

// rebuild recomputes the rows from the option bytes and the edits.
func (m *Model) rebuild() {
	m.rows, m.fields = m.rows[:0], m.fields[:0]
	o := m.ob
	if o == nil || o.Layout == nil || o.Snap == nil {
		m.sel, m.top = 0, 0
		return
	}
	l := o.Layout
	for ri := range l.Registers {
		r := &l.Registers[ri]
		m.rows = append(m.rows, row{reg: r})
		cur, prg := o.Snap.Cur[r.Name], o.Snap.Prg[r.Name]
		for _, f := range l.FieldsOf(r.Name) {
			rw := row{reg: r, field: f, cur: l.DecodeField(f, cur), prg: l.DecodeField(f, prg)}
			rw.differs = !r.Direct && f.Get(cur) != f.Get(prg)
			if s, ok := m.stagedFor(f.Name); ok {
				if v, err := l.ParseValue(f, s.value); err == nil {
					nv := l.DecodeField(f, f.Set(cur, v))
					rw.next = &nv
				} else {
					rw.nextRaw = s.value
				}
			}
			m.fields = append(m.fields, len(m.rows))
			m.rows = append(m.rows, rw)
		}
	}
	m.sel = min(m.sel, max(0, len(m.fields)-1))
	m.follow()
}

// stagedFor returns the edit of a field.
func (m *Model) stagedFor(name string) (staged, bool) {
	for _, s := range m.staged {
		if strings.EqualFold(s.field, name) {
			return s, true
		}
	}
	return staged{}, false
}

// stage records (or replaces) the edit of a field.
func (m *Model) stage(name, value string) {
	if name == "" {
		return
	}
	if m.ob != nil && m.ob.Layout != nil {
		if f, ok := m.ob.Layout.Field(name); ok {
			name = f.Name
		}
	}
	for i := range m.staged {
		if strings.EqualFold(m.staged[i].field, name) {
			m.staged[i].value = value
			return
		}
	}
	m.staged = append(m.staged, staged{field: name, value: value})
}

// unstage drops the edit of a field; it reports whether there was one.
func (m *Model) unstage(name string) bool {
	for i := range m.staged {
		if strings.EqualFold(m.staged[i].field, name) {
			m.staged = append(m.staged[:i], m.staged[i+1:]...)
			return true
		}
	}
	return false
}

// selected is the selected field row, nil when there is none.
func (m *Model) selected() *row {
	if m.sel < 0 || m.sel >= len(m.fields) {
		return nil
	}
	return &m.rows[m.fields[m.sel]]
}

// selectField selects a field by name.
func (m *Model) selectField(name string) {
	for i, ri := range m.fields {
		if m.rows[ri].field.Name == name {
			m.sel = i
			m.follow()
			return
		}
	}
}

// move moves the selection by d fields.
func (m *Model) move(d int) {
	if len(m.fields) == 0 {
		return
	}
	m.sel = max(0, min(len(m.fields)-1, m.sel+d))
	m.follow()
}

// follow scrolls the table so that the selected row (and its register's
// heading when it is the register's first field) is visible.
func (m *Model) follow() {
	n := m.tableRows()
	if n <= 0 || len(m.fields) == 0 {
		m.top = 0
		return
	}
	ri := m.fields[m.sel]
	first := ri
	if ri > 0 && m.rows[ri-1].field == nil {
		first = ri - 1
	}
	if first < m.top {
		m.top = first
	}
	if ri >= m.top+n {
		m.top = ri - n + 1
	}
	m.top = max(0, min(m.top, len(m.rows)-n))
}

// click selects the field row under the mouse on the table screen.
func (m *Model) click(mo tea.Mouse) {
	if m.Screen != screenTable || m.edit != nil || m.Guard != nil {
		return
	}
	i := m.top + mo.Y - tableY
	if mo.Y < tableY || mo.Y >= tableY+m.tableRows() || i < 0 || i >= len(m.rows) {
		return
	}
	for fi, ri := range m.fields {
		if ri == i {
			m.sel = fi
			m.follow()
			return
		}
	}
}

// wheel scrolls the screen under the mouse wheel.
func (m *Model) wheel(b tea.MouseButton) {
	d := 0
	switch b {
	case tea.MouseWheelUp:
		d = -1
	case tea.MouseWheelDown:
		d = 1
	default:
		return
	}
	switch {
	case m.edit != nil || m.Guard != nil:
	case m.Screen == screenTable:
		m.move(d)
	case m.Screen == screenBackups:
		m.bsel = max(0, min(len(m.backups)-1, m.bsel+d))
	default:
		m.Scroll = max(0, m.Scroll+d)
	}
}

// editor is the value chooser of one field: a list of its valid values
// (enum fields) or a typed number checked by the layout's parser.
type editor struct {
	field  *bench.Field
	values []bench.Value
	sel    int
	input  *textinput.Model
	err    string
}

// openEditor opens the chooser of the selected field.
func (m *Model) openEditor() tea.Cmd {
	r := m.selected()
	if r == nil {
		if m.ob != nil && m.ob.Closed != nil {
			return m.Fail("AP1 is closed: the option bytes cannot be edited")
		}
		return m.Fail("read the option bytes first (r)")
	}
	if why := m.C.Unavailable(); why != "" {
		return m.Unavailable("edit "+r.field.Name, why)
	}
	l := m.ob.Layout
	e := &editor{field: r.field}
	want := r.cur.Raw
	if r.next != nil {
		want = r.next.Raw
	}
	if r.field.Kind == bench.KindEnum {
		for _, v := range r.field.Values {
			if (v.Lines == nil || v.Lines.Has(l.DevID)) && v.Refused == "" {
				if v.Raw == want {
					e.sel = len(e.values)
				}
				e.values = append(e.values, v)
			}
		}
		m.edit = e
		return nil
	}
	in := common.TextInput(m.C, r.field.Name+" = ", "")
	in.SetValue(fmt.Sprintf("0x%X", want))
	in.CharLimit = 34
	e.input = &in
	m.edit = e
	return in.Focus()
}

// editKey handles a key while the chooser is open.
func (m *Model) editKey(msg tea.KeyPressMsg) tea.Cmd {
	e, k := m.edit, m.keys
	switch {
	case key.Matches(msg, k.Cancel):
		m.edit = nil
		return nil
	case key.Matches(msg, k.Confirm):
		return m.editDone()
	}
	if e.input == nil {
		switch {
		case key.Matches(msg, k.Up):
			e.sel = max(0, e.sel-1)
		case key.Matches(msg, k.Down):
			e.sel = min(len(e.values)-1, e.sel+1)
		}
		return nil
	}
	in, cmd := e.input.Update(msg)
	e.input = &in
	e.err = ""
	return cmd
}

// editDone stages the chosen value (or drops the edit when the value is
// the current one).
func (m *Model) editDone() tea.Cmd {
	e := m.edit
	if m.ob == nil || m.ob.Layout == nil || m.ob.Snap == nil {
		m.edit = nil
		return m.Fail("the option bytes are no longer readable: read them again (r)")
	}
	l := m.ob.Layout
	var v uint32
	if e.input == nil {
		if len(e.values) == 0 {
			m.edit = nil
			return nil
		}
		v = e.values[e.sel].Raw
	} else {
		n, err := l.ParseValue(e.field, e.input.Value())
		if err != nil {
			e.err = err.Error()
			return nil
		}
		v = n
	}
	m.edit = nil
	name := e.field.Name
	if v == e.field.Get(m.ob.Snap.Cur[e.field.Register]) {
		if m.unstage(name) {
			m.rebuild()
			return m.Say(name + " already holds that value: edit dropped")
		}
		return m.Say(name + " already holds that value")
	}
	m.stage(name, fmt.Sprintf("0x%X", v))
	m.rebuild()
	return m.Say(fmt.Sprintf("%s=0x%X staged; p plans every edit", name, v))
}
