package obytes

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stprobe/stprobe/statefile"
	"github.com/stprobe/stprobe/targets"
	"github.com/stprobe/stprobe/targets/stm32h5"
)

// freezeAt stops the first write matching match until release says how it
// ends: the run looks killed at that point (it never goes on by itself).
type freezeAt struct {
	Target
	match   func(addr, v uint32) bool
	reached chan struct{}
	release chan error
	hit     bool
}

func newFreeze(t Target, match func(addr, v uint32) bool) *freezeAt {
	return &freezeAt{Target: t, match: match, reached: make(chan struct{}), release: make(chan error, 1)}
}

func (f *freezeAt) Write32(ctx context.Context, ap uint8, addr uint32, v uint32) error {
	if !f.hit && f.match(addr, v) {
		f.hit = true
		// The write reaches the chip, then the process stops.
		err := f.Target.Write32(ctx, ap, addr, v)
		close(f.reached)
		if rerr := <-f.release; rerr != nil {
			return rerr
		}
		return err
	}
	return f.Target.Write32(ctx, ap, addr, v)
}

func isOPTSTRT(addr, v uint32) bool {
	return addr == FlashBase+targets.FlashOPTCR && v&targets.OPTCROptStart != 0
}

// Two chips, one state directory: chip A's write stops right after
// OPTSTRT (killed), chip B's write then succeeds. B must not clear A's
// record (it used to: one pending-write.json for the whole directory).
func TestTwoChipsOneStateDirKilledAfterStart(t *testing.T) {
	dir := t.TempDir()
	a := newChip(t, stm32h5.Config{Line: stm32h5.LineH533, UID: [3]uint32{0xA, 0xA, 0xA}})
	b := newChip(t, stm32h5.Config{Line: stm32h5.LineH533, UID: [3]uint32{0xB, 0xB, 0xB}})
	ina, inb := a.setup(t), b.setup(t)
	if ina.UID == inb.UID {
		t.Fatal("same UID")
	}
	pa, _ := plan(t, ina, "WRPSGn2=0x0F")
	pb, _ := plan(t, inb, "WRPSGn2=0xF0")
	oa, ob := opts(t, a, pa), opts(t, b, pb)
	oa.StateDir, ob.StateDir = dir, dir

	fa := newFreeze(a, isOPTSTRT)
	doneA := make(chan error, 1)
	go func() {
		_, err := Apply(context.Background(), fa, pa, oa)
		doneA <- err
	}()
	<-fa.reached
	// A is "killed" after OPTSTRT: its journal says so.
	ja, err := statefile.CheckChipJournal(dir, pa.UID)
	if err != nil || ja == nil || ja.State != statefile.OutcomeStarted || ja.Want["WRP2R"] == 0 {
		t.Fatalf("A's journal while stopped after OPTSTRT: %+v %v", ja, err)
	}
	if _, err := Apply(context.Background(), b, pb, ob); err != nil {
		t.Fatalf("B: %v", err)
	}
	if ja, err := statefile.CheckChipJournal(dir, pa.UID); err != nil || ja == nil || ja.State != statefile.OutcomeStarted {
		t.Fatalf("A's journal after B's write: %+v %v", ja, err)
	}
	// The process of A never comes back: its journal is the record; a
	// check of the state directory lists it.
	es, err := statefile.ListJournals(dir)
	if err != nil || len(es) != 1 || es[0].UID != pa.UID {
		t.Fatalf("journals %+v %v", es, err)
	}
	a.failAfterStart = true // nothing reaches the chip any more
	fa.release <- errors.New("USB: device unplugged (process killed)")
	if err := <-doneA; err == nil {
		t.Fatal("A succeeded")
	}
	recs, _ := statefile.ReadAudit(dir)
	var uids []string
	for _, r := range recs {
		uids = append(uids, r.ChipUID+" "+r.Result)
	}
	if len(recs) != 2 || !strings.Contains(strings.Join(uids, ","), pb.UID+" ok") || !strings.Contains(strings.Join(uids, ","), pa.UID+" failed") {
		t.Errorf("audit %v", uids)
	}
	if ja, _ := statefile.CheckChipJournal(dir, pa.UID); ja == nil {
		t.Error("A's journal is gone")
	}
}

