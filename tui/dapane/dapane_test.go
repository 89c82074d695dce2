package dapane

import (
	"context"
	"math/rand/v2"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"

	"github.com/stprobe/stprobe/bench"
	"github.com/stprobe/stprobe/probe/da"
	"github.com/stprobe/stprobe/probe/sim/scenario"
	"github.com/stprobe/stprobe/tui/common"
	"github.com/stprobe/stprobe/tui/internal/tuitest"
	"github.com/stprobe/stprobe/tui/writeflow"
)

func TestKeySequences(t *testing.T) {
	tests := []struct {
		name     string
		scenario string
		observer bool
		keys     []string
		send     any
		want     []string
		status   string
		check    func(t *testing.T, e *env)
	}{
		{
			name: "before any discovery", scenario: "h533-provisioning",
			want: []string{"No discovery yet. Press d", "Actions", "unavailable: the chip's product state is not known yet"},
			check: func(t *testing.T, e *env) {
				if strings.Contains(e.Screen(), "Not available yet") {
					t.Error("the not-available section is still there")
				}
			},
		},
		{
			name: "discover the seed board", scenario: "h533-provisioning",
			keys: []string{"d"},
			want: []string{"PROVISIONING", "lifecycle 0x2017", "✖ not provisioned", "integrity 0xF5F5F5F5", "permissions", "SoC ID", "0x478", "STM32H523/H533", "✓ p Provision an .obk file",
				"✖ R Regression", "✖ o Debug opening", "DA data is not provisioned (the ROM reports"},
			status: "DA discovery done",
		},
		{
			name: "provisioned board", scenario: "h533-provisioning-da",
			keys: []string{"d"},
			want: []string{"✓ provisioned", "integrity 0xEAEAEAEA", "method offered", "✓ R Regression"},
		},
		{
			name: "closed board with certificate DA", scenario: "h533-closed-da",
			keys: []string{"d"},
			want: []string{"CLOSED", "✓ provisioned", "certificate", "✓ R Regression", "✓ o Debug opening", "✖ p Provision"},
		},
		{
			name: "no NRST: the failure says what to do", scenario: "no-nrst",
			keys:   []string{"d"},
			want:   []string{"the last discovery failed", "DA discovery: no DA reply", "NRST must be wired", "Press d to try again"},
			status: "the DA discovery failed: see the pane",
		},
		{
			name: "LOCKED: every action unavailable with the reason", scenario: "h533-locked",
			keys:   []string{"d", "R"},
			want:   []string{"✖ R Regression", "✖ o Debug opening", "✖ p Provision", "LOCKED is final"},
			status: "regression is unavailable: the chip is LOCKED (0x5C): LOCKED is final",
			check: func(t *testing.T, e *env) {
				if e.m.Screen != writeflow.Main || e.m.Keys()[2].Enabled() {
					t.Error("the regression opened on a LOCKED chip")
				}
			},
		},
		{
			name: "regression before a discovery says what to do", scenario: "h533-provisioning",
			keys:   []string{"R"},
			status: "regression is unavailable: the chip's product state is not known yet: run a DA discovery first (d)",
		},
		{
			name: "provision on a closed chip says why not", scenario: "h533-closed-da",
			keys:   []string{"d", "p"},
			status: "the ROM takes DA data only in PROVISIONING (0x17); the chip is CLOSED",
		},
		{
			name: "observer: actions unavailable with the reason", scenario: "h533-provisioning", observer: true,
			keys:   []string{"R"},
			want:   []string{"unavailable: another session holds the probe: alice"},
			status: "regression is unavailable: another session holds the probe: alice",
		},
		{
			name: "observer cannot discover, and says why", scenario: "h533-provisioning", observer: true,
			keys:   []string{"d"},
			want:   []string{"No discovery yet"},
			status: "cannot run a DA discovery: another session holds the probe: alice",
			check: func(t *testing.T, e *env) {
				if e.Ended(discovered{}) != 0 {
					t.Error("a discovery ran")
				}
			},
		},
		{
			name: "request from the matrix opens with its reason", scenario: "h533-provisioning",
			send: common.OpenPaneMsg{Pane: common.PaneDA, Request: common.DARequest{Reason: "stuck in PROVISIONING"}},
			want: []string{"opened for: stuck in PROVISIONING"},
			check: func(t *testing.T, e *env) {
				if e.Ended(discovered{}) != 0 {
					t.Error("a request without an action ran a discovery")
				}
			},
		},
		{
			name: "discover request runs a discovery", scenario: "h533-provisioning",
			send: common.OpenPaneMsg{Pane: common.PaneDA, Request: common.DARequest{Action: "discover"}},
			want: []string{"lifecycle 0x2017"},
		},
		{
			name: "regression request before a discovery", scenario: "h533-provisioning",
			send:   common.OpenPaneMsg{Pane: common.PaneDA, Request: common.DARequest{Action: "regression"}},
			status: "regression is unavailable: the chip's product state is not known yet",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, tt.scenario, !tt.observer)
			if tt.send != nil {
				e.Send(tt.send)
			}
			e.Keys(tt.keys...)
			s := e.Screen()
			for _, w := range tt.want {
				if !strings.Contains(s, w) {
					t.Errorf("screen lacks %q:\n%s", w, s)
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

// TestObserverSeesTheOperatorsDiscovery: the discovery travels in the
// bench's state to every session.
func TestObserverSeesTheOperatorsDiscovery(t *testing.T) {
	e := newEnv(t, "h533-provisioning", false)
	alice, _ := e.B.Acquire(bench.Holder{Name: "alice"})
	if _, err := e.B.Discover(context.Background(), alice, da.Options{}); err != nil {
		t.Fatal(err)
	}
	e.Pump()
	if s := e.Screen(); !strings.Contains(s, "lifecycle 0x2017") || !strings.Contains(s, "read-only: another session holds the probe: alice") {
		t.Errorf("observer screen:\n%s", s)
	}
	if k := e.m.Keys(); k[0].Enabled() {
		t.Error("discover is enabled for an observer")
	}
}

// TestOptionBytesSection shows what the option bytes said, once read.
func TestOptionBytesSection(t *testing.T) {
	e := newEnv(t, "h533-provisioning", true)
	if _, err := e.B.ReadOptionBytes(context.Background(), e.C.Token(), bench.OBRequest{}); err != nil {
		t.Fatal(err)
	}
	e.Pump()
	s := e.Screen()
	for _, w := range []string{"What the option bytes say", "TZEN", "not provisioned (OBK DA record is blank)"} {
		if !strings.Contains(s, w) {
			t.Errorf("screen lacks %q:\n%s", w, s)
		}
	}
}

var colour = regexp.MustCompile(`\x1b\[[0-9;]*(?:3[0-9]|4[0-9]|9[0-7]|10[0-7])(?:;[0-9;]*)?m`)

func TestNoColorAndSizes(t *testing.T) {
	e := newEnv(t, "h533-closed-da", true)
	for _, stage := range []string{"", "d"} {
		e.Keys(stage)
		for _, sz := range [][2]int{{80, 24}, {160, 48}, {200, 60}, {30, 6}, {1, 1}} {
			e.m.SetSize(sz[0], sz[1])
			v := e.m.View()
			tuitest.CheckSize(t, v, sz[0], sz[1])
			if colour.MatchString(v) {
				t.Errorf("colour escape with NO_COLOR at %v", sz)
			}
		}
	}
	e.C.SetTheme(common.Theme{Dark: true})
	e.m.SetSize(80, 24)
	if !colour.MatchString(e.m.View()) {
		t.Error("the dark theme draws no colour")
	}
}

// TestScroll: at 80×24 the pane scrolls to the option-byte section.
func TestScroll(t *testing.T) {
	e := newEnv(t, "h533-provisioning", true)
	e.Keys("d")
	for range 30 {
		e.Keys("down")
	}
	if s := e.Screen(); !strings.Contains(s, "What the option bytes say") {
		t.Errorf("scrolled screen:\n%s", s)
	}
	for range 30 {
		e.Keys("up")
	}
	if e.m.Scroll != 0 {
		t.Errorf("scroll %d", e.m.Scroll)
	}
}

// TestMonkey presses random keys (fixed seed): no panic, exact size.
func TestMonkey(t *testing.T) {
	keys := []string{"up", "down", "d", "R", "o", "p", "v", "a", "j", "k", "enter", "esc", "x", "tab", "space"}
	e := newEnv(t, "h533-provisioning-da", true)
	rng := rand.New(rand.NewPCG(2, 3))
	for i := range 300 {
		e.Keys(keys[rng.IntN(len(keys))])
		if i%30 == 0 {
			w, h := 10+rng.IntN(200), 2+rng.IntN(60)
			e.m.SetSize(w, h)
			tuitest.CheckSize(t, e.m.View(), w, h)
		}
	}
	e.Send(tea.MouseWheelMsg{Button: tea.MouseWheelDown})
}

func TestGolden(t *testing.T) {
	tests := []struct {
		name     string
		scenario string
		observer bool
		keys     []string
	}{
		{name: "empty", scenario: "h533-provisioning"},
		{name: "empty-observer", scenario: "h533-provisioning", observer: true},
		{name: "seed", scenario: "h533-provisioning", keys: []string{"d"}},
		{name: "closed-da", scenario: "h533-closed-da", keys: []string{"d"}},
		{name: "failed", scenario: "no-nrst", keys: []string{"d"}},
		{name: "locked", scenario: "h533-locked", keys: []string{"d"}},
		{name: "regress-form", scenario: "h533-closed-da", keys: []string{"d", "R"}},
		{name: "regress-plan", scenario: "h533-closed-da", keys: []string{"d", "R", "enter"}},
		{name: "regress-guard", scenario: "h533-closed-da", keys: []string{"d", "R", "enter", "a", "type:regress"}},
		{name: "provision-plan", scenario: "h533-provisioning", keys: []string{"d", "p", "tab", "type:H533", "enter"}},
	}
	testdata, err := filepath.Abs("testdata")
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, sz := range [][2]int{{80, 24}, {160, 48}} {
				// The credentials in the current directory, so that the
				// screens name them the same on every run.
				creds := t.TempDir()
				t.Chdir(creds)
				switch tt.scenario {
				case "h533-closed-da":
					if err := scenario.Credentials(tt.scenario, creds); err != nil {
						t.Fatal(err)
					}
				case "h533-provisioning":
					if err := scenario.Credentials("h533-provisioning-da", creds); err != nil {
						t.Fatal(err)
					}
				}
				e := newEnv(t, tt.scenario, !tt.observer, writeflow.WithStateDir(t.TempDir()), writeflow.WithSearchDirs("."))
				e.testdata = testdata
				e.m.SetSize(sz[0], sz[1])
				e.Keys(tt.keys...)
				e.golden(tt.name+"-"+sizeName(sz), sz[0], sz[1])
			}
		})
	}
}

func sizeName(sz [2]int) string {
	return map[[2]int]string{{80, 24}: "80x24", {160, 48}: "160x48"}[sz]
}

// BenchmarkRender draws the pane at 200×60 after a discovery.
func BenchmarkRender(b *testing.B) {
	e := newEnv(b, "h533-closed-da", true)
	e.C.SetTheme(common.Theme{Dark: true})
	e.Keys("d")
	e.m.SetSize(200, 60)
	b.ReportAllocs()
	for b.Loop() {
		_ = e.m.View()
	}
}
