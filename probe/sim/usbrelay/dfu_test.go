package usbrelay_test

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stprobe/stprobe/probe/sim/usbrelay"
	"github.com/stprobe/stprobe/targets"
	"github.com/stprobe/stprobe/targets/stm32h5"
)

// needPeer skips (or, with CI=true, fails) when a peer tool is missing.
func needPeer(t *testing.T, name string) {
	t.Helper()
	if _, err := exec.LookPath(name); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is not installed and CI=true: %v", name, err)
		}
		t.Skipf("%s is not installed: %v", name, err)
	}
}

// TestDFUUtilListsSimulatedROM runs an unmodified dfu-util -l against the
// simulated H5 ROM DFU: it must find 0483:df11 with one line per memory
// alternate setting, named by the simulator's layout strings.
func TestDFUUtilListsSimulatedROM(t *testing.T) {
	needPeer(t, "dfu-util")
	if err := usbrelay.Available(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("umockdev relay unavailable and CI=true: %v", err)
		}
		t.Skipf("cannot simulate USB: %v", err)
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
