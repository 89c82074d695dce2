package usbrelay_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stprobe/stprobe/internal/peertest"
	"github.com/stprobe/stprobe/probe/proto"
	"github.com/stprobe/stprobe/probe/sim"
	"github.com/stprobe/stprobe/probe/sim/usbrelay"
	"github.com/stprobe/stprobe/targets"
	"github.com/stprobe/stprobe/targets/stm32h5"
)

// TestDFUUtilListsSimulatedROM runs an unmodified dfu-util -l against the
// simulated H5 ROM DFU: it must find 0483:df11 with one line per memory
// alternate setting, named by the simulator's layout strings.
func TestDFUUtilListsSimulatedROM(t *testing.T) {
	peertest.Need(t, "dfu-util", "dfu-util")
	if err := usbrelay.Available(); err != nil {
		peertest.Missing(t, fmt.Sprintf("cannot simulate USB: %v", err))
	}
	m, err := stm32h5.New(stm32h5.Config{Line: stm32h5.LineH533, ProductState: targets.StateOpen, NRSTWired: true})
	if err != nil {
		t.Fatal(err)
	}
	dfu := m.ROMBootloader(true).NewDFU()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	r, err := usbrelay.StartBus(ctx, nil, []usbrelay.DFUFunction{dfu})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	out, err := r.Command(ctx, "dfu-util", "-l").CombinedOutput()
	t.Logf("dfu-util -l:\n%s", out)
	if err != nil {
		t.Fatalf("dfu-util -l: %v", err)
	}
	layouts := dfu.Layouts()
	if got := strings.Count(string(out), "Found DFU: [0483:df11] ver=0200"); got != len(layouts) {
		t.Errorf("dfu-util found %d DFU alternate settings, want %d", got, len(layouts))
	}
	for i, l := range layouts {
		want := `alt=` + string(rune('0'+i)) + `, name="` + l + `", serial="` + dfu.Serial() + `"`
		if !strings.Contains(string(out), want) {
			t.Errorf("dfu-util output lacks %s", want)
		}
	}
}

// TestDFUUtilFindsNothingOnAClosedChip: a CLOSED chip with BOOT0 high puts
// no DFU device on the bus (only its ST-LINK), and dfu-util -l lists none.
func TestDFUUtilFindsNothingOnAClosedChip(t *testing.T) {
	peertest.Need(t, "dfu-util", "dfu-util")
	if err := usbrelay.Available(); err != nil {
		peertest.Missing(t, fmt.Sprintf("cannot simulate USB: %v", err))
	}
	m, err := stm32h5.New(stm32h5.Config{Line: stm32h5.LineH533, ProductState: targets.StateClosed, TZEN: targets.TZENEnabled, NRSTWired: true})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := usbrelay.StartBus(ctx, nil, []usbrelay.DFUFunction{m.ROMBootloader(true).NewDFU()}); err == nil {
		t.Fatal("a bus with only a silent DFU function started")
	}
	r, err := usbrelay.StartBus(ctx, []usbrelay.Device{{Probe: stlinkProbe(t)}}, []usbrelay.DFUFunction{m.ROMBootloader(true).NewDFU()})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	out, err := r.Command(ctx, "dfu-util", "-l").CombinedOutput()
	if err != nil || strings.Contains(string(out), "Found DFU") {
		t.Fatalf("dfu-util -l (%v):\n%s", err, out)
	}
}

// stlinkProbe is a simulated ST-LINK/V2 with nothing wired.
func stlinkProbe(t *testing.T) *sim.Probe {
	t.Helper()
	v, err := proto.ParseVersion("V2J46S7")
	if err != nil {
		t.Fatal(err)
	}
	v.VID, v.PID = proto.VendorST, 0x3748
	return sim.New(sim.Config{Firmware: v, Serial: "55FF6B065177495619420887", TargetMillivolts: 3290})
}
