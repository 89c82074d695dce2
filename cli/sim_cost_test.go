package cli

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stprobe/stprobe/internal/peertest"
	"github.com/stprobe/stprobe/probe/sim"
)

// startSimServe runs `stprobe [global...] sim serve --listen 127.0.0.1:0
// extra...` and returns its address; stop ends it and returns its exit
// status and stderr.
func startSimServe(t *testing.T, global []string, extra ...string) (addr string, stop func() (int, string)) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	var stderr bytes.Buffer
	done := make(chan int, 1)
	args := append(append(append([]string{}, global...), "sim", "serve", "--listen", "127.0.0.1:0"), extra...)
	go func() {
		code := Run(ctx, Config{}, args, nil, pw, &stderr)
		pw.Close()
		done <- code
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		cancel()
		t.Fatalf("reading the listen line: %v (exit %d: %s)", err, <-done, stderr.String())
	}
	go io.Copy(io.Discard, pr)
	i := strings.LastIndex(line, " on ")
	if i < 0 {
		cancel()
		t.Fatalf("listen line %q", line)
	}
	stopped := false
	var code int
	stop = func() (int, string) {
		if !stopped {
			stopped = true
			cancel()
			code = <-done
		}
		return code, stderr.String()
	}
	t.Cleanup(func() { stop() })
	return strings.TrimSpace(line[i+4:]), stop
}

// An OpenOCD session through `sim serve --cost-log` leaves one JSON line in
// the log with its commands, transfers and modelled time, and one summary
// line on stderr.
func TestSimServeCostLogOpenOCD(t *testing.T) {
	openocd := peertest.Need(t, "openocd", "openocd")
	logPath := filepath.Join(t.TempDir(), "cost.jsonl")
	addr, stop := startSimServe(t, []string{"--sim", "h533-open"}, "--cost-log", logPath)
	_, port, _ := net.SplitHostPort(addr)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := h5OpenOCD(t, openocd, port).Run(ctx, "init", "stm32h5.ap0 mdw 0xE0044000", "shutdown")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	code, stderr := stop()
	if code != 0 {
		t.Fatalf("sim serve: exit %d: %s", code, stderr)
	}
	data, err := os.ReadFile(logPath)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	if len(lines) != 1 {
		t.Fatalf("cost log has %d lines, want 1:\n%s", len(lines), data)
	}
	var got sim.SessionCost
	if err := json.Unmarshal([]byte(lines[0]), &got); err != nil {
		t.Fatalf("cost log line: %v\n%s", err, lines[0])
	}
	if got.Server != "stlink-server" || got.Session != 1 || got.Commands == 0 || got.USBTransfers < got.Commands ||
		got.SWDBits == 0 || got.Modelled <= 0 || got.CommandsByKind["READ_IDCODES"] == 0 {
		t.Errorf("cost log line %+v", got)
	}
	if len(got.Probes) != 1 || got.Probes[0] != "55FF6B065177495619420887" {
		t.Errorf("probes %q, want the scenario's probe", got.Probes)
	}
	if n := strings.Count(stderr, "stlink-server session 1 ("); n != 1 {
		t.Errorf("stderr has %d session summaries, want 1:\n%s", n, stderr)
	}
}

// A stprobe client through `sim serve --cost-log` is one session too, and
// a second run appends.
func TestSimServeCostLogAppends(t *testing.T) {
	logPath := filepath.Join(t.TempDir(), "cost.jsonl")
	for run := 1; run <= 2; run++ {
		addr, stop := startSimServe(t, []string{"--sim", "h533-open"}, "--cost-log", logPath, "--pace")
		if code, _, errOut := runCmd(t, "--server", addr, "info"); code != 0 {
			t.Fatalf("info through sim serve: exit %d: %s", code, errOut)
		}
		if code, stderr := stop(); code != 0 {
			t.Fatalf("sim serve: exit %d: %s", code, stderr)
		}
		data, err := os.ReadFile(logPath)
		if err != nil {
			t.Fatal(err)
		}
		if n := strings.Count(string(data), "\n"); n < run {
			t.Fatalf("after run %d the cost log has %d lines:\n%s", run, n, data)
		}
	}
}

func TestSimCostLogUnwritable(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "no-such-dir", "cost.jsonl")
	code, _, errOut := runCmd(t, "--sim", "h533-open", "sim", "serve", "--listen", "127.0.0.1:0", "--cost-log", bad)
	if code != 1 || !strings.Contains(errOut, "--cost-log") {
		t.Errorf("exit %d, stderr %q; want exit 1 naming --cost-log", code, errOut)
	}
}

// st-info through `sim usb-relay --cost-log` is one session of the relay.
func TestSimUSBRelayCostLog(t *testing.T) {
	needUSBRelay(t)
	peertest.Need(t, "st-info", "stlink-tools")
	logPath := filepath.Join(t.TempDir(), "cost.jsonl")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var stdout, stderr bytes.Buffer
	if code := Run(ctx, Config{}, []string{"sim", "usb-relay", "--cost-log", logPath, "--", "st-info", "--probe"}, nil, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, stdout.String(), stderr.String())
	}
	data, err := os.ReadFile(logPath)
	if err != nil {
		t.Fatal(err)
	}
	var got sim.SessionCost
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	if err := json.Unmarshal([]byte(lines[0]), &got); err != nil {
		t.Fatalf("cost log: %v\n%s", err, data)
	}
	if got.Server != "usb-relay" || got.Commands == 0 || got.CommandsByKind["GET_VERSION"] == 0 {
		t.Errorf("cost log line %+v", got)
	}
	if !strings.Contains(stderr.String(), "usb-relay session 1 (") {
		t.Errorf("stderr lacks the session summary:\n%s", stderr.String())
	}
}
