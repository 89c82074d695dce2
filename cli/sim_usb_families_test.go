package cli

import (
	"bytes"
	"context"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/stprobe/stprobe/internal/peertest"
	"github.com/stprobe/stprobe/probe"
	"github.com/stprobe/stprobe/probe/sim/scenario"
	"github.com/stprobe/stprobe/targets"
)

// stInfoProbe is what `st-info --probe` prints about the chip.
var (
	stInfoChipID = regexp.MustCompile(`chipid:\s+0x([0-9a-fA-F]+)`)
	stInfoFlash  = regexp.MustCompile(`flash:\s+(\d+)`)
)

// TestStInfoNamesFamilyBoards runs stlink-tools' `st-info --probe` (libusb,
// through the USB relay) on every simulated board of the families beyond
// the STM32H5 and holds it to stprobe: the chip id is the DEV_ID stprobe
// identifies, the flash size the one stprobe reads. st-info connects
// without holding NRST, so on a board whose firmware silences SWD, or at
// RDP level 2, it finds no chip (chip id 0), as stprobe's Normal and Hot
// Plug do. stlink-tools 1.7.0 has no STM32U5 in its chip table: it names
// the chip id and reports no flash; a newer one must agree on both.
func TestStInfoNamesFamilyBoards(t *testing.T) {
	needUSBRelay(t)
	peertest.Need(t, "st-info", "stlink-tools")
	for _, sc := range scenario.List() {
		if sc.RDPChip == nil {
			continue
		}
		t.Run(sc.Name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			var stdout, stderr bytes.Buffer
			if code := Run(ctx, Config{}, []string{"--sim", sc.Name, "sim", "usb-relay", "--", "st-info", "--probe"}, nil, &stdout, &stderr); code != 0 {
				t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout.String(), stderr.String())
			}
			out := stdout.String()
			m := stInfoChipID.FindStringSubmatch(out)
			f := stInfoFlash.FindStringSubmatch(out)
			if m == nil || f == nil {
				t.Fatalf("st-info printed no chip id or flash:\n%s", out)
			}
			chipID, _ := strconv.ParseUint(m[1], 16, 16)
			flash, _ := strconv.Atoi(f[1])
			if !normalConnectReaches(sc) {
				if chipID != 0 {
					t.Errorf("st-info read chip id 0x%03X on a board no normal connect reaches", chipID)
				}
				return
			}
			c := identifyHotPlug(t, sc)
			if uint16(chipID) != c.DevID {
				t.Errorf("st-info chip id 0x%03X, stprobe DEV_ID 0x%03X", chipID, c.DevID)
			}
			switch {
			case flash == 0 && c.Family.Name == "STM32U5":
				// stlink-tools 1.7.0: no U5 entry (see above).
			case flash != int(c.FlashKB)<<10:
				t.Errorf("st-info flash %d bytes, stprobe %d KiB", flash, c.FlashKB)
			}
			if t.Failed() {
				t.Logf("st-info output:\n%s", out)
			}
		})
	}
}

// normalConnectReaches reports whether a tool that connects without holding
// NRST (st-info, st-flash) reaches the core of the board.
func normalConnectReaches(sc scenario.Scenario) bool {
	return sc.Expect.AP0 == scenario.OK && !sc.Expect.AP0UnderResetOnly
}

// identifyHotPlug identifies the scenario's chip with stprobe, on a fresh
// copy of the board.
func identifyHotPlug(t *testing.T, sc scenario.Scenario) *targets.Chip {
	t.Helper()
	ctx := context.Background()
	l, err := probe.NewLink(ctx, sc.NewProbe())
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	r, err := probe.Connect(ctx, l, probe.ConnectOptions{Mode: probe.ModeHotPlug, AP: 0})
	if err != nil || !r.OK() {
		t.Fatalf("connect: %v %v", err, r.Err)
	}
	c, err := targets.Identify(ctx, l, r.DPIDR)
	if err != nil || !c.HasFlashSize {
		t.Fatalf("identify: %v %v", err, c)
	}
	return c
}
