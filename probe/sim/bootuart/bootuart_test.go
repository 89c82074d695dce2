package bootuart_test

import (
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stprobe/stprobe/boot"
	"github.com/stprobe/stprobe/boot/uart"
	"github.com/stprobe/stprobe/internal/peertest"
	"github.com/stprobe/stprobe/probe/sim/bootuart"
	"github.com/stprobe/stprobe/probe/sim/scenario"
)

func serve(t *testing.T, name string, boot0 bool) *bootuart.Server {
	t.Helper()
	s, err := scenario.Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	s = s.WithBoot0(boot0)
	srv, err := bootuart.Serve(s.Bootloader(s.NewProbe()).NewUART())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return srv
}

// TestProbeOverPTY runs the UART probe through go.bug.st/serial on the pty.
func TestProbeOverPTY(t *testing.T) {
	tests := []struct {
		scenario string
		boot0    bool
		want     boot.Outcome
	}{
		{"h533-open", true, boot.Answered},
		{"h533-open", false, boot.Silent},
		{"h533-provisioning", false, boot.Answered},
		{"h533-locked", true, boot.Silent},
	}
	for _, tt := range tests {
		srv := serve(t, tt.scenario, tt.boot0)
		r := uart.ProbePort(context.Background(), srv.Path(), uart.Options{Timeout: 200 * time.Millisecond})
		if r.Outcome != tt.want {
			t.Errorf("%s BOOT0=%v: %s, want %v", tt.scenario, tt.boot0, r.Summary(), tt.want)
		}
		if tt.want == boot.Answered && r.PID != 0x478 {
			t.Errorf("%s: PID 0x%03X, want 0x478", tt.scenario, r.PID)
		}
		if srv.Received() == 0 {
			t.Errorf("%s: nothing reached the pty", tt.scenario)
		}
	}
}

// TestStm32flashAgrees runs Debian's stm32flash 0.7 against the pty: with
// the bootloader running it reads the Get list and Get ID (and stops at
// the H5 PID it does not know); a silent chip times out its init.
// stm32flash cannot set even parity on a pty, hence 8n1.
func TestStm32flashAgrees(t *testing.T) {
	if _, err := exec.LookPath("stm32flash"); err != nil {
		peertest.Missing(t, "stm32flash is not installed (package stm32flash)")
	}
	run := func(path string) string {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		out, _ := exec.CommandContext(ctx, "stm32flash", "-m", "8n1", "-b", "115200", path).CombinedOutput()
		return string(out)
	}
	out := run(serve(t, "h533-open", true).Path())
	t.Logf("OPEN, BOOT0 high:\n%s", out)
	for _, want := range []string{"GET returns unknown commands (0x50)", "Device ID: 0x478"} {
		if !strings.Contains(out, want) {
			t.Errorf("stm32flash output lacks %q", want)
		}
	}
	out = run(serve(t, "h533-provisioning", false).Path())
	if !strings.Contains(out, "Device ID: 0x478") {
		t.Errorf("PROVISIONING, BOOT0 low: stm32flash output lacks the ID:\n%s", out)
	}
	out = run(serve(t, "h533-tz-closed-no-da", true).Path())
	t.Logf("TZ_CLOSED:\n%s", out)
	if !strings.Contains(out, "Failed to init device") {
		t.Errorf("TZ_CLOSED: stm32flash did not time out:\n%s", out)
	}
}
