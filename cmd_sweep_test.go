package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/stprobe/stprobe/probe/proto"
	"github.com/stprobe/stprobe/probe/sweep"
)

func runSweep(t *testing.T, ctx context.Context, scenario string, args ...string) (string, string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err := cmdSweep(ctx, &globalFlags{sim: scenario}, args, &out, &errOut)
	return out.String(), errOut.String(), err
}

func TestCmdSweepText(t *testing.T) {
	out, errOut, err := runSweep(t, context.Background(), "h533-provisioning", "--freqs", "4000,100")
	if err != nil {
		t.Fatalf("%v\n%s", err, errOut)
	}
	for _, want := range []string{"ST-LINK/V2", "V2J46S7", "3.29 V", "simulated h533-provisioning: STM32H523/H533",
		"hotplug      AP1  ok, PROVISIONING", "[critical] PROVISIONING", "4000 kHz", "100 kHz"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if errOut != "" {
		t.Errorf("stderr not a terminal, yet got %q", errOut)
	}
}

func TestCmdSweepFormats(t *testing.T) {
	out, _, err := runSweep(t, context.Background(), "h533-tz-closed-no-da", "--json", "--aps", "0,1", "--freqs", "100")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Header   struct{ Target string }
		Cells    []struct{ Mode, Outcome string }
		Findings []struct{ Rule, Severity string }
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if len(doc.Cells) != 6 || len(doc.Findings) == 0 || doc.Findings[0].Rule != "debug-closed" {
		t.Errorf("JSON: %d cells, findings %+v", len(doc.Cells), doc.Findings)
	}
	if _, err := sweep.ReadJSON(strings.NewReader(out)); err != nil {
		t.Errorf("our JSON does not read back: %v", err)
	}

	out, _, err = runSweep(t, context.Background(), "no-target", "--csv", "--modes", "hotplug", "--freqs", "4000,5")
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil || len(rows) != 1+4 {
		t.Fatalf("CSV %d rows (%v):\n%s", len(rows), err, out)
	}
	if rows[1][4] != "no-ack" {
		t.Errorf("CSV outcome %q", rows[1][4])
	}

	out, _, err = runSweep(t, context.Background(), "sleepy", "--md", "--freqs", "480")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"| under-reset | AP1 | ok, OPEN |", "| target voltage | 3.29 V |", "**WARNING: Only Under Reset works"} {
		if !strings.Contains(out, want) {
			t.Errorf("Markdown lacks %q:\n%s", want, out)
		}
	}
}

func TestCmdSweepUsage(t *testing.T) {
	for _, args := range [][]string{
		{"--json", "--md"}, {"--modes", "sideways"}, {"--aps", "300"}, {"--freqs", "0"},
		{"--freqs", "100,100"}, {"extra"}, {"--cell-timeout", "0s"},
		{"--modes", "normal,normal"}, {"--aps", "1,1"}, // duplicates with the default clocks
	} {
		_, errOut, err := runSweep(t, context.Background(), "h533-open", args...)
		if !errors.Is(err, errUsage) || !strings.Contains(errOut, "usage: stprobe sweep") {
			t.Errorf("%v: err %v, stderr %q", args, err, errOut)
		}
	}
}

// Ctrl-C in the middle of a sweep: the partial matrix is printed, the
// error says so, and the probe is left out of debug mode with NRST released.
func TestCmdSweepCancelled(t *testing.T) {
	b, err := openSim(context.Background(), "h533-open")
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var events []sweep.Progress
	cfg := sweepConfig{plan: sweep.Plan{FrequenciesKHz: []int{100}}, cellTimeout: sweep.DefaultCellTimeout,
		progress: func(p sweep.Progress) {
			events = append(events, p)
			if p.Index == 2 && p.Done {
				cancel()
			}
		}}
	var out bytes.Buffer
	err = sweepBench(ctx, b, cfg, &out)
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "sweep interrupted after 3 of 6 cells") {
		t.Fatalf("err %v", err)
	}
	if !strings.Contains(out.String(), "skipped") || !strings.Contains(out.String(), "3 of 6 cells were not tried") {
		t.Errorf("no partial matrix printed:\n%s", out.String())
	}
	if len(events) != 6 {
		t.Errorf("%d progress events, want 6 (3 cells, start and end)", len(events))
	}
	if b.Link.NRSTAsserted() || len(b.Link.OpenedAPs()) != 0 {
		t.Errorf("probe left with NRST low %v, APs open %v", b.Link.NRSTAsserted(), b.Link.OpenedAPs())
	}
	if mode, err := b.Link.Mode(context.Background()); err != nil || mode == proto.ModeDebug {
		t.Errorf("probe mode %v (%v), want out of debug mode", mode, err)
	}
}

func TestProgressLine(t *testing.T) {
	var b bytes.Buffer
	p := &progressLine{w: &b}
	p.show(sweep.Progress{Index: 0, Total: 30, Cell: sweep.Cell{Key: sweep.Key{AP: 1, KHz: 4000}}})
	p.show(sweep.Progress{Index: 0, Total: 30, Done: true, Cell: sweep.Cell{Key: sweep.Key{AP: 1, KHz: 4000}, Outcome: sweep.OutcomeAPClosed}})
	p.clear()
	got := b.String()
	if !strings.Contains(got, "\rsweep 1/30  normal      AP1  4000 kHz  ...") || !strings.Contains(got, "ap-closed") || !strings.HasSuffix(got, "\r") {
		t.Errorf("progress output %q", got)
	}
	if isTerminal(&b) {
		t.Error("a buffer is not a terminal")
	}
}
