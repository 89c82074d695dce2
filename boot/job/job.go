// Package job runs the bootloader probes a user asked for - the UART on a
// port, USB DFU on the bus - and diagnoses the results together with what
// SWD found. It is the body of `stprobe boot probe` and of the bench job of
// the same name.
package job

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/stprobe/stprobe/boot"
	"github.com/stprobe/stprobe/boot/dfu"
	"github.com/stprobe/stprobe/boot/uart"
)

// Options say which paths to probe and how.
type Options struct {
	// UART is the serial port to probe ("" skips the UART path).
	UART string
	// UARTOptions set baud rate (115200), parity (even), timeout and the
	// optional BOOT0/NRST wiring.
	UARTOptions uart.Options
	// USB probes USB DFU.
	USB bool
	// DFUOptions set the control-transfer timeout.
	DFUOptions dfu.Options
	// ProbeDFU replaces the real USB bus (nil: dfu.ProbeUSB); the simulated
	// bench passes its in-process DFU here.
	ProbeDFU func(ctx context.Context, opts dfu.Options) boot.Result
	// ProbeUART replaces opening a real port (nil: uart.ProbePort).
	ProbeUART func(ctx context.Context, port string, opts uart.Options) boot.Result
	// BOOT0 is the level the user says BOOT0 has (for the diagnosis).
	BOOT0 boot.Level
}

// Report is the outcome of one run.
type Report struct {
	Results  []boot.Result  `json:"results"`
	Findings []boot.Finding `json:"findings"`
}

// Run probes USB DFU first (it needs the cable plugged in at reset), then
// the UART, and diagnoses both with swd (boot.SWD{} when SWD was not
// tried). The paths the options leave out do not appear.
func Run(ctx context.Context, opts Options, swd boot.SWD) Report {
	var rep Report
	if opts.USB {
		probe := opts.ProbeDFU
		if probe == nil {
			probe = dfu.ProbeUSB
		}
		rep.Results = append(rep.Results, probe(ctx, opts.DFUOptions))
	}
	if opts.UART != "" {
		probe := opts.ProbeUART
		if probe == nil {
			probe = uart.ProbePort
		}
		rep.Results = append(rep.Results, probe(ctx, opts.UART, opts.UARTOptions))
	}
	rep.Findings = boot.Diagnose(swd, opts.BOOT0, rep.Results)
	return rep
}

// WriteText renders the report for a terminal: one line per path, then
// each finding with its consistent states and the hand-checks.
func (r Report) WriteText(w io.Writer) error {
	var b strings.Builder
	for _, res := range r.Results {
		fmt.Fprintf(&b, "%s\n", res.Summary())
		if res.Unreadable != "" {
			fmt.Fprintf(&b, "  memory: %s\n", res.Unreadable)
		}
		if res.DFU != nil {
			for _, m := range res.DFU.Memories {
				fmt.Fprintf(&b, "  alt %d: %s\n", m.Alt, m.Raw)
			}
		}
		fmt.Fprintf(&b, "  means: %s\n", res.Implies())
	}
	for _, f := range r.Findings {
		fmt.Fprintf(&b, "\n%s\n  %s\n", f.Title, f.Text)
		if s := f.StateNames(); s != "" {
			fmt.Fprintf(&b, "  consistent with: %s\n", s)
		}
		for _, c := range f.Checks {
			fmt.Fprintf(&b, "  check: %s\n", c)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}
