package sweep

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stprobe/stprobe/probe"
	"github.com/stprobe/stprobe/probe/proto"
	"github.com/stprobe/stprobe/probe/sim/scenario"
	"github.com/stprobe/stprobe/targets"
)

// scripted is a session whose connect results come from a function; it
// records the order of connects and teardowns.
type scripted struct {
	fw      proto.Version
	connect func(ctx context.Context, k Key) (*probe.ConnectReport, error)
	inspect func(c *Cell) error
	log     []string
	open    bool // a connect has not been torn down yet
	wire    time.Duration
}

func (s *scripted) Version() proto.Version { return s.fw }
func (s *scripted) SWDFrequencies() []int  { return v2Ladder }
func (s *scripted) Connect(ctx context.Context, o probe.ConnectOptions) (*probe.ConnectReport, error) {
	if s.open {
		s.log = append(s.log, "connect without teardown")
	}
	s.open = true
	k := Key{Mode: o.Mode, AP: o.AP, KHz: o.FrequencyKHz}
	s.log = append(s.log, "connect "+k.String())
	s.wire += time.Millisecond
	return s.connect(ctx, k)
}
func (s *scripted) Disconnect(ctx context.Context) error {
	if ctx.Err() != nil {
		s.log = append(s.log, "teardown with a dead context")
	}
	s.open = false
	s.log = append(s.log, "teardown")
	s.wire += 100 * time.Microsecond
	return nil
}
func (s *scripted) Resume(ctx context.Context, ap uint8) error {
	s.log = append(s.log, fmt.Sprintf("resume AP%d", ap))
	return nil
}
func (s *scripted) CheckDA(ctx context.Context, c *Cell) error {
	s.log = append(s.log, "check DA")
	return nil
}
func (s *scripted) Inspect(ctx context.Context, c *Cell, known earlier) (*targets.Chip, error) {
	if s.inspect == nil {
		return nil, nil
	}
	return nil, s.inspect(c)
}

func okReport(k Key) *probe.ConnectReport {
	return &probe.ConnectReport{Mode: k.Mode, AP: k.AP, RequestedKHz: k.KHz, FrequencyKHz: k.KHz,
		DPIDR: h5DPIDR, DPOK: true, APIDR: ap1IDR, APOK: true, CPUID: m33CPUID, CoreFound: true, Core: probe.CoreHalted}
}

func v2(j int) proto.Version {
	return proto.Version{Hardware: 2, JTAG: j, SWIM: 7, VID: 0x0483, PID: 0x3748}
}

func TestRunAllCellsInPlanOrder(t *testing.T) {
	s := &scripted{fw: v2(46), connect: func(ctx context.Context, k Key) (*probe.ConnectReport, error) { return okReport(k), nil }}
	var events []Progress
	m, err := run(context.Background(), s, Plan{}, Options{Full: true, WireClock: func() time.Duration { return s.wire }, Progress: func(p Progress) { events = append(events, p) }})
	if err != nil {
		t.Fatal(err)
	}
	keys := defaultTestPlan().Keys()
	if len(m.Cells) != len(keys) || len(keys) != 3*2*5 {
		t.Fatalf("%d cells, want %d = 3 modes x 2 APs x 5 frequencies", len(m.Cells), len(keys))
	}
	if !slices.Equal(m.Plan.FrequenciesKHz, []int{4000, 1800, 480, 100, 5}) {
		t.Errorf("default frequencies %v", m.Plan.FrequenciesKHz)
	}
	for i, c := range m.Cells {
		if c.Key != keys[i] || c.Outcome != OutcomeOK {
			t.Errorf("cell %d: %v %v, want %v ok", i, c.Key, c.Outcome, keys[i])
		}
		if c.Wire != 1100*time.Microsecond {
			t.Errorf("cell %d: wire %v, want connect+teardown 1.1ms", i, c.Wire)
		}
	}
	if m.Wire != time.Duration(len(keys))*1100*time.Microsecond {
		t.Errorf("matrix wire %v", m.Wire)
	}
	want := []string{}
	for _, k := range keys {
		want = append(want, "connect "+k.String())
		if k.Mode != probe.ModeHotPlug {
			want = append(want, fmt.Sprintf("resume AP%d", k.AP))
		}
		want = append(want, "teardown")
	}
	if !slices.Equal(s.log, want) {
		t.Errorf("session log:\n%v\nwant\n%v", s.log, want)
	}
	if len(events) != 2*len(keys) {
		t.Fatalf("%d progress events, want %d", len(events), 2*len(keys))
	}
	for i, e := range events {
		if e.Index != i/2 || e.Total != len(keys) || e.Done != (i%2 == 1) || e.Cell.Key != keys[i/2] {
			t.Errorf("event %d: %+v", i, e)
		}
	}
}

