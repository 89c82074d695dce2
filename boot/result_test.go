package boot_test

import (
	"encoding/json"
	"testing"

	"github.com/stprobe/stprobe/boot"
)

func TestOutcomeString(t *testing.T) {
	for _, tc := range []struct {
		o    boot.Outcome
		want string
	}{
		{boot.Silent, "silent"},
		{boot.Answered, "answered"},
		{boot.Failed, "error"},
		{boot.Failed + 1, "Outcome(3)"},
		{-1, "Outcome(-1)"},
	} {
		if got := tc.o.String(); got != tc.want {
			t.Errorf("Outcome(%d).String() = %q, want %q", int(tc.o), got, tc.want)
		}
	}
	b, err := json.Marshal(boot.Answered)
	if err != nil || string(b) != `"answered"` {
		t.Errorf("json.Marshal(Answered) = %s, %v; want \"answered\"", b, err)
	}
}
