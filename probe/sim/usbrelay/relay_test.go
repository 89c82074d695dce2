package usbrelay_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stprobe/stprobe/internal/peertest"
	"github.com/stprobe/stprobe/probe/proto"
	"github.com/stprobe/stprobe/probe/sim"
	"github.com/stprobe/stprobe/probe/sim/usbrelay"
	"github.com/stprobe/stprobe/targets/chipsim"
)

func needRelay(t *testing.T) {
	t.Helper()
	if err := usbrelay.Available(); err != nil {
		peertest.Missing(t, fmt.Sprintf("cannot simulate USB probes: %v", err))
	}
}

func newProbe(t *testing.T, firmware string, pid uint16, serial string) *sim.Probe {
	t.Helper()
	v, err := proto.ParseVersion(firmware)
	if err != nil {
		t.Fatal(err)
	}
	v.VID, v.PID = proto.VendorST, pid
	return sim.New(sim.Config{Firmware: v, Serial: serial, TargetMillivolts: 3290, Chip: chipsim.NewGenericM33(1)})
}

// stlink-tools' st-info, unmodified, finds the simulated probe through
// libusb and reads its firmware version and serial number.
func TestStInfoProbe(t *testing.T) {
	needRelay(t)
	peertest.Need(t, "st-info", "stlink-tools")
	tests := []struct {
		firmware string
		pid      uint16
		serial   string
		shown    string // how st-info prints the version
	}{
		{"V2J46S7", 0x3748, "0670FF485550755187121723", "V2J46S7"},
		// st-info 1.7.0 prints the V2-1 mass-storage number as S.
		{"V2J40M27", 0x374B, "066DFF515051897267173245", "V2J40S27"},
	}
	for _, tc := range tests {
		t.Run(tc.firmware, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			p := newProbe(t, tc.firmware, tc.pid, tc.serial)
			out, err := usbrelay.Run(ctx, p, []string{"st-info", "--probe"})
			if err != nil {
				t.Fatalf("st-info --probe: %v\n%s", err, out)
			}
			for _, want := range []string{"Found 1 stlink programmers", "version:    " + tc.shown, "serial:     " + tc.serial} {
				if !strings.Contains(string(out), want) {
					t.Errorf("st-info output lacks %q:\n%s", want, out)
				}
			}
			if p.Stats().Commands == 0 {
				t.Error("the simulated probe handled no command")
			}
		})
	}
}

// A probe that is unplugged before the program starts is listed but does
// not answer; st-info must not hang on it.
func TestStInfoUnpluggedProbe(t *testing.T) {
	needRelay(t)
	peertest.Need(t, "st-info", "stlink-tools")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	p := newProbe(t, "V2J46S7", 0x3748, "0670FF485550755187121723")
	p.Inject(sim.Fault{Kind: sim.FaultUnplug})
	out, _ := usbrelay.Run(ctx, p, []string{"st-info", "--probe"})
	if ctx.Err() != nil {
		t.Fatalf("st-info hung on an unplugged probe:\n%s", out)
	}
	if strings.Contains(string(out), "V2J46S7") {
		t.Errorf("an unplugged probe reported its firmware:\n%s", out)
	}
}

func TestStartRejectsBadProbes(t *testing.T) {
	ctx := context.Background()
	if _, err := usbrelay.Start(ctx); err == nil {
		t.Error("Start with no probe succeeded")
	}
	if _, err := usbrelay.Start(ctx, usbrelay.Device{}); err == nil {
		t.Error("Start with a nil probe succeeded")
	}
	if _, err := usbrelay.Start(ctx, usbrelay.Device{Probe: newProbe(t, "V2J46S7", 0x3748, "12345")}); err == nil {
		t.Error("Start with a malformed serial succeeded")
	}
	if _, err := usbrelay.Run(ctx, newProbe(t, "V2J46S7", 0x3748, "0670FF485550755187121723"), nil); err == nil {
		t.Error("Run with no program succeeded")
	}
}

// Debian's OpenOCD 0.12, unmodified, drives the simulated probe through
// libusb with the ST-LINK DAP API: it identifies the probe, reads the target
// voltage and DPIDR, finds the Cortex-M33 on AP1 and writes and reads RAM.
func TestOpenOCDThroughRelay(t *testing.T) {
	needRelay(t)
	peertest.Need(t, "openocd", "openocd")
	tests := []struct {
		firmware string
		pid      uint16
		banner   string
	}{
		{"V2J46S7", 0x3748, "STLINK V2J46S7 (API v2) VID:PID 0483:3748"},
		{"V3J7M3", 0x374E, "STLINK V3J7M3 (API v3) VID:PID 0483:374E"},
	}
	for _, tc := range tests {
		t.Run(tc.firmware, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			p := newProbe(t, tc.firmware, tc.pid, "0670FF485550755187121723")
			out, err := usbrelay.Run(ctx, p, []string{"openocd",
				"-f", "interface/stlink-dap.cfg", "-c", "transport select dapdirect_swd",
				"-c", "adapter speed 1000",
				"-c", "gdb_port disabled", "-c", "tcl_port disabled", "-c", "telnet_port disabled",
				"-c", "swd newdap chip cpu -expected-id 0x6ba02477",
				"-c", "dap create chip.dap -chain-position chip.cpu",
				"-c", "target create chip.cpu cortex_m -dap chip.dap -ap-num 1",
				"-c", "init", "-c", "mww 0x20000010 0x12345678", "-c", "mdw 0x20000010 2", "-c", "shutdown"})
			if err != nil {
				t.Fatalf("openocd: %v\n%s", err, out)
			}
			for _, want := range []string{tc.banner, "Target voltage: 3.29", "SWD DPIDR 0x6ba02477",
				"Cortex-M33", "0x20000010: 12345678 00000000"} {
				if !strings.Contains(string(out), want) {
					t.Errorf("openocd output lacks %q:\n%s", want, out)
				}
			}
		})
	}
}
