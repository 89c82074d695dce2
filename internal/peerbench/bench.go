package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"
)

// benchReport is everything measured.
type benchReport struct {
	matrix matrixBench
	memory []memBench
	relay  relayBench
	flash  flashBench
	total  time.Duration
}

// matrixBench is part (a).
type matrixBench struct {
	def, full       result // stprobe sweep, default and --full
	tried           int    // cells the default sweep tried
	floorDef, floor result // the floor of the default's tried cells, of all cells
	// provedDef is the floor of the default's tried cells when each cell
	// also proves its outcome (the halt seen, the reset vector caught).
	provedDef result
	openocd   result
}

// sweepCells is what `stprobe sweep --json` says of its cells (the fields
// used here).
type sweepCells struct {
	Cells []struct {
		Mode      string `json:"mode"`
		AP        int    `json:"ap"`
		KHz       int    `json:"khz"`
		Outcome   string `json:"outcome"`
		ImpliedBy string `json:"implied_by"`
	} `json:"cells"`
}

// benchMatrix is part (a).
func benchMatrix(ctx context.Context, o options, s *server) (matrixBench, error) {
	var b matrixBench
	var freqs []string
	for _, k := range clocks {
		freqs = append(freqs, fmt.Sprint(k))
	}
	args := []string{o.stprobe, "--server", s.addr, "sweep", "--modes", strings.Join(modes, ","), "--aps", "0,1",
		"--freqs", strings.Join(freqs, ","), "--json"}
	var err error
	var out []byte
	if b.def, out, err = s.sessionOutput(ctx, "stprobe sweep", args...); err != nil {
		return b, err
	}
	var doc sweepCells
	if err := json.Unmarshal(out, &doc); err != nil {
		return b, fmt.Errorf("stprobe sweep --json: %w", err)
	}
	var tried, all []floorCell
	for _, c := range doc.Cells {
		k := floorCell{cellKey{mode: c.Mode, ap: c.AP, khz: c.KHz}, c.Outcome}
		all = append(all, k)
		if c.ImpliedBy == "" {
			tried = append(tried, k)
		}
	}
	b.tried = len(tried)
	if b.full, err = s.session(ctx, "stprobe sweep --full", append(args, "--full")...); err != nil {
		return b, err
	}
	// The proving floor first: the other floors leave the core as they
	// found it no more than the proving one does (no resume), and what they
	// leave (debug enabled through a reset) can change what a halt request
	// finds; the sweeps before it put the chip back after every cell.
	if b.provedDef, err = s.floorSession(ctx, tried, true); err != nil {
		return b, err
	}
	if b.floorDef, err = s.floorSession(ctx, tried, false); err != nil {
		return b, err
	}
	if b.floor, err = s.floorSession(ctx, all, false); err != nil {
		return b, err
	}
	b.openocd.tool = "OpenOCD, 30 runs"
	if !installed("openocd") {
		b.openocd.skipped = openocdMissing
		return b, nil
	}
	for _, m := range modes {
		for _, ap := range aps {
			for _, k := range clocks {
				r, err := s.session(ctx, b.openocd.tool, openocdCell(o, s.port, m, ap, k)...)
				if err != nil {
					return b, fmt.Errorf("OpenOCD %s AP%d %d kHz: %w", m, ap, k, err)
				}
				b.openocd.sessions += r.sessions
				b.openocd.cost = b.openocd.cost.add(r.cost)
				b.openocd.wall += r.wall
			}
		}
	}
	return b, nil
}

// memBench is part (b) on one probe.
type memBench struct {
	probe     string
	khz       int
	highSpeed bool
	// read and write are stprobe's 64 KiB sessions; small the same
	// command moving 4 bytes (its connect and disconnect), so that
	// read − small is the transfer alone.
	read, write, smallRead, smallWrite result
	// openocd is dump_image end to end, openocdInit an init-only run.
	openocd, openocdInit result
}

