package scenario

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stprobe/stprobe/internal/peertest"
	"github.com/stprobe/stprobe/obytes"
	"github.com/stprobe/stprobe/probe"
	"github.com/stprobe/stprobe/probe/sim"
	"github.com/stprobe/stprobe/targets"
	"github.com/stprobe/stprobe/targets/stm32rdp"
)

// The simulated chips execute no code, so OpenOCD cannot run its flash
// loaders on them: every write here sets WORKAREASIZE to 0 before the
// stock target config, and OpenOCD's drivers fall back to host-driven
// writes ("couldn't use block writes, falling back to single memory
// accesses"), which go through the modelled flash controller register by
// register.
const noWorkArea = "set WORKAREASIZE 0"

// openocdWith runs Debian's OpenOCD with its stock target config on the
// already built probe p, served as an stlink-server; pre are commands
// before the target config, cmds after it. It returns OpenOCD's output.
func openocdWith(t *testing.T, p *sim.Probe, cfg string, pre []string, cmds ...string) string {
	t.Helper()
	openocd := peertest.Need(t, "openocd", "openocd")
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	served := make(chan error, 1)
	go func() { served <- sim.Serve(ctx, l, p) }()
	ocd := peertest.OpenOCD{Path: openocd, Port: strconv.Itoa(l.Addr().(*net.TCPAddr).Port), Target: "target/" + cfg, Pre: pre}
	out, err := ocd.Run(ctx, cmds...)
	cancel()
	<-served
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	return out
}

// stprobeApply plans args on the board behind l and applies them with
// stprobe's own sequence; it returns what stprobe read back.
func stprobeApply(t *testing.T, l *probe.Link, c *targets.Chip, args ...string) (before, after *obytes.Snapshot, plan *obytes.Plan) {
	t.Helper()
	ctx := context.Background()
	layout, err := obytes.ForLine(c.Line)
	if err != nil {
		t.Fatal(err)
	}
	before, err = obytes.ReadSnapshot(ctx, l, layout)
	if err != nil {
		t.Fatal(err)
	}
	as, err := layout.ParseAssignments(args)
	if err != nil {
		t.Fatal(err)
	}
	plan, err = obytes.MakePlan(obytes.PlanInput{Layout: layout, UID: c.UIDString(), Before: before}, as)
	if err != nil {
		t.Fatal(err)
	}
	reconnect := func(ctx context.Context) error {
		rep, err := probe.Connect(ctx, l, probe.ConnectOptions{Mode: probe.ModeHotPlug, AP: c.Family.CoreAP, FrequencyKHz: 4000})
		if err == nil && !rep.OK() {
			err = rep.Err
		}
		return err
	}
	res, err := obytes.Apply(ctx, l, plan, obytes.ApplyOptions{Confirm: plan.Phrase, StateDir: t.TempDir(), User: "test", Reconnect: reconnect})
	if err != nil {
		t.Fatalf("stprobe's apply of %v: %v", args, err)
	}
	return before, res.After, plan
}

// testImage is n bytes of a made-up firmware (no byte pattern repeats
// within a page, none is the erased value everywhere).
func testImage(n int) []byte {
	b := make([]byte, n)
	x := uint32(0x2545F491)
	for i := range b {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		b[i] = byte(x)
	}
	return b
}

