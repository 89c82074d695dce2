package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/stprobe/stprobe/bench"
)

// newCommand builds a command from its words: use names it and its
// arguments as cobra's usage line does, syn is the synopsis its help
// prints, short and long are its help, and args checks its positional
// arguments (nil for a group: groupCommand sets it).
func newCommand(use, syn, short, long string, args cobra.PositionalArgs) *cobra.Command {
	return &cobra.Command{Use: use, Annotations: synopsis(syn), Short: short, Long: long, Args: args}
}

// jsonFlag registers --json on c, described as usage, and returns where
// its value lands.
func jsonFlag(c *cobra.Command, usage string) *bool {
	return c.Flags().Bool("json", false, usage)
}

// outputFlag registers -o (--output) FILE on c, def by default and
// described as usage, and returns where its value lands. "-" names stdout
// (see writeOutput).
func outputFlag(c *cobra.Command, def, usage string) *string {
	return c.Flags().StringP("output", "o", def, usage)
}

// writeOutput writes data to the file out, or to stdout when out is "-".
// A file that cannot be written is a file error that says what to try
// next and, when lost is not empty, what is lost with it ("the 64 bytes
// read").
func (a *app) writeOutput(out string, data []byte, lost string) error {
	if out == "-" {
		if _, err := a.stdout.Write(data); err != nil {
			return fmt.Errorf("writing the bytes to stdout: %w", err)
		}
		return nil
	}
	if err := os.WriteFile(out, data, 0o644); err != nil {
		if lost != "" {
			return fmt.Errorf("file: %w (%s are lost; try another -o FILE)", err, lost)
		}
		return fmt.Errorf("file: %w (try another -o FILE)", err)
	}
	return nil
}

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
