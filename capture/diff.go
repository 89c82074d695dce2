package capture

import (
	"fmt"
	"reflect"
)

// Comparable returns a copy of f without what two captures of one board
// may differ in: the header (when, from where, with which tool) and the
// sweep cells' timings.
func Comparable(f *File) *File {
	c := *f
	c.Header = Header{}
	if f.Sweep != nil {
		s := *f.Sweep
		s.Cells = append([]Cell(nil), f.Sweep.Cells...)
		for i := range s.Cells {
			s.Cells[i].WallUS, s.Cells[i].WireUS = 0, 0
		}
		c.Sweep = &s
	}
	return &c
}

// Diff lists, in words, where two captures of a board differ, header and
// timings aside; nil when they agree. a is the reference (the capture), b
// the candidate (its twin).
func Diff(a, b *File) []string {
	a, b = Comparable(a), Comparable(b)
	var d []string
	section := func(name string, x, y any) {
		if !reflect.DeepEqual(x, y) {
			d = append(d, fmt.Sprintf("%s: the capture says %s, the twin %s", name, show(x), show(y)))
		}
	}
	section("probe", a.Probe, b.Probe)
	section("target", a.Target, b.Target)
	section("chip", a.Chip, b.Chip)
	section("state", a.State, b.State)
	section("option_bytes", a.OptionBytes, b.OptionBytes)
	section("da", a.DA, b.DA)
	section("regions", a.Regions, b.Regions)
	section("flash", len(a.Flash), len(b.Flash))
	if a.Sweep == nil || b.Sweep == nil {
		section("sweep", a.Sweep != nil, b.Sweep != nil)
		return d
	}
	if len(a.Sweep.Cells) != len(b.Sweep.Cells) {
		return append(d, fmt.Sprintf("sweep: the capture has %d cells, the twin %d", len(a.Sweep.Cells), len(b.Sweep.Cells)))
	}
	for i, x := range a.Sweep.Cells {
		y := b.Sweep.Cells[i]
		if x != y {
			d = append(d, fmt.Sprintf("sweep cell %s AP%d %d kHz: the capture says %s, the twin %s", x.Mode, x.AP, x.KHz, cellText(x), cellText(y)))
		}
	}
	section("findings", a.Sweep.Findings, b.Sweep.Findings)
	return d
}

func cellText(c Cell) string {
	s := c.Outcome
	if c.Reason != "" {
		s += " (" + c.Reason + ")"
	}
	return s
}

func show(v any) string {
	rv := reflect.ValueOf(v)
	if rv.Kind() == reflect.Pointer && rv.IsNil() {
		return "nothing"
	}
	if rv.Kind() == reflect.Pointer {
		v = rv.Elem().Interface()
	}
	return fmt.Sprintf("%+v", v)
}
