package guard

import (
	"strings"
	"testing"

	"github.com/stprobe/stprobe/bench"
	"github.com/stprobe/stprobe/tui/common"
	"github.com/stprobe/stprobe/tui/internal/tuitest"
)

// press sends keys: "type:TEXT" types TEXT, anything else is one key.
func press(g *Model, keys ...string) Outcome {
	out := Pending
	for _, k := range keys {
		if text, ok := strings.CutPrefix(k, "type:"); ok {
			for _, r := range text {
				out, _ = g.Update(tuitest.Key(string(r)))
			}
			continue
		}
		out, _ = g.Update(tuitest.Key(k))
	}
	return out
}

func TestGuard(t *testing.T) {
	irreversible := Dialog{Title: "‼ IRREVERSIBLE", Plan: &bench.WritePlan{Phrase: "close 00450499", Risk: bench.RiskIrreversible}}
	brick := Dialog{Title: "✖ BRICK", Plan: &bench.WritePlan{Phrase: "brick 00450499", Risk: bench.RiskBrick, NeedsOverride: true}}
	tests := []struct {
		name     string
		d        Dialog
		keys     []string
		want     Outcome
		override bool
		err      string
	}{
		{"the phrase typed", irreversible, []string{"type:close 00450499", "enter"}, Confirmed, false, ""},
		{"a wrong phrase", irreversible, []string{"type:close 0045049", "enter"}, Pending, false, "does not match"},
		{"nothing typed", irreversible, []string{"enter"}, Pending, false, "does not match"},
		{"esc", irreversible, []string{"type:close", "esc"}, Cancelled, false, ""},
		{"a brick without the override", brick, []string{"type:brick 00450499", "enter"}, Pending, false, "tick the override"},
		{"a brick with the override", brick, []string{"type:brick 00450499", "tab", "space", "enter"}, Confirmed, true, ""},
		{"the override ticked twice", brick, []string{"type:brick 00450499", "tab", "space", "space", "enter"}, Pending, false, "tick the override"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := New(nil, tc.d)
			g.Focus()
			if got := press(g, tc.keys...); got != tc.want {
				t.Fatalf("outcome %v, want %v (err %q)", got, tc.want, g.Err())
			}
			if g.Override() != tc.override {
				t.Errorf("override %v, want %v", g.Override(), tc.override)
			}
			if tc.err != "" && !strings.Contains(g.Err(), tc.err) || tc.err == "" && g.Err() != "" {
				t.Errorf("err %q, want %q", g.Err(), tc.err)
			}
			if tc.err != "" && !strings.Contains(g.Err(), "Nothing was written") {
				t.Errorf("a refusal does not say nothing was written: %q", g.Err())
			}
		})
	}
}

// The dialog fits the pane it is drawn for, and says the phrase.
func TestGuardView(t *testing.T) {
	pens := common.NewPens(common.NewStyles(common.Theme{NoColor: true}))
	g := New(nil, Dialog{Title: "✖ BRICK", Plan: &bench.WritePlan{Phrase: "brick 00450499", Risk: bench.RiskBrick, NeedsOverride: true},
		Lines:   []Line{{Text: "PRODUCT_STATE  PROVISIONING → CLOSED", Tone: Accent}},
		Details: []Line{{Text: strings.Repeat("why it cannot be undone ", 8)}}})
	for _, size := range [][2]int{{80, 24}, {80, 12}, {160, 48}} {
		v := tuitest.Plain(g.View(pens, size[0], size[1]))
		lines := strings.Split(strings.TrimRight(v, "\n"), "\n")
		if len(lines) > size[1] || !strings.Contains(v, "brick 00450499") || !strings.Contains(v, "override") {
			t.Errorf("%dx%d: %d lines:\n%s", size[0], size[1], len(lines), v)
		}
	}
}
