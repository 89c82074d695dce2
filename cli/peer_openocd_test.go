package cli

import (
	"context"
	"encoding/json"
	"net"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stprobe/stprobe/internal/peertest"
	"github.com/stprobe/stprobe/probe/sim"
	"github.com/stprobe/stprobe/probe/sim/scenario"
	"github.com/stprobe/stprobe/targets/stm32h5"
)

// serveScenario serves one simulated board as an stlink-server on a free
// loopback port and returns its address.
func serveScenario(t *testing.T, name string) string {
	t.Helper()
	sc, err := scenario.Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	return serveProbe(t, sim.CostOptions{}, sc.NewProbe())
}

// h5OpenOCD is stock OpenOCD on the stlink-server at port with the
// project's STM32H5 target file (OpenOCD 0.12 has none of its own).
func h5OpenOCD(t *testing.T, openocd, port string) peertest.OpenOCD {
	t.Helper()
	cfg, err := filepath.Abs("../testdata/stm32h5-openocd.cfg")
	if err != nil {
		t.Fatal(err)
	}
	return peertest.OpenOCD{Path: openocd, Port: port, Target: cfg}
}

// TestOpenOCDReadsSameOPTSR holds `stprobe ob read` to stock OpenOCD: both
// read FLASH_OPTSR_CUR of the seed board through the simulated
// stlink-server and must see the same value.
func TestOpenOCDReadsSameOPTSR(t *testing.T) {
	openocd := peertest.Need(t, "openocd", "openocd")
	addr := serveScenario(t, "h533-provisioning")
	_, port, _ := net.SplitHostPort(addr)

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := h5OpenOCD(t, openocd, port).Run(ctx, "init", "mdw 0x40022050", "stm32h5.ap0 mdw 0xE0044000", "shutdown")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	m := regexp.MustCompile(`(?i)0x40022050: ([0-9a-f]{8})`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("openocd printed no OPTSR word:\n%s", out)
	}
	openocdOPTSR, _ := strconv.ParseUint(m[1], 16, 32)
	if !strings.Contains(out, "0xe0044000: 10000478") {
		t.Errorf("openocd did not read the H533 DBGMCU IDCODE through AP0:\n%s", out)
	}

	code, stdout, stderr := runCLI(t, "--server", addr, "ob", "read", "--json", "--state-dir", t.TempDir())
	if code != 0 {
		t.Fatalf("ob read exit %d: %s", code, stderr)
	}
	var got obReadJSON
	if err := json.Unmarshal([]byte(stdout), &got); err != nil {
		t.Fatalf("ob read --json: %v\n%s", err, stdout)
	}
	var optsr uint32
	for _, r := range got.Registers {
		if r.Name == "OPTSR" {
			optsr = r.Cur
		}
	}
	if uint64(optsr) != openocdOPTSR {
		t.Fatalf("OPTSR: stprobe 0x%08X, openocd 0x%08X", optsr, openocdOPTSR)
	}
	if got.ProductState == nil || *got.ProductState != 0x17 || uint64(*got.ProductState) != openocdOPTSR>>8&0xFF {
		t.Fatalf("product state %+v, openocd's OPTSR says %#x", got.ProductState, openocdOPTSR>>8&0xFF)
	}
}

// TestOBReadEveryScenario runs `ob read --json` on every simulated board:
// where AP1 is open it must report the product state and TZEN the board was
// built with; where it is closed the command must fail and say why.
func TestOBReadEveryScenario(t *testing.T) {
	for _, sc := range scenario.List() {
		if sc.Chip == nil {
			continue // not an STM32H5: no option bytes to read
		}
		t.Run(sc.Name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, "--sim", sc.Name, "ob", "read", "--json", "--state-dir", t.TempDir())
			if sc.Expect.HotPlugAP1 != scenario.OK {
				if code == 0 {
					t.Fatalf("ob read succeeded with AP1 closed:\n%s", stdout)
				}
				if !strings.Contains(stdout+stderr, "AP1") {
					t.Errorf("the failure does not say AP1 is closed:\n%s%s", stdout, stderr)
				}
				return
			}
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			var got obReadJSON
			if err := json.Unmarshal([]byte(stdout), &got); err != nil {
				t.Fatalf("%v\n%s", err, stdout)
			}
			if got.ProductState == nil || *got.ProductState != sc.Chip.ProductState {
				t.Fatalf("product state %+v, board built with 0x%02X", got.ProductState, uint8(sc.Chip.ProductState))
			}
			switch {
			case sc.Chip.Line == stm32h5.LineH503:
				if got.TZEN != nil {
					t.Errorf("H503 has no TZEN, got %+v", got.TZEN)
				}
			case got.TZEN == nil || got.TZEN.Raw != uint32(sc.Chip.TZEN):
				t.Errorf("TZEN %+v, board built with 0x%02X", got.TZEN, uint8(sc.Chip.TZEN))
			}
		})
	}
}