// Two chips, one state directory, A cancelled after OPTSTRT: A finishes
// the started step and records it; both records survive.
func TestTwoChipsOneStateDirCancelledAfterStart(t *testing.T) {
	dir := t.TempDir()
	a := newChip(t, stm32h5.Config{Line: stm32h5.LineH533, UID: [3]uint32{0xA, 0xA, 0xA}})
	b := newChip(t, stm32h5.Config{Line: stm32h5.LineH533, UID: [3]uint32{0xB, 0xB, 0xB}})
	ina, inb := a.setup(t), b.setup(t)
	pa, _ := plan(t, ina, "WRPSGn2=0x0F")
	pb, _ := plan(t, inb, "WRPSGn2=0xF0")
	oa, ob := opts(t, a, pa), opts(t, b, pb)
	oa.StateDir, ob.StateDir = dir, dir
	ctx, cancel := context.WithCancel(context.Background())
	fa := newFreeze(a, isOPTSTRT)
	doneA := make(chan error, 1)
	go func() {
		_, err := Apply(ctx, fa, pa, oa)
		doneA <- err
	}()
	<-fa.reached
	cancel() // SIGTERM after OPTSTRT
	if _, err := Apply(context.Background(), b, pb, ob); err != nil {
		t.Fatalf("B: %v", err)
	}
	fa.release <- nil
	if err := <-doneA; err != nil {
		t.Fatalf("A, cancelled after OPTSTRT, should finish the step: %v", err)
	}
	if cur, _, _ := a.chip.OptionRegister("WRP2R"); cur != 0x0F {
		t.Errorf("A's WRP2R 0x%X", cur)
	}
	recs, _ := statefile.ReadAudit(dir)
	if len(recs) != 2 || recs[0].ChipUID != pb.UID || recs[1].ChipUID != pa.UID || recs[1].Outcome != statefile.OutcomeApplied {
		t.Errorf("audit %+v", recs)
	}
}

// Two writes to the same chip at once: the second is refused before it
// touches the chip, with a message that says why.
func TestSameChipTwiceRefused(t *testing.T) {
	c := newChip(t, stm32h5.Config{Line: stm32h5.LineH533})
	in := c.setup(t)
	p, _ := plan(t, in, "WRPSGn2=0x0F")
	o := opts(t, c, p)
	f := newFreeze(c, func(addr, v uint32) bool { return addr == FlashBase+targets.FlashOPTKEYR })
	done := make(chan error, 1)
	go func() {
		_, err := Apply(context.Background(), f, p, o)
		done <- err
	}()
	<-f.reached
	second := &chipTarget{chip: c.chip, epoch: c.epoch}
	_, err := Apply(context.Background(), second, p, o)
	if !errors.Is(err, statefile.ErrChipBusy) || !strings.Contains(err.Error(), in.UID) || !strings.Contains(err.Error(), "wait for it") {
		t.Errorf("second write: %v, want statefile.ErrChipBusy naming the chip", err)
	}
	if second.flashWrites != 0 {
		t.Errorf("the refused write made %d FLASH writes", second.flashWrites)
	}
	f.release <- nil
	if err := <-done; err != nil {
		t.Fatalf("first write: %v", err)
	}
}

