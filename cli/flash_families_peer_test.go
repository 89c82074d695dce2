package cli

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stprobe/stprobe/internal/peertest"
	"github.com/stprobe/stprobe/probe/sim"
	"github.com/stprobe/stprobe/probe/sim/scenario"
)

// OpenOCD 0.12 programs a family board served as an stlink-server with its
// own driver (`program FILE verify reset`, host-driven writes: the
// simulated core runs no flash loader), and `stprobe mem read` on the same
// server reads the file back.
func TestOpenOCDProgramThenMemRead(t *testing.T) {
	openocd := peertest.Need(t, "openocd", "openocd")
	for _, c := range []struct{ scenario, cfg string }{
		{"f103-open", "stm32f1x.cfg"},
		{"l476-open", "stm32l4x.cfg"},
	} {
		t.Run(c.scenario, func(t *testing.T) {
			sc, err := scenario.Lookup(c.scenario)
			if err != nil {
				t.Fatal(err)
			}
			p := sc.NewProbe()
			addr := serveProbe(t, sim.CostOptions{}, p)
			port := addr[strings.LastIndex(addr, ":")+1:]
			dir := t.TempDir()
			img := make([]byte, 3000)
			for i := range img {
				img[i] = byte(i*31 + i>>8)
			}
			file := filepath.Join(dir, "app.bin")
			if err := os.WriteFile(file, img, 0o600); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			ocd := peertest.OpenOCD{Path: openocd, Port: port, Target: "target/" + c.cfg, Pre: []string{"set WORKAREASIZE 0"}}
			out, err := ocd.Run(ctx, fmt.Sprintf("program %s 0x08000000 verify reset exit", filepath.ToSlash(file)))
			if err != nil || !strings.Contains(out, "** Verified OK **") {
				t.Fatalf("openocd program: %v\n%s", err, out)
			}
			back := filepath.Join(dir, "back.bin")
			code, stdout, errOut := runCLI(t, "--server", addr, "--probe", p.Config().Serial, "mem", "read", "0x08000000", fmt.Sprint(len(img)), "-o", back)
			if code != 0 {
				t.Fatalf("mem read: exit %d\n%s%s", code, stdout, errOut)
			}
			got, err := os.ReadFile(back)
			if err != nil || !bytes.Equal(got, img) {
				t.Errorf("stprobe mem read after OpenOCD's program: %v, %d bytes, equal %v", err, len(got), bytes.Equal(got, img))
			}
		})
	}
}
