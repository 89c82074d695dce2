package cli

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/sirupsen/logrus"

	"github.com/stprobe/stprobe/bench"
	"github.com/stprobe/stprobe/probe/proto"
	"github.com/stprobe/stprobe/probe/sweep"
)

// runSweep runs stprobe --sim SCENARIO sweep ARGS.
func runSweep(t *testing.T, scenario string, args ...string) (string, string, error) {
	t.Helper()
	code, out, errOut := runCmd(t, append([]string{"--sim", scenario, "sweep"}, args...)...)
	var err error
	if code != 0 {
		err = fmt.Errorf("exit %d: %s", code, errOut)
	}
	return out, errOut, err
}

func TestCmdSweepText(t *testing.T) {
	out, errOut, err := runSweep(t, "h533-provisioning", "--freqs", "4000,100")
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
	out, _, err := runSweep(t, "h533-tz-closed-no-da", "--json", "--aps", "0,1", "--freqs", "100")
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

	out, _, err = runSweep(t, "no-target", "--csv", "--modes", "hotplug", "--freqs", "4000,5")
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

	out, _, err = runSweep(t, "sleepy", "--md", "--freqs", "480")
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
		code, _, errOut := runCmd(t, append([]string{"--sim", "h533-open", "sweep"}, args...)...)
		if code != 2 || !strings.Contains(errOut, "usage: stprobe sweep") {
			t.Errorf("%v: exit %d, stderr %q", args, code, errOut)
		}
	}
}

// Ctrl-C in the middle of a sweep: the partial matrix is printed, the
// error says so, and the probe is left out of debug mode with NRST released.
func TestCmdSweepCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var b *bench.Bench
	connects := 0
	b = simBench(t, "h533-open", func(_ int, e *logrus.Entry) {
		// ctrl-c as the fourth cell starts to connect
		if e.Message == "enter SWD" {
			if connects++; connects == 4 {
				cancel()
			}
		}
	})
	_, sub := b.Subscribe(1 << 16)
	var out, errOut bytes.Buffer
	a := newApp(Config{}, nil, &out, &errOut)
	a.bench = b
	code := a.execute(ctx, []string{"--sim", "h533-open", "sweep", "--freqs", "100"})
	if code != 1 || !strings.Contains(errOut.String(), "sweep interrupted after 3 of 6 cells") {
		t.Fatalf("exit %d, stderr %s", code, errOut.String())
	}
	if !strings.Contains(out.String(), "skipped") || !strings.Contains(out.String(), "3 of 6 cells were not tried") {
		t.Errorf("no partial matrix printed:\n%s", out.String())
	}
	sub.Close()
	cells := 0
	for {
		ev, err := sub.Next(context.Background())
		if err != nil {
			break
		}
		if _, ok := ev.(bench.SweepCell); ok {
			cells++
		}
	}
	if cells != 8 {
		t.Errorf("%d sweep cell events, want 8 (4 cells started and ended, the last one cancelled)", cells)
	}
	m := model(b)
	if m.Core().Status().HeldInReset {
		t.Error("probe left with NRST low")
	}
	if reply, _ := b.Simulated().Handle([16]byte{proto.CmdGetCurrentMode}, nil); len(reply) == 0 || proto.Mode(reply[0]) == proto.ModeDebug {
		t.Errorf("probe mode %v, want out of debug mode", reply)
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
