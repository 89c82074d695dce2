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

	"github.com/stprobe/stprobe/adi"
	"github.com/stprobe/stprobe/internal/peertest"
	"github.com/stprobe/stprobe/probe/proto"
	"github.com/stprobe/stprobe/targets/chipsim"
)

// runOpenOCD serves p on a free port and runs OpenOCD (dap-direct over the
// stlink-server backend, the H5-like target of testdata) with cmds.
func runOpenOCD(t *testing.T, p *Probe, cmds ...string) string {
	t.Helper()
	return runOpenOCDWith(t, []*Probe{p}, dapDirect, "testdata/h5like.cfg", cmds...)
}

// OpenOCD interface set-ups: the interface cfg and the backend command.
var (
	dapDirect = []string{"-f", "interface/stlink-dap.cfg", "-c", "st-link backend tcp %d", "-c", "transport select dapdirect_swd"}
	hla       = []string{"-f", "interface/stlink.cfg", "-c", "hla_stlink_backend tcp %d"}
)

// runOpenOCDWith serves probes and runs OpenOCD with the interface set-up
// iface (its "%d" is the port), target cfg and cmds.
func runOpenOCDWith(t *testing.T, probes []*Probe, iface []string, target string, cmds ...string) string {
	t.Helper()
	return runOpenOCDCost(t, probes, CostOptions{}, iface, target, cmds...)
}

