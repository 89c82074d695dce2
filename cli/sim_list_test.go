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
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != len(scenario.List()) {
		t.Fatalf("%d lines for %d scenarios:\n%s", len(lines), len(scenario.List()), out)
	}
	if !strings.HasPrefix(lines[0], scenario.DefaultName) || !strings.HasSuffix(lines[0], "(default)") {
		t.Errorf("first line %q", lines[0])
	}

	code, out, errOut = runCmd(t, "sim", "list", "--json")
	if code != 0 {
		t.Fatal(errOut)
	}
	var list []simListEntry
	if err := json.Unmarshal([]byte(out), &list); err != nil {
		t.Fatal(err)
	}
	if len(list) != len(scenario.List()) || !list[0].Default || list[0].Expect["hotplug_ap1"] != "ok" || list[0].TargetVolts != 3.29 {
		t.Errorf("JSON: %+v", list[0])
	}

	if code, _, _ := runCmd(t, "sim", "list", "extra"); code != 2 {
		t.Errorf("extra argument: exit %d, want 2", code)
	}
}
