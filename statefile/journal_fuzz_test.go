package statefile

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// FuzzJournalRecord decodes journal files as the state directory holds
// them (with time and phase), and checks that a decoded journal always
// describes itself and its outcome; damaged ones are refused, never
// half-read.
func FuzzJournalRecord(f *testing.F) {
	good, err := json.Marshal(Journal{Time: time.Date(2026, 11, 24, 3, 0, 0, 0, time.UTC), ChipUID: "0123", Line: "STM32H56x/H57x", Phase: "option bytes",
		Changes: []string{"TZEN=0xB4"}, Before: map[string]uint32{"OPTSR2": 0xC3000000}, Want: map[string]uint32{"OPTSR2": 0xB4000000},
		State: OutcomeNotUndone, Seen: map[string]uint32{"OPTCR": 0, "OPTSR2_PRG": 0xB4000000}})
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{"", "null", "{}", "[]", "{", `{"time":"2026-11-24T03:00:00Z"}`, `{"time":"2026-11-24T03:00:00Z","phase":"p","before":{"OPTSR":1}}`} {
		f.Add([]byte(s))
	}
	f.Add(good)
	f.Add(good[:len(good)/2])
	f.Fuzz(func(t *testing.T, data []byte) {
		j, err := DecodeJournal(data)
		if err != nil {
			if j != nil {
				t.Fatal("a journal and an error")
			}
			return
		}
		if j.Time.IsZero() || j.Phase == "" || len(j.Before) == 0 {
			t.Fatalf("incomplete journal accepted: %+v", j)
		}
		if s := j.String(); s == "" || !strings.Contains(s, j.Phase) {
			t.Fatalf("description %q", s)
		}
		_ = j.Outcome(j.Before)
	})
}
