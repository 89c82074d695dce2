package obpane

import (
	"context"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/stprobe/stprobe/bench"
	"github.com/stprobe/stprobe/guarded"
	"github.com/stprobe/stprobe/statefile"
	"github.com/stprobe/stprobe/targets"
	"github.com/stprobe/stprobe/targets/chipsim"
	"github.com/stprobe/stprobe/tui/common"
	"github.com/stprobe/stprobe/tui/internal/tuitest"
)

// readOB reads the option bytes straight from the bench (as another
// client would), for checks behind the pane's back.
func (e *env) readOB() *bench.OptionBytes {
	e.T.Helper()
	tok := e.C.Token()
	if tok == "" {
		t, err := e.B.Acquire(bench.Holder{Name: "alice"})
		if err != nil {
			e.T.Fatal(err)
		}
		tok = t
	}
	o, err := e.B.ReadOptionBytes(context.Background(), tok, bench.OBRequest{})
	if err != nil {
		e.T.Fatal(err)
	}
	e.Pump()
	return o
}

// field is a field's raw current value.
func field(t *testing.T, o *bench.OptionBytes, name string) uint32 {
	t.Helper()
	v := o.Field(name)
	if v == nil {
		t.Fatalf("no field %s", name)
	}
	return v.Raw
}

func TestKeySequences(t *testing.T) {
	tests := []struct {
		name     string
		scenario string
		observer bool
		keys     []string
		want     []string // on screen
		notWant  []string
		status   string // in the last footer message
		check    func(t *testing.T, e *env)
	}{
		{
			name: "read the seed board", scenario: "h533-provisioning",
			keys: []string{"r"},
			want: []string{"PROVISIONING (0x17)", "TZEN ENABLED (0xB4)", "DA not provisioned", "▾ OPTSR", "PRODUCT_STATE"},
		},
		{
			name: "enum chooser offers only the line's values", scenario: "h503-open",
			keys: []string{"r", "select:PRODUCT_STATE", "enter"},
			want: []string{"Edit PRODUCT_STATE", "OPEN (0xED)", "CLOSED (0x72)"},
			check: func(t *testing.T, e *env) {
				for _, v := range e.m.edit.values {
					if v.Name == "TZ_CLOSED" {
						t.Error("TZ_CLOSED offered on an STM32H503, which has no TrustZone")
					}
				}
			},
		},
		{
			name: "number field refuses a value that does not fit", scenario: "h533-open",
			keys:   []string{"r", "select:NSBOOTADD", "enter", "ctrl+u", "type:0x1000000", "enter"},
			want:   []string{"does not fit in 24 bits"},
			status: "",
			check: func(t *testing.T, e *env) {
				if e.m.edit == nil || len(e.m.staged) != 0 {
					t.Errorf("editor closed or value staged: %+v", e.m.staged)
				}
			},
		},
		{
			name: "number field takes a typed value", scenario: "h533-open",
			keys:   []string{"r", "select:NSBOOTADD", "enter", "ctrl+u", "type:0x80400", "enter"},
			want:   []string{"→ 0x80400", "edits: NSBOOTADD=0x80400"},
			status: "NSBOOTADD=0x80400 staged",
		},
		{
			name: "0x17 to 0xED is refused with the real way back", scenario: "h533-provisioning",
			keys:   []string{"r", "select:PRODUCT_STATE", "enter", "choose:OPEN", "enter", "p"},
			want:   []string{"REFUSED before any write", "only moves forward", "the real way:", "regression"},
			status: "refused",
			check: func(t *testing.T, e *env) {
				if got := field(t, e.readOB(), "PRODUCT_STATE"); got != 0x17 {
					t.Errorf("PRODUCT_STATE 0x%X after a refusal", got)
				}
				if e.Ended(applied{}) != 0 {
					t.Error("an apply job ran")
				}
			},
		},
		{
			name: "safe change: plan, apply, verify, backup, audit", scenario: "h533-open",
			keys:   []string{"r", "select:BOR_LEV", "enter", "choose:LEVEL3", "enter", "p", "a"},
			want:   []string{"applied and verified", "BOR_LEV         now LEVEL3 (0x2)", "backup: ", "audit: ", "ok STM32H523/H533 by tester", "BOR_LEV=0x2"},
			status: "option bytes applied",
			check: func(t *testing.T, e *env) {
				if got := field(t, e.readOB(), "BOR_LEV"); got != 2 {
					t.Errorf("BOR_LEV 0x%X, want 0x2", got)
				}
				if recs, _ := statefile.ReadAudit(e.dir); len(recs) != 1 || recs[0].Result != "ok" {
					t.Errorf("audit %+v", recs)
				}
				if e.m.otherPlan != nil {
					t.Error("the session's own plan is shown as another session's")
				}
			},
		},
		{
			name: "CUR beside PRG where they differ", scenario: "h533-open",
			keys: []string{"r"},
			check: func(t *testing.T, e *env) {
				// Stage a _PRG value behind the pane's back, read again.
				m := e.model()
				cur, _, _ := m.OptionRegister("OPTSR")
				ap := m.AP(1)
				for _, w := range [][2]uint32{{0x4002200C, 0x08192A3B}, {0x4002200C, 0x4C5D6E7F}, {0x40022054, cur | 3}} {
					if err := ap.Write(w[0], chipsim.Word, w[1], 0); err != nil {
						t.Fatalf("staging OPTSR_PRG on the model: %v", err)
					}
				}
				if _, prg, _ := m.OptionRegister("OPTSR"); prg != cur|3 {
					t.Fatalf("OPTSR_PRG 0x%08X, want 0x%08X", prg, cur|3)
				}
				e.Keys("r", "select:BOR_LEV")
				s := e.Screen()
				if !strings.Contains(s, "PRG LEVEL1_ALT (0x3) ≠ CUR") {
					t.Errorf("PRG not shown beside CUR:\n%s", s)
				}
			},
		},
		{
			name: "drop and clear edits", scenario: "h533-open",
			keys:    []string{"r", "select:BOR_LEV", "enter", "choose:LEVEL2", "enter", "select:IWDG_SW", "enter", "choose:HARDWARE", "enter", "x"},
			want:    []string{"edits: BOR_LEV=0x1"},
			notWant: []string{"IWDG_SW=0x0"},
		},
		{
			name: "observer sees why actions are unavailable", scenario: "h533-provisioning", observer: true,
			keys:   []string{"r"},
			want:   []string{"read-only: another session holds the probe: alice"},
			status: "cannot read the option bytes: another session holds the probe: alice",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, tt.scenario, !tt.observer)
			e.Keys(tt.keys...)
			s := e.Screen()
			for _, w := range tt.want {
				if !strings.Contains(s, w) {
					t.Errorf("screen lacks %q:\n%s", w, s)
				}
			}
			for _, w := range tt.notWant {
				if strings.Contains(s, w) {
					t.Errorf("screen shows %q:\n%s", w, s)
				}
			}
			if tt.status != "" && !strings.Contains(e.LastStatus(), tt.status) {
				t.Errorf("status %q, want %q", e.LastStatus(), tt.status)
			}
			if tt.check != nil {
				tt.check(t, e)
			}
		})
	}
}

