package cli

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stprobe/stprobe/internal/peertest"
)

// familyPeers are the open family boards and OpenOCD 0.12's target file
// for each (its stm32f1x, stm32f2x and stm32l4x flash drivers).
var familyPeers = []struct {
	scenario, cfg string
	flashKB       uint32
}{
	{"f103-open", "stm32f1x.cfg", 64},
	{"f411-open", "stm32f4x.cfg", 512},
	{"g071-open", "stm32g0x.cfg", 128},
	{"g474-open", "stm32g4x.cfg", 512},
	{"l476-open", "stm32l4x.cfg", 1024},
}

// TestFamilyFlashHeldToOpenOCD holds `stprobe flash` to OpenOCD's own flash
// drivers on every open family board served as an stlink-server: OpenOCD's
// `program FILE verify reset` writes an Intel HEX image and stprobe's
// `flash verify` passes on it and `flash read` reads the same bytes; then
// stprobe's `flash write` of the ELF and of the BIN image is verified by
// OpenOCD's `verify_image`, and a changed byte is found by both.
func TestFamilyFlashHeldToOpenOCD(t *testing.T) {
	openocd := peertest.Need(t, "openocd", "openocd")
	for _, fp := range familyPeers {
		t.Run(fp.scenario, func(t *testing.T) { holdFlashToOpenOCD(t, openocd, fp.scenario, fp.cfg, fp.flashKB) })
	}
}

// holdFlashToOpenOCD runs the exchange of TestFamilyFlashHeldToOpenOCD on
// the board of scenario, OpenOCD driving it with its target file cfg; the
// image's second segment sits at half the flash's flashKB; sets are Tcl
// commands run before the target file (`set DUAL_BANK 1`).
func holdFlashToOpenOCD(t *testing.T, openocd, scenario, cfg string, flashKB uint32, sets ...string) {
	t.Helper()
	addr := serveScenario(t, scenario)
	_, port, _ := net.SplitHostPort(addr)
	dir := t.TempDir()
	state := filepath.Join(dir, "state")
	files := flashFiles(t, dir, flashKB<<9)
	// The simulated core runs no code: no flash loader, no on-target
	// checksum.
	ocd := peertest.OpenOCD{Path: openocd, Port: port, Target: "target/" + cfg, Pre: append([]string{"set WORKAREASIZE 0"}, sets...)}

	// OpenOCD programs; stprobe verifies and reads back.
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	out, err := ocd.Run(ctx, fmt.Sprintf("program %s verify reset exit", filepath.ToSlash(files["app.hex"])))
	if err != nil || !strings.Contains(out, "** Verified OK **") {
		t.Fatalf("openocd program: %v\n%s", err, out)
	}
	code, stdout, stderr := runCLI(t, "--server", addr, "flash", "verify", files["app.hex"])
	if code != 0 || !strings.Contains(stdout, "verified") {
		t.Fatalf("stprobe flash verify after OpenOCD's program: exit %d\n%s%s", code, stdout, stderr)
	}
	want, _ := os.ReadFile(files["app.bin"])
	back := filepath.Join(dir, "back.bin")
	if code, stdout, stderr := runCLI(t, "--server", addr, "flash", "read", "0x08000000", fmt.Sprint(len(want)), "-o", back); code != 0 {
		t.Fatalf("flash read: exit %d\n%s%s", code, stdout, stderr)
	}
	if got, err := os.ReadFile(back); err != nil || !bytes.Equal(got, want) {
		t.Errorf("stprobe's flash read after OpenOCD's program differs from the image (%v)", err)
	}

	// stprobe writes; OpenOCD verifies.
	for _, f := range []struct {
		file, spec string
		extra      []string
	}{
		{"app.elf", "0 elf", nil},
		{"app.bin", "0x08000000 bin", []string{"--addr", "0x08000000"}},
	} {
		flashWriteVerified(t, addr, state, files[f.file], f.extra...)
		if out, err := openocdVerifyImage(ocd, files[f.file], f.spec); err != nil {
			t.Fatalf("openocd verify_image %s after stprobe's write: %v\n%s", f.file, err, out)
		}
	}

	// The check can fail: one byte changed is found by both.
	checkChangedByteFound(t, ocd, addr, dir, want)
}
