package cli

import (
	"testing"

	"github.com/stprobe/stprobe/bench"
	"github.com/stprobe/stprobe/probe"
)

// TestStatusLines: the memory and flash progress lines, and the events
// they leave alone.
func TestStatusLines(t *testing.T) {
	tests := []struct {
		name   string
		status func(bench.Event) (string, bool)
		ev     bench.Event
		want   string
		ok     bool
	}{
		{"memory read", memStatus, bench.ProbeProgress{Progress: probe.Event{Op: "read memory", Done: 512, Total: 2048}}, "read memory  512/2048 bytes   25%", true},
		{"memory, total unknown", memStatus, bench.ProbeProgress{Progress: probe.Event{Op: "read memory", Done: 512}}, "", false},
		{"not memory", memStatus, bench.ProbeProgress{Progress: probe.Event{Op: "connect", Done: 1, Total: 3}}, "", false},
		{"memory, other event", memStatus, bench.FlashStep{Step: bench.WriteEvent{Step: "erase", Done: 1, Total: 2}}, "", false},
		{"flash counted", flashStatus, bench.FlashStep{Step: bench.WriteEvent{Step: "program", Message: "sector 3", Done: 1, Total: 4}}, "program  [######..................]  25%  sector 3", true},
		{"flash uncounted", flashStatus, bench.FlashStep{Step: bench.WriteEvent{Step: "verify", Message: "reading back"}}, "verify   reading back", true},
		{"flash, other event", flashStatus, bench.ProbeProgress{Progress: probe.Event{Op: "read memory", Done: 1, Total: 2}}, "", false},
	}
	for _, tc := range tests {
		got, ok := tc.status(tc.ev)
		if got != tc.want || ok != tc.ok {
			t.Errorf("%s: got %q, %v; want %q, %v", tc.name, got, ok, tc.want, tc.ok)
		}
	}
}