// A damaged journal is reported with its path and the command that sets it
// aside; DiscardJournal keeps a copy and audits it; writes resume.
func TestDamagedJournals(t *testing.T) {
	for _, content := range []string{"", "{\"time\":\"2026-11-24T03:00:00Z\",\"phase\":\"op", "null", "{}", "[]", `{"time":"2026-11-24T03:00:00Z"}`} {
		c := newChip(t, stm32h5.Config{Line: stm32h5.LineH533})
		in := c.setup(t)
		p, _ := plan(t, in, "WRPSGn2=0x0F")
		o := opts(t, c, p)
		path := statefile.JournalPath(o.StateDir, p.UID)
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := statefile.CheckChipJournal(o.StateDir, p.UID)
		var dj *statefile.DamagedJournalError
		if !errors.As(err, &dj) || dj.Path != path || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "ob journal --discard") {
			t.Errorf("%q: %v", content, err)
			continue
		}
		if _, err := Apply(context.Background(), c, p, o); !errors.Is(err, ErrPendingWrite) || !strings.Contains(err.Error(), "--discard") || c.flashWrites != 0 {
			t.Errorf("%q: apply: %v", content, err)
		}
		if err := statefile.ClearJournal(o.StateDir); !errors.Is(err, statefile.ErrDamagedJournal) {
			t.Errorf("%q: clearing a damaged journal: %v", content, err)
		}
		kept, err := statefile.DiscardJournal(o.StateDir, p.UID, statefile.JournalAction{User: "tester", Now: fixedNow})
		if err != nil {
			t.Fatalf("%q: discard: %v", content, err)
		}
		if data, err := os.ReadFile(kept); err != nil || string(data) != content {
			t.Errorf("%q: copy %s: %q %v", content, kept, data, err)
		}
		recs, _ := statefile.ReadAudit(o.StateDir)
		if n := len(recs); n == 0 || recs[n-1].Result != statefile.ResultJournalDiscarded || !strings.Contains(recs[n-1].Note, kept) {
			t.Errorf("%q: audit %+v", content, recs)
		}
		if _, err := Apply(context.Background(), c, p, o); err != nil {
			t.Errorf("%q: apply after discarding: %v", content, err)
		}
	}
}

// The old single journal file, damaged, is reported and discarded too.
func TestDamagedLegacyJournal(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, statefile.JournalFile), []byte("null"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := statefile.CheckJournal(dir); !errors.Is(err, statefile.ErrDamagedJournal) {
		t.Fatalf("legacy null journal: %v", err)
	}
	if _, err := statefile.DiscardJournal(dir, "", statefile.JournalAction{}); err != nil {
		t.Fatal(err)
	}
	if j, err := statefile.CheckJournal(dir); j != nil || err != nil {
		t.Errorf("after discard: %v %v", j, err)
	}
}