// Firmware below V2J28 has no multi-AP: AP1 cells are not attempted.
func TestRunFirmwareGate(t *testing.T) {
	s := &scripted{fw: v2(27), connect: func(ctx context.Context, k Key) (*probe.ConnectReport, error) { return okReport(k), nil }}
	m, err := run(context.Background(), s, Plan{APs: []uint8{0, 1, 9}}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range m.Cells {
		switch {
		case c.AP == 0 && c.Outcome != OutcomeOK:
			t.Errorf("%v: %v", c.Key, c.Outcome)
		case c.AP > 0 && (c.Outcome != OutcomeUnsupported || c.Layer != probe.LayerProbe):
			t.Errorf("%v: %v (%s), want unsupported-by-firmware", c.Key, c.Outcome, c.Layer)
		case c.AP == 1 && !contains(c.Reason, "V2J28", "V2J27S7", "AP1"):
			t.Errorf("%v reason %q", c.Key, c.Reason)
		}
		if c.AP > 0 && slices.Contains(s.log, "connect "+c.Key.String()) {
			t.Errorf("%v attempted despite the gate", c.Key)
		}
	}
	// V2J29 reaches AP1..3 but not AP9 (needs V2J32); a V3 reaches all.
	for _, tc := range []struct {
		fw     proto.Version
		ap     uint8
		gated  bool
		reason string
	}{
		{v2(29), 1, false, ""}, {v2(29), 3, false, ""}, {v2(29), 8, true, "V2J32"},
		{v2(32), 8, false, ""}, {v2(40), 9, true, "STLINK-V3"},
		{proto.Version{Hardware: 3, JTAG: 7}, 9, false, ""},
	} {
		err := firmwareGate(tc.fw, Key{AP: tc.ap})
		if (err != nil) != tc.gated || (err != nil && !contains(err.Error(), tc.reason)) {
			t.Errorf("%v AP%d: %v", tc.fw, tc.ap, err)
		}
	}
}

func contains(s string, subs ...string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}

// Cancelling during a cell tears that cell down, then skips the rest.
func TestRunCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	n := 0
	s := &scripted{fw: v2(46), connect: func(cctx context.Context, k Key) (*probe.ConnectReport, error) {
		n++
		if n == 3 {
			cancel()
			<-cctx.Done()
			return &probe.ConnectReport{Mode: k.Mode, AP: k.AP}, cctx.Err()
		}
		return okReport(k), nil
	}}
	m, err := run(ctx, s, Plan{}, Options{})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v, want context.Canceled", err)
	}
	if m == nil || !m.Cancelled {
		t.Fatalf("matrix %+v, want a cancelled partial matrix", m)
	}
	for i, c := range m.Cells {
		want := OutcomeSkipped
		if i < 2 {
			want = OutcomeOK
		}
		if c.Outcome != want {
			t.Errorf("cell %d %v: %v, want %v", i, c.Key, c.Outcome, want)
		}
	}
	if got := s.log[len(s.log)-1]; got != "teardown" || s.open {
		t.Errorf("last action %q, open %v: the cancelled cell was not torn down", got, s.open)
	}
	if slices.Contains(s.log, "teardown with a dead context") {
		t.Error("teardown ran with the cancelled context")
	}
	if c := m.Count(OutcomeSkipped); c != len(m.Cells)-2 {
		t.Errorf("%d skipped", c)
	}
	fs := Diagnose(m)
	mustFind(t, fs, "incomplete", SeverityInfo, "cancelled")
}

// An already cancelled context tries nothing.
func TestRunCancelledBeforeStart(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	s := &scripted{fw: v2(46), connect: func(ctx context.Context, k Key) (*probe.ConnectReport, error) { return okReport(k), nil }}
	m, err := run(ctx, s, Plan{}, Options{})
	if !errors.Is(err, context.Canceled) || m.Count(OutcomeSkipped) != len(m.Cells) || len(s.log) != 0 {
		t.Errorf("err %v, %d/%d skipped, log %v", err, m.Count(OutcomeSkipped), len(m.Cells), s.log)
	}
}