// TestOpenOCDProgramFamilies holds the modelled flash controllers to
// OpenOCD's own flash drivers: `program FILE verify reset` succeeds on each
// open family board (host-driven writes: see noWorkArea), and what stprobe
// reads back from flash is the file.
func TestOpenOCDProgramFamilies(t *testing.T) {
	tests := []struct {
		scenario, cfg string
		size          int
	}{
		{"f103-open", "stm32f1x.cfg", 5 << 10},
		{"f411-open", "stm32f4x.cfg", 20 << 10}, // two sectors
		{"g071-open", "stm32g0x.cfg", 5 << 10},
		{"g474-open", "stm32g4x.cfg", 5 << 10},
		{"l476-open", "stm32l4x.cfg", 5 << 10},
	}
	for _, tt := range tests {
		t.Run(tt.scenario, func(t *testing.T) {
			s, err := Lookup(tt.scenario)
			if err != nil {
				t.Fatal(err)
			}
			p := s.NewProbe()
			img := testImage(tt.size)
			file := filepath.Join(t.TempDir(), "app.bin")
			if err := os.WriteFile(file, img, 0o600); err != nil {
				t.Fatal(err)
			}
			out := openocdWith(t, p, tt.cfg, []string{noWorkArea},
				fmt.Sprintf("program %s 0x08000000 verify reset exit", filepath.ToSlash(file)))
			defer logOnFailure(t, out)
			for _, w := range []string{"** Programming Finished **", "** Verified OK **"} {
				if !strings.Contains(out, w) {
					t.Errorf("OpenOCD output lacks %q", w)
				}
			}
			l, c := linkTo(t, p)
			got := make([]byte, len(img))
			if err := l.ReadMem(context.Background(), c.Family.CoreAP, targets.FlashMemBase, 4, got); err != nil {
				t.Fatalf("stprobe reading flash back: %v", err)
			}
			if !bytes.Equal(got, img) {
				i := 0
				for i < len(img) && got[i] == img[i] {
					i++
				}
				t.Errorf("flash read back by stprobe differs from the file at offset 0x%X", i)
			}
		})
	}
}

// TestOpenOCDUnlockFamilies runs OpenOCD's own RDP level 1 → 0 regression
// (stm32f1x unlock, stm32f2x unlock, stm32l4x unlock, stm32h7x unlock) on
// F1, F4, G0, G4, L4, U5 and H7 boards at level 1:
// the board ends mass-erased at level 0, and stprobe reads it so.
func TestOpenOCDUnlockFamilies(t *testing.T) {
	tests := []struct {
		scenario, cfg string
		// chip, when set, builds a board the list does not have.
		chip *stm32rdp.Config
		cmds []string
		want string
	}{
		// F1 and F4 load the option bytes at reset (PM0075 §2.5, RM0090
		// §3.6.1).
		{"f103-rdp1", "stm32f1x.cfg", nil, []string{"stm32f1x unlock 0", "reset halt"}, "stm32x unlocked"},
		{"f411-rdp1", "stm32f4x.cfg", nil, []string{"stm32f2x unlock 0", "reset halt"}, "stm32f2x unlocked"},
		// G0, G4 and L4 load them at OBL_LAUNCH (OpenOCD's option_load).
		{"g071-rdp1", "stm32g0x.cfg", nil, []string{"stm32l4x unlock 0", "stm32l4x option_load 0"}, "option load completed"},
		{"l476-rdp1", "stm32l4x.cfg", nil, []string{"stm32l4x unlock 0", "stm32l4x option_load 0"}, "option load completed"},
		// Boards at level 1 the list does not have, built here: a G474; a
		// U5 (stm32l4x unlock, then option_load for OBL_LAUNCH); an H7
		// (stm32h7x unlock, which applies at OPTSTART).
		{"g474 at level 1", "stm32g4x.cfg", locked(g474().board(targets.RDPByteLevel1, stm32rdp.FirmwareIdle)),
			[]string{"stm32l4x unlock 0", "stm32l4x option_load 0"}, "option load completed"},
		{"u585 at level 1", "stm32u5x.cfg", locked(u585().board(targets.RDPByteLevel1, stm32rdp.FirmwareIdle)),
			[]string{"stm32l4x unlock 0", "stm32l4x option_load 0"}, "option load completed"},
		{"h743 at level 1", "stm32h7x.cfg", locked(h743().board(targets.RDPByteLevel1, stm32rdp.FirmwareIdle)),
			[]string{"stm32h7x unlock 0"}, "stm32h7x unlocked"},
	}
	for _, tt := range tests {
		t.Run(tt.scenario, func(t *testing.T) {
			s, err := Lookup(tt.scenario)
			if tt.chip != nil {
				s, err = Scenario{Name: tt.scenario, Millivolts: nucleo, RDPChip: tt.chip}, nil
			}
			if err != nil {
				t.Fatal(err)
			}
			p := s.NewProbe()
			m := RDPModel(p)
			if m.Level() != targets.RDPLevel1 {
				t.Fatalf("%s starts at %v, want level 1", tt.scenario, m.Level())
			}
			if bytes.Count(m.Flash(0, 4096), []byte{0xFF}) == 4096 {
				t.Fatalf("%s starts with empty flash: the test would not see the mass erase", tt.scenario)
			}
			cmds := append([]string{"init", "reset halt"}, tt.cmds...)
			out := openocdWith(t, p, tt.cfg, []string{noWorkArea}, append(cmds, "shutdown")...)
			defer logOnFailure(t, out)
			if !strings.Contains(out, tt.want) {
				t.Errorf("OpenOCD output lacks %q", tt.want)
			}
			// stprobe, on the same board after OpenOCD left.
			l, c := linkTo(t, p)
			if c.Protection.Level != targets.RDPLevel0 {
				t.Errorf("stprobe reads %v after OpenOCD's unlock, want level 0", c.Protection)
			}
			got := make([]byte, 4096)
			if err := l.ReadMem(context.Background(), c.Family.CoreAP, targets.FlashMemBase, 4, got); err != nil {
				t.Fatalf("stprobe reading flash after the unlock: %v", err)
			}
			if !bytes.Equal(got, bytes.Repeat([]byte{0xFF}, len(got))) {
				t.Errorf("flash not erased after the unlock: % X…", got[:16])
			}
			if m.MassErases() != 1 {
				t.Errorf("the model ran %d mass erases, want 1", m.MassErases())
			}
		})
	}
}