// TestIrreversibleNeedsThePhrase: without the exact phrase the guard sends
// nothing to the bench and the chip keeps its option bytes.
func TestIrreversibleNeedsThePhrase(t *testing.T) {
	e := newEnv(t, "h533-open", true)
	e.Keys("r", "select:PRODUCT_STATE", "enter", "choose:PROVISIONING", "enter", "p")
	if e.m.plan == nil || e.m.plan.Risk != guarded.Irreversible {
		t.Fatalf("plan %+v err %v", e.m.plan, e.m.planErr)
	}
	phrase := e.m.plan.Phrase
	e.Keys("a")
	if e.m.Guard == nil || !e.m.Capturing() {
		t.Fatal("no guard for an irreversible plan")
	}
	for _, typed := range []string{"", "irreversible", "apply", strings.ToLower(phrase) + "x"} {
		e.Keys("ctrl+u")
		e.Keys("type:"+typed, "enter")
		if e.m.Guard == nil || !strings.Contains(e.m.Guard.Err(), "does not match") {
			t.Fatalf("typed %q: guard %+v", typed, e.m.Guard)
		}
	}
	if !strings.Contains(e.Screen(), "Nothing was written") {
		t.Errorf("guard does not say nothing was written:\n%s", e.Screen())
	}
	if e.Ended(applied{}) != 0 {
		t.Fatal("an apply job ran without the phrase")
	}
	o := e.readOB()
	if got := field(t, o, "PRODUCT_STATE"); got != uint32(targets.StateOpen) {
		t.Fatalf("PRODUCT_STATE 0x%X without the phrase", got)
	}
	if n := e.model().Status().Resets; n != 0 {
		t.Fatalf("chip reset %d times", n)
	}

	// With the phrase, the write goes through.
	e.Keys("ctrl+u")
	e.Keys("type:"+phrase, "enter")
	if e.Ended(applied{}) != 1 || e.m.applyErr != nil {
		t.Fatalf("apply jobs %d, err %v", e.Ended(applied{}), e.m.applyErr)
	}
	if got := field(t, e.readOB(), "PRODUCT_STATE"); got != uint32(targets.StateProvisioning) {
		t.Fatalf("PRODUCT_STATE 0x%X after the confirmed write", got)
	}
	if s := e.Screen(); !strings.Contains(s, "applied and verified") {
		t.Errorf("outcome not shown:\n%s", s)
	}
}

