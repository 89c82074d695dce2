package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stprobe/stprobe/internal/peertest"
	"github.com/stprobe/stprobe/probe/sim"
	"github.com/stprobe/stprobe/probe/sim/scenario"
	"github.com/stprobe/stprobe/probe/sim/usbrelay"
	"github.com/stprobe/stprobe/targets"
	"github.com/stprobe/stprobe/targets/stm32rdp"
)

// What stlink-tools 1.7.0 does with each family (stlink-org/stlink v1.7.0,
// src/common.c stlink_flashloader_start and stlink_flashloader_write; the
// chip table src/stlink-lib/chipid.c):
//
//   - G0 and G4 are programmed by the host, a word at a time through the
//     debug port (stlink_write_debug32 with FLASH_CR.PG set); the H7 by the
//     host too, 64 bytes at a time (two 256-bit flash words) with PG set.
//     The simulator serves both honestly: the write must succeed.
//   - F1 (flash type F0), F4 and L4 are programmed by a flash loader that
//     st-flash copies to SRAM and runs on the core. The simulated core runs
//     no code, so the loader never reaches its breakpoint: st-flash reports
//     "Flash loader run error". It has erased the pages it meant to write
//     before starting the loader (stlink_write_flash erases first), so those
//     pages read erased and nothing of the image is in them.
//   - U5 is not in 1.7.0's chip table: st-flash names the chip id unknown
//     and touches nothing.
var stFlashHostWrites = map[string]bool{
	"STM32F1": false, "STM32F4": false, "STM32L4": false,
	"STM32G0": true, "STM32G4": true, "STM32H7": true,
}

// stFlashGeometry is what st-flash prints about the chip it found.
var stFlashGeometry = regexp.MustCompile(`(\d+) KiB SRAM, (\d+) KiB flash in at least (\d+) (KiB|bytes) pages`)

// stFlashArgsEnv carries the arguments of a stprobe run to the test binary
// started through the relay, which then acts as stprobe (over USB, on the
// same simulated board st-flash used).
const stFlashArgsEnv = "STPROBE_TEST_STFLASH_STPROBE_ARGS"

// stFlashReadLen is how much of main flash the read test compares: the
// board's image and erased flash after it.
const stFlashReadLen = 16 << 10

// TestStFlashReadsFamilyBoards runs stlink-tools' `st-flash read` through
// the USB relay on every simulated board of the families beyond the H5,
// each with a known image in flash, and holds it to stprobe's `mem read` of
// the same board over the same USB bus and to the flash cells themselves.
// Where st-flash 1.7.0 knows the family and a normal connect reaches the
// chip, at RDP level 0, the three agree byte for byte and st-flash names
// the flash size stprobe reads. At RDP level 1 st-flash exits 0 yet its file
// does not hold the flash (it does not check the probe's read status)
// while stprobe refuses with the reason. Where no normal connect reaches
// the chip, st-flash fails to connect; on the U5 it names the chip id
// unknown (a newer st-flash that knows the U5 must agree instead).
func TestStFlashReadsFamilyBoards(t *testing.T) {
	if args := os.Getenv(stFlashArgsEnv); args != "" {
		os.Exit(Run(context.Background(), Config{}, strings.Fields(args), os.Stdin, os.Stdout, os.Stderr))
	}
	needUSBRelay(t)
	peertest.Need(t, "st-flash", "stlink-tools")
	for _, sc := range scenario.List() {
		if sc.RDPChip == nil {
			continue
		}
		t.Run(sc.Name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			p, m := stFlashBoard(t, sc, stFlashImage(12<<10, 13))
			want := m.Flash(0, stFlashReadLen)
			dir := t.TempDir()
			file := filepath.Join(dir, "st-flash.bin")
			out, err := stFlashRelay(ctx, t, p, "st-flash", "read", file, "0x08000000", strconv.Itoa(stFlashReadLen))
			got, _ := os.ReadFile(file)
			switch {
			case !normalConnectReaches(sc):
				if err == nil || len(got) != 0 {
					t.Errorf("st-flash read a board no normal connect reaches: %v, %d bytes\n%s", err, len(got), out)
				}
				return
			case strings.Contains(out, "unknown chip id"):
				if sc.RDPChip.Family.Name != "STM32U5" || err == nil || len(got) != 0 {
					t.Errorf("st-flash does not know the %s: %v, %d bytes\n%s", sc.RDPChip.Family.Name, err, len(got), out)
				}
				if !bytes.Equal(m.Flash(0, stFlashReadLen), want) {
					t.Error("flash changed under an st-flash that did not know the chip")
				}
				return
			}
			if err != nil {
				t.Fatalf("st-flash read: %v\n%s", err, out)
			}
			stFlashCheckGeometry(t, out, m)
			mine, merr := stFlashStprobeRead(ctx, t, p, stFlashReadLen)
			if m.Level() >= targets.RDPLevel1 {
				if bytes.Equal(got, want) {
					t.Error("st-flash read the flash of a chip at RDP level 1")
				}
				if merr == nil {
					t.Errorf("stprobe mem read succeeded at RDP level 1 (%d bytes)", len(mine))
				}
				return
			}
			if merr != nil {
				t.Fatalf("stprobe mem read: %v", merr)
			}
			if i := firstDiff(got, want); i >= 0 {
				t.Errorf("st-flash read differs from the flash cells at offset 0x%X (%d bytes read)", i, len(got))
			}
			if i := firstDiff(mine, got); i >= 0 {
				t.Errorf("stprobe mem read differs from st-flash read at offset 0x%X", i)
			}
		})
	}
}

