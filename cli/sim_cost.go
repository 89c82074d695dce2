package cli

import (
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/stprobe/stprobe/probe/sim"
)

// costFlags are the accounting flags of `sim serve` and `sim usb-relay`.
type costFlags struct {
	logFile string // --cost-log: append one JSON line per client session
	pace    bool   // --pace: every reply takes its modelled time
}

// register adds the flags to c.
func (f *costFlags) register(c *cobra.Command) {
	c.Flags().StringVar(&f.logFile, "cost-log", "", "append each client session's cost to FILE, one JSON object a line")
	c.Flags().BoolVar(&f.pace, "pace", false, "make every reply take its modelled time, so that a client feels real-hardware timing")
}

// options are the simulator's accounting options: the summary line of each
// session on summary, the cost log opened for appending. closeLog closes it
// (it reports why a log that cannot be closed lost lines).
func (f *costFlags) options(summary io.Writer) (opts sim.CostOptions, closeLog func() error, err error) {
	opts = sim.CostOptions{Summary: summary, Pace: f.pace}
	closeLog = func() error { return nil }
	if f.logFile == "" {
		return opts, closeLog, nil
	}
	file, err := os.OpenFile(f.logFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return opts, closeLog, fmt.Errorf("--cost-log: %w", err)
	}
	opts.CostLog = file
	closeLog = func() error {
		if err := file.Close(); err != nil {
			return fmt.Errorf("--cost-log: closing %s: %w", f.logFile, err)
		}
		return nil
	}
	return opts, closeLog, nil
}
