package obytes

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A backup naming a register its line lacks is refused, naming it, by
// ReadBackup and by RestoreAssignments; an untouched backup reads back.
func TestBackupUnknownRegisterRefused(t *testing.T) {
	dir := t.TempDir()
	l, err := ForDevID(DevH503)
	if err != nil {
		t.Fatal(err)
	}
	snap := snapshotOf(t, DevH503, 0xED, 0).Before
	path, err := WriteBackup(dir, l, "AAAA", snap, time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ReadBackup(path); err != nil {
		t.Fatalf("untouched backup: %v", err)
	}
	cases := []struct {
		name string
		edit func(s *Snapshot)
		want []string
	}{
		{"misspelt _CUR", func(s *Snapshot) { s.Cur["OPTSR3"] = 1 }, []string{`"OPTSR3"`}},
		{"another line's register", func(s *Snapshot) { s.Cur["TZEN"] = 0xB4; s.Cur["SECBOOTR"] = 0 }, []string{`"SECBOOTR"`, `"TZEN"`}},
		{"unknown _PRG", func(s *Snapshot) { s.Prg["WRP3R"] = 0 }, []string{`"WRP3R"_PRG`}},
		{"case differs", func(s *Snapshot) { s.Cur["optsr"] = s.Cur["OPTSR"] }, []string{`"optsr"`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var b Backup
			data, _ := os.ReadFile(path)
			if err := json.Unmarshal(data, &b); err != nil {
				t.Fatal(err)
			}
			tc.edit(b.Snapshot)
			data, _ = json.Marshal(b)
			p := filepath.Join(t.TempDir(), "edited.json")
			if err := os.WriteFile(p, data, 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := ReadBackup(p)
			if !errors.Is(err, ErrUnknownRegister) {
				t.Fatalf("ReadBackup: %v, want ErrUnknownRegister", err)
			}
			for _, w := range append(tc.want, "STM32H503", "nothing was planned") {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("%q lacks %s", err, w)
				}
			}
			if _, err := b.RestoreAssignments(l, "AAAA", snap.Cur); !errors.Is(err, ErrUnknownRegister) {
				t.Errorf("RestoreAssignments: %v", err)
			}
		})
	}
}