// logOnFailure logs the peer's output when the test failed.
func logOnFailure(t *testing.T, out string) {
	if t.Failed() {
		t.Logf("OpenOCD output:\n%s", out)
	}
}

// optionWrite is one option-byte change stprobe applies with its own
// family sequence (obytes.Apply) and OpenOCD reads back with its own
// family driver.
type optionWrite struct {
	scenario, cfg string
	args          []string              // stprobe's FIELD=VALUE
	reg           string                // stprobe's register whose value OpenOCD prints
	read          string                // OpenOCD's command
	want          func(v uint32) string // what it prints for the register at v
}

// optionRegister is how OpenOCD 0.12's stm32l4x and stm32h7x option_read
// print the option register at addr holding v.
func optionRegister(addr uint32) func(v uint32) string {
	return func(v uint32) string { return fmt.Sprintf("Option Register: <0x%08x> = 0x%x", addr, v) }
}

// check applies the change with stprobe on a fresh copy of the board and
// has OpenOCD read it: both see the same register value.
func (tt optionWrite) check(t *testing.T) {
	t.Helper()
	s, err := Lookup(tt.scenario)
	if err != nil {
		t.Fatal(err)
	}
	p := s.NewProbe()
	l, c := linkTo(t, p)
	before, after, plan := stprobeApply(t, l, c, tt.args...)
	got := after.Cur[tt.reg]
	if got != plan.After[tt.reg] || got == before.Cur[tt.reg] {
		t.Fatalf("stprobe reads %s 0x%08X after the write (before 0x%08X, planned 0x%08X)", tt.reg, got, before.Cur[tt.reg], plan.After[tt.reg])
	}
	out := openocdWith(t, p, tt.cfg, nil, "init", "halt", "flash probe 0", tt.read, "shutdown")
	defer logOnFailure(t, out)
	if w := tt.want(got); !strings.Contains(out, w) {
		t.Errorf("OpenOCD output lacks %q (stprobe wrote %v, %s = 0x%08X)", w, tt.args, tt.reg, got)
	}
}

