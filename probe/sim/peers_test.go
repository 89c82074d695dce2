package sim

import (
	"context"
	"encoding/binary"
	"fmt"
	"net"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stprobe/stprobe/internal/peertest"
	"github.com/stprobe/stprobe/targets"
	"github.com/stprobe/stprobe/targets/stm32h5"
)

// projectOpenOCDConfig is the repository's OpenOCD configuration for an
// STM32H5 (AP0 debug APB, Cortex-M33 on AP1).
const projectOpenOCDConfig = "../../testdata/stm32h5-openocd.cfg"

// newH5Probe returns an ST-LINK/V3 wired to a simulated STM32H5.
func newH5Probe(t *testing.T, cfg stm32h5.Config) (*Probe, *stm32h5.Model) {
	t.Helper()
	m, err := stm32h5.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return newTestProbe(t, "V3J7M3", m), m
}

// TestOpenOCDDapInfoDBGMCU walks AP0's ROM table with OpenOCD: DBGMCU at
// 0xE0044000 must be a valid CoreSight component (no "Invalid CID").
func TestOpenOCDDapInfoDBGMCU(t *testing.T) {
	p, _ := newH5Probe(t, stm32h5.Config{Line: stm32h5.LineH563})
	out := runOpenOCDWith(t, []*Probe{p}, dapDirect, projectOpenOCDConfig, "init", "stm32h5.dap info 0", "shutdown")
	i := strings.Index(out, "Component base address 0xe0044000")
	if i < 0 {
		t.Fatalf("dap info 0 does not reach DBGMCU at 0xe0044000:\n%s", out)
	}
	entry := out[i:]
	if j := strings.Index(entry, "ROMTABLE["); j > 0 {
		entry = entry[:j]
	}
	for _, want := range []string{"Peripheral ID 0x00000a0484", "Designer is 0x020, STMicroelectronics", "Part is 0x484", "Component class is 0xf"} {
		if !strings.Contains(entry, want) {
			t.Errorf("DBGMCU entry lacks %q", want)
		}
	}
	if strings.Contains(out, "Invalid CID") || strings.Contains(out, "Can't read component") {
		t.Error("dap info 0 reports an invalid component")
	}
	if t.Failed() {
		t.Logf("OpenOCD output:\n%s", out)
	}
}

// TestOpenOCDSecureRegisters: on a TrustZone-enabled STM32H5 OpenOCD finds
// the Security Extension (DAUTHSTATUS.SID) and lists the banked stack
// pointers; on the H503, which has none, it does not.
func TestOpenOCDSecureRegisters(t *testing.T) {
	tests := []struct {
		name string
		cfg  stm32h5.Config
		want bool
	}{
		{"H563 TZEN=0xB4", stm32h5.Config{Line: stm32h5.LineH563, TZEN: targets.TZENEnabled}, true},
		{"H533 TZEN=0xB4", stm32h5.Config{Line: stm32h5.LineH533, TZEN: targets.TZENEnabled}, true},
		{"H503", stm32h5.Config{Line: stm32h5.LineH503}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, _ := newH5Probe(t, tc.cfg)
			out := runOpenOCDWith(t, []*Probe{p}, dapDirect, projectOpenOCDConfig, "init", "halt", "reg", "shutdown")
			for _, r := range []string{"msp_ns (/32)", "psp_ns (/32)", "msp_s (/32)", "control_ns (/3)"} {
				if strings.Contains(out, r) != tc.want {
					t.Errorf("reg lists %s: %v, want %v", r, !tc.want, tc.want)
				}
			}
			if !strings.Contains(out, "(17) msp (/32)") {
				t.Error("reg lacks msp")
			}
			if t.Failed() {
				t.Logf("OpenOCD output:\n%s", out)
			}
		})
	}
}

// TestOpenOCDResetHaltLoadsVectors: with the project's configuration
// (reset through SYSRESETREQ) `reset halt` stops at the reset vector
// written in flash, with SP from the table's first word.
func TestOpenOCDResetHaltLoadsVectors(t *testing.T) {
	tests := []struct {
		name string
		cfg  stm32h5.Config
		load uint32
		pc   string
	}{
		{"TrustZone disabled, NSBOOTADD", stm32h5.Config{Line: stm32h5.LineH563, TZEN: targets.TZENDisabled}, 0x08000000, "0x08000235"},
		{"TrustZone enabled, SECBOOTADD", stm32h5.Config{Line: stm32h5.LineH533, TZEN: targets.TZENEnabled}, 0x0C000000, "0x0c000235"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, m := newH5Probe(t, tc.cfg)
			pc := tc.load + 0x235
			if err := m.LoadFlash(tc.load, vectorTable(0x20003000, pc)); err != nil {
				t.Fatal(err)
			}
			m.Core().SetReg(15, 0x12345678) // wherever the program was
			out := runOpenOCDWith(t, []*Probe{p}, dapDirect, projectOpenOCDConfig, "init", "reset halt", "reg pc", "reg msp", "shutdown")
			wantPC := fmt.Sprintf("pc (/32): 0x%08x", pc&^1)
			mustContain(t, out, "halted due to debug-request", wantPC, "msp (/32): 0x20003000")
			if m.Status().Resets == 0 {
				t.Error("reset halt did not reset the chip (SYSRESETREQ)")
			}
			if !m.Core().Halted() {
				t.Error("core not halted after reset halt")
			}
		})
	}
}

