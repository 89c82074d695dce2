package cli

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stprobe/stprobe/internal/peertest"
	"github.com/stprobe/stprobe/probe/sim/usbrelay"
)

// needUSBRelay skips the test (fails it in CI) where this machine cannot
// put simulated devices (probes, DFU boot loaders) on a USB bus.
func needUSBRelay(t *testing.T) {
	t.Helper()
	if err := usbrelay.Available(); err != nil {
		peertest.Missing(t, fmt.Sprintf("cannot simulate USB devices: %v", err))
	}
}

func TestSimUSBRelayRunsStInfo(t *testing.T) {
	needUSBRelay(t)
	peertest.Need(t, "st-info", "stlink-tools")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	tests := []struct {
		args []string
		want []string
	}{
		{[]string{"--", "st-info", "--probe"}, []string{"version:    V2J46S7", "serial:     55FF6B065177495619420887"}},
		{[]string{"--probe-kind", "v3", "st-info", "--probe"}, []string{"Found 1 stlink programmers", "serial:     002F00283137510B33333639"}},
		{[]string{"--raw-serial", "st-info", "--serial"}, []string{"55FF6B065177495619420887"}},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if code := Run(ctx, Config{}, append([]string{"sim", "usb-relay"}, tc.args...), nil, &stdout, &stderr); code != 0 {
				t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout.String(), stderr.String())
			}
			for _, w := range tc.want {
				if !strings.Contains(stdout.String(), w) {
					t.Errorf("output lacks %q:\n%s", w, stdout.String())
				}
			}
		})
	}
}

func TestSimUSBRelayUsage(t *testing.T) {
	for _, args := range [][]string{nil, {"--probe-kind", "v9", "true"}} {
		if code, _, errOut := runCmd(t, append([]string{"sim", "usb-relay"}, args...)...); code != 2 {
			t.Errorf("args %q: exit %d, want 2: %s", args, code, errOut)
		}
	}
	// An unknown scenario is a mistake in the global flags, found before
	// the relay starts.
	if code, _, _ := runCmd(t, "--sim", "no-such-board", "sim", "usb-relay", "true"); code != 2 {
		t.Errorf("unknown scenario: exit %d, want 2", code)
	}
}

// stprobeArgsEnv carries the arguments of a stprobe run to the test binary
// started by TestSimUSBRelayRunsStprobe, which then acts as stprobe.
const stprobeArgsEnv = "STPROBE_TEST_RUN_ARGS"

// stprobe's own USB path (libusb through gousb) finds and uses the
// simulated probe: `stprobe sim usb-relay -- stprobe list` and `... info`.
func TestSimUSBRelayRunsStprobe(t *testing.T) {
	if args := os.Getenv(stprobeArgsEnv); args != "" {
		os.Exit(Run(context.Background(), Config{}, strings.Fields(args), os.Stdin, os.Stdout, os.Stderr))
	}
	needUSBRelay(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, tc := range []struct {
		args string
		want []string
	}{
		{"list", []string{"55FF6B065177495619420887", "ST-LINK/V2", "bus 001 device 002"}},
		{"info", []string{"55FF6B065177495619420887", "V2J46S7", "3.29 V", "bus 001 device 002"}},
	} {
		t.Run(tc.args, func(t *testing.T) {
			t.Setenv(stprobeArgsEnv, tc.args)
			var stdout, stderr bytes.Buffer
			code := Run(ctx, Config{}, []string{"sim", "usb-relay", os.Args[0], "-test.run=^TestSimUSBRelayRunsStprobe$"}, nil, &stdout, &stderr)
			if code != 0 {
				t.Fatalf("stprobe %s: exit %d\n%s\n%s", tc.args, code, stdout.String(), stderr.String())
			}
			for _, w := range tc.want {
				if !strings.Contains(stdout.String(), w) {
					t.Errorf("stprobe %s output lacks %q:\n%s", tc.args, w, stdout.String())
				}
			}
			if strings.Contains(stderr.String(), "simulated bench") {
				t.Errorf("stprobe %s fell back to the in-process simulator:\n%s", tc.args, stderr.String())
			}
		})
	}
}