// runOpenOCDCost is runOpenOCDWith with the server accounting as opts asks.
func runOpenOCDCost(t *testing.T, probes []*Probe, opts CostOptions, iface []string, target string, cmds ...string) string {
	t.Helper()
	openocd := peertest.Need(t, "openocd", "openocd")
	cfg, err := filepath.Abs(target)
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	served := make(chan error, 1)
	go func() { served <- ServeWith(ctx, l, opts, probes...) }()
	port := l.Addr().(*net.TCPAddr).Port

	var args []string
	for _, a := range iface {
		if strings.Contains(a, "%d") {
			a = fmt.Sprintf(a, port)
		}
		args = append(args, a)
	}
	// no listening ports: tests of other packages may run OpenOCD at the same time
	args = append(args, "-c", "gdb_port disabled", "-c", "tcl_port disabled", "-c", "telnet_port disabled", "-f", cfg)
	for _, c := range cmds {
		args = append(args, "-c", c)
	}
	out, err := exec.CommandContext(ctx, openocd, args...).CombinedOutput()
	cancel()
	if serr := <-served; serr != nil {
		t.Errorf("Serve: %v", serr)
	}
	if err != nil {
		t.Fatalf("openocd %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

func newOpenOCDProbe(t *testing.T) (*Probe, *chipsim.Generic) {
	t.Helper()
	chip := chipsim.NewGeneric(1)
	return newTestProbe(t, "V2J40M27", chip), chip
}

func mustContain(t *testing.T, out string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(out, w) {
			t.Errorf("OpenOCD output lacks %q", w)
		}
	}
	if t.Failed() {
		t.Logf("OpenOCD output:\n%s", out)
	}
}

func TestOpenOCDHaltAndRAM(t *testing.T) {
	p, chip := newOpenOCDProbe(t)
	out := runOpenOCD(t, p,
		"init",
		"halt",
		"mww 0x20000000 0x12345678",
		"mdw 0x20000000",
		"simh5.ap0 mdw 0xE0044000",
		"shutdown",
	)
	mustContain(t, out,
		"STLINK V2J40M27",
		"Target voltage: 3.29",
		"SWD DPIDR 0x6ba02477",
		"Cortex-M33 r0p4 processor detected",
		"halted due to debug-request",
		"0x20000000: 12345678",
	)
	if got := chip.RAM().Bytes(0x20000000, 4); string(got) != "\x78\x56\x34\x12" {
		t.Errorf("simulated RAM holds % X, want 78 56 34 12", got)
	}
	if !chip.Core().Halted() {
		t.Error("the simulated core is not halted after OpenOCD's halt")
	}
	if p.DebugCommandCount(proto.DebugRWMiscOut) == 0 {
		t.Error("OpenOCD never used RW_MISC although the server reports API 3")
	}
}

func TestOpenOCDResetHalt(t *testing.T) {
	p, chip := newOpenOCDProbe(t)
	chip.Core().SetReg(adi.RegSelPC, 0x08000123)
	out := runOpenOCD(t, p, "init", "reset halt", "reg pc", "shutdown")
	mustContain(t, out, "halted due to debug-request", "pc (/32): 0x08000000")
	if !chip.Core().Halted() {
		t.Error("core not halted after reset halt")
	}
}

func TestOpenOCDV3(t *testing.T) {
	chip := chipsim.NewGeneric(1)
	p := newTestProbe(t, "V3J7M3", chip)
	out := runOpenOCD(t, p, "init", "halt", "mww 0x20000100 0xCAFEF00D", "mdw 0x20000100", "shutdown")
	mustContain(t, out,
		"STLINK V3J7M3 (API v3) VID:PID 0483:374E",
		"clock speed 3300 kHz",
		"Cortex-M33 r0p4 processor detected",
		"halted due to debug-request",
		"0x20000100: cafef00d",
	)
}

func TestOpenOCDConnectUnderReset(t *testing.T) {
	p, chip := newOpenOCDProbe(t)
	out := runOpenOCD(t, p,
		"reset_config srst_only srst_nogate connect_assert_srst",
		"init",
		"simh5.cpu curstate",
		"reset halt",
		"reg pc",
		"shutdown",
	)
	// curstate prints "reset" while NRST is held; the core was examined under reset
	mustContain(t, out, "Cortex-M33 r0p4 processor detected", "\nreset\n", "halted", "pc (/32): 0x08000000")
	if chip.NRSTLow() {
		t.Error("NRST still low after reset halt")
	}
	if !chip.Core().Halted() {
		t.Error("core not halted after reset halt under connect_assert_srst")
	}
	if nrst := p.DebugCommandCount(proto.DebugDriveNRST); nrst < 3 {
		t.Errorf("OpenOCD drove NRST %d times, want at least 3 (assert around ENTER and at connect)", nrst)
	}
}

func TestOpenOCDHLA(t *testing.T) {
	chip := chipsim.NewGeneric(0)
	p := newTestProbe(t, "V2J40M27", chip)
	out := runOpenOCDWith(t, []*Probe{p}, hla, "testdata/m33hla.cfg",
		"init", "halt", "mww 0x20000040 0x0BADCAFE", "mdw 0x20000040", "reg r0 0x1234", "reset halt", "reg pc", "shutdown")
	mustContain(t, out,
		"STLINK V2J40M27 (API v2) VID:PID 0483:374B",
		"Cortex-M33 r0p4 processor detected",
		"halted due to debug-request",
		"0x20000040: 0badcafe",
		"pc (/32): 0x08000000",
	)
	var hlaUsed bool
	for _, sub := range []byte{proto.DebugReadDebugReg, proto.DebugWriteDebugReg, proto.DebugReadReg, proto.DebugResetSys} {
		hlaUsed = hlaUsed || p.DebugCommandCount(sub) > 0
	}
	if !hlaUsed {
		t.Error("OpenOCD HLA never used the HLA register commands")
	}
}

func TestOpenOCDAdapterSerial(t *testing.T) {
	first, firstChip := newOpenOCDProbe(t)
	secondChip := chipsim.NewGeneric(1)
	v, _ := proto.ParseVersion("V2J40M27")
	v.VID, v.PID = proto.VendorST, 0x374B
	second := New(Config{Firmware: v, Serial: "066DFF485550755187121723", TargetMillivolts: 1800, Chip: secondChip})
	iface := append(append([]string(nil), dapDirect...), "-c", "adapter serial 066DFF485550755187121723")
	out := runOpenOCDWith(t, []*Probe{first, second}, iface, "testdata/h5like.cfg",
		"init", "mww 0x20000000 0x5EC0DD00", "shutdown")
	mustContain(t, out, "Target voltage: 1.8")
	if b := secondChip.RAM().Bytes(0x20000000, 4); binary.LittleEndian.Uint32(b) != 0x5EC0DD00 {
		t.Errorf("the selected probe's RAM holds % X", b)
	}
	if b := firstChip.RAM().Bytes(0x20000000, 4); binary.LittleEndian.Uint32(b) != 0 {
		t.Errorf("the other probe's RAM was written: % X", b)
	}
}