// TestGDBHardwareBreakAndWatch drives gdb-multiarch through OpenOCD (gdb
// starts OpenOCD on a pipe) against a simulated STM32H563 whose flash holds
// a vector table: after `monitor reset halt` the PC is the reset vector,
// and a hardware breakpoint and a watchpoint are set without error. The
// core executes no code, so neither fires: the model records that the
// debugger armed an FPB and a DWT comparator.
func TestGDBHardwareBreakAndWatch(t *testing.T) {
	gdb := peertest.Need(t, "gdb-multiarch", "gdb-multiarch")
	openocd := peertest.Need(t, "openocd", "openocd")
	p, m := newH5Probe(t, stm32h5.Config{Line: stm32h5.LineH563, NRSTWired: true})
	if err := m.LoadFlash(0x08000000, vectorTable(0x20004000, 0x080001C5)); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	served := make(chan error, 1)
	go func() { served <- Serve(ctx, l, p) }()
	cfg, err := filepath.Abs(projectOpenOCDConfig)
	if err != nil {
		t.Fatal(err)
	}
	remote := fmt.Sprintf(`target extended-remote | %s -f interface/stlink-dap.cfg -c "st-link backend tcp %d" -c "transport select dapdirect_swd" -f %s -c "gdb_port pipe" -c "log_output /dev/null"`,
		openocd, l.Addr().(*net.TCPAddr).Port, cfg)
	out, err := exec.CommandContext(ctx, gdb, "-nx", "-batch",
		"-ex", "set confirm off",
		"-ex", remote,
		"-ex", "monitor reset halt",
		"-ex", "flushregs",
		"-ex", "info registers pc",
		"-ex", "hbreak *0x08000200",
		"-ex", "hbreak *0x080001c4",
		"-ex", "watch *(int *)0x20000100",
		// Resuming makes gdb insert all three; the core executes no code,
		// so only the breakpoint at the PC it resumes at fires.
		"-ex", "continue",
		"-ex", "info breakpoints",
		"-ex", "detach",
	).CombinedOutput()
	cancel()
	if serr := <-served; serr != nil {
		t.Errorf("Serve: %v", serr)
	}
	if err != nil {
		t.Fatalf("gdb-multiarch: %v\n%s", err, out)
	}
	s := string(out)
	for _, want := range []string{"pc             0x80001c4", "Hardware assisted breakpoint 1 at 0x8000200", "Hardware watchpoint 3: *(int *)0x20000100", "Breakpoint 2, 0x080001c4"} {
		if !strings.Contains(s, want) {
			t.Errorf("gdb output lacks %q", want)
		}
	}
	for _, bad := range []string{"Could not insert", "Cannot insert", "Couldn't", "Error", "rror while"} {
		if strings.Contains(s, bad) {
			t.Errorf("gdb output has %q", bad)
		}
	}
	if st := m.Core().Status(); st.BreakpointsArmed == 0 || st.WatchpointsArmed == 0 {
		t.Errorf("the model saw %d breakpoints and %d watchpoints armed, want both", st.BreakpointsArmed, st.WatchpointsArmed)
	}
	if t.Failed() {
		t.Logf("gdb output:\n%s", s)
	}
}

// vectorTable is the first two words of a vector table: initial SP and
// reset vector.
func vectorTable(sp, pc uint32) []byte {
	return binary.LittleEndian.AppendUint32(binary.LittleEndian.AppendUint32(nil, sp), pc)
}

// TestOpenOCDCostLog: an OpenOCD session through the simulated
// stlink-server leaves exactly one JSON line in the cost log, and its
// transfers, SWD bits and modelled time are the probe's own counts of
// what OpenOCD sent (it was the only client).
func TestOpenOCDCostLog(t *testing.T) {
	p, _ := newH5Probe(t, stm32h5.Config{Line: stm32h5.LineH563})
	var costLog, summary peertest.Output
	runOpenOCDCost(t, []*Probe{p}, CostOptions{CostLog: &costLog, Summary: &summary}, dapDirect, projectOpenOCDConfig,
		"init", "halt", "mdw 0x20000000 16", "shutdown")
	logged := decodeCostLog(t, costLog.String())
	if len(logged) != 1 {
		t.Fatalf("cost log has %d lines, want 1:\n%s", len(logged), costLog.String())
	}
	got, want := logged[0], p.Stats()
	if got.Commands != want.Commands || got.USBTransfers != want.USBTransfers || got.SWDBits != want.SWDBits || got.Modelled != want.Wire {
		t.Errorf("cost log %+v, probe counted %+v", got, want)
	}
	if got.Commands == 0 || got.CommandsByKind["READ_IDCODES"] == 0 || got.CommandsByKind["RW_MISC_OUT"] == 0 {
		t.Errorf("the session does not show OpenOCD's commands: %v", got.CommandsByKind)
	}
	if !strings.HasPrefix(summary.String(), "stlink-server session 1 (127.0.0.1:") {
		t.Errorf("summary %q", summary.String())
	}
	t.Logf("%s", summary.String())
}
