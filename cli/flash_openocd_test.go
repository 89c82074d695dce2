package cli

import (
	"bytes"
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stprobe/stprobe/flashimage"
	"github.com/stprobe/stprobe/flashimage/flashimagetest"
	"github.com/stprobe/stprobe/internal/peertest"
)

// flashFiles writes the same program as BIN (its first segment), Intel HEX
// and ELF into dir: 20 KiB + 3 bytes from the flash base and 100 bytes at
// the start of bank 2 (bankOff); the ELF also has a RAM-only segment.
func flashFiles(t *testing.T, dir string, bankOff uint32) map[string]string {
	t.Helper()
	a := make([]byte, 20<<10+3)
	for i := range a {
		a[i] = byte(i*11 + i>>10)
	}
	b := []byte(strings.Repeat("bank two ", 12)[:100])
	segs := []flashimage.Segment{{Addr: 0x08000000, Data: a}, {Addr: 0x08000000 + bankOff, Data: b}}
	files := map[string][]byte{
		"app.bin": a,
		"app.hex": flashimage.EncodeHEX(segs, 0x08000101, true),
		"app.elf": flashimagetest.BuildELF(0x08000101,
			flashimagetest.Prog{VAddr: 0x08000000, PAddr: 0x08000000, Data: a},
			flashimagetest.Prog{VAddr: 0x20000000, PAddr: 0x08000000 + bankOff, Data: b},
			flashimagetest.Prog{VAddr: 0x20000100, PAddr: 0x20000100, MemSize: 256}),
	}
	out := map[string]string{}
	for name, data := range files {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		out[name] = p
	}
	return out
}

// phraseOf runs the write without --confirm and reads the phrase the plan
// printed (nothing is written without it).
func phraseOf(t *testing.T, args ...string) string {
	t.Helper()
	code, _, stderr := runCLI(t, args...)
	m := regexp.MustCompile(`confirmation phrase: (.+)`).FindStringSubmatch(stderr)
	if code == 0 || m == nil {
		t.Fatalf("plan: exit %d, no phrase:\n%s", code, stderr)
	}
	return m[1]
}

// openocdVerifyImage has OpenOCD check file against the chip's memory
// (verify_image FILE SPEC, the core halted): an error unless OpenOCD
// exits 0 and prints its "verified" line.
func openocdVerifyImage(ocd peertest.OpenOCD, file, spec string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	out, err := ocd.Run(ctx, "init", "halt", "verify_image "+filepath.ToSlash(file)+" "+spec, "shutdown")
	if err == nil && !regexp.MustCompile(`verified \d+ bytes`).MatchString(out) {
		err = errors.New("no \"verified\" line")
	}
	return out, err
}

// flashWriteVerified runs `stprobe flash write FILE --verify` on the
// server at addr with the phrase its plan printed, fails the test unless
// the write is verified, and returns what stprobe printed.
func flashWriteVerified(t *testing.T, addr, state, file string, extra ...string) string {
	t.Helper()
	args := append([]string{"--server", addr, "flash", "write", file, "--state-dir", state, "--verify"}, extra...)
	phrase := phraseOf(t, args...)
	code, stdout, stderr := runCLI(t, append(args, "--confirm", phrase)...)
	if code != 0 || !strings.Contains(stdout, "verified") {
		t.Fatalf("flash write %s: exit %d\n%s%s", filepath.Base(file), code, stdout, stderr)
	}
	return stdout
}

