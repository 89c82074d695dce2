// Command stprobe is a terminal console for ST-LINK bench work: it finds out
// why an STM32 will not connect, reads and edits option bytes without
// bricking the chip, and runs on a simulated bench when no probe is plugged in.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"

	"github.com/stprobe/stprobe/probe/sim/scenario"
)

// globalFlags are the probe selectors shared by every sub-command.
type globalFlags struct {
	sim    string // simulated bench scenario; empty means a real probe
	server string // stlink-server HOST:PORT; empty means USB
	serial string // probe serial number to pick among several
}

// command is one sub-command of stprobe.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, g *globalFlags, args []string, stdout, stderr io.Writer) error
}

func commands() []command {
	return []command{
		{"info", "probe, firmware, voltage and a connect report", cmdInfo},
		{"list", "ST-LINK probes found", cmdList},
		{"sim", "the simulated bench: list scenarios, serve a simulated probe", cmdSim},
		{"ob", "option bytes: read, plan, apply", cmdOB},
		{"sweep", "connection matrix: every mode x AP x frequency, diagnosed", cmdSweep},
		{"da", "debug authentication: discover what the chip's ROM reports", cmdDA},
	}
}

// errUsage marks a command-line mistake; the usage text has been printed.
var errUsage = errors.New("usage")

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var g globalFlags
	fs := flag.NewFlagSet("stprobe", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&g.sim, "sim", "", "use the simulated bench `SCENARIO` (see: stprobe sim list)")
	fs.StringVar(&g.server, "server", "", "reach probes through stlink-server at `HOST:PORT`")
	fs.StringVar(&g.serial, "probe", "", "use the probe with this `SERIAL`")
	fs.Usage = func() { usage(stderr, fs) }
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	rest := fs.Args()
	if len(rest) == 0 {
		usage(stderr, fs)
		return 2
	}
	if err := checkSelectors(&g, rest[0]); err != nil {
		fmt.Fprintf(stderr, "stprobe: %v\n", err)
		return 2
	}
	for _, c := range commands() {
		if c.name != rest[0] {
			continue
		}
		err := c.run(ctx, &g, rest[1:], stdout, stderr)
		switch {
		case err == nil, errors.Is(err, flag.ErrHelp):
			return 0
		case errors.Is(err, errUsage):
			return 2
		case errors.As(err, new(*inputError)):
			fmt.Fprintf(stderr, "stprobe %s: %s\n", c.name, oneLine(err))
			return 2
		default:
			fmt.Fprintf(stderr, "stprobe %s: %s\n", c.name, oneLine(err))
			return 1
		}
	}
	fmt.Fprintf(stderr, "stprobe: unknown command %q\n", rest[0])
	usage(stderr, fs)
	return 2
}

// oneLine is err's text on one line: joined errors are separated by "; "
// so that every line of stderr starts with the command that failed.
func oneLine(err error) string {
	return strings.ReplaceAll(strings.TrimSpace(err.Error()), "\n", "; ")
}

// inputError is a mistake in the command's arguments found only once the
// target was reached (an option-byte field the chip does not have, say): it
// is printed like a failure but exits with the usage status 2.
type inputError struct{ err error }

func (e *inputError) Error() string { return e.err.Error() }
func (e *inputError) Unwrap() error { return e.err }

// checkSelectors rejects global selectors that contradict each other or
// name no simulated board, before any command runs. Only list takes both
// --sim and --server (it lists every source it is given).
func checkSelectors(g *globalFlags, cmd string) error {
	if g.sim == "" {
		return nil
	}
	if g.server != "" && cmd != "list" {
		return fmt.Errorf("--sim %s and --server %s both choose the probe: give one of them", g.sim, g.server)
	}
	if _, err := scenario.Lookup(g.sim); err != nil {
		return fmt.Errorf("--sim: %w", err)
	}
	return nil
}

// parseFlags parses a sub-command's flags. The flag set has already told
// the user what was wrong; the error is flag.ErrHelp for -h, else errUsage.
func parseFlags(fs *flag.FlagSet, args []string) error {
	err := fs.Parse(args)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, flag.ErrHelp):
		return err
	}
	return errUsage
}

// usageError reports a command-line mistake found after parsing: the
// sub-command's name and err on stderr, then its usage. It returns errUsage.
func usageError(fs *flag.FlagSet, stderr io.Writer, err error) error {
	fmt.Fprintf(stderr, "stprobe %s: %v\n", fs.Name(), err)
	fs.Usage()
	return errUsage
}

func usage(w io.Writer, fs *flag.FlagSet) {
	fmt.Fprintln(w, "usage: stprobe [--sim SCENARIO | --server HOST:PORT] [--probe SERIAL] COMMAND [ARGS]")
	fmt.Fprintln(w, "\ncommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-6s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nglobal flags:")
	fs.PrintDefaults()
}
