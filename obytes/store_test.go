package obytes

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stprobe/stprobe/statefile"
	"github.com/stprobe/stprobe/targets"
)

func TestDefaultStateDir(t *testing.T) {
	t.Setenv(statefile.StateDirEnv, "")
	t.Setenv("XDG_STATE_HOME", "/x/state")
	if d, err := statefile.DefaultStateDir(); err != nil || d != filepath.Join("/x/state", "stprobe") {
		t.Errorf("XDG: %q %v", d, err)
	}
	t.Setenv("XDG_STATE_HOME", "")
	t.Setenv("HOME", "/home/u")
	if d, err := statefile.DefaultStateDir(); err != nil || d != "/home/u/.local/state/stprobe" {
		t.Errorf("HOME: %q %v", d, err)
	}
	t.Setenv(statefile.StateDirEnv, "/override")
	if d, _ := statefile.DefaultStateDir(); d != "/override" {
		t.Errorf("env override: %q", d)
	}
}

func TestPlanJSONRoundTrip(t *testing.T) {
	in := snapshotOf(t, DevH56x, 0x17, 0xC3)
	in.DA = certDA
	in.WayBack = proven
	as, _ := in.Layout.ParseAssignments([]string{"PRODUCT_STATE=0x72", "TZEN=0xB4"})
	p, err := MakePlan(in, as)
	if err != nil {
		t.Fatal(err)
	}
	data, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	var back Plan
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatal(err)
	}
	if back.Risk != p.Risk || back.Phrase != p.Phrase || back.DA.Method != targets.DACertificate || len(back.Phases) != len(p.Phases) || back.After["OPTSR2"] != p.After["OPTSR2"] {
		t.Errorf("round trip: %+v", back)
	}
	if !strings.Contains(string(data), `"risk":"irreversible"`) {
		t.Errorf("risk not by name: %s", data)
	}
}

func TestBackupFilesDistinct(t *testing.T) {
	dir := t.TempDir()
	in := snapshotOf(t, DevH503, 0xED, 0)
	a, err := WriteBackup(dir, in.Layout, "UID", in.Before, fixedNow())
	if err != nil {
		t.Fatal(err)
	}
	b, err := WriteBackup(dir, in.Layout, "UID", in.Before, fixedNow())
	if err != nil || a == b {
		t.Fatalf("second backup at the same instant: %q %q %v", a, b, err)
	}
	bk, err := ReadBackup(b)
	if err != nil || bk.Snapshot.Cur["OPTSR"] != in.Before.Cur["OPTSR"] || len(bk.Fields) == 0 {
		t.Errorf("backup content %+v %v", bk, err)
	}
}

func TestDamagedJournalReported(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, statefile.JournalFile), []byte("{trunc"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := statefile.CheckJournal(dir); err == nil || !strings.Contains(err.Error(), "interrupted") {
		t.Errorf("damaged journal: %v", err)
	}
}

func TestWriteErrorText(t *testing.T) {
	e := &WriteError{Phase: "option bytes", Step: "check NSSR", Started: true, Seen: map[string]uint32{"NSSR": 1 << 23, "OPTSR_CUR": 0x1700}, Err: ErrOptionChangeRefused}
	msg := e.Error()
	for _, want := range []string{"NSSR=0x00800000", "OPTSR_CUR=0x00001700", "programming had started", "target:"} {
		if !strings.Contains(msg, want) {
			t.Errorf("%q lacks %q", msg, want)
		}
	}
	if !errors.Is(e, ErrOptionChangeRefused) {
		t.Error("does not unwrap")
	}
}

func TestJournalOutcome(t *testing.T) {
	j := &statefile.Journal{Before: map[string]uint32{"OPTSR": 1, "WRP1R": 0xFF}, Want: map[string]uint32{"OPTSR": 2, "WRP1R": 0xFE}}
	cases := []struct {
		cur  map[string]uint32
		want string
	}{
		{map[string]uint32{"OPTSR": 2, "WRP1R": 0xFE}, "applied"},
		{map[string]uint32{"OPTSR": 1, "WRP1R": 0xFF}, "not applied"},
		{map[string]uint32{"OPTSR": 2, "WRP1R": 0xFF}, "partly applied"},
		{map[string]uint32{"OPTSR": 2}, "unknown"},
		{nil, "unknown"},
	}
	for _, c := range cases {
		if got := j.Outcome(c.cur); got != c.want {
			t.Errorf("Outcome(%v) = %q, want %q", c.cur, got, c.want)
		}
	}
}

func TestListBackups(t *testing.T) {
	dir := t.TempDir()
	if got, err := ListBackups(dir, "UID", DevH56x); err != nil || len(got) != 0 {
		t.Fatalf("empty state dir: %v, %v", got, err)
	}
	l, err := ForDevID(DevH56x)
	if err != nil {
		t.Fatal(err)
	}
	snap := snapshotOf(t, DevH56x, 0xED, 0xC3).Before
	t0 := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	older, err := WriteBackup(dir, l, "AAAA", snap, t0)
	if err != nil {
		t.Fatal(err)
	}
	newer, err := WriteBackup(dir, l, "AAAA", snap, t0.Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := WriteBackup(dir, l, "BBBB", snap, t0); err != nil {
		t.Fatal(err)
	}
	damaged := filepath.Join(dir, "backups", "ob-AAAA-broken.json")
	os.WriteFile(damaged, []byte("{"), 0o600)
	got, err := ListBackups(dir, "AAAA", DevH56x)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || got[0].Path != newer || got[1].Path != older || got[2].Path != damaged || got[2].Err == nil {
		t.Errorf("ListBackups: %+v", got)
	}
}
