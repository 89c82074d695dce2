package cli

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
	code := Run(context.Background(), Config{}, args, nil, &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestCmdDADiscover(t *testing.T) {
	code, out, errOut := runDA("--sim", "h533-tz-closed-no-da", "da", "discover", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var got struct {
		State       string        `json:"state"`
		Provisioned bool          `json:"provisioned"`
		DevID       string        `json:"dev_id"`
		UID         string        `json:"uid"`
		Discovery   *da.Discovery `json:"discovery"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("%v in %s", err, out)
	}
	if got.State != "TZ_CLOSED" || got.Provisioned || got.DevID != "0x478" || len(got.UID) != 24 {
		t.Errorf("summary %+v", got)
	}
	if d := got.Discovery; d == nil || d.State != targets.StateTZClosed || d.Provisioned() || d.SoCClass != 0x478 {
		t.Errorf("discovery %v", d)
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