// TestStFlashWritesOpenBoards runs `st-flash write` of a small image at
// 0x08000000 on the open board of each family and checks the flash cells
// afterwards (see stFlashHostWrites): on G0, G4 and H7 the image is written,
// verified by st-flash, read back identical by stprobe over USB, and the
// rest of the pages st-flash erased reads erased; on F1, F4 and L4 st-flash
// reports its loader's failure and the pages it erased read erased, with
// nothing of the image in them. On every family the flash beyond those
// pages keeps what it held: st-flash's page size is the model's.
func TestStFlashWritesOpenBoards(t *testing.T) {
	needUSBRelay(t)
	peertest.Need(t, "st-flash", "stlink-tools")
	image := stFlashImage(2<<10+256, 29) // two pages on G0/G4
	for _, sc := range scenario.List() {
		if sc.RDPChip == nil || !strings.HasSuffix(sc.Name, "-open") {
			continue
		}
		t.Run(sc.Name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			const before = 24 << 10
			p, m := stFlashBoard(t, sc, stFlashImage(before, 13))
			old := m.Flash(0, before)
			file := filepath.Join(t.TempDir(), "image.bin")
			if err := os.WriteFile(file, image, 0o600); err != nil {
				t.Fatal(err)
			}
			out, err := stFlashRelay(ctx, t, p, "st-flash", "write", file, "0x08000000")
			family := sc.RDPChip.Family.Name
			host, known := stFlashHostWrites[family]
			if !known || strings.Contains(out, "unknown chip id") {
				if known || family != "STM32U5" || err == nil || !strings.Contains(out, "unknown chip id") {
					t.Fatalf("st-flash on the %s: %v\n%s", family, err, out)
				}
				if !bytes.Equal(m.Flash(0, before), old) {
					t.Error("flash changed under an st-flash that did not know the chip")
				}
				return
			}
			page := stFlashCheckGeometry(t, out, m)
			if page == 0 {
				t.FailNow()
			}
			erasedEnd := (len(image) + page - 1) / page * page
			cells := m.Flash(0, uint32(max(erasedEnd, before)))
			written := 0
			if host {
				if err != nil || !strings.Contains(out, "Flash written and verified") {
					t.Fatalf("st-flash write: %v\n%s", err, out)
				}
				if i := firstDiff(cells[:len(image)], image); i >= 0 {
					t.Errorf("flash differs from the image at offset 0x%X", i)
				}
				mine, merr := stFlashStprobeRead(ctx, t, p, len(image))
				if merr != nil || !bytes.Equal(mine, image) {
					t.Errorf("stprobe mem read after st-flash write: %v, equal %v", merr, bytes.Equal(mine, image))
				}
				written = len(image)
			} else if err == nil || !strings.Contains(out, "Flash loader run error") {
				t.Fatalf("st-flash write on a core that runs no code: %v, want its loader's failure\n%s", err, out)
			}
			for i := written; i < erasedEnd; i++ {
				if cells[i] != 0xFF {
					t.Fatalf("offset 0x%X in a page st-flash erased reads 0x%02X", i, cells[i])
				}
			}
			if erasedEnd < before {
				if i := firstDiff(cells[erasedEnd:before], old[erasedEnd:]); i >= 0 {
					t.Errorf("offset 0x%X beyond the pages st-flash erased changed", erasedEnd+i)
				}
			}
			if t.Failed() {
				t.Logf("st-flash output:\n%s", out)
			}
		})
	}
}