// TestBrickNeedsTheOverride: the exact phrase alone does not write a brick
// plan; the override must be ticked too.
func TestBrickNeedsTheOverride(t *testing.T) {
	e := newEnv(t, "h533-provisioning", true)
	e.Keys("r", "select:PRODUCT_STATE", "enter", "choose:TZ_CLOSED", "enter", "p")
	if e.m.plan == nil || e.m.plan.Risk != guarded.Brick {
		t.Fatalf("plan %+v err %v", e.m.plan, e.m.planErr)
	}
	phrase := e.m.plan.Phrase
	e.Keys("a", "type:"+phrase, "enter")
	if e.m.Guard == nil || !strings.Contains(e.m.Guard.Err(), "override") {
		t.Fatalf("guard %+v", e.m.Guard)
	}
	// Ticking and unticking leaves it unticked.
	e.Keys("tab", "space", "space", "tab", "enter")
	if e.Ended(applied{}) != 0 {
		t.Fatal("an apply job ran without the override")
	}
	if got := field(t, e.readOB(), "PRODUCT_STATE"); got != uint32(targets.StateProvisioning) {
		t.Fatalf("PRODUCT_STATE 0x%X without the override", got)
	}
	m := e.model()
	if n := m.Status().Resets; n != 0 || !m.AP1Enabled() {
		t.Fatalf("chip touched: resets %d AP1 %v", n, m.AP1Enabled())
	}

	// On a short pane the guard drops the consequences but keeps the
	// phrase, the override and the keys.
	e.m.SetSize(80, 14)
	if s := e.Screen(); !strings.Contains(s, phrase) || !strings.Contains(s, "[ ] override") || !strings.Contains(s, "enter write") {
		t.Errorf("short guard:\n%s", s)
	}
	e.m.SetSize(80, 24)

	// esc cancels; nothing written either.
	e.Keys("esc")
	if e.m.Guard != nil || e.Ended(applied{}) != 0 {
		t.Fatal("esc did not cancel")
	}

	// Phrase and override: the chip goes to TZ_CLOSED and debug closes.
	e.Keys("a", "type:"+phrase, "tab", "space", "enter")
	if e.Ended(applied{}) != 1 {
		t.Fatalf("apply jobs %d", e.Ended(applied{}))
	}
	if e.m.applyErr != nil {
		t.Fatalf("apply: %v", e.m.applyErr)
	}
	if m.ProductState() != targets.StateTZClosed || m.AP1Enabled() {
		t.Fatalf("state %v AP1 %v", m.ProductState(), m.AP1Enabled())
	}
	if s := e.Screen(); !strings.Contains(s, "debug is closed now") || !strings.Contains(s, "backup: ") {
		t.Errorf("outcome:\n%s", s)
	}
	// The bench's state still carries the read from before the write; the
	// table must not show it as the chip's.
	e.Send(common.EventMsg{Event: bench.StateChanged{State: e.B.Snapshot()}})
	e.Keys("esc")
	if s := e.Screen(); strings.Contains(s, "PROVISIONING (0x17)") || !strings.Contains(s, "not read yet") {
		t.Errorf("stale table after debug closed:\n%s", s)
	}
	e.Keys("r")
	if s := e.Screen(); !strings.Contains(s, "AP1 (the core's access port) does not answer") {
		t.Errorf("read after debug closed:\n%s", s)
	}
}

