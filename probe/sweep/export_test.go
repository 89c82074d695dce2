package sweep

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stprobe/stprobe/probe"
	"github.com/stprobe/stprobe/targets"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// seedMatrix is the thread's board after step 4: PROVISIONING, reached only
// with Hot Plug on AP1, with modelled durations.
func seedMatrix() *Matrix {
	p := Plan{Modes: DefaultModes(), APs: DefaultAPs(), FrequenciesKHz: []int{4000, 100}}
	h := thread()
	h.Target = "h533-provisioning"
	m := build(p, h, func(k Key) Cell {
		var c Cell
		switch {
		case k.AP == 0:
			c = okAP0(0x3)
		case k.Mode == probe.ModeHotPlug:
			c = okAP1(targets.StateProvisioning, targets.TZENEnabled, probe.CoreRunning)
		default:
			c = closedAP1()
		}
		c.Wire = time.Duration(k.KHz) * time.Microsecond
		c.Wall = 2 * time.Millisecond
		return c
	})
	for _, c := range m.Cells {
		m.Wire += c.Wire
		m.Wall += c.Wall
	}
	// The sweep reads the DA data once, in the first cell that finds
	// PROVISIONING.
	m.Find(Key{Mode: probe.ModeHotPlug, AP: 1, KHz: 4000}).DA = &targets.DAStatus{Checked: true, Source: "OBK DA record is blank"}
	return m
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (go test -update rewrites it):\n%s", name, got)
	}
}

func TestMarkdownGolden(t *testing.T) {
	m := seedMatrix()
	var b bytes.Buffer
	if err := WriteMarkdown(&b, m, Diagnose(m)); err != nil {
		t.Fatal(err)
	}
	golden(t, "seed.md", b.Bytes())
	for _, want := range []string{"| probe | ST-LINK/V2 (serial 066DFF3638514E4B43223243) via sim |", "| firmware | V2J46S7 |",
		"| target voltage | 3.29 V |", "| target | h533-provisioning |", "| time | 2026-11-24 03:00:00 UTC |",
		"| hotplug | AP1 | ok, PROVISIONING | ok, PROVISIONING |", "| normal | AP1 | ap-closed (0x11) |",
		"1. **CRITICAL: PROVISIONING, no DA provisioned: still recoverable, do this first.**",
		"debug authentication not provisioned (OBK DA record is blank)"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("Markdown lacks %q", want)
		}
	}
}

func TestMarkdownCancelledGolden(t *testing.T) {
	m := seedMatrix()
	for i := 3; i < len(m.Cells); i++ {
		m.Cells[i] = Cell{Key: m.Cells[i].Key, Outcome: OutcomeSkipped, Reason: "sweep cancelled"}
	}
	m.Cancelled = true
	m.Header.HasVoltage = false
	var b bytes.Buffer
	if err := WriteMarkdown(&b, m, Diagnose(m)); err != nil {
		t.Fatal(err)
	}
	golden(t, "cancelled.md", b.Bytes())
}

func TestCSVGolden(t *testing.T) {
	m := seedMatrix()
	var b bytes.Buffer
	if err := WriteCSV(&b, m); err != nil {
		t.Fatal(err)
	}
	golden(t, "seed.csv", b.Bytes())
	rows, err := csv.NewReader(bytes.NewReader(b.Bytes())).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1+len(m.Cells) {
		t.Fatalf("%d rows, want header + %d", len(rows), len(m.Cells))
	}
	for _, r := range rows {
		if len(r) != len(csvColumns) {
			t.Errorf("row of %d fields, want %d", len(r), len(csvColumns))
		}
	}
}

func TestTextReport(t *testing.T) {
	m := seedMatrix()
	var b bytes.Buffer
	if err := WriteText(&b, m, Diagnose(m)); err != nil {
		t.Fatal(err)
	}
	golden(t, "seed.txt", b.Bytes())
}

func TestJSONRoundTrip(t *testing.T) {
	m := seedMatrix()
	m.Cells[0].TeardownErr = "leave debug mode: probe busy"
	m.Cells[1].Status = 0x14
	fs := Diagnose(m)
	var b bytes.Buffer
	if err := WriteJSON(&b, m, fs); err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(b.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if f := doc["findings"].([]any)[0].(map[string]any); f["rule"] != "provisioning" || f["severity"] != "critical" {
		t.Errorf("first JSON finding %v", f)
	}
	back, err := ReadJSON(&b)
	if err != nil {
		t.Fatal(err)
	}
	// Durations survive at microsecond resolution; the rest exactly.
	if !reflect.DeepEqual(back, m) {
		t.Errorf("round trip differs:\n got %+v\nwant %+v", back.Cells[0], m.Cells[0])
	}
	if got := Diagnose(back); !reflect.DeepEqual(got, fs) {
		t.Error("diagnosis of the read-back matrix differs")
	}
}

func TestReadJSONRejects(t *testing.T) {
	for _, doc := range []string{
		``, `[]`, `{"cells":[{"mode":"sideways"}]}`,
		`{"cells":[{"mode":"normal","outcome":"great"}]}`,
		`{"cells":[{"mode":"normal","outcome":"ok","dpidr":"0x1FFFFFFFF"}]}`,
		`{"cells":[{"mode":"normal","outcome":"ok","core":"dancing"}]}`,
		`{"plan":{"modes":["x"]}}`,
	} {
		if _, err := ReadJSON(strings.NewReader(doc)); err == nil {
			t.Errorf("ReadJSON(%q) accepted", doc)
		}
	}
}

func TestExportsOfNil(t *testing.T) {
	var b bytes.Buffer
	for _, err := range []error{WriteJSON(&b, nil, nil), WriteCSV(&b, nil), WriteMarkdown(&b, nil, nil), WriteText(&b, nil, nil)} {
		if err != nil {
			t.Error(err)
		}
	}
}

// DBGMCU_SR read under reset is named apart only where it differs from the
// running chip's.
func TestIDsAPStatusUnderReset(t *testing.T) {
	cell := func(mode probe.ConnectMode, enabled uint16) Cell {
		return Cell{Key: Key{Mode: mode, AP: 0, KHz: 4000}, HasAPStatus: true, APPresent: 3, APEnabled: enabled}
	}
	for _, tc := range []struct {
		name  string
		cells []Cell
		want  []string
	}{
		{"same", []Cell{cell(probe.ModeNormal, 3), cell(probe.ModeUnderReset, 3)},
			[]string{"DBGMCU_SR AP present 0x0003, enabled 0x0003"}},
		{"opens after boot", []Cell{cell(probe.ModeUnderReset, 1), cell(probe.ModeNormal, 3)},
			[]string{"DBGMCU_SR AP present 0x0003, enabled 0x0003", "DBGMCU_SR AP present 0x0003, enabled 0x0001 under reset"}},
		{"only under reset", []Cell{cell(probe.ModeUnderReset, 1)},
			[]string{"DBGMCU_SR AP present 0x0003, enabled 0x0001 under reset"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := ids(&Matrix{Cells: tc.cells}); !slices.Equal(got, tc.want) {
				t.Errorf("ids = %q, want %q", got, tc.want)
			}
		})
	}
}
