package usbrelay_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stprobe/stprobe/internal/peertest"
	"github.com/stprobe/stprobe/probe/sim"
	"github.com/stprobe/stprobe/probe/sim/usbrelay"
)

// lockedBuffer is a bytes.Buffer safe for the relay's goroutine.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// needPeers skips the test when the relay or a peer tool is missing,
// unless CI is "true": then it fails.
func needPeers(t *testing.T, tools ...string) {
	t.Helper()
	missing := usbrelay.Available()
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil && missing == nil {
			missing = err
		}
	}
	if missing == nil {
		return
	}
	peertest.Missing(t, fmt.Sprintf("peer test: %v", missing))
}

// OpenOCD through the USB relay with a cost log: one JSON line for the
// session (from claiming the probe's interface to releasing it), whose
// commands, USB transfers, SWD bits and modelled time are the probe's own
// counts (OpenOCD was its only client).
func TestOpenOCDThroughRelayCostLog(t *testing.T) {
	needPeers(t, "openocd")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	p := newProbe(t, "V3J7M3", 0x374E, "0670FF485550755187121723")
	var costLog, summary lockedBuffer
	r, err := usbrelay.StartWith(ctx, sim.CostOptions{CostLog: &costLog, Summary: &summary}, usbrelay.Device{Probe: p})
	if err != nil {
		t.Fatal(err)
	}
	out, err := r.Command(ctx, "openocd",
		"-f", "interface/stlink-dap.cfg", "-c", "transport select dapdirect_swd",
		"-c", "gdb_port disabled", "-c", "tcl_port disabled", "-c", "telnet_port disabled",
		"-c", "swd newdap chip cpu -expected-id 0x6ba02477",
		"-c", "dap create chip.dap -chain-position chip.cpu",
		"-c", "target create chip.cpu cortex_m -dap chip.dap -ap-num 1",
		"-c", "init", "-c", "mdw 0x20000000 4", "-c", "shutdown").CombinedOutput()
	if cerr := r.Close(); cerr != nil {
		t.Errorf("relay: %v", cerr)
	}
	if err != nil {
		t.Fatalf("openocd: %v\n%s", err, out)
	}
	var logged []sim.SessionCost
	sc := bufio.NewScanner(strings.NewReader(costLog.String()))
	for sc.Scan() {
		var c sim.SessionCost
		if err := json.Unmarshal(sc.Bytes(), &c); err != nil {
			t.Fatalf("cost log line %q: %v", sc.Text(), err)
		}
		logged = append(logged, c)
	}
	if len(logged) != 1 {
		t.Fatalf("cost log has %d lines, want 1:\n%s", len(logged), costLog.String())
	}
	got, want := logged[0], p.Stats()
	if got.Server != "usb-relay" || got.Commands != want.Commands || got.USBTransfers != want.USBTransfers ||
		got.SWDBits != want.SWDBits || got.Modelled != want.Wire {
		t.Errorf("cost log %+v, probe counted %+v", got, want)
	}
	if got.Commands == 0 || got.CommandsByKind["READ_IDCODES"] == 0 || got.Requests < got.Commands {
		t.Errorf("session %+v does not show OpenOCD's commands", got)
	}
	if !strings.HasPrefix(summary.String(), "usb-relay session 1 (usb bus 001 device 002)") {
		t.Errorf("summary %q", summary.String())
	}
	t.Logf("%s", summary.String())
}
