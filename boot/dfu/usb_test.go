package dfu_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stprobe/stprobe/boot"
	"github.com/stprobe/stprobe/boot/dfu"
	"github.com/stprobe/stprobe/internal/peertest"
	"github.com/stprobe/stprobe/probe/sim/scenario"
	"github.com/stprobe/stprobe/probe/sim/usbrelay"
)

// needUSBSim skips (or fails with CI=true) when the umockdev relay cannot
// run, and re-runs the test in a child with umockdev's preload library; it
// returns false in the child, which does the work.
func needUSBSim(t *testing.T) bool {
	t.Helper()
	if err := usbrelay.Available(); err != nil {
		peertest.Missing(t, fmt.Sprintf("cannot simulate USB: %v", err))
	}
	if usbrelay.Preloaded() {
		return false
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^"+t.Name()+"$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), usbrelay.PreloadEnv()...)
	out, err := cmd.CombinedOutput()
	t.Logf("under umockdev:\n%s", out)
	if err != nil || !bytes.Contains(out, []byte("--- PASS: "+t.Name())) {
		t.Fatalf("the test under umockdev failed: %v", err)
	}
	return true
}

// TestProbeUSBUnderUmockdev runs the real gousb path against the simulated
// ROM DFU on a umockdev bus: an OPEN board with BOOT0 high answers with its
// DEV_ID; a CLOSED one puts nothing on the bus (only its ST-LINK) and the
// probe reports silence.
func TestProbeUSBUnderUmockdev(t *testing.T) {
	if needUSBSim(t) {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	open, _ := scenario.Lookup("h533-open")
	open = open.WithBoot0(true)
	r, err := usbrelay.StartBus(ctx, nil, []usbrelay.DFUFunction{open.Bootloader(open.NewProbe()).NewDFU()})
	if err != nil {
		t.Fatal(err)
	}
	os.Setenv("UMOCKDEV_DIR", r.Root())
	res := dfu.ProbeUSB(ctx, dfu.Options{})
	r.Close()
	if res.Outcome != boot.Answered || res.PID != 0x478 || !res.HasProductState || res.DFU.Serial == "" {
		t.Fatalf("OPEN + BOOT0 high: %s", res.Summary())
	}

	closed, _ := scenario.Lookup("h533-closed-da")
	p := closed.WithBoot0(true).NewProbe()
	r, err = usbrelay.StartBus(ctx, []usbrelay.Device{{Probe: p}}, []usbrelay.DFUFunction{closed.WithBoot0(true).Bootloader(p).NewDFU()})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	os.Setenv("UMOCKDEV_DIR", r.Root())
	res = dfu.ProbeUSB(ctx, dfu.Options{})
	if res.Outcome != boot.Silent || !strings.Contains(res.Detail, "0483:3748") {
		t.Fatalf("CLOSED: %s, want silent naming the ST-LINK", res.Summary())
	}
}