// checkChangedByteFound shows the check can fail: image, written at the
// flash base, with its byte at 100 changed, is refused by OpenOCD's
// verify_image and by `stprobe flash verify`, which names the address.
func checkChangedByteFound(t *testing.T, ocd peertest.OpenOCD, addr, dir string, image []byte) {
	t.Helper()
	data := bytes.Clone(image)
	data[100] ^= 0xFF
	changed := filepath.Join(dir, "changed.bin")
	if err := os.WriteFile(changed, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := openocdVerifyImage(ocd, changed, "0x08000000 bin"); err == nil {
		t.Errorf("openocd verified a changed image:\n%s", out)
	}
	if code, _, stderr := runCLI(t, "--server", addr, "flash", "verify", changed, "--addr", "0x08000000"); code == 0 || !strings.Contains(stderr, "0x08000064") {
		t.Errorf("flash verify of a changed image: exit %d\n%s", code, stderr)
	}
}

// TestOpenOCDVerifiesWhatStprobeWrote writes BIN, HEX and ELF images with
// `stprobe flash write` on every simulated STM32H5 line through the
// simulated stlink-server, and has stock OpenOCD (which has no STM32H5
// flash driver in 0.12) check each with verify_image. Malformed, misplaced
// and oversized files are refused before anything is erased: OpenOCD still
// verifies the last image.
func TestOpenOCDVerifiesWhatStprobeWrote(t *testing.T) {
	openocd := peertest.Need(t, "openocd", "openocd")
	for _, ln := range []struct {
		scenario string
		flashKB  uint32
	}{{"h503-open", 128}, {"h533-open", 512}, {"h563-open", 2048}} {
		t.Run(ln.scenario, func(t *testing.T) {
			addr := serveScenario(t, ln.scenario)
			_, port, _ := net.SplitHostPort(addr)
			ocd := h5OpenOCD(t, openocd, port)
			dir := t.TempDir()
			state := filepath.Join(dir, "state")
			files := flashFiles(t, dir, ln.flashKB<<9)
			verify := func(file, spec string) {
				t.Helper()
				if out, err := openocdVerifyImage(ocd, file, spec); err != nil {
					t.Fatalf("openocd verify_image %s %s: %v\n%s", filepath.Base(file), spec, err, out)
				}
			}
			for _, f := range []struct {
				file, spec string
				extra      []string
			}{
				{"app.bin", "0x08000000 bin", []string{"--addr", "0x08000000"}},
				{"app.hex", "0 ihex", nil},
				{"app.elf", "0 elf", nil},
			} {
				stdout := flashWriteVerified(t, addr, state, files[f.file], f.extra...)
				if !strings.Contains(stdout, "programmed by the flash loader on the target") {
					t.Errorf("flash write %s: the halted core did not run the flash loader:\n%s", f.file, stdout)
				}
				verify(files[f.file], f.spec)
			}

			bad := map[string][]byte{
				"broken.hex": []byte(":020000040800F2\n:0400000001020304F3\n:00000001FF\n"),
				"outside.elf": flashimagetest.BuildELF(0,
					flashimagetest.Prog{PAddr: 0x08000000, Data: make([]byte, 64)},
					flashimagetest.Prog{PAddr: 0x20000000, Data: make([]byte, 64)}),
				"huge.bin": make([]byte, (ln.flashKB+1)<<10),
			}
			for name, data := range bad {
				p := filepath.Join(dir, name)
				if err := os.WriteFile(p, data, 0o644); err != nil {
					t.Fatal(err)
				}
				args := []string{"--server", addr, "flash", "write", p, "--state-dir", state, "--confirm", "erase 1 sector"}
				if strings.HasSuffix(name, ".bin") {
					args = append(args, "--addr", "0x08000000")
				}
				if code, _, stderr := runCLI(t, args...); code == 0 || !strings.Contains(stderr, "refused") && !strings.Contains(stderr, "Intel HEX line 2") {
					t.Errorf("%s: exit %d, want a refusal:\n%s", name, code, stderr)
				}
			}
			// Nothing was erased: the ELF written last is still there.
			verify(files["app.elf"], "0 elf")
			code, stdout, stderr := runCLI(t, "--server", addr, "flash", "verify", files["app.hex"])
			if code != 0 || !strings.Contains(stdout, "verified") {
				t.Errorf("flash verify: exit %d\n%s%s", code, stdout, stderr)
			}
			data, err := os.ReadFile(files["app.bin"])
			if err != nil {
				t.Fatal(err)
			}
			checkChangedByteFound(t, ocd, addr, dir, data)
		})
	}
}
