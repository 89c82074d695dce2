package header

import (
	"context"
	"strings"
	"testing"

	"github.com/charmbracelet/x/ansi"

	"github.com/stprobe/stprobe/bench"
	"github.com/stprobe/stprobe/probe"
	"github.com/stprobe/stprobe/targets"
	"github.com/stprobe/stprobe/tui/common"
	"github.com/stprobe/stprobe/tui/internal/tuitest"
)

func TestSeedBoardHeader(t *testing.T) {
	b := tuitest.Open(t, tuitest.Seed)
	c := tuitest.Context(t, b, "alice", common.Theme{})
	if _, err := b.Info(context.Background(), c.Token(), bench.InfoRequest{Mode: probe.ModeHotPlug, AutoAP: true, FrequencyKHz: 1800}); err != nil {
		t.Fatal(err)
	}
	c.SetSnapshot(b.Snapshot())
	for _, w := range []int{40, 80, 160} {
		lines := Lines(c, w)
		all := ansi.Strip(strings.Join(lines, "\n"))
		for _, want := range []string{"ST-LINK/V2", "V2J46S7", "SN ", "VDD 3.", "Hot Plug on AP1 at 1800 kHz",
			"SIMULATED h533-provisioning", "STM32H523/H533 rev A", "PROVISIONING", "TZEN enabled (0xB4)", "DA "} {
			if !strings.Contains(all, want) {
				t.Errorf("width %d: header lacks %q:\n%s", w, want, all)
			}
		}
		for _, l := range lines {
			if ansi.StringWidth(l) > w {
				t.Errorf("width %d: line %q is %d wide", w, ansi.Strip(l), ansi.StringWidth(l))
			}
		}
	}
	if n := len(Lines(c, 160)); n != 2 {
		t.Errorf("at 160 columns the header takes %d lines, want 2", n)
	}
}

func TestDAAndState(t *testing.T) {
	st := common.NewStyles(common.Theme{})
	tests := []struct {
		name string
		s    bench.Snapshot
		da   string
	}{
		{"nothing read", bench.Snapshot{}, "not read"},
		{"provisioned", bench.Snapshot{DA: &targets.DAStatus{Checked: true, Provisioned: true, Method: targets.DAPassword}}, "provisioned (password)"},
		{"not provisioned", bench.Snapshot{DA: &targets.DAStatus{Checked: true}}, "not provisioned"},
		{"unknown", bench.Snapshot{DA: &targets.DAStatus{Source: "AP1 closed"}}, "unknown"},
		{"sample password", bench.Snapshot{DA: &targets.DAStatus{Checked: true, Provisioned: true, Method: targets.DAPassword, SamplePassword: true}}, "provisioned (password), ST sample password"},
	}
	for _, tc := range tests {
		if got := daItem(st, tc.s).Value; got != tc.da {
			t.Errorf("%s: DA %q, want %q", tc.name, got, tc.da)
		}
	}
	_, ti := Items(st, bench.Snapshot{HasState: true, State: targets.StateLocked, TZEN: targets.TZENEnabled})
	if !strings.Contains(ti[1].Value, "■") || !strings.Contains(ti[1].Value, targets.StateLocked.String()) {
		t.Errorf("LOCKED is drawn %q", ti[1].Value)
	}
}

// Option registers left unlocked are named in the header, and only then.
func TestOptionsUnlockedShown(t *testing.T) {
	st := common.NewStyles(common.Theme{})
	has := func(s bench.Snapshot) bool {
		_, ti := Items(st, s)
		for _, it := range ti {
			if it.Label == "option regs" && it.Value == "UNLOCKED" {
				return true
			}
		}
		return false
	}
	if !has(bench.Snapshot{HasState: true, State: targets.StateOpen, OptionsUnlocked: true}) {
		t.Error("unlocked option registers not shown")
	}
	if has(bench.Snapshot{HasState: true, State: targets.StateOpen}) {
		t.Error("locked option registers shown as unlocked")
	}
}

// A chip of a family protected by RDP levels shows its level where an
// STM32H5 shows its product state, and no DA item (DA is the H5's).
func TestRDPFamilyHeader(t *testing.T) {
	b := tuitest.Open(t, "f103-rdp1")
	c := tuitest.Context(t, b, "alice", common.Theme{})
	if _, err := b.Info(context.Background(), c.Token(), bench.InfoRequest{Mode: probe.ModeHotPlug, AutoAP: true, FrequencyKHz: 1800}); err != nil {
		t.Fatal(err)
	}
	c.SetSnapshot(b.Snapshot())
	all := ansi.Strip(strings.Join(Lines(c, 120), "\n"))
	if !strings.Contains(all, "protection RDP level 1") || strings.Contains(all, "DA ") || strings.Contains(all, "state not read") {
		t.Errorf("header of an F1 at RDP level 1:\n%s", all)
	}
}

// A part wider than the line (the reason a state is "as of" a time) goes
// on over the next lines: nothing of it is cut, no line is too wide.
func TestLongPartWraps(t *testing.T) {
	st := common.NewStyles(common.Theme{NoColor: true})
	long := "as of 00:49:25 (AP1 is closed (DBGMCU_SR through AP0): the option bytes cannot be read; the state is the one the closing write planned)"
	for _, w := range []int{40, 80} {
		lines := flow(st, []string{"STM32H523/H533 rev A", "state ● CLOSED", long, "TZEN disabled (0xC3)"}, w)
		all := strings.Join(strings.Fields(ansi.Strip(strings.Join(lines, " "))), " ")
		for _, want := range []string{long, "TZEN disabled (0xC3)"} {
			if !strings.Contains(all, want) {
				t.Errorf("width %d: %q cut:\n%s", w, want, strings.Join(lines, "\n"))
			}
		}
		for _, l := range lines {
			if ansi.StringWidth(l) > w {
				t.Errorf("width %d: line %q is %d wide", w, l, ansi.StringWidth(l))
			}
		}
	}
}
