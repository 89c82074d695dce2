package sweep

import (
	"bytes"
	"encoding/csv"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// silentPathsMatrix is the seed board at the end of the thread: TZ_CLOSED, only
// AP0 answers, with both ROM bootloader paths silent beside the cells.
func silentPathsMatrix() *Matrix {
	p := Plan{Modes: DefaultModes(), APs: DefaultAPs(), FrequenciesKHz: []int{4000, 100}}
	h := thread()
	h.Target = "h533-tz-closed-no-da"
	m := build(p, h, func(k Key) Cell {
		if k.AP == 0 {
			return okAP0(0x1)
		}
		return closedAP1()
	})
	m.AddPaths([]PathRow{
		{Path: "usb-dfu", Outcome: "silent", Summary: "usb-dfu: silent - no 0483:DF11 on the bus", Implies: "no bootloader on this path"},
		{Path: "uart", Outcome: "silent", Summary: "uart: silent - no answer to two 0x7F sync bytes", Implies: "no bootloader on this path"},
	}, []Finding{{Rule: "boot-silent", Severity: SeverityWarning,
		Title:  "The ROM bootloader is silent on usb-dfu and uart: consistent with TZ_CLOSED, CLOSED or LOCKED",
		Detail: "Silence on every bootloader path together with a closed AP1 on SWD is what a closed chip looks like.",
		Checks: []string{"BOOT0 really high at reset", "USB D+ pull-up"}}})
	return m
}

func TestPathsInTheDiagnosis(t *testing.T) {
	m := silentPathsMatrix()
	fs := Diagnose(m)
	i := slices.IndexFunc(fs, func(f Finding) bool { return f.Rule == "boot-silent" })
	if i < 0 {
		t.Fatalf("the path finding is not in the diagnosis: %+v", fs)
	}
	if !fs[i].OtherPaths || len(fs[i].Checks) != 2 {
		t.Errorf("path finding %+v", fs[i])
	}
	if fs[0].Rule != "debug-closed" {
		t.Errorf("first finding %q, want the critical debug-closed first", fs[0].Rule)
	}
	// AddPaths replaces; nil rows and findings clear.
	m.AddPaths(nil, nil)
	if m.OtherPaths != nil || m.PathFindings != nil || slices.ContainsFunc(Diagnose(m), func(f Finding) bool { return f.OtherPaths }) {
		t.Errorf("AddPaths(nil, nil) left %+v %+v", m.OtherPaths, m.PathFindings)
	}
}

func TestPathsExports(t *testing.T) {
	m := silentPathsMatrix()
	fs := Diagnose(m)
	var b bytes.Buffer
	if err := WriteText(&b, m, fs); err != nil {
		t.Fatal(err)
	}
	golden(t, "paths.txt", b.Bytes())
	for _, want := range []string{"usb-dfu      -    silent", "uart         -    silent",
		"  means: no bootloader on this path", "  check: BOOT0 really high at reset"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("text lacks %q", want)
		}
	}

	b.Reset()
	if err := WriteMarkdown(&b, m, fs); err != nil {
		t.Fatal(err)
	}
	golden(t, "paths.md", b.Bytes())
	for _, want := range []string{"| usb-dfu | — | silent |  |", "*Check by hand:* BOOT0 really high at reset; USB D+ pull-up."} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("Markdown lacks %q", want)
		}
	}

	b.Reset()
	if err := WriteCSV(&b, m); err != nil {
		t.Fatal(err)
	}
	golden(t, "paths.csv", b.Bytes())
	rows, err := csv.NewReader(&b).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1+len(m.Cells)+2 || rows[len(rows)-1][0] != "uart" || rows[len(rows)-1][4] != "silent" {
		t.Errorf("CSV rows: %d, last %q", len(rows), rows[len(rows)-1])
	}
}

func TestPathsJSONRoundTrip(t *testing.T) {
	m := silentPathsMatrix()
	fs := Diagnose(m)
	var b bytes.Buffer
	if err := WriteJSON(&b, m, fs); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"other_paths": [`, `"path": "usb-dfu"`, `"other_path": true`, `"checks": [`} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("JSON lacks %s", want)
		}
	}
	back, err := ReadJSON(&b)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back.OtherPaths, m.OtherPaths) || !reflect.DeepEqual(back.PathFindings, m.PathFindings) {
		t.Errorf("round trip: paths %+v, findings %+v", back.OtherPaths, back.PathFindings)
	}
	if got := Diagnose(back); !reflect.DeepEqual(got, fs) {
		t.Errorf("diagnosis of the read-back matrix differs:\n got %+v\nwant %+v", got, fs)
	}
	if _, err := ReadJSON(strings.NewReader(`{"findings":[{"other_path":true,"severity":"dire"}]}`)); err == nil {
		t.Error("a path finding with an unknown severity was accepted")
	}
}
