package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/stprobe/stprobe/bench"
	"github.com/stprobe/stprobe/boot"
	bootjob "github.com/stprobe/stprobe/boot/job"
	"github.com/stprobe/stprobe/boot/uart"
)

// bootCommand is `stprobe boot`: the ROM (system) bootloader, the other
// ways into the chip besides SWD. Only the read-only probe exists.
func (a *app) bootCommand() *cobra.Command {
	c := newCommand("boot", "boot probe "+bootProbeSynopsis,
		"the ROM bootloader over USB DFU and UART, probed read-only",
		"The STM32 ROM (system) bootloader, the other ways into a chip besides SWD. Only the read-only probe is built: nothing is ever written, erased or unprotected through it.",
		nil)
	return groupCommand(c, "probe", "only probe is built", a.bootProbeCommand())
}

const bootProbeSynopsis = "[--usb] [--uart DEV] [--baud N] [--parity even|none|odd] [--boot0 high|low] [--boot0-line dtr|rts] [--nrst-line dtr|rts] [--json]"

// bootFlags pick and tune the ROM bootloader paths, for `boot probe` and
// `sweep`.
type bootFlags struct {
	usb                 bool
	uart                string
	baud                int
	parity              string
	boot0               string
	boot0Line, nrstLine string
}

// addPaths registers the flags that pick the paths and say BOOT0's level.
func (f *bootFlags) addPaths(fs *pflag.FlagSet) {
	fs.BoolVar(&f.usb, "usb", false, "probe USB DFU (the ROM's 0483:DF11 on the bus)")
	fs.StringVar(&f.uart, "uart", "", "probe the UART on serial port DEV, e.g. /dev/ttyUSB0 (8E1 by default)")
	fs.StringVar(&f.boot0, "boot0", "", "what BOOT0 is set to, high or low, for the diagnosis (default: unknown; on the simulated bench it sets the board's pin)")
}

// addTuning registers the UART's line settings and wiring.
func (f *bootFlags) addTuning(fs *pflag.FlagSet) {
	fs.IntVar(&f.baud, "baud", uart.DefaultBaud, "UART baud rate N")
	fs.StringVar(&f.parity, "parity", "even", "UART parity: even (what the ROM wants), none or odd")
	fs.StringVar(&f.boot0Line, "boot0-line", "", "the adapter line wired to BOOT0 (dtr or rts): driven high, then NRST pulsed, before the sync")
	fs.StringVar(&f.nrstLine, "nrst-line", "", "the adapter line wired to NRST (dtr or rts): pulsed low before the sync")
}

// completeBoot offers the values of the boot flags c has.
func completeBoot(c *cobra.Command) {
	complete(c, "boot0", "high", "low")
	complete(c, "parity", "even", "none", "odd")
	complete(c, "boot0-line", "dtr", "rts")
	complete(c, "nrst-line", "dtr", "rts")
}

// request checks the flags and builds the bench request.
func (f *bootFlags) request() (bench.BootRequest, error) {
	r := bench.BootRequest{USB: f.usb, UART: f.uart}
	var err error
	if r.Options.BOOT0, err = boot.ParseLevel(f.boot0); err != nil {
		return r, fmt.Errorf("--boot0 %q: want high or low", f.boot0)
	}
	if f.baud <= 0 {
		return r, fmt.Errorf("--baud %d: want a positive baud rate, e.g. 115200", f.baud)
	}
	o := &r.Options.UARTOptions
	o.Baud = f.baud
	if o.Parity, err = uart.ParseParity(f.parity); err != nil {
		return r, fmt.Errorf("--parity %q: want even, none or odd", f.parity)
	}
	if o.Wiring.BOOT0, err = parseLine("--boot0-line", f.boot0Line); err != nil {
		return r, err
	}
	if o.Wiring.NRST, err = parseLine("--nrst-line", f.nrstLine); err != nil {
		return r, err
	}
	if o.Wiring.BOOT0 != uart.SignalNone && o.Wiring.BOOT0 == o.Wiring.NRST {
		return r, fmt.Errorf("--boot0-line and --nrst-line are both %s: one adapter line cannot drive both pins", o.Wiring.BOOT0)
	}
	if o.Wiring != (uart.Wiring{}) && f.uart == "" {
		return r, errors.New("--boot0-line and --nrst-line drive lines of the UART adapter: give --uart DEV too")
	}
	return r, nil
}