// TestRehearseOnTheTwin: t on a plan runs it on the chip's twin first — the
// seed story's TZEN=0xC3 ends there in PROVISIONING with TZEN 0xC3 while
// the chip keeps 0xB4; a refused PRODUCT_STATE=0xED is refused on the twin
// too. Nothing reaches the chip either way.
func TestRehearseOnTheTwin(t *testing.T) {
	e := newEnvDir(t, "h533-provisioning", true, t.TempDir())
	e.m.SetSize(120, 40)
	e.Send(common.OpenPaneMsg{Pane: common.PaneOptionBytes, Request: common.PlanRequest{Assignments: []string{"TZEN=0xC3"}}})
	e.Keys("t")
	if e.Ended(rehearsed{}) != 1 || e.m.rehearsal == nil {
		t.Fatalf("rehearse jobs %d, rehearsal %v, err %v", e.Ended(rehearsed{}), e.m.rehearsal, e.m.rehearseErr)
	}
	if s := e.Screen(); !strings.Contains(s, "rehearsed: the twin ended PROVISIONING, TZEN 0xC3") {
		t.Errorf("the plan screen does not show the rehearsal:\n%s", s)
	}
	if e.Ended(applied{}) != 0 || field(t, e.readOB(), "TZEN") != 0xB4 {
		t.Error("the rehearsal wrote to the chip")
	}
	e.Send(common.OpenPaneMsg{Pane: common.PaneOptionBytes, Request: common.PlanRequest{Assignments: []string{"PRODUCT_STATE=0xED"}}})
	if e.m.refused == nil || e.m.rehearsal != nil {
		t.Fatalf("0x17 → 0xED not refused, or an old rehearsal kept: %v %v", e.m.refused, e.m.rehearsal)
	}
	e.Keys("t")
	if e.m.rehearsal == nil || e.m.rehearsal.Err == nil || !strings.Contains(e.Screen(), "went wrong on the twin") {
		t.Errorf("the refused write's rehearsal: %+v\n%s", e.m.rehearsal, e.Screen())
	}
	if got := field(t, e.readOB(), "PRODUCT_STATE"); got != 0x17 {
		t.Errorf("PRODUCT_STATE 0x%X after the rehearsals", got)
	}
}

