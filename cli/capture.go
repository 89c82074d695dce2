package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/stprobe/stprobe/bench"
	"github.com/stprobe/stprobe/probe/sim/scenario"
)

// captureCommand is `stprobe capture`: the board, read-only, as a file.
func (a *app) captureCommand() *cobra.Command {
	var f captureFlags
	c := newCommand("capture", "capture -o FILE [--with-flash]",
		"read the board read-only into a capture file to share or to open as a twin (--twin FILE)",
		"Reads the board without writing to it — the probe, the target voltage, every connect mode x access port x SWD clock with its outcome, "+
			"the chip's identification, every option register (_CUR and _PRG), the product state and TZEN, which memory regions read, and the "+
			"debug-authentication discovery word by word — and writes it as a capture (docs/capture-format.md). No flash contents, keys or "+
			"passwords go in unless --with-flash; the file's header says what it holds. stprobe --twin FILE opens it as a simulated board.",
		a.noArgs)
	f.add(c, "", "also capture the user flash (the firmware, and any secret it holds)")
	c.RunE = func(c *cobra.Command, _ []string) error {
		if *f.out == "" {
			return usage(c, errors.New("give the capture's file: -o FILE (- for stdout)"))
		}
		return a.withBench(c.Context(), func(ctx context.Context, b *bench.Bench, tok bench.Token) error {
			cf, err := b.Capture(ctx, tok, bench.CaptureRequest{WithFlash: f.withFlash})
			if err != nil {
				return err
			}
			return a.writeCapture(cf, *f.out)
		})
	}
	return c
}

// simCaptureCommand is `stprobe sim capture SCENARIO`: a simulated board
// exported as a capture.
func (a *app) simCaptureCommand() *cobra.Command {
	var f captureFlags
	c := newCommand("capture SCENARIO", "sim capture SCENARIO [-o FILE] [--with-flash]",
		"export a simulated board as a capture file",
		"Captures the simulated board SCENARIO as stprobe capture would capture a real one, to compare with a real board's capture or to hand-edit and open with --twin.",
		cobra.ExactArgs(1))
	c.ValidArgs = scenario.Names()
	f.add(c, "-", "also capture the user flash")
	c.RunE = func(c *cobra.Command, args []string) error {
		if _, err := scenario.Lookup(args[0]); err != nil {
			return usage(c, err)
		}
		cf, err := bench.CaptureSimulated(c.Context(), args[0], f.withFlash)
		if err != nil {
			return err
		}
		return a.writeCapture(cf, *f.out)
	}
	return c
}

// captureFlags are the flags of the commands that write a capture.
type captureFlags struct {
	out       *string
	withFlash bool
}

// add registers -o, the capture's file (out by default), and --with-flash,
// described as flashHelp, on c.
func (f *captureFlags) add(c *cobra.Command, out, flashHelp string) {
	f.out = outputFlag(c, out, "write the capture to FILE (- for stdout)")
	c.Flags().BoolVar(&f.withFlash, "with-flash", false, flashHelp)
}

// writeCapture writes f to out (- for stdout) and says what it holds.
func (a *app) writeCapture(f *bench.CaptureFile, out string) error {
	data, err := bench.EncodeCapture(f)
	if err != nil {
		return err
	}
	if err := a.writeOutput(out, data, ""); err != nil {
		return err
	}
	if out == "-" {
		return nil // stdout holds the capture alone
	}
	fmt.Fprintf(a.stdout, "wrote %s: %s\nsecrets: %s\n", out, strings.Join(f.Header.Holds, ", "), f.Header.Secrets)
	for _, n := range f.Header.Notes {
		fmt.Fprintf(a.stdout, "note: %s\n", n)
	}
	return nil
}