// A backup without every register of the chip's layout is refused, and
// restore plans from a complete one only.
func TestIncompleteBackupRefused(t *testing.T) {
	dir := t.TempDir()
	in := snapshotOf(t, DevH56x, 0xED, 0xC3)
	path, err := WriteBackup(dir, in.Layout, "UID1", in.Before, fixedNow())
	if err != nil {
		t.Fatal(err)
	}
	ents, _ := os.ReadDir(filepath.Dir(path))
	if len(ents) != 1 {
		t.Errorf("backup directory holds %d entries (temporary files left?)", len(ents))
	}
	data, _ := os.ReadFile(path)
	var raw map[string]any
	if err := json.Unmarshal(data, &raw); err != nil {
		t.Fatal(err)
	}
	cur := raw["snapshot"].(map[string]any)["cur"].(map[string]any)
	delete(cur, "WRP2R")
	data, _ = json.Marshal(raw)
	damaged := filepath.Join(dir, "damaged.json")
	if err := os.WriteFile(damaged, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadBackup(damaged); !errors.Is(err, ErrIncompleteBackup) || !strings.Contains(err.Error(), "WRP2R") {
		t.Errorf("backup without WRP2R: %v", err)
	}
	for k := range cur {
		delete(cur, k)
	}
	data, _ = json.Marshal(raw)
	if err := os.WriteFile(damaged, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadBackup(damaged); !errors.Is(err, ErrIncompleteBackup) {
		t.Errorf("backup with an empty cur: %v", err)
	}
	bk, err := ReadBackup(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bk.RestoreAssignments(in.Layout, "OTHER", in.Before.Cur); err == nil || !strings.Contains(err.Error(), "UID") {
		t.Errorf("restore to another chip: %v", err)
	}
	if _, err := bk.RestoreAssignments(in.Layout, "UID1", in.Before.Cur); !errors.Is(err, ErrNoChange) {
		t.Errorf("restore to the same values: %v", err)
	}
}

// A state directory that is a file is a usage problem, not an interrupted
// write.
func TestStateDirIsAFile(t *testing.T) {
	file := filepath.Join(t.TempDir(), "state")
	if err := os.WriteFile(file, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := statefile.CheckJournal(file)
	if !errors.Is(err, statefile.ErrStateDir) || strings.Contains(err.Error(), "interrupted") || !strings.Contains(err.Error(), "not a directory") {
		t.Errorf("statefile.CheckJournal: %v", err)
	}
	c := newChip(t, stm32h5.Config{Line: stm32h5.LineH533})
	in := c.setup(t)
	p, _ := plan(t, in, "WRPSGn2=0x0F")
	o := opts(t, c, p)
	o.StateDir = file
	_, err = Apply(context.Background(), c, p, o)
	if !errors.Is(err, statefile.ErrStateDir) || errors.Is(err, ErrPendingWrite) || strings.Contains(err.Error(), "target:") || c.flashWrites != 0 {
		t.Errorf("Apply: %v", err)
	}
}

// Clearing a journal writes the audit line first; when that fails, the
// journal stays.
func TestClearJournalAudits(t *testing.T) {
	c := newChip(t, stm32h5.Config{Line: stm32h5.LineH503})
	in := c.setup(t)
	p, _ := plan(t, in, "SRAM2_RST=0")
	c.failAfterStart = true
	o := opts(t, c, p)
	if _, err := Apply(context.Background(), c, p, o); err == nil {
		t.Fatal("no failure")
	}
	auditDir := filepath.Join(o.StateDir, statefile.AuditFile)
	if err := os.Rename(auditDir, auditDir+".bak"); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(auditDir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := statefile.ClearJournal(o.StateDir); err == nil {
		t.Error("cleared without an audit line")
	}
	if j, _ := statefile.CheckChipJournal(o.StateDir, p.UID); j == nil {
		t.Fatal("journal removed although its audit line failed")
	}
	os.Remove(auditDir)
	if err := os.Rename(auditDir+".bak", auditDir); err != nil {
		t.Fatal(err)
	}
	if err := statefile.ClearChipJournal(o.StateDir, p.UID, statefile.JournalAction{User: "tester", Reason: "checked with ob read", Now: fixedNow}); err != nil {
		t.Fatal(err)
	}
	recs, _ := statefile.ReadAudit(o.StateDir)
	last := recs[len(recs)-1]
	if last.Result != statefile.ResultJournalCleared || last.ChipUID != p.UID || len(last.Changes) == 0 || last.Journal == "" || last.Note == "" {
		t.Errorf("audit line of the clear: %+v", last)
	}
	if j, _ := statefile.CheckChipJournal(o.StateDir, p.UID); j != nil {
		t.Error("journal still there")
	}
}

// A staged change is reported as staged, not as "not applied".
func TestOutcomeOnStaged(t *testing.T) {
	j := &statefile.Journal{Before: map[string]uint32{"OPTSR": 0xED00}, Want: map[string]uint32{"OPTSR": 0x1700}}
	cases := []struct {
		cur, prg uint32
		want     string
	}{
		{0xED00, 0xED00, statefile.OutcomeNotApplied},
		{0xED00, 0x1700, statefile.OutcomeArmed},
		{0x1700, 0x1700, statefile.OutcomeApplied},
		{0xED00, 0x5C00, statefile.OutcomeArmed},
	}
	for _, c := range cases {
		s := &Snapshot{Cur: map[string]uint32{"OPTSR": c.cur}, Prg: map[string]uint32{"OPTSR": c.prg}}
		if got := j.OutcomeOn(s.Cur, s.Prg); got != c.want {
			t.Errorf("cur 0x%X prg 0x%X: %q, want %q", c.cur, c.prg, got, c.want)
		}
	}
}