// TestPlanRequest: the matrix pane's "plan TZEN=0xC3" arrives as an
// OpenPaneMsg and becomes a plan on screen, nothing written.
func TestPlanRequest(t *testing.T) {
	e := newEnv(t, "h533-provisioning", true)
	e.Send(common.OpenPaneMsg{Pane: common.PaneOptionBytes, Request: common.PlanRequest{Assignments: []string{"TZEN=0xC3"}, Reason: "password DA needs TrustZone off"}})
	s := e.Screen()
	for _, w := range []string{"proposed: password DA needs TrustZone off", "TZEN  ENABLED (0xB4) → DISABLED (0xC3)", "! caution", "press a to apply"} {
		if !strings.Contains(s, w) {
			t.Errorf("screen lacks %q:\n%s", w, s)
		}
	}
	if e.Ended(applied{}) != 0 || field(t, e.readOB(), "TZEN") != 0xB4 {
		t.Error("the request wrote something")
	}
	// A request for another pane is ignored.
	e.Send(common.OpenPaneMsg{Pane: common.PaneDA, Request: common.PlanRequest{Assignments: []string{"BOR_LEV=1"}}})
	if e.Ended(planned{}) != 1 {
		t.Errorf("plan jobs %d", e.Ended(planned{}))
	}
}

// TestOpenReads: opened with no request and nothing read, the pane reads
// (the matrix's "Read the option bytes"); an observer only sees why not.
func TestOpenReads(t *testing.T) {
	e := newEnv(t, "h533-provisioning", true)
	e.Send(common.OpenPaneMsg{Pane: common.PaneOptionBytes})
	if e.Ended(obRead{}) != 1 || e.m.ob == nil {
		t.Fatalf("read jobs %d", e.Ended(obRead{}))
	}
	e.Send(common.OpenPaneMsg{Pane: common.PaneOptionBytes})
	if e.Ended(obRead{}) != 1 {
		t.Errorf("opened again: read jobs %d", e.Ended(obRead{}))
	}
	o := newEnv(t, "h533-provisioning", false)
	o.Send(common.OpenPaneMsg{Pane: common.PaneOptionBytes})
	if o.Ended(obRead{}) != 0 {
		t.Errorf("observer read jobs %d", o.Ended(obRead{}))
	}
}

// TestPendingWrite: an interrupted write recorded in the state directory
// shows on the next read, with what the chip holds now; J clears it.
func TestPendingWrite(t *testing.T) {
	e := newEnv(t, "h533-open", true)
	j := statefile.Journal{
		Time: time.Date(2026, 3, 14, 9, 0, 0, 0, time.UTC), ChipUID: "363835303133510A00450499", Line: "STM32H523/H533",
		Phase: "option bytes", Changes: []string{"BOR_LEV=0x2"},
		Before: map[string]uint32{"OPTSR": 0x2D30EDD8}, Want: map[string]uint32{"OPTSR": 0x2D30EDDA}, Backup: "b.json",
	}
	data, _ := json.Marshal(j)
	if err := os.WriteFile(filepath.Join(e.dir, statefile.JournalFile), data, 0o600); err != nil {
		t.Fatal(err)
	}
	e.Keys("r")
	if s := e.Screen(); !strings.Contains(s, "PENDING WRITE (not applied on the chip now)") {
		t.Errorf("no pending-write warning:\n%s", s)
	}
	e.Keys("J")
	if j, _ := statefile.CheckJournal(e.dir); j != nil || strings.Contains(e.Screen(), "PENDING WRITE") {
		t.Errorf("journal not cleared: %v", j)
	}
}

// TestPendingWriteOfAnotherChip: connected to one chip, the console shows
// nothing of another chip's pending write in the state directory, and J
// clears nothing: the record stays for the chip it belongs to.
func TestPendingWriteOfAnotherChip(t *testing.T) {
	e := newEnv(t, "h533-open", true)
	other := "0123456789ABCDEF01234567"
	j := statefile.Journal{
		Time: time.Date(2026, 3, 14, 9, 0, 0, 0, time.UTC), ChipUID: other, Line: "STM32H523/H533",
		Phase: "option bytes", Changes: []string{"BOR_LEV=0x2"},
		Before: map[string]uint32{"OPTSR": 0x2D30EDD8}, Want: map[string]uint32{"OPTSR": 0x2D30EDDA}, Backup: "b.json",
	}
	data, _ := json.Marshal(j)
	path := statefile.JournalPath(e.dir, other)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	e.Keys("r")
	if s := e.Screen(); strings.Contains(s, "PENDING WRITE") {
		t.Errorf("another chip's pending write shown:\n%s", s)
	}
	e.Keys("J")
	if got, err := statefile.CheckChipJournal(e.dir, other); err != nil || got == nil {
		t.Errorf("another chip's record was cleared: %v, %v", got, err)
	}
}

