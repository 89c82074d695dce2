package common

import (
	"context"
	"errors"
	"strings"
	"testing"

	"charm.land/lipgloss/v2"

	"github.com/stprobe/stprobe/bench"
	"github.com/stprobe/stprobe/probe"
	"github.com/stprobe/stprobe/targets"
)

func TestFit(t *testing.T) {
	red := lipgloss.NewStyle().Foreground(lipgloss.Red)
	tests := []struct {
		in   string
		w, h int
		want string
	}{
		{"ab\ncd", 5, 3, "ab\ncd\n"},
		{"abcdef\ngh\nij", 4, 2, "abcd\ngh"},
		{"", 3, 2, "\n"},
		{"héllo wörld", 5, 1, "héllo"},
		{red.Render("abcdef"), 3, 1, "abc"},
	}
	for _, tc := range tests {
		got := Fit(tc.in, tc.w, tc.h)
		if plain := stripped(got); plain != tc.want {
			t.Errorf("Fit(%q, %d, %d) = %q, want %q", tc.in, tc.w, tc.h, plain, tc.want)
		}
	}
}

func stripped(s string) string {
	var b strings.Builder
	inEsc := false
	for _, r := range s {
		switch {
		case r == 0x1b:
			inEsc = true
		case inEsc && r == 'm':
			inEsc = false
		case !inEsc:
			b.WriteRune(r)
		}
	}
	return b.String()
}

func TestNoColorStyles(t *testing.T) {
	st := NewStyles(Theme{NoColor: true})
	all := []lipgloss.Style{st.Normal, st.Muted, st.Accent, st.OK, st.Info, st.Warn, st.Bad, st.Danger, st.Key,
		st.Header, st.HeaderLabel, st.HeaderValue, st.Simulated, st.TabActive, st.TabInactive, st.Pane, st.PaneFocused,
		st.Selected, st.Footer, st.Banner, st.Dialog, st.DialogDanger,
		st.StateStyle(targets.StateOpen), st.StateStyle(targets.StateLocked)}
	for i, s := range all {
		out := s.Render("x")
		for _, code := range []string{"[3", "[4", "[9", ";3", ";4", ";9", "38;", "48;"} {
			if strings.Contains(out, code) && !strings.Contains(out, "[4m") && !strings.Contains(out, ";4m") {
				t.Errorf("style %d renders %q with a colour", i, out)
			}
		}
	}
	if out := NewStyles(Theme{Dark: true}).Bad.Render("x"); !strings.Contains(out, "38;") {
		t.Errorf("coloured Bad renders %q without colour", out)
	}
}

func TestAPUnavailable(t *testing.T) {
	tests := []struct {
		fw   string
		ap   uint8
		want string
	}{
		{"V2J46S7", 1, ""},
		{"V2J27S6", 1, "AP1 needs ST-LINK firmware V2J28 or later (this probe has V2J27S6)"},
		{"V2J27S6", 0, ""},
		{"V3J7M3", 1, ""},
		{"V2J30S7", 3, ""},
		{"V2J30S7", 4, "AP4 needs ST-LINK firmware V2J32 or later (this probe has V2J30S7)"},
		{"", 1, ""},
	}
	for _, tc := range tests {
		c := &Context{snap: bench.Snapshot{Probe: probe.Info{Firmware: tc.fw}}}
		if got := c.APUnavailable(tc.ap); got != tc.want {
			t.Errorf("%s AP%d: %q, want %q", tc.fw, tc.ap, got, tc.want)
		}
	}
}

func TestUnavailable(t *testing.T) {
	me := bench.Holder{Name: "bob"}
	tests := []struct {
		name string
		snap bench.Snapshot
		tok  bench.Token
		ro   bool
		want string
	}{
		{"holds", bench.Snapshot{Lease: &bench.LeaseInfo{Holder: me}}, "t", false, ""},
		{"other", bench.Snapshot{Lease: &bench.LeaseInfo{Holder: bench.Holder{Name: "alice"}}}, "", false, "another session holds the probe: alice"},
		{"free", bench.Snapshot{}, "", false, "this session does not hold the probe: press L to take it"},
		{"observer", bench.Snapshot{}, "", true, "this session may only observe"},
		{"gone", bench.Snapshot{Gone: "x", Lease: &bench.LeaseInfo{Holder: me}}, "t", false, "the probe went away: check the cable or the server, then start again"},
	}
	for _, tc := range tests {
		c := NewContext(context.Background(), nil, me, Theme{})
		c.Bench = &bench.Bench{}
		c.snap, c.token, c.ReadOnly = tc.snap, tc.tok, tc.ro
		if got := c.Unavailable(); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
	c := NewContext(context.Background(), nil, me, Theme{})
	c.Bench = &bench.Bench{}
	c.snap, c.token = bench.Snapshot{Lease: &bench.LeaseInfo{Holder: me}, Job: &bench.JobInfo{Kind: "sweep"}}, "t"
	if got := c.UnavailableNow(); !strings.Contains(got, "a sweep job is running") {
		t.Errorf("busy: %q", got)
	}
}

func TestJobRefusedWithoutLease(t *testing.T) {
	c := NewContext(context.Background(), nil, bench.Holder{Name: "bob"}, Theme{})
	called := false
	type swept Result[int]
	fn := func(context.Context, bench.Token) (int, error) { called = true; return 1, nil }
	msg := Job[swept](c, PaneMatrix, fn)()
	done := msg.(JobDoneMsg)
	own, ok := done.Msg.(swept)
	if called || !IsUnavailable(done.Err) || done.From != PaneMatrix || !ok || own.Value != 0 || own.Err != done.Err {
		t.Errorf("job without a bench: called %v, %#v", called, done)
	}
}

// A job that runs returns the pane's own message of its result, with its
// error beside it for the root model.
func TestJobDone(t *testing.T) {
	me := bench.Holder{Name: "bob"}
	c := NewContext(context.Background(), nil, me, Theme{})
	c.Bench = &bench.Bench{}
	c.snap, c.token = bench.Snapshot{Lease: &bench.LeaseInfo{Holder: me}}, "t"
	type read Result[string]
	boom := errors.New("boom")
	var gotTok bench.Token
	fn := func(_ context.Context, t bench.Token) (string, error) { gotTok = t; return "value", boom }
	done := Job[read](c, PaneDA, fn)().(JobDoneMsg)
	if gotTok != "t" || done.From != PaneDA || done.Err != boom || done.Msg != (read{"value", boom}) {
		t.Errorf("job: token %q, %#v", gotTok, done)
	}
}

// A pane's title is its id's name; its Init starts nothing.
func TestBase(t *testing.T) {
	tests := []struct {
		id   PaneID
		want string
	}{
		{PaneMatrix, "Matrix"},
		{PaneOptionBytes, "Option bytes"},
		{PaneDA, "Debug auth"},
		{PaneLog, "Log"},
		{PaneFlash, "Flash"},
		{PaneNone, "pane?"},
	}
	for _, tc := range tests {
		b := Base{ID: tc.id}
		if got := b.Title(); got != tc.want {
			t.Errorf("%d: title %q, want %q", tc.id, got, tc.want)
		}
		if b.Init() != nil {
			t.Errorf("%d: Init starts something", tc.id)
		}
	}
}
