package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/stprobe/stprobe/probe/da"
	"github.com/stprobe/stprobe/targets"
)

func runDA(args ...string) (int, string, string) {
	var out, errOut bytes.Buffer
	code := run(context.Background(), args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestCmdDADiscover(t *testing.T) {
	code, out, errOut := runDA("--sim", "h533-tz-closed-no-da", "da", "discover", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var d da.Discovery
	if err := json.Unmarshal([]byte(out), &d); err != nil {
		t.Fatalf("%v in %s", err, out)
	}
	if d.State != targets.StateTZClosed || d.Provisioned() || d.SoCClass != 0x478 {
		t.Errorf("discovery %s", d.String())
	}
	code, out, _ = runDA("--sim", "h533-closed-da", "da", "discover", "--request", "STDA", "--reply", "0x53544441")
	if code != 0 || !strings.Contains(out, "CLOSED (lifecycle 0x2072), DA provisioned") {
		t.Errorf("exit %d: %s", code, out)
	}
	code, _, errOut = runDA("--sim", "no-nrst", "da", "discover")
	if code != 1 || !strings.Contains(errOut, "NRST must be wired") {
		t.Errorf("no-nrst: exit %d: %s", code, errOut)
	}
	if code, _, _ = runDA("--sim", "h533-open", "da", "discover", "--request", "toolong"); code != 2 {
		t.Errorf("bad word: exit %d", code)
	}
	if code, _, _ = runDA("--sim", "h533-open", "da"); code != 2 {
		t.Errorf("no subcommand: exit %d", code)
	}
}