// TestOpenOCDProgramsH7 holds the H7's modelled flash interface to
// OpenOCD 0.12's stm32h7x driver too: with no work area (the simulated
// core runs no code) `program FILE verify reset` takes the driver's
// host-driven path, one 256-bit flash word at a time with PG set, and
// succeeds; stprobe reads the file back over USB. The image does not end
// on a flash word: OpenOCD pads the last one with the erased value.
func TestOpenOCDProgramsH7(t *testing.T) {
	needUSBRelay(t)
	peertest.Need(t, "openocd", "openocd")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	sc, err := scenario.Lookup("h743-open")
	if err != nil {
		t.Fatal(err)
	}
	p, m := stFlashBoard(t, sc, stFlashImage(24<<10, 13))
	image := stFlashImage(4<<10+100, 29)
	file := filepath.Join(t.TempDir(), "image.bin")
	if err := os.WriteFile(file, image, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := stFlashRelay(ctx, t, p, "openocd", "-f", "interface/stlink.cfg",
		"-c", "gdb_port disabled", "-c", "tcl_port disabled", "-c", "telnet_port disabled",
		"-c", "set WORKAREASIZE 0", "-f", "target/stm32h7x.cfg",
		"-c", fmt.Sprintf("program %s 0x08000000 verify reset exit", filepath.ToSlash(file)))
	if err != nil || !strings.Contains(out, "** Programming Finished **") || !strings.Contains(out, "** Verified OK **") {
		t.Fatalf("openocd program: %v\n%s", err, out)
	}
	cells := m.Flash(0, 128<<10) // sector 0
	if i := firstDiff(cells[:len(image)], image); i >= 0 {
		t.Errorf("flash differs from the image at offset 0x%X", i)
	}
	if n := bytes.Count(cells[len(image):], []byte{0xFF}); n != len(cells)-len(image) {
		t.Errorf("sector 0 after the image: %d of %d bytes erased", n, len(cells)-len(image))
	}
	mine, merr := stFlashStprobeRead(ctx, t, p, len(image))
	if merr != nil || !bytes.Equal(mine, image) {
		t.Errorf("stprobe mem read after OpenOCD's program: %v, equal %v", merr, bytes.Equal(mine, image))
	}
}

// stFlashBoard builds the scenario's board with image in flash (a locked
// board keeps its own firmware, an empty one stays empty).
func stFlashBoard(t *testing.T, sc scenario.Scenario, image []byte) (*sim.Probe, *stm32rdp.Model) {
	t.Helper()
	cfg := *sc.RDPChip
	if cfg.Image == nil && cfg.Firmware != stm32rdp.FirmwareEmpty {
		stock, err := stm32rdp.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		cfg.Image = append(stock.Flash(0, 8), image[8:]...) // keep the vector table
	}
	sc.RDPChip = &cfg
	p, err := sc.Build()
	if err != nil {
		t.Fatal(err)
	}
	m := scenario.RDPModel(p)
	if m == nil {
		t.Fatalf("%s: no RDP-family model", sc.Name)
	}
	return p, m
}

// stFlashImage is n bytes of a made-up image, seeded by k.
func stFlashImage(n, k int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*k + i>>8 + 7)
	}
	return b
}

