package cli

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stprobe/stprobe/internal/peertest"
)

// TestSimBootDFUUtil runs dfu-util -l on the simulated bus: the ROM's DFU
// function is there when the bootloader runs, absent on a closed chip.
func TestSimBootDFUUtil(t *testing.T) {
	peertest.Need(t, "dfu-util", "dfu-util")
	needUSBRelay(t)
	tests := []struct {
		args  []string
		found bool
	}{
		{[]string{"--sim", "h533-provisioning"}, true},
		{[]string{"--sim", "h533-open", "sim", "boot", "--boot0", "high"}, true},
		{[]string{"--sim", "h533-open"}, false}, // BOOT0 low: the chip boots its flash
		{[]string{"--sim", "h533-tz-closed-no-da"}, false},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			args := tt.args
			if len(args) == 2 {
				args = append(args, "sim", "boot")
			}
			args = append(args, "--", "dfu-util", "-l")
			var out, errOut bytes.Buffer
			if code := Run(ctx, Config{}, args, nil, &out, &errOut); code != 0 {
				t.Fatalf("exit %d\n%s%s", code, out.String(), errOut.String())
			}
			if got := strings.Contains(out.String(), "Found DFU: [0483:df11]"); got != tt.found {
				t.Errorf("dfu-util found the ROM DFU: %v, want %v:\n%s", got, tt.found, out.String())
			}
		})
	}
}

// TestSimBootStm32flash serves the UART pty until cancelled and runs
// Debian's stm32flash on the path it prints.
func TestSimBootStm32flash(t *testing.T) {
	peertest.Need(t, "stm32flash", "stm32flash")
	tests := []struct {
		scenario, boot0 string
		want            string
	}{
		{"h533-open", "high", "Device ID: 0x478"},
		{"h533-provisioning", "low", "Device ID: 0x478"},
		{"h533-locked", "high", "Failed to init device"},
	}
	for _, tt := range tests {
		t.Run(tt.scenario, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			pr, pw := io.Pipe()
			done := make(chan int, 1)
			go func() {
				done <- Run(ctx, Config{}, []string{"--sim", tt.scenario, "sim", "boot", "--boot0", tt.boot0}, nil, pw, io.Discard)
				pw.Close()
			}()
			sc := bufio.NewScanner(pr)
			path := ""
			for path == "" && sc.Scan() {
				if rest, ok := strings.CutPrefix(sc.Text(), "UART (bootloader protocol) on "); ok {
					path = rest
				}
			}
			go io.Copy(io.Discard, pr)
			if path == "" {
				t.Fatal("no pty path printed")
			}
			out, _ := exec.CommandContext(ctx, "stm32flash", "-m", "8n1", "-b", "115200", path).CombinedOutput()
			if !strings.Contains(string(out), tt.want) {
				t.Errorf("stm32flash output lacks %q:\n%s", tt.want, out)
			}
			cancel()
			if code := <-done; code != 0 {
				t.Errorf("sim boot exit %d after ctrl-c", code)
			}
		})
	}
}

func TestSimBootUsage(t *testing.T) {
	if code, _, errOut := runCmd(t, "sim", "boot", "--boot0", "middle"); code != 2 || !strings.Contains(errOut, "usage: stprobe [--sim SCENARIO] sim boot") {
		t.Errorf("exit %d: %s", code, errOut)
	}
	if code, _, errOut := runCmd(t, "--sim", "generic-m33", "sim", "boot", "true"); code != 1 || !strings.Contains(errOut, "no ROM bootloader") {
		t.Errorf("a board without an STM32H5: exit %d: %s", code, errOut)
	}
}