// TestRestoreFromBackup: a write leaves a backup; the backups screen lists
// it and plans the return to it.
func TestRestoreFromBackup(t *testing.T) {
	e := newEnv(t, "h533-open", true)
	e.Keys("r", "select:BOR_LEV", "enter", "choose:LEVEL3", "enter", "p", "a", "esc", "b")
	if len(e.m.backups) != 1 {
		t.Fatalf("backups %+v err %v", e.m.backups, e.m.backupsErr)
	}
	s := e.Screen()
	for _, w := range []string{"Backups of chip", "1 field(s) differ", "BOR_LEV", "now LEVEL3 (0x2) → backup LEVEL1 (0x0)"} {
		if !strings.Contains(s, w) {
			t.Errorf("screen lacks %q:\n%s", w, s)
		}
	}
	e.Keys("enter")
	if e.m.plan == nil || e.m.plan.Risk != guarded.Safe {
		t.Fatalf("plan %+v err %v", e.m.plan, e.m.planErr)
	}
	if s := e.Screen(); !strings.Contains(s, "return to the backup") {
		t.Errorf("plan screen:\n%s", s)
	}
	e.Keys("a")
	if e.m.applyErr != nil {
		t.Fatal(e.m.applyErr)
	}
	if got := field(t, e.readOB(), "BOR_LEV"); got != 0 {
		t.Errorf("BOR_LEV 0x%X after restore", got)
	}
}

// TestObserverFollowsTheOperator: an observer sees the operator's read and
// the progress of the operator's write, and cannot act.
func TestObserverFollowsTheOperator(t *testing.T) {
	e := newEnv(t, "h533-open", false)
	alice, _ := e.B.Acquire(bench.Holder{Name: "alice"})
	if _, err := e.B.ReadOptionBytes(context.Background(), alice, bench.OBRequest{}); err != nil {
		t.Fatal(err)
	}
	e.Pump()
	if s := e.Screen(); !strings.Contains(s, "OPEN (0xED)") {
		t.Fatalf("observer does not see the read:\n%s", s)
	}
	for _, k := range []string{"enter", "p", "r"} {
		e.Status = nil
		e.Keys(k)
		if !strings.Contains(e.LastStatus(), "another session holds the probe: alice") {
			t.Errorf("key %s: status %q", k, e.LastStatus())
		}
	}
	if _, err := e.B.PlanOptionBytes(context.Background(), alice, bench.Change{Assignments: []string{"PRODUCT_STATE=0x17"}}); err != nil {
		t.Fatal(err)
	}
	e.Pump()
	if s := e.Screen(); !strings.Contains(s, "alice planned 1 change(s), risk irreversible: v shows the plan") {
		t.Errorf("observer is not told of the plan:\n%s", s)
	}
	e.Keys("v")
	if s := e.Screen(); !strings.Contains(s, "planned by alice") || !strings.Contains(s, "PRODUCT_STATE  OPEN (0xED) → PROVISIONING (0x17)") || !strings.Contains(s, "apply unavailable: another session holds the probe: alice") {
		t.Errorf("observer's view of the plan:\n%s", s)
	}
	e.Keys("a")
	if e.m.Guard != nil || e.Ended(applied{}) != 0 {
		t.Error("an observer reached the guard")
	}
	e.Keys("esc")
	if _, err := e.B.ApplyOptionBytes(context.Background(), alice, bench.ApplyRequest{
		Change: bench.Change{Assignments: []string{"BOR_LEV=2"}}, Confirm: "apply", StateDir: t.TempDir(),
	}); err != nil {
		t.Fatal(err)
	}
	e.Pump()
	if len(e.m.Steps) == 0 {
		t.Error("observer saw no apply step")
	}
	if !strings.Contains(e.LastStatus(), "the write by alice is done") {
		t.Errorf("footer %q", e.LastStatus())
	}
	if s := e.Screen(); !strings.Contains(s, "LEVEL3 (0x2)") {
		t.Errorf("observer does not see the new value:\n%s", s)
	}
}