// parseLine parses an adapter line name.
func parseLine(flag, s string) (uart.Signal, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "":
		return uart.SignalNone, nil
	case "dtr":
		return uart.SignalDTR, nil
	case "rts":
		return uart.SignalRTS, nil
	}
	return uart.SignalNone, fmt.Errorf("%s %q: want dtr or rts", flag, s)
}

// bootProbeCommand is `stprobe boot probe`.
func (a *app) bootProbeCommand() *cobra.Command {
	var f bootFlags
	c := newCommand("probe", "boot probe "+bootProbeSynopsis,
		"does the ROM bootloader answer on USB DFU or UART, and what does that say about the chip",
		"Probes the STM32 ROM bootloader read-only: USB DFU (descriptors, memory layout, status, chip ID and, where the ROM allows, the product state) "+
			"and the UART (sync, Get, Get Version, Get ID and, where allowed, the product state), then says what the answers or the silence mean "+
			"together with what SWD found in this run, and lists what to check by hand. On the simulated bench both paths of the simulated board are probed. "+
			"Exit status 0 when a path answered, 1 when none did (the report is printed either way).",
		a.noArgs)
	fs := c.Flags()
	f.addPaths(fs)
	f.addTuning(fs)
	asJSON := jsonFlag(c, "print the results and findings as JSON")
	completeBoot(c)
	c.RunE = func(c *cobra.Command, _ []string) error {
		req, err := f.request()
		if err != nil {
			return usage(c, err)
		}
		return a.withBench(c.Context(), func(ctx context.Context, b *bench.Bench, tok bench.Token) error {
			if b.Simulated() == nil && !req.USB && req.UART == "" {
				return usage(c, errors.New("give --usb, --uart DEV or both"))
			}
			a.noteSimulatedUART(b, req.UART)
			rep, err := b.BootProbe(ctx, tok, req)
			if err != nil {
				return err
			}
			snap := b.Snapshot()
			swdKnown := snap.Matrix != nil || snap.OptionBytes != nil || snap.HasState
			return a.printBootReport(rep, *asJSON, swdKnown)
		})
	}
	return c
}

// noteSimulatedUART says on stderr that the simulated bench does not open
// the UART port the user named.
func (a *app) noteSimulatedUART(b *bench.Bench, port string) {
	if b.Simulated() != nil && port != "" {
		fmt.Fprintf(a.stderr, "stprobe: the simulated bench probes its board's own UART (a pty); --uart %s is not opened\n", port)
	}
}

// printBootReport renders the report; it fails when no path answered.
func (a *app) printBootReport(rep *bootjob.Report, asJSON, swdKnown bool) error {
	var err error
	if asJSON {
		err = writeJSON(a.stdout, rep)
	} else {
		err = rep.WriteText(a.stdout)
		if err == nil && !swdKnown {
			_, err = fmt.Fprintln(a.stdout, "\nSWD was not tried in this run; `stprobe sweep --boot` probes SWD and these paths together and combines what they say.")
		}
	}
	if err != nil {
		return fmt.Errorf("writing the boot probe report: %w", err)
	}
	var paths, unusable []string
	for _, r := range rep.Results {
		if r.Outcome == boot.Answered {
			return nil
		}
		if r.PortUnusable {
			unusable = append(unusable, r.Detail)
			continue
		}
		paths = append(paths, string(r.Path))
	}
	if len(paths) == 0 && len(unusable) > 0 {
		return fmt.Errorf("nothing probed: %s", strings.Join(unusable, "; "))
	}
	return fmt.Errorf("no ROM bootloader answered on %s (the findings above say what that means)", strings.Join(paths, " or "))
}
