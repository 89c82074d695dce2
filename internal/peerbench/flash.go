package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"text/tabwriter"
)

// Part (d): flash programming on a board of a family OpenOCD 0.12 has a
// flash driver for. Both tools program the same 16 KiB at 0x08000000 and
// verify it by read-back; OpenOCD without a work area (the simulated core
// runs no code), so both drive the flash controller from the host.
const (
	flashBoard = "l476-open"
	flashCfg   = "target/stm32l4x.cfg"
	flashLen   = 16 << 10
)

// flashBench is part (d).
type flashBench struct {
	board string
	khz   int
	// stprobe is `flash write --verify`, burst the same with --burst;
	// openocd is `program FILE 0x08000000 verify`.
	stprobe, burst, openocd result
}

// benchFlash is part (d): a server of its own on flashBoard.
func benchFlash(ctx context.Context, o options, dir string) (flashBench, error) {
	b := flashBench{board: flashBoard, khz: o.khz,
		stprobe: result{tool: "stprobe flash write --verify"}, burst: result{tool: "stprobe flash write --verify --burst"},
		openocd: result{tool: "OpenOCD program … verify"}}
	fo := o
	fo.scenario = flashBoard
	s, err := startServer(ctx, fo, "", filepath.Join(dir, "flash-cost.jsonl"))
	if err != nil {
		return b, err
	}
	defer s.stop()
	img := make([]byte, flashLen)
	for i := range img {
		img[i] = byte(i*13+7) ^ byte(i>>9)
	}
	file := filepath.Join(dir, "flash.bin")
	if err := os.WriteFile(file, img, 0o644); err != nil {
		return b, err
	}
	state := filepath.Join(dir, "state")
	write := func(extra ...string) []string {
		return append([]string{o.stprobe, "--server", s.addr, "flash", "write", file, "--addr", "0x08000000", "--verify",
			"--state-dir", state, "--khz", fmt.Sprint(o.khz)}, extra...)
	}
	// The plan alone prints the phrase (a session of its own, not counted).
	out, _ := exec.CommandContext(ctx, write()[0], write()[1:]...).CombinedOutput()
	m := regexp.MustCompile(`confirmation phrase: (.+)`).FindSubmatch(out)
	if m == nil {
		return b, fmt.Errorf("stprobe flash write printed no phrase:\n%s", tail(string(out), 2000))
	}
	if _, err := s.log.settle(ctx, 0); err != nil {
		return b, err
	}
	phrase := string(m[1])
	if b.stprobe, err = s.session(ctx, b.stprobe.tool, write("--confirm", phrase)...); err != nil {
		return b, err
	}
	if b.burst, err = s.session(ctx, b.burst.tool, write("--confirm", phrase, "--burst")...); err != nil {
		return b, err
	}
	b.stprobe.tool, b.burst.tool = "stprobe flash write --verify", "stprobe flash write --verify --burst"
	if !installed("openocd") {
		b.openocd.skipped = openocdMissing
		return b, nil
	}
	args := []string{"openocd", "-f", "interface/stlink-dap.cfg", "-c", "st-link backend tcp " + s.port,
		"-c", "transport select dapdirect_swd", "-c", "set WORKAREASIZE 0", "-f", flashCfg,
		"-c", fmt.Sprintf("adapter speed %d", o.khz),
		"-c", fmt.Sprintf("program %s 0x08000000 verify exit", filepath.ToSlash(file))}
	tool := b.openocd.tool
	if b.openocd, err = s.session(ctx, tool, args...); err != nil {
		return b, err
	}
	b.openocd.tool = tool
	return b, nil
}

// kibs is n bytes over a session's modelled time, in KiB/s.
func kibs(n int, r result) float64 {
	if r.cost.Modelled <= 0 {
		return 0
	}
	return float64(n) / 1024 / r.cost.Modelled.Seconds()
}

// writeFlash prints part (d).
func (b flashBench) write(w io.Writer) {
	fmt.Fprintf(w, "\n(d) flash: %d KiB programmed at 0x08000000 and verified by read-back on %s (ST-LINK/V2), end to end\n", flashLen>>10, b.board)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "\ttool\tSWD clock\tcommands\tUSB transfers\tmodelled\tmodelled KiB/s\twall-clock\t")
	for _, x := range []result{b.stprobe, b.burst, b.openocd} {
		if x.skipped != "" {
			fmt.Fprintf(tw, "\t%s\t-\t-\t-\t-\t-\t(skipped: %s)\n", x.tool, x.skipped)
			continue
		}
		fmt.Fprintf(tw, "\t%s\t%s\t%d\t%d\t%s\t%.1f\t%s\t\n", x.tool, clocksOf(x.cost), x.cost.Commands, x.cost.USBTransfers, ms(x.cost.Modelled), kibs(flashLen, x), ms(x.wall))
	}
	tw.Flush()
	floor, swd := memFloor(flashLen, b.khz, false)
	if swd > 0 {
		fmt.Fprintf(w, "  floor of moving the bytes: %.0f KiB/s through the probe (SWD bits, USB payload, one round trip per 6 KiB block), %.0f KiB/s SWD bits alone at %d kHz\n",
			float64(flashLen)/1024/floor.Seconds(), float64(flashLen)/1024/swd.Seconds(), b.khz)
	}
	fmt.Fprintln(w, "  (both tools drive the flash controller from the host: OpenOCD without a work area, as the simulated core runs no flash loader; the model completes each erase and program within its write)")
}