// TestClosedAP1 explains a chip whose core port is closed.
func TestClosedAP1(t *testing.T) {
	e := newEnv(t, "h533-tz-closed-no-da", true)
	e.Keys("r", "enter")
	s := e.Screen()
	for _, w := range []string{"AP1 (the core's access port) does not answer", "DBGMCU_SR", "Debug auth pane"} {
		if !strings.Contains(s, w) {
			t.Errorf("screen lacks %q:\n%s", w, s)
		}
	}
	if e.m.edit != nil {
		t.Error("an editor opened on a closed chip")
	}
}

// TestChipClosesUnderTheEditor: a read by another session that finds AP1
// closed closes an open editor instead of failing.
func TestChipClosesUnderTheEditor(t *testing.T) {
	e := newEnv(t, "h533-open", true)
	e.Keys("r", "select:BOR_LEV", "enter")
	closed := &bench.OptionBytes{Chip: e.m.ob.Chip, Closed: &bench.ClosedAP{Err: errors.New("AP1 does not answer")}}
	e.Send(common.EventMsg{Event: bench.StateChanged{State: bench.Snapshot{OptionBytes: closed}}})
	e.Keys("enter")
	if e.m.edit != nil || !strings.Contains(e.Screen(), "AP1 does not answer") {
		t.Errorf("editor %v, screen:\n%s", e.m.edit, e.Screen())
	}
}

// TestMouse: a click selects the field under it, the wheel moves.
func TestMouse(t *testing.T) {
	e := newEnv(t, "h533-open", true)
	e.Keys("r")
	e.Send(tea.MouseClickMsg{X: 5, Y: tableY + 3, Button: tea.MouseLeft})
	if r := e.m.selected(); r == nil || r.field.Name != "BORH_EN" {
		t.Fatalf("clicked row 3: selected %+v", r)
	}
	e.Send(tea.MouseWheelMsg{Button: tea.MouseWheelDown})
	if r := e.m.selected(); r.field.Name != "IWDG_SW" {
		t.Errorf("wheel down: %s", r.field.Name)
	}
	e.Send(tea.MouseClickMsg{X: 5, Y: tableY, Button: tea.MouseLeft}) // a register heading
	if r := e.m.selected(); r.field.Name != "IWDG_SW" {
		t.Errorf("click on a heading moved the selection to %s", r.field.Name)
	}
}

// colour matches an SGR sequence that sets a colour.
var colour = regexp.MustCompile(`\x1b\[[0-9;]*(?:3[0-9]|4[0-9]|9[0-7]|10[0-7])(?:;[0-9;]*)?m`)

// TestNoColor: with NO_COLOR the pane draws no colour escapes, on every
// screen.
func TestNoColor(t *testing.T) {
	e := newEnv(t, "h533-provisioning", true)
	views := []string{}
	e.Keys("r")
	views = append(views, e.m.View())
	e.Keys("select:PRODUCT_STATE", "enter")
	views = append(views, e.m.View())
	e.Keys("choose:TZ_CLOSED", "enter", "p")
	views = append(views, e.m.View())
	e.Keys("a")
	views = append(views, e.m.View())
	for i, v := range views {
		if loc := colour.FindStringIndex(v); loc != nil {
			t.Errorf("view %d has a colour escape %q", i, v[loc[0]:loc[1]])
		}
	}
	// The dark theme does colour it.
	e.C.SetTheme(common.Theme{Dark: true})
	if !colour.MatchString(e.m.View()) {
		t.Error("the dark theme draws no colour")
	}
}