// stFlashRelay runs a program against p over the simulated USB bus and
// returns its output (stdout and stderr together).
func stFlashRelay(ctx context.Context, t *testing.T, p *sim.Probe, name string, args ...string) (string, error) {
	t.Helper()
	relay, err := usbrelay.Start(ctx, usbrelay.Device{Probe: p})
	if err != nil {
		t.Fatalf("starting the USB relay: %v", err)
	}
	var out bytes.Buffer
	cmd := relay.Command(ctx, name, args...)
	if name == os.Args[0] {
		cmd.Env = append(cmd.Env, stFlashArgsEnv+"="+strings.Join(args[1:], " "))
		cmd.Args = cmd.Args[:2]
	}
	cmd.Stdout, cmd.Stderr = &out, &out
	runErr := cmd.Run()
	if err := relay.Close(); err != nil {
		t.Errorf("closing the USB relay: %v", err)
	}
	var exit *exec.ExitError
	if runErr != nil && !errors.As(runErr, &exit) {
		t.Fatalf("%s: %v", name, runErr)
	}
	return out.String(), runErr
}

// stFlashStprobeRead reads n bytes at 0x08000000 with stprobe's `mem read`
// over USB, on the same board.
func stFlashStprobeRead(ctx context.Context, t *testing.T, p *sim.Probe, n int) ([]byte, error) {
	t.Helper()
	file := filepath.Join(t.TempDir(), "stprobe.bin")
	out, err := stFlashRelay(ctx, t, p, os.Args[0], "-test.run=^TestStFlashReadsFamilyBoards$",
		"mem", "read", "0x08000000", strconv.Itoa(n), "-o", file)
	if strings.Contains(out, "simulated bench") {
		t.Errorf("stprobe fell back to the in-process simulator:\n%s", out)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %s", err, out)
	}
	return os.ReadFile(file)
}

// stFlashCheckGeometry holds what st-flash says of the chip to the model:
// the flash size and the SRAM from 0x20000000. It returns st-flash's page
// size in bytes (0 if it printed none). stlink 1.7.0 gives the G4's SRAM
// without the CCM SRAM that the G47x aliases right after SRAM1 and SRAM2
// (stm32g474xx.h SRAM2_BASE 0x20014000 + SRAM2_SIZE, CCMSRAM_SIZE 32 KiB;
// RM0440, memory map): there the model follows the reference manual.
func stFlashCheckGeometry(t *testing.T, out string, m *stm32rdp.Model) int {
	t.Helper()
	g := stFlashGeometry.FindStringSubmatch(out)
	if g == nil {
		t.Errorf("st-flash printed no chip geometry:\n%s", out)
		return 0
	}
	sram, _ := strconv.Atoi(g[1])
	flash, _ := strconv.Atoi(g[2])
	page, _ := strconv.Atoi(g[3])
	if g[4] == "KiB" {
		page <<= 10
	}
	cfg, line := m.Config(), m.Line()
	if flash != int(cfg.FlashKB) {
		t.Errorf("st-flash: %d KiB flash, the model %d KiB", flash, cfg.FlashKB)
	}
	wantSRAM := line.SRAMKB
	if cfg.Family.Name == "STM32G4" {
		wantSRAM -= 32 // the CCM SRAM alias (see above)
	}
	if sram != wantSRAM {
		t.Errorf("st-flash: %d KiB SRAM, the model %d KiB", sram, wantSRAM)
	}
	return page
}

// firstDiff is the first offset where a and b differ (a length difference
// counts), -1 if they are equal.
func firstDiff(a, b []byte) int {
	for i := 0; i < len(a) && i < len(b); i++ {
		if a[i] != b[i] {
			return i
		}
	}
	if len(a) != len(b) {
		return min(len(a), len(b))
	}
	return -1
}
