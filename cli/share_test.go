package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stprobe/stprobe/bench"
	"github.com/stprobe/stprobe/internal/peertest"
	"github.com/stprobe/stprobe/targets"
)

// TestShareWithOpenOCD runs `stprobe share` on a simulated H533 and stock
// OpenOCD through it: RAM written and read, the core halted and resumed,
// then the option registers unlocked with the OPTKEYR keys. The unlock is
// in the audit log under the name of the user running it once OpenOCD left, with the
// option bytes read again (the registers left unlocked).
func TestShareWithOpenOCD(t *testing.T) {
	openocd := peertest.Need(t, "openocd", "openocd")
	dir := t.TempDir()
	port, stderr := startShare(t, dir)
	keyr := targets.H5FlashRegs + targets.FlashOPTKEYR
	octx, ocancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer ocancel()
	out, err := h5OpenOCD(t, openocd, strconv.Itoa(port)).Run(octx, "init", "halt", "mww 0x20000010 0x5EC0DD00", "mdw 0x20000010",
		"resume", "stm32h5.cpu curstate",
		fmt.Sprintf("mww 0x%08X 0x%08X", keyr, targets.OptKey1), fmt.Sprintf("mww 0x%08X 0x%08X", keyr, targets.OptKey2),
		"shutdown")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for _, want := range []string{"halted due to debug-request", "0x20000010: 5ec0dd00", "\nrunning\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("OpenOCD output lacks %q:\n%s", want, out)
		}
	}
	var rec struct {
		User    string            `json:"user"`
		Changes []string          `json:"changes"`
		After   map[string]uint32 `json:"after"`
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		data, _ := os.ReadFile(filepath.Join(dir, bench.AuditFile))
		if lines := strings.Split(strings.TrimSpace(string(data)), "\n"); len(data) > 0 {
			if err := json.Unmarshal([]byte(lines[len(lines)-1]), &rec); err != nil {
				t.Fatalf("audit line: %v\n%s", err, data)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("OpenOCD's option-register writes never reached the audit log; stderr:\n%s", stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if want := (&app{}).userName() + " (share)"; rec.User != want {
		t.Errorf("audit user %q, want %q", rec.User, want)
	}
	if text := strings.Join(rec.Changes, "\n"); !strings.Contains(text, "OpenOCD via TCP") || !strings.Contains(text, fmt.Sprintf("0x%08X", keyr)) {
		t.Errorf("audit changes:\n%s", text)
	}
	if rec.After == nil || !strings.Contains(strings.Join(rec.Changes, "\n"), bench.UnlockedAfterTool) {
		t.Errorf("the audit line does not show the option bytes read after OpenOCD, unlocked: %+v\nstderr:\n%s", rec, stderr.String())
	}
}

// startShare runs `stprobe --sim h533-open share` on a free loopback port
// with the state directory dir until the test ends, once it says it
// shares; it returns the port and the command's stderr.
func startShare(t *testing.T, dir string) (int, *peertest.Output) {
	t.Helper()
	port := freePort(t)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	ctx, cancel := context.WithCancel(context.Background())
	stderr := &peertest.Output{}
	done := make(chan int, 1)
	go func() {
		done <- Run(ctx, Config{}, []string{"--sim", "h533-open", "share", "--listen", addr, "--state-dir", dir}, nil, &bytes.Buffer{}, stderr)
	}()
	t.Cleanup(func() {
		cancel()
		if code := <-done; code != 0 {
			t.Errorf("share exited %d: %s", code, stderr.String())
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(stderr.String(), "sharing the probe as an stlink-server on "+addr) {
		if time.Now().After(deadline) {
			t.Fatalf("share never said it shares: %s", stderr.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	return port, stderr
}

// freePort is a TCP port nobody listens on now.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// TestGDBBreakpointThroughShare: gdb-multiarch, through stock OpenOCD on
// the shared probe, sets a hardware breakpoint; with breakpoints always
// inserted OpenOCD programs the core's FPB at once, and the comparator
// reads back through the same chain (FPBv2: the address with enable bit 0).
func TestGDBBreakpointThroughShare(t *testing.T) {
	openocd := peertest.Need(t, "openocd", "openocd")
	gdb := peertest.Need(t, "gdb-multiarch", "gdb-multiarch")
	port, _ := startShare(t, t.TempDir())
	gdbPort := freePort(t)
	octx, ocancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer ocancel()
	var ocdOut peertest.Output
	ocd := exec.CommandContext(octx, openocd, h5OpenOCD(t, openocd, strconv.Itoa(port)).Args(fmt.Sprintf("gdb_port %d", gdbPort), "init")...)
	ocd.Stdout, ocd.Stderr = &ocdOut, &ocdOut
	if err := ocd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = ocd.Process.Kill()
		_ = ocd.Wait()
	}()
	deadline := time.Now().Add(60 * time.Second)
	for !strings.Contains(ocdOut.String(), fmt.Sprintf("Listening on port %d for gdb connections", gdbPort)) {
		if time.Now().After(deadline) {
			t.Fatalf("OpenOCD never listened for gdb:\n%s", ocdOut.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	out, err := exec.CommandContext(octx, gdb, "-batch", "-nx",
		"-ex", "set breakpoint always-inserted on",
		"-ex", fmt.Sprintf("target extended-remote 127.0.0.1:%d", gdbPort),
		"-ex", "hbreak *0x08000100",
		"-ex", "monitor mdw 0xE0002008",
		"-ex", "info breakpoints",
		"-ex", "detach").CombinedOutput()
	if err != nil {
		t.Fatalf("gdb-multiarch: %v\n%s\nOpenOCD:\n%s", err, out, ocdOut.String())
	}
	t.Logf("gdb:\n%s", out)
	for _, want := range []string{"Hardware assisted breakpoint 1 at 0x8000100", "0xe0002008: 08000101"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("gdb output lacks %q:\n%s\nOpenOCD:\n%s", want, out, ocdOut.String())
		}
	}
}