// TestViewSizes: every screen is exactly the size it was given, even
// tiny ones.
func TestViewSizes(t *testing.T) {
	e := newEnv(t, "h533-provisioning", true)
	sizes := [][2]int{{80, 24}, {160, 48}, {200, 60}, {40, 10}, {20, 5}, {1, 1}}
	check := func(stage string) {
		for _, sz := range sizes {
			e.m.SetSize(sz[0], sz[1])
			tuitest.CheckSize(t, e.m.View(), sz[0], sz[1])
		}
		e.m.SetSize(80, 24)
		if t.Failed() {
			t.Fatalf("at %s", stage)
		}
	}
	check("empty")
	e.Keys("r")
	check("table")
	e.Keys("select:PRODUCT_STATE", "enter")
	check("chooser")
	e.Keys("choose:TZ_CLOSED", "enter", "p")
	check("plan")
	e.Keys("a")
	check("guard")
	e.Keys("esc", "esc", "b")
	check("backups")
}

// TestMonkey presses random keys (fixed seed) on every scenario kind: the
// pane never panics, always draws its exact size, and never writes a
// product state (the guard's phrase is never typed by chance).
func TestMonkey(t *testing.T) {
	keys := []string{"up", "down", "enter", "esc", "tab", "space", "backspace", "pgdown", "home", "end",
		"r", "e", "x", "c", "p", "a", "b", "m", "J", "v", "j", "k", "g", "G", "0", "1", "y",
		"down", "down", "enter", "enter", "p", "p", "a", "a", "esc"}
	for _, sc := range []string{"h533-open", "h533-provisioning", "h533-tz-closed-no-da", "h503-open"} {
		t.Run(sc, func(t *testing.T) {
			e := newEnv(t, sc, true)
			before := e.model().ProductState()
			rng := rand.New(rand.NewPCG(1, uint64(len(sc))))
			for i := range 1500 {
				e.Keys(keys[rng.IntN(len(keys))])
				if i%100 == 0 {
					w, h := 20+rng.IntN(200), 3+rng.IntN(60)
					e.m.SetSize(w, h)
					tuitest.CheckSize(t, e.m.View(), w, h)
				}
			}
			t.Logf("jobs %v, screen %d", e.Jobs, e.m.Screen)
			if got := e.model().ProductState(); got != before {
				t.Errorf("product state moved from %v to %v", before, got)
			}
		})
	}
}

// TestSeedStory is the story on the seed board with plain keys
// only, as a person (or tmux send-keys) types them: open the pane (it
// reads), ask for OPEN (refused, with the real way back), ask for
// TZ_CLOSED (brick), and nothing is written without the override.
func TestSeedStory(t *testing.T) {
	e := newEnv(t, "h533-provisioning", true)
	e.Send(common.OpenPaneMsg{Pane: common.PaneOptionBytes})
	e.Keys("enter", "up", "enter", "p")
	if s := e.Screen(); !strings.Contains(s, "REFUSED before any write") || !strings.Contains(s, "the real way: DA regression") {
		t.Fatalf("OPEN not refused:\n%s", s)
	}
	e.Keys("esc", "enter", "down", "down", "down", "enter", "p")
	if s := e.Screen(); !strings.Contains(s, "✖ BRICK") {
		t.Fatalf("TZ_CLOSED is not a brick plan:\n%s", s)
	}
	e.Keys("a", "type:"+e.m.plan.Phrase, "enter")
	if s := e.Screen(); !strings.Contains(s, "tick the override") {
		t.Fatalf("guard:\n%s", s)
	}
	if got := field(t, e.readOB(), "PRODUCT_STATE"); got != 0x17 || e.Ended(applied{}) != 0 {
		t.Fatalf("PRODUCT_STATE 0x%X, apply jobs %d", got, e.Ended(applied{}))
	}
}
