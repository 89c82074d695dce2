package usbrelay_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stprobe/stprobe/probe/proto"
	"github.com/stprobe/stprobe/probe/sim"
	"github.com/stprobe/stprobe/probe/sim/usbrelay"
	"github.com/stprobe/stprobe/targets"
	"github.com/stprobe/stprobe/targets/stm32h5"
)

// Debian's pyOCD 0.13 (pyocd-tool), unmodified, walks both access ports
// of a simulated STM32H563 through libusb: DBGMCU on AP0 is a valid
// CoreSight component (designer ST, part = DEV_ID), the Cortex-M33's FPB
// has 8 instruction comparators and its DWT 4, and after a halt the
// registers read back.
func TestPyOCDThroughRelay(t *testing.T) {
	needPeers(t, "pyocd-tool")
	m, err := stm32h5.New(stm32h5.Config{Line: stm32h5.LineH563, TZEN: targets.TZENEnabled})
	if err != nil {
		t.Fatal(err)
	}
	// pyOCD 0.13 reads an ST-LINK/V3's version from GET_VERSION alone and
	// refuses it; a V2-1 suits it.
	v, err := proto.ParseVersion("V2J40M27")
	if err != nil {
		t.Fatal(err)
	}
	v.VID, v.PID = proto.VendorST, 0x374B
	p := sim.New(sim.Config{Firmware: v, Serial: "066DFF485550755187121723", TargetMillivolts: 3290, Chip: m})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := usbrelay.Run(ctx, p, []string{"pyocd-tool", "-t", "cortex_m", "-d", "info", "-H", "reg"})
	if err != nil {
		t.Fatalf("pyocd-tool: %v\n%s", err, out)
	}
	s := string(out)
	for _, want := range []string{"DP IDR = 0x6ba02477", "[0]<e0044000:??? class=15 designer=020 part=484>",
		"4 hardware watchpoints", "8 hardware breakpoints", "xpsr: 0x01000000"} {
		if !strings.Contains(s, want) {
			t.Errorf("pyocd-tool output lacks %q", want)
		}
	}
	if strings.Contains(s, "Invalid coresight component") {
		t.Error("pyocd-tool found an invalid CoreSight component")
	}
	if t.Failed() {
		t.Logf("pyocd-tool output:\n%s", s)
	}
}
