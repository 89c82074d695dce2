package cli

import (
	"context"
	"encoding/json"
	"net"
	"strings"
	"testing"

	"github.com/stprobe/stprobe/probe/sim"
	"github.com/stprobe/stprobe/probe/sim/scenario"
)

func TestListSimAndServer(t *testing.T) {
	sc, err := scenario.Lookup("h533-open")
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- sim.Serve(ctx, ln, sc.NewProbe()) }()
	defer func() { cancel(); ln.Close(); <-done }()

	code, out, errOut := runCmd(t, "--sim", "h533-open", "--server", ln.Addr().String(), "list", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var got []probeJSON
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	backends := map[string]probeJSON{}
	for _, p := range got {
		backends[p.Backend] = p
	}
	if p := backends["sim"]; p.Firmware != "V2J46S7" || p.Address != "sim:h533-open" {
		t.Errorf("sim entry %+v", p)
	}
	if p := backends["stlink-server"]; p.Address != ln.Addr().String() || p.Model != "ST-LINK/V2" || len(p.Serial) != 24 {
		t.Errorf("server entry %+v", p)
	}

	code, out, _ = runCmd(t, "--sim", "h533-open", "list")
	if code != 0 || !strings.Contains(out, "BACKEND") || !strings.Contains(out, "sim:h533-open") {
		t.Errorf("text listing (exit %d):\n%s", code, out)
	}
	if code, _, _ := runCmd(t, "list", "--bogus"); code != 2 {
		t.Errorf("bad flag: exit %d", code)
	}
}
