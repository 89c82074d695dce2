package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// settle returns the sessions a client left, once the log stops growing.
func TestCostLogSettle(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cost.jsonl")
	line := `{"server":"stlink-server","session":%d,"commands":10,"usb_transfers":20,"swd_bits":300,"modelled_ns":4000000}` + "\n"
	if err := os.WriteFile(path, []byte(strings.ReplaceAll(line, "%d", "1")), 0o644); err != nil {
		t.Fatal(err)
	}
	l := &costLog{path: path}
	go func() {
		time.Sleep(50 * time.Millisecond)
		f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			return
		}
		f.WriteString(strings.ReplaceAll(line, "%d", "2") + strings.ReplaceAll(line, "%d", "3"))
		f.Close()
	}()
	got, err := l.settle(context.Background(), 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Session != 2 || got[1].Session != 3 {
		t.Fatalf("settled on %+v, want sessions 2 and 3", got)
	}
	sum := got[0].add(got[1])
	if sum.Commands != 20 || sum.USBTransfers != 40 || sum.SWDBits != 600 || sum.Modelled != 8*time.Millisecond {
		t.Errorf("sum %+v", sum)
	}
}

func TestOpenOCDCell(t *testing.T) {
	o := options{cfg: "/x/h5.cfg"}
	got := strings.Join(openocdCell(o, "7184", "under-reset", 1, 480), " ")
	for _, want := range []string{"st-link backend tcp 7184", "-f /x/h5.cfg", "adapter speed 480",
		"reset_config srst_only srst_nogate connect_assert_srst -c init -c reset halt", "stm32h5.cpu mdw 0xE000ED00 -c shutdown"} {
		if !strings.Contains(got, want) {
			t.Errorf("OpenOCD args %q lack %q", got, want)
		}
	}
	if got := strings.Join(openocdCell(o, "1", "hotplug", 0, 5), " "); !strings.Contains(got, "-c init -c stm32h5.ap0 mdw 0xE0044000") {
		t.Errorf("hotplug AP0 cell: %q", got)
	}
}

func TestReport(t *testing.T) {
	var b bytes.Buffer
	c := func(cmds int, d time.Duration, khz int) cost {
		return cost{Commands: cmds, USBTransfers: 2 * cmds, Modelled: d, SWDKHz: khz, SWDKHzSet: []int{khz}}
	}
	r := benchReport{
		matrix: matrixBench{
			def: result{tool: "stprobe sweep", sessions: 1, cost: c(100, 200*time.Millisecond, 4000)}, tried: 6,
			full:      result{tool: "stprobe sweep --full", sessions: 1, cost: c(500, 2000*time.Millisecond, 4000)},
			floorDef:  result{sessions: 1, cost: c(50, 100*time.Millisecond, 4000)},
			provedDef: result{sessions: 1, cost: c(60, 125*time.Millisecond, 4000)},
			floor:     result{sessions: 1, cost: c(300, 1000*time.Millisecond, 4000)},
			openocd:   result{tool: "OpenOCD, 30 runs", skipped: "no openocd"},
		},
		memory: []memBench{{probe: "V2", khz: 4000,
			read: result{cost: c(30, 300*time.Millisecond, 4000)}, smallRead: result{cost: c(10, 20*time.Millisecond, 4000)},
			write: result{cost: c(30, 300*time.Millisecond, 4000)}, smallWrite: result{cost: c(10, 20*time.Millisecond, 4000)},
			openocd: result{skipped: "x"}, openocdInit: result{skipped: "x"}}},
		relay: relayBench{stprobe: result{tool: "stprobe mem read", skipped: "no umockdev"}, pyocd: result{tool: "pyOCD savemem", skipped: "no umockdev"}},
	}
	r.write(&b, options{scenario: "h533-open", khz: 4000})
	s := b.String()
	for _, want := range []string{"200 ms", "2.00x its own cells' floor", "1.60x when the floor proves each outcome", "0.20x the 30 cells' floor", "0.10x of --full",
		"2.00x the 30 cells' floor", "280 ms", "265 ms", "95%", "188 ms", "4000 kHz", "(skipped: no umockdev)", "unpaced"} {
		if !strings.Contains(s, want) {
			t.Errorf("report lacks %q:\n%s", want, s)
		}
	}
}

// The probe's floor for 64 KiB: 16384 words of 46 bits, 64 KiB over USB,
// 11 blocks of 6 KiB, each a round trip.
func TestMemFloor(t *testing.T) {
	floor, swd := memFloor(64<<10, 4000, false)
	if swd != 188416*time.Microsecond || floor != swd+65536*time.Microsecond+11*time.Millisecond {
		t.Errorf("V2 at 4 MHz: floor %v, SWD %v", floor, swd)
	}
	floor, swd = memFloor(64<<10, 24000, true)
	if want := swd + 1638400*time.Nanosecond + 11*125*time.Microsecond; floor != want {
		t.Errorf("V3 at 24 MHz: floor %v, want %v", floor, want)
	}
}

// pyOCD names ST's divisor 0 (4 MHz) 4.6 MHz: asking for 4000 kHz would
// get 1.8 MHz.
func TestPyOCDLabel(t *testing.T) {
	for khz, want := range map[int]int{4000: 4600, 1800: 1800, 480: 650, 100: 100} {
		if got := pyOCDLabel(khz); got != want {
			t.Errorf("%d kHz: ask pyOCD for %d, want %d", khz, got, want)
		}
	}
}

// Part (d) prints each tool's KiB/s on the modelled clock beside the
// floor of moving the bytes.
func TestFlashReport(t *testing.T) {
	var b bytes.Buffer
	c := func(cmds int, d time.Duration) cost {
		return cost{Commands: cmds, USBTransfers: 2 * cmds, Modelled: d, SWDKHz: 4000, SWDKHzSet: []int{4000}}
	}
	fb := flashBench{board: "l476-open", khz: 4000,
		stprobe: result{tool: "stprobe flash write --verify", cost: c(8000, 8*time.Second)},
		burst:   result{tool: "stprobe flash write --verify --burst", cost: c(300, 500*time.Millisecond)},
		openocd: result{tool: "OpenOCD program … verify", skipped: "no openocd"}}
	fb.write(&b)
	s := b.String()
	for _, want := range []string{"16 KiB", "l476-open", "2.0", "32.0", "(skipped: no openocd)", "340 KiB/s SWD bits alone"} {
		if !strings.Contains(s, want) {
			t.Errorf("report lacks %q:\n%s", want, s)
		}
	}
}