// TestOpenOCDReadsStprobeOptionWrites applies an option-byte change with
// stprobe's own family sequence (obytes.Apply) and reads it back with
// OpenOCD's family driver: both see the same register value.
func TestOpenOCDReadsStprobeOptionWrites(t *testing.T) {
	tests := []optionWrite{
		{"f103-open", "stm32f1x.cfg", []string{"Data0=0x5A"}, "OBR", "stm32f1x options_read 0",
			func(v uint32) string { return fmt.Sprintf("option byte register = 0x%x", v) }},
		{"f411-open", "stm32f4x.cfg", []string{"nRST_STDBY=0"}, "OPTCR", "stm32f2x options_read 0",
			func(v uint32) string { return fmt.Sprintf("user_options 0x%02X", v&0xFC) }},
		{"g071-open", "stm32g0x.cfg", []string{"nRST_STOP=0"}, "OPTR", "stm32l4x option_read 0 0x20", optionRegister(0x40022020)},
		{"g474-open", "stm32g4x.cfg", []string{"nRST_STDBY=0"}, "OPTR", "stm32l4x option_read 0 0x20", optionRegister(0x40022020)},
		{"l476-open", "stm32l4x.cfg", []string{"IWDG_STOP=0"}, "OPTR", "stm32l4x option_read 0 0x20", optionRegister(0x40022020)},
	}
	for _, tt := range tests {
		t.Run(tt.scenario, tt.check)
	}
}

// stprobeUnlocks carries on from OpenOCD's lock of the board behind p:
// stprobe reads level 1 and applies RDP=0xAA with its own sequence, which
// mass-erases the board once and leaves it at level 0; then OpenOCD (its
// target config cfg) finds it open, read printing open, and empty.
func stprobeUnlocks(t *testing.T, p *sim.Probe, cfg, read, open string) {
	t.Helper()
	m := RDPModel(p)
	l, c := linkTo(t, p)
	if c.Protection.Level != targets.RDPLevel1 {
		t.Fatalf("stprobe reads %v after OpenOCD's lock, want level 1", c.Protection)
	}
	if _, after, _ := stprobeApply(t, l, c, "RDP=0xAA"); after == nil {
		t.Fatal("stprobe read nothing back")
	}
	if m.MassErases() != 1 || m.Level() != targets.RDPLevel0 {
		t.Errorf("%d mass erases, level %v after stprobe's RDP 1 → 0, want 1 and level 0", m.MassErases(), m.Level())
	}
	out := openocdWith(t, p, cfg, nil, "init", "halt", "flash probe 0", read, "mdw 0x08000000 4", "shutdown")
	defer logOnFailure(t, out)
	for _, w := range []string{open, "0x08000000: ffffffff ffffffff ffffffff ffffffff"} {
		if !strings.Contains(out, w) {
			t.Errorf("OpenOCD output after stprobe's unlock lacks %q", w)
		}
	}
}

// TestOpenOCDLockStprobeUnlock chains the two tools on one board: OpenOCD
// writes a firmware and locks the board (RDP level 1), then stprobe
// unlocks it (stprobeUnlocks).
func TestOpenOCDLockStprobeUnlock(t *testing.T) {
	tests := []struct {
		scenario, cfg string
		lock          []string
		read          string // OpenOCD's command that prints the level
		open          string // what it prints for level 0
	}{
		{"f103-open", "stm32f1x.cfg", []string{"stm32f1x lock 0", "reset halt"}, "stm32f1x options_read 0", "read protection: off"},
		{"l476-open", "stm32l4x.cfg", []string{"stm32l4x lock 0", "stm32l4x option_load 0"}, "flash info 0", "RDP level 0 (0xAA)"},
	}
	for _, tt := range tests {
		t.Run(tt.scenario, func(t *testing.T) {
			s, err := Lookup(tt.scenario)
			if err != nil {
				t.Fatal(err)
			}
			p := s.NewProbe()
			img := testImage(2 << 10)
			file := filepath.Join(t.TempDir(), "app.bin")
			if err := os.WriteFile(file, img, 0o600); err != nil {
				t.Fatal(err)
			}
			out := openocdWith(t, p, tt.cfg, []string{noWorkArea}, append([]string{"init", "reset halt",
				fmt.Sprintf("flash write_image erase %s 0x08000000", filepath.ToSlash(file))}, append(tt.lock, "shutdown")...)...)
			defer logOnFailure(t, out)
			m := RDPModel(p)
			if !bytes.Equal(m.Flash(0, uint32(len(img))), img) || m.MassErases() != 0 {
				t.Fatalf("OpenOCD's program and lock: flash not the image or erased (%d mass erases)", m.MassErases())
			}
			stprobeUnlocks(t, p, tt.cfg, tt.read, tt.open)
		})
	}
}
