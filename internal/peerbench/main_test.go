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
	report(&b, options{scenario: "h533-open", khz: 4000}, []comparison{{
		name:    "(b) 64 KiB RAM read",
		stprobe: result{tool: "stprobe mem read", sessions: 1, cost: cost{Commands: 100, USBTransfers: 200, Modelled: 400 * time.Millisecond}, wall: time.Second},
		peer:    result{tool: "OpenOCD dump_image", sessions: 1, cost: cost{Commands: 150, USBTransfers: 300, Modelled: 600 * time.Millisecond}, wall: 2 * time.Second},
	}, {
		name: "(c) 64 KiB RAM read over USB", stprobe: result{tool: "stprobe mem read", skipped: "no umockdev"}, peer: result{tool: "pyOCD savemem", skipped: "no umockdev"},
	}}, time.Second)
	s := b.String()
	for _, want := range []string{"400 ms", "600 ms", "1.50x", "2.00x", "(skipped: no umockdev)", "unpaced"} {
		if !strings.Contains(s, want) {
			t.Errorf("report lacks %q:\n%s", want, s)
		}
	}
}