// benchMemory is part (b) on the probe behind s: stprobe's 64 KiB read
// and write at khz, each less the same command moving 4 bytes; with
// peers, OpenOCD's dump_image and an init-only OpenOCD run.
func benchMemory(ctx context.Context, o options, s *server, dir, probe string, khz int, highSpeed, peers bool) (memBench, error) {
	b := memBench{probe: probe, khz: khz, highSpeed: highSpeed}
	want := pattern()
	img := filepath.Join(dir, "pattern.bin")
	if err := os.WriteFile(img, want, 0o644); err != nil {
		return b, err
	}
	small := filepath.Join(dir, "small.bin")
	if err := os.WriteFile(small, want[:4], 0o644); err != nil {
		return b, err
	}
	at := fmt.Sprintf("0x%08X", ramAddr)
	st := func(args ...string) []string {
		return append([]string{o.stprobe, "--server", s.addr}, append(args, "--khz", fmt.Sprint(khz))...)
	}
	// a first session powers the debug domain up (a modelled 1.5 ms) so
	// that every measured one starts from the same state
	if _, err := s.session(ctx, "warm-up", st("mem", "write", at, small)...); err != nil {
		return b, err
	}
	var err error
	if b.write, err = s.session(ctx, "stprobe mem write", st("mem", "write", at, img)...); err != nil {
		return b, err
	}
	if b.smallWrite, err = s.session(ctx, "stprobe mem write 4 B", st("mem", "write", at, small)...); err != nil {
		return b, err
	}
	// the 4-byte write put the pattern's own first word back
	got := filepath.Join(dir, "stprobe.bin")
	if b.read, err = s.session(ctx, "stprobe mem read", st("mem", "read", at, "64K", "-o", got)...); err != nil {
		return b, err
	}
	if err := sameFile(got, want); err != nil {
		return b, fmt.Errorf("stprobe mem read: %w", err)
	}
	if b.smallRead, err = s.session(ctx, "stprobe mem read 4 B", st("mem", "read", at, "4", "-o", got)...); err != nil {
		return b, err
	}
	b.openocd.tool, b.openocdInit.tool = "OpenOCD dump_image", "OpenOCD init"
	if !peers {
		b.openocd.skipped, b.openocdInit.skipped = "measured on the V2", "measured on the V2"
		return b, nil
	}
	if !installed("openocd") {
		b.openocd.skipped = openocdMissing
		b.openocdInit.skipped = b.openocd.skipped
		return b, nil
	}
	speed := fmt.Sprintf("adapter speed %d", khz)
	got = filepath.Join(dir, "openocd.bin")
	if b.openocd, err = s.session(ctx, b.openocd.tool, openocdArgs(o, s.port, speed, "init",
		fmt.Sprintf("dump_image %s %s 0x%X", got, at, ramLen), "shutdown")...); err != nil {
		return b, err
	}
	if err := sameFile(got, want); err != nil {
		return b, fmt.Errorf("OpenOCD dump_image: %w", err)
	}
	if b.openocdInit, err = s.session(ctx, b.openocdInit.tool, openocdArgs(o, s.port, speed, "init", "shutdown")...); err != nil {
		return b, err
	}
	return b, nil
}

// relayBench is part (c).
type relayBench struct {
	stprobe, pyocd result
}

// pyOCDLabel is the frequency pyOCD must be asked for so that it sets the
// ST-LINK/V2 divisor of khz: pyOCD's table (pyocd/probe/stlink/constants.py,
// SWD_FREQ_MAP) names each divisor by its own figure, divisor 0 — 4 MHz on
// the probe (ST's table, as OpenOCD's stlink_usb.c has it) — as 4.6 MHz,
// and picks the first entry not above the request, so asking for 4000 kHz
// gets divisor 1, 1.8 MHz.
func pyOCDLabel(khz int) int {
	table := []struct{ label, real int }{{4600, 4000}, {1800, 1800}, {1200, 1200}, {950, 950}, {650, 480},
		{480, 480}, {400, 240}, {360, 240}, {240, 240}, {150, 125}, {125, 125}, {100, 100}}
	for _, t := range table {
		if t.real <= khz {
			return t.label
		}
	}
	return 100
}

// clocks renders the SWD clocks a session set, as the cost log says.
func clocksOf(c cost) string {
	if c.SWDKHz == 0 && len(c.SWDKHzSet) == 0 {
		return "-"
	}
	seen := map[int]bool{}
	var set []string
	for _, k := range c.SWDKHzSet {
		if !seen[k] {
			seen[k] = true
			set = append(set, fmt.Sprint(k))
		}
	}
	if len(set) == 0 {
		return fmt.Sprintf("%d kHz", c.SWDKHz)
	}
	if len(set) == 1 {
		return set[0] + " kHz"
	}
	return fmt.Sprintf("%d kHz (set %s)", c.SWDKHz, strings.Join(set, ","))
}

