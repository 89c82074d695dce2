package cli

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stprobe/stprobe/bench"
	"github.com/stprobe/stprobe/internal/peertest"
	"github.com/stprobe/stprobe/probe/sim"
	"github.com/stprobe/stprobe/probe/sim/scenario"
)

// serveBoard serves one simulated board as an stlink-server on a free
// loopback port and returns the port.
func serveBoard(t *testing.T, sc scenario.Scenario) string {
	t.Helper()
	_, port, _ := net.SplitHostPort(serveProbe(t, sim.CostOptions{}, sc.NewProbe()))
	return port
}

// openocdWords has stock OpenOCD read the option registers (the FLASH
// block from OPTSR_CUR on), the UID through AP1 and DBGMCU_IDCODE through
// AP0, and returns the "ADDR: WORDS" lines it printed.
func openocdWords(t *testing.T, openocd, port string) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := h5OpenOCD(t, openocd, port).Run(ctx, "init", "mdw 0x40022050 44", "mdw 0x08FFF800 3", "stm32h5.ap0 mdw 0xE0044000", "shutdown")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	lines := regexp.MustCompile(`(?im)^0x[0-9a-f]{8}: [0-9a-f ]+$`).FindAllString(out, -1)
	if len(lines) < 3 {
		t.Fatalf("openocd printed too few words:\n%s", out)
	}
	return lines
}

// TestOpenOCDReadsTwinAsOriginal: OpenOCD reads the same option registers,
// UID and IDCODE from a twin (captured, written, loaded) as from its
// original, served the same way.
func TestOpenOCDReadsTwinAsOriginal(t *testing.T) {
	openocd := peertest.Need(t, "openocd", "openocd")
	for _, name := range []string{"h533-provisioning", "h563-open", "h503-provisioning-da"} {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			orig, err := scenario.Lookup(name)
			if err != nil {
				t.Fatal(err)
			}
			f, err := bench.CaptureSimulated(ctx, name, false)
			if err != nil {
				t.Fatal(err)
			}
			data, err := bench.EncodeCapture(f)
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(t.TempDir(), "board.json")
			if err := os.WriteFile(path, data, 0o644); err != nil {
				t.Fatal(err)
			}
			tw, err := bench.TwinScenario(ctx, path)
			if err != nil {
				t.Fatal(err)
			}
			want := openocdWords(t, openocd, serveBoard(t, orig))
			got := openocdWords(t, openocd, serveBoard(t, tw.Scenario))
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Fatalf("openocd on the twin:\n%s\non the original:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
		})
	}
}
