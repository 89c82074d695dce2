package cli

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/stprobe/stprobe/bench"
)

// groupCommand finishes c as a command that only groups subs: run alone it
// asks for a sub-command (want names them, e.g. "read or write"), and run
// with one it does not have it says so (adding note, if any) and suggests
// the nearest.
func groupCommand(c *cobra.Command, want, note string, subs ...*cobra.Command) *cobra.Command {
	c.Args = cobra.ArbitraryArgs
	c.RunE = func(c *cobra.Command, args []string) error {
		if len(args) == 0 {
			return usage(c, errors.New("give a sub-command: "+want))
		}
		return unknownCommand(c, args[0], note)
	}
	c.AddCommand(subs...)
	return c
}

// hideFlagsInUseLines leaves "[flags]" out of the usage line of c and of
// every command below it: each command's synopsis names its flags.
func hideFlagsInUseLines(c *cobra.Command) {
	c.DisableFlagsInUseLine = true
	for _, sub := range c.Commands() {
		hideFlagsInUseLines(sub)
	}
}

// openNoted opens the bench the global selectors name, with the operator
// lease lapsing after leaseIdle without a job (0: bench.DefaultLeaseIdle),
// and prints the bench's notice, if any, on stderr.
func (a *app) openNoted(ctx context.Context, leaseIdle time.Duration) (*bench.Bench, error) {
	o := a.benchOptions()
	o.LeaseIdle = leaseIdle
	b, notice, err := a.openBench(ctx, o)
	if err != nil {
		return nil, err
	}
	if notice != "" {
		fmt.Fprintf(a.stderr, "stprobe: %s\n", notice)
	}
	return b, nil
}
