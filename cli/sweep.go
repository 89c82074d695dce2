package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/stprobe/stprobe/bench"
	"github.com/stprobe/stprobe/boot/uart"
	"github.com/stprobe/stprobe/probe/sweep"
)

// sweepFormat is how `stprobe sweep` prints the matrix.
type sweepFormat int

const (
	sweepText sweepFormat = iota
	sweepJSON
	sweepCSV
	sweepMarkdown
)

// minCellTimeout is the shortest --cell-timeout: one USB round trip to a
// probe takes about a millisecond, so a shorter timeout fails every cell.
const minCellTimeout = time.Millisecond

// sweepCommand is `stprobe sweep`: every connect mode × access port × SWD
// frequency, the connection matrix and what its pattern means.
func (a *app) sweepCommand() *cobra.Command {
	var (
		modesFlag, apsFlag, freqsFlag string
		asJSON, asCSV, asMD           bool
		cellTimeout                   time.Duration
		bootAsked                     bool
		bf                            bootFlags
		full                          bool
	)
	c := newCommand("sweep", "sweep [--modes normal,hotplug,under-reset] [--aps 0,1] [--freqs 4000,100] [--full] [--cell-timeout 5s] [--boot] [--usb] [--uart DEV] [--boot0 high|low] [--json | --csv | --md]",
		"connection matrix: every mode x AP x frequency, diagnosed",
		"Tries every connect mode x access port x SWD frequency, each a real connect attempt torn down cleanly, then says what the pattern means and what to try next. Ctrl-C stops after the current attempt and prints the partial matrix. "+
			"A slower clock is tried only where a faster one failed in a way a slower clock can fix (no-ack, wait-timeout, fault, dp-only); elsewhere its cell is marked implied by the faster one. --full tries every cell. "+
			"With --boot (or --usb, --uart DEV) it also probes the ROM bootloader, read-only, and shows USB DFU and UART beside the SWD cells, the diagnosis combining both: "+
			"on real hardware --boot alone probes USB DFU, on the simulated bench both simulated paths.",
		a.noArgs)
	fs := c.Flags()
	fs.StringVar(&modesFlag, "modes", "normal,hotplug,under-reset", "connect MODES to try, comma-separated")
	fs.StringVar(&apsFlag, "aps", "0,1", "access PORTS to try, comma-separated")
	fs.StringVar(&freqsFlag, "freqs", "", "SWD clocks in KHZ, comma-separated (default: about five rungs of the probe's own ladder)")
	fs.BoolVar(&full, "full", false, "try every cell, also those a faster clock already implies")
	fs.BoolVar(&asJSON, "json", false, "print the matrix and the diagnosis as JSON")
	fs.BoolVar(&asCSV, "csv", false, "print one CSV row per cell")
	fs.BoolVar(&asMD, "md", false, "print a Markdown table ready to paste into a forum post")
	fs.DurationVar(&cellTimeout, "cell-timeout", sweep.DefaultCellTimeout, "give up on one connect attempt after DURATION")
	fs.BoolVar(&bootAsked, "boot", false, "also probe the ROM bootloader: USB DFU, and the UART with --uart DEV (--usb or --uart alone: only that path; --boot0 implies --boot)")
	bf.addPaths(fs)
	bf.baud, bf.parity = uart.DefaultBaud, string(uart.ParityEven)
	completeBoot(c)
	c.RunE = func(c *cobra.Command, _ []string) error {
		var plan sweep.Plan
		var err error
		format := sweepText
		nFormats := 0
		for _, f := range []struct {
			set bool
			fmt sweepFormat
		}{{asJSON, sweepJSON}, {asCSV, sweepCSV}, {asMD, sweepMarkdown}} {
			if f.set {
				format = f.fmt
				nFormats++
			}
		}
		switch {
		case nFormats > 1:
			err = errors.New("choose one of --json, --csv and --md")
		case cellTimeout < minCellTimeout:
			err = fmt.Errorf("--cell-timeout %v is shorter than one USB round trip to the probe (about 1 ms): every cell would time out, whatever the board does; give %v or more (default %v)", cellTimeout, minCellTimeout, sweep.DefaultCellTimeout)
		}
		if err == nil {
			plan.Modes, err = sweep.ParseModes(modesFlag)
		}
		if err == nil {
			plan.APs, err = sweep.ParseAPs(apsFlag)
		}
		if err == nil && freqsFlag != "" {
			plan.FrequenciesKHz, err = sweep.ParseFrequencies(freqsFlag)
		}
		var boot bench.BootRequest
		if err == nil {
			boot, err = bf.request()
		}
		if err == nil {
			// The default clocks come from the probe, once it is open:
			// check the rest of the plan now, so that a mistake is a
			// usage error.
			check := plan
			if len(check.FrequenciesKHz) == 0 {
				check.FrequenciesKHz = []int{100}
			}
			err = check.Validate()
		}
		if err != nil {
			return usage(c, err)
		}
		req := bench.SweepRequest{Plan: plan, CellTimeout: cellTimeout, Full: full}
		if bootAsked || bf.usb || bf.uart != "" || bf.boot0 != "" {
			boot.USB = boot.USB || bootAsked
			req.Boot = &boot
		}
		return a.withBench(c.Context(), func(ctx context.Context, b *bench.Bench, tok bench.Token) error {
			a.noteSimulatedUART(b, bf.uart)
			return a.sweep(ctx, b, tok, req, format)
		})
	}
	return c
}