// write prints the report.
func (r benchReport) write(w io.Writer, o options) {
	paced := "unpaced: wall-clock time is host speed"
	if o.pace {
		paced = "paced: every reply waited its modelled time"
	}
	fmt.Fprintf(w, "stprobe against its peers on one modelled clock: simulated STM32H533 (scenario %s), %s.\n", o.scenario, paced)
	fmt.Fprintf(w, "Every figure is the simulator's modelled time of the client's session, at the SWD clock the cost log says the client set.\n\n")

	m := r.matrix
	fmt.Fprintf(w, "(a) connection matrix on the ST-LINK/V2: %s x AP0,AP1 x %v kHz (30 cells)\n", strings.Join(modes, ","), clocks)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "\ttool\tsessions\tcells tried\tcommands\tUSB transfers\tmodelled\twall-clock\t")
	row := func(x result, cells string) {
		if x.skipped != "" {
			fmt.Fprintf(tw, "\t%s\t-\t-\t-\t-\t-\t(skipped: %s)\n", x.tool, x.skipped)
			return
		}
		fmt.Fprintf(tw, "\t%s\t%d\t%s\t%d\t%d\t%s\t%s\t\n", x.tool, x.sessions, cells, x.cost.Commands, x.cost.USBTransfers, ms(x.cost.Modelled), ms(x.wall))
	}
	m.floorDef.tool, m.floor.tool = "floor of the cells the default tried", "floor of all 30 cells"
	m.provedDef.tool = "the same floor, each outcome proved"
	row(m.def, fmt.Sprint(m.tried))
	row(m.full, "30")
	row(m.floorDef, fmt.Sprint(m.tried))
	row(m.provedDef, fmt.Sprint(m.tried))
	row(m.floor, "30")
	row(m.openocd, "30")
	tw.Flush()
	rt := func(a, b result) string { return ratio(float64(a.cost.Modelled), float64(b.cost.Modelled)) }
	fmt.Fprintf(w, "  default sweep: %s its own cells' floor (%s when the floor proves each outcome), %s the 30 cells' floor, %s of --full; --full: %s the 30 cells' floor",
		rt(m.def, m.floorDef), rt(m.def, m.provedDef), rt(m.def, m.floor), rt(m.def, m.full), rt(m.full, m.floor))
	if m.openocd.skipped == "" {
		fmt.Fprintf(w, "; OpenOCD: %s the default sweep", rt(m.openocd, m.def))
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "  (floor: per cell the fewest commands that give its outcome — set clock, enter SWD, open the AP, halt or reset where the mode needs it, one ID read and its status, exit — sent by a raw client of the same server;")
	fmt.Fprintln(w, "   proved: Normal reads DHCSR after the halt request instead of CPUID, Under Reset arms the reset vector catch and reads DHCSR after NRST, and every cell's outcome must be the sweep's)")

	fmt.Fprintf(w, "\n(b) 64 KiB of RAM at 0x%08X, transfer only (a session less the same command moving 4 bytes; OpenOCD less an init-only run)\n", ramAddr)
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "probe\ttransfer\tSWD clock\tcommands\tmodelled\tprobe floor\tof floor\tSWD-only limit\tof SWD limit\tend to end\t")
	for _, b := range r.memory {
		floor, swd := memFloor(ramLen, b.khz, b.highSpeed)
		line := func(name string, whole, small result) {
			if whole.skipped != "" || small.skipped != "" {
				return
			}
			t := whole.cost.sub(small.cost)
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\t%.0f%%\t%s\t%.0f%%\t%s\t\n", b.probe, name, clocksOf(whole.cost), t.Commands,
				ms(t.Modelled), ms(floor), 100*float64(floor)/float64(t.Modelled), ms(swd), 100*float64(swd)/float64(t.Modelled), ms(whole.cost.Modelled))
		}
		line("stprobe mem read", b.read, b.smallRead)
		line("stprobe mem write", b.write, b.smallWrite)
		line("OpenOCD dump_image", b.openocd, b.openocdInit)
	}
	tw.Flush()
	for _, b := range r.memory {
		if b.openocd.skipped != "" || b.openocdInit.skipped != "" {
			continue
		}
		st := b.read.cost.sub(b.smallRead.cost).Modelled
		oo := b.openocd.cost.sub(b.openocdInit.cost).Modelled
		fmt.Fprintf(w, "  %s: OpenOCD / stprobe, transfer only %s, end to end %s (OpenOCD init alone %s at %s)\n", b.probe,
			ratio(float64(oo), float64(st)), ratio(float64(b.openocd.cost.Modelled), float64(b.read.cost.Modelled)),
			ms(b.openocdInit.cost.Modelled), clocksOf(b.openocdInit.cost))
	}
	fmt.Fprintln(w, "  (probe floor: SWD bits at the clock, 46 a word, + the payload over USB + one round trip per 6 KiB block, the firmware's largest)")

	fmt.Fprintf(w, "\n(c) 64 KiB read over the USB relay (libusb), ST-LINK/V2\n")
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "\ttool\tSWD clock\tcommands\tUSB transfers\tmodelled\twall-clock\t")
	for _, x := range []result{r.relay.stprobe, r.relay.pyocd} {
		if x.skipped != "" {
			fmt.Fprintf(tw, "\t%s\t-\t-\t-\t-\t(skipped: %s)\n", x.tool, x.skipped)
			continue
		}
		fmt.Fprintf(tw, "\t%s\t%s\t%d\t%d\t%s\t%s\t\n", x.tool, clocksOf(x.cost), x.cost.Commands, x.cost.USBTransfers, ms(x.cost.Modelled), ms(x.wall))
	}
	tw.Flush()
	if r.relay.stprobe.skipped == "" && r.relay.pyocd.skipped == "" {
		fmt.Fprintf(w, "  pyOCD / stprobe: %s modelled, at the same clock (pyOCD asked for %d kHz: its name for the divisor that is %d kHz)\n",
			ratio(float64(r.relay.pyocd.cost.Modelled), float64(r.relay.stprobe.cost.Modelled)), pyOCDLabel(o.khz), o.khz)
	}
	if r.flash.board != "" {
		r.flash.write(w)
	}
	fmt.Fprintf(w, "\nmodelled: USB round trips and SWD wire time of the simulated probe; wall-clock: each tool's processes, start to exit. Benchmark ran %s.\n", r.total.Round(100*time.Millisecond))
}