// A cell that never answers is bounded by the cell timeout and classed
// wait-timeout; the sweep goes on.
func TestRunCellTimeout(t *testing.T) {
	s := &scripted{fw: v2(46), connect: func(ctx context.Context, k Key) (*probe.ConnectReport, error) {
		if k.Mode == probe.ModeNormal {
			<-ctx.Done()
			return &probe.ConnectReport{Mode: k.Mode, AP: k.AP}, fmt.Errorf("enter SWD: %w", ctx.Err())
		}
		return okReport(k), nil
	}}
	m, err := run(context.Background(), s, Plan{FrequenciesKHz: []int{100}}, Options{CellTimeout: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range m.Cells {
		want := OutcomeOK
		if c.Mode == probe.ModeNormal {
			want = OutcomeWaitTimeout
		}
		if c.Outcome != want {
			t.Errorf("%v: %v, want %v", c.Key, c.Outcome, want)
		}
	}
}

// An unplugged probe stops the sweep: the rest is skipped.
func TestRunDisconnected(t *testing.T) {
	s := &scripted{fw: v2(46), connect: func(ctx context.Context, k Key) (*probe.ConnectReport, error) {
		if k.AP == 1 {
			return &probe.ConnectReport{Mode: k.Mode, AP: k.AP}, fmt.Errorf("read DPIDR: %w", probe.ErrDisconnected)
		}
		return okReport(k), nil
	}}
	m, err := run(context.Background(), s, Plan{}, Options{})
	if !errors.Is(err, probe.ErrDisconnected) {
		t.Fatalf("err %v", err)
	}
	if m.Cells[0].Outcome != OutcomeOK || m.Cells[1].Outcome != OutcomeFault || m.Cells[1].Layer != probe.LayerUSB {
		t.Errorf("first cells %v %v %v", m.Cells[0].Outcome, m.Cells[1].Outcome, m.Cells[1].Layer)
	}
	if m.Count(OutcomeSkipped) != len(m.Cells)-2 || m.Cells[2].Reason != "probe disconnected" {
		t.Errorf("%d skipped, reason %q", m.Count(OutcomeSkipped), m.Cells[2].Reason)
	}
}

func TestRunRejectsBadPlan(t *testing.T) {
	s := &scripted{fw: v2(46)}
	for _, p := range []Plan{
		{APs: []uint8{1, 1}},
		{FrequenciesKHz: []int{-5}},
		{Modes: []probe.ConnectMode{probe.ModeNormal, probe.ModeNormal}},
		{Modes: []probe.ConnectMode{7}},
	} {
		if _, err := run(context.Background(), s, p, Options{}); err == nil {
			t.Errorf("plan %+v accepted", p)
		}
	}
	if _, err := Run(context.Background(), nil, Plan{}, Options{}); err == nil {
		t.Error("nil link accepted")
	}
}

// Inspection fills the identification fields of cells that reached an AP.
func TestRunInspects(t *testing.T) {
	s := &scripted{fw: v2(46),
		connect: func(ctx context.Context, k Key) (*probe.ConnectReport, error) { return okReport(k), nil },
		inspect: func(c *Cell) error { c.IDCode = h533IDCode; return nil }}
	m, _ := run(context.Background(), s, Plan{FrequenciesKHz: []int{100}}, Options{})
	for _, c := range m.Cells {
		if c.IDCode != h533IDCode {
			t.Errorf("%v not inspected", c.Key)
		}
	}
}

// Cancelling during the very last cell still marks the matrix cancelled.
func TestRunCancelDuringLastCell(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s := &scripted{fw: v2(46), connect: func(cctx context.Context, k Key) (*probe.ConnectReport, error) {
		cancel()
		return &probe.ConnectReport{Mode: k.Mode, AP: k.AP}, cctx.Err()
	}}
	m, err := run(ctx, s, Plan{Modes: []probe.ConnectMode{probe.ModeHotPlug}, APs: []uint8{1}, FrequenciesKHz: []int{100}}, Options{})
	if !errors.Is(err, context.Canceled) || !m.Cancelled || m.Cells[0].Outcome != OutcomeSkipped || s.open {
		t.Errorf("err %v, cancelled %v, outcome %v, left open %v", err, m.Cancelled, m.Cells[0].Outcome, s.open)
	}
}

// A cell of a sweep says what it would say tried alone on a fresh link:
// what the sweep reuses from earlier cells (probe.Known, identification of
// the same port) changes the commands, never the findings.
func TestSweepCellsAsIfAlone(t *testing.T) {
	ctx := context.Background()
	for _, name := range scenario.Names() {
		t.Run(name, func(t *testing.T) {
			sc, err := scenario.Lookup(name)
			if err != nil {
				t.Fatal(err)
			}
			l, err := probe.NewLink(ctx, sc.NewProbe())
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			m, err := Run(ctx, l, Plan{}, Options{Full: true})
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range m.Cells {
				al, err := probe.NewLink(ctx, sc.NewProbe())
				if err != nil {
					t.Fatal(err)
				}
				alone, err := runCell(ctx, linkSession{al}, al.Version(), c.Key, Options{CellTimeout: DefaultCellTimeout}, &runState{daChecked: true})
				al.Close()
				if err != nil {
					t.Fatal(err)
				}
				got, want := findings(c), findings(alone)
				if got != want {
					t.Errorf("%s in the sweep:\n  %s\nalone:\n  %s", c.Key, got, want)
				}
			}
		})
	}
}

// findings is what a cell found, without its cost and the reads it was
// spared (CTRL/STAT, read only by the first cell).
func findings(c Cell) string {
	return fmt.Sprintf("%v %q dp=%#x ap=%#x cpu=%#x core=%v id=%#x %q state=%v tzen=%v ap=%#x/%#x/%v prot=%v flash=%q failed=%q err=%q",
		c.Outcome, c.Reason, c.DPIDR, c.APIDR, c.CPUID, c.Core, c.IDCode, c.Chip, c.State, c.TZEN,
		c.APPresent, c.APEnabled, c.HasAPStatus, c.Protection, c.FlashReadErr, c.FailedStep, c.Err)
}