// sweep runs the sweep job, shows its progress on a terminal, and prints
// the matrix and its diagnosis. A cancelled sweep still prints the partial
// matrix, then returns the cancellation.
func (a *app) sweep(ctx context.Context, b *bench.Bench, tok bench.Token, req bench.SweepRequest, format sweepFormat) error {
	var res *bench.SweepResult
	var runErr error
	if isTerminal(a.stderr) {
		line := &progressLine{w: a.stderr}
		follow(b, func(ev bench.Event) {
			if c, ok := ev.(bench.SweepCell); ok {
				line.show(c.Progress)
				if p := c.Progress; req.Boot != nil && p.Done && p.Index+1 == p.Total {
					line.say("sweep: probing the ROM bootloader paths (read-only)")
				}
			}
		}, func() { res, runErr = b.Sweep(ctx, tok, req) })
		line.clear()
	} else {
		res, runErr = b.Sweep(ctx, tok, req)
	}
	if res == nil || res.Matrix == nil {
		return runErr
	}
	var err error
	switch format {
	case sweepJSON:
		err = sweep.WriteJSON(a.stdout, res.Matrix, res.Findings)
	case sweepCSV:
		err = sweep.WriteCSV(a.stdout, res.Matrix)
	case sweepMarkdown:
		err = sweep.WriteMarkdown(a.stdout, res.Matrix, res.Findings)
	default:
		err = sweep.WriteText(a.stdout, res.Matrix, res.Findings)
	}
	if err != nil {
		return err
	}
	return runErr
}

// progressLine redraws one status line on a terminal as cells go.
type progressLine struct {
	w     io.Writer
	width int
}

func (p *progressLine) show(ev sweep.Progress) {
	state := "..."
	if ev.Done {
		state = string(ev.Cell.Outcome)
	}
	p.say(fmt.Sprintf("sweep %d/%d  %-11s AP%d %5d kHz  %s", ev.Index+1, ev.Total, ev.Cell.Mode, ev.Cell.AP, ev.Cell.KHz, state))
}

// say redraws the line with s.
func (p *progressLine) say(s string) {
	pad := max(p.width-len(s), 0)
	fmt.Fprintf(p.w, "\r%s%s", s, strings.Repeat(" ", pad))
	p.width = len(s)
}

func (p *progressLine) clear() {
	if p.width == 0 {
		return
	}
	fmt.Fprintf(p.w, "\r%s\r", strings.Repeat(" ", p.width))
	p.width = 0
}
