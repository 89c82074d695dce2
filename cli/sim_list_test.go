package cli

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stprobe/stprobe/probe/sim/scenario"
)

func TestCmdSimList(t *testing.T) {
	code, out, errOut := runCmd(t, "sim", "list")
	if code != 0 {
		t.Fatal(errOut)
	}
	// Grouped by family: a heading, then the family's boards indented, a
	// blank line between groups; the default board first.
	var boards, heads []string
	for _, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		switch {
		case strings.HasPrefix(line, "  "):
			boards = append(boards, strings.TrimSpace(line))
		case line != "":
			heads = append(heads, line)
		}
	}
	if len(boards) != len(scenario.List()) {
		t.Fatalf("%d board lines for %d scenarios:\n%s", len(boards), len(scenario.List()), out)
	}
	if !strings.HasPrefix(boards[0], scenario.DefaultName) || !strings.HasSuffix(boards[0], "(default)") {
		t.Errorf("first board line %q", boards[0])
	}
	want := []string{"STM32H5", "STM32F1", "STM32F4", "STM32G0", "STM32G4", "STM32L4", "STM32U5", "STM32H7", "no STM32: wiring, power, a generic core"}
	if strings.Join(heads, "|") != strings.Join(want, "|") {
		t.Errorf("family headings %q, want %q", heads, want)
	}
	for _, name := range []string{"u585-rdp05-tz", "h743-rdp1"} {
		if !strings.Contains(out, "  "+name+" ") {
			t.Errorf("no line for %s", name)
		}
	}

	code, out, errOut = runCmd(t, "sim", "list", "--json")
	if code != 0 {
		t.Fatal(errOut)
	}
	var list []simListEntry
	if err := json.Unmarshal([]byte(out), &list); err != nil {
		t.Fatal(err)
	}
	if len(list) != len(scenario.List()) || !list[0].Default || list[0].Expect["hotplug_ap1"] != "ok" || list[0].TargetVolts != 3.29 || list[0].Family != "STM32H5" {
		t.Errorf("JSON: %+v", list[0])
	}
	// The JSON keeps the registry's order and only gains the family.
	for i, s := range scenario.List() {
		if list[i].Name != s.Name || list[i].Family != s.Family() {
			t.Errorf("JSON entry %d: %s (%s), want %s (%s)", i, list[i].Name, list[i].Family, s.Name, s.Family())
		}
	}

	if code, _, _ := runCmd(t, "sim", "list", "extra"); code != 2 {
		t.Errorf("extra argument: exit %d, want 2", code)
	}
}
