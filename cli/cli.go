// Package cli is stprobe's command line: the sub-commands (cobra, styled by
// fang), their flags, and the rendering of what the bench's jobs return as
// text, JSON, CSV or Markdown. It holds no use-case logic: every command
// that talks to a probe opens a bench, takes its operator lease, runs jobs
// and prints their results.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/user"
	"runtime/debug"
	"strings"

	"charm.land/fang/v2"
	"github.com/sirupsen/logrus"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/stprobe/stprobe/bench"
	"github.com/stprobe/stprobe/probe/sim/scenario"
)

// Config is what the entry point wires into the command line.
type Config struct {
	// Version is printed by --version; empty: the build's own: a tagged
	// module version, else "devel" and the commit it was built from.
	Version string
	// Console runs the full-screen console on an open bench, whose lease
	// the caller holds; `stprobe` with no sub-command starts it. Nil: no
	// console is built in, and `stprobe` alone prints the help.
	Console func(ctx context.Context, b *bench.Bench, who bench.Holder, stdin io.Reader, stdout io.Writer) error
	// Choose asks the user which probe the console opens (USB probes, an
	// stlink-server address, the simulated boards); `stprobe --choose`
	// and several ST-LINKs on USB start it. Nil: no chooser.
	Choose func(ctx context.Context) (bench.Selector, error)
	// Serve serves the console over SSH on an open bench until ctx ends;
	// `stprobe serve` starts it. Nil: no SSH server is built in. Both are
	// filled by the entry point, so that this package imports neither the
	// console nor the server.
	Serve func(ctx context.Context, b *bench.Bench, o ServeOptions) error
}

// Exit statuses.
const (
	ExitOK      = 0 // the command did its job
	ExitFailure = 1 // the probe, the target or the chip failed
	ExitUsage   = 2 // a mistake on the command line
)

// Run runs the command line args (without the program name) and returns the
// exit status. Cancelling ctx stops the running job: the bench finishes or
// undoes the current step, records it, and the command exits.
func Run(ctx context.Context, cfg Config, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	a := newApp(cfg, stdin, stdout, stderr)
	return a.execute(ctx, args)
}

// app is one run of the command line.
type app struct {
	cfg            Config
	stdin          io.Reader
	stdout, stderr io.Writer

	sel      bench.Selector
	choose   bool
	logLevel string
	logFile  string
	log      *logrus.Logger
	logClose func() error

	args []string       // the command line, for the checks cobra cannot make
	cur  *cobra.Command // the command being run

	// What tests replace.
	user    string                                           // the lease holder's name; empty: the OS user
	bench   *bench.Bench                                     // an open bench to use (not closed); nil: open one
	listUSB func(context.Context) ([]bench.ProbeInfo, error) // nil: the USB bus; tests give a fake one
}

func newApp(cfg Config, stdin io.Reader, stdout, stderr io.Writer) *app {
	if stderr != nil {
		stderr = &lockedWriter{w: stderr}
	}
	return &app{cfg: cfg, stdin: stdin, stdout: stdout, stderr: stderr}
}

// execute builds the command tree, runs it through fang and maps the
// outcome to an exit status.
func (a *app) execute(ctx context.Context, args []string) int {
	a.args = args
	root := a.rootCommand()
	root.SetArgs(args)
	root.SetIn(a.stdin)
	root.SetOut(a.stdout)
	root.SetErr(rawWriter(a.stderr))
	version := a.cfg.Version
	if version == "" {
		version = buildVersion(debug.ReadBuildInfo())
	}
	opts := []fang.Option{fang.WithErrorHandler(a.printError), fang.WithVersion(version)}
	err := fang.Execute(ctx, root, opts...)
	if a.logClose != nil {
		if cerr := a.logClose(); cerr != nil && err == nil {
			fmt.Fprintf(a.stderr, "stprobe: file: closing the log file %s: %v\n", a.logFile, cerr)
			return ExitFailure
		}
	}
	return exitCode(err)
}

// rootCommand is `stprobe` and its sub-commands.
func (a *app) rootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:               "stprobe",
		Short:             "ST-LINK bench console: why a chip will not connect, option bytes without bricking, a simulated bench",
		Long:              "stprobe finds out why an STM32 will not connect (every connect mode x access port x SWD clock, diagnosed), reads and edits option bytes without bricking the chip, and runs on a simulated bench when no ST-LINK is plugged in (see: stprobe sim list).",
		Args:              a.noArgs,
		PersistentPreRunE: a.before,
		RunE:              a.runConsole,
	}
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		if !c.HasParent() {
			if uerr := unknownFirstCommand(c, a.args); uerr != nil {
				return uerr
			}
		}
		return usage(c, err)
	})
	pf := root.PersistentFlags()
	pf.StringVar(&a.sel.Sim, "sim", "", "use the simulated bench SCENARIO (see: stprobe sim list)")
	pf.StringVar(&a.sel.Twin, "twin", "", "use the twin of the capture FILE: a simulated board built from it (see: stprobe capture)")
	pf.StringVar(&a.sel.Server, "server", "", "reach probes through stlink-server at HOST:PORT")
	pf.StringVar(&a.sel.Serial, "probe", "", "use the probe with this SERIAL")
	pf.BoolVar(&a.sel.Share, "share", false, "open a probe another stlink-server client is using (their commands interleave with ours)")
	pf.StringVar(&a.logLevel, "log-level", "warn", "log LEVEL: error, warn, info, debug or trace (every probe transfer, in hex)")
	pf.StringVar(&a.logFile, "log-file", "", "write the log to FILE (appended) instead of stderr")
	root.Flags().BoolVar(&a.choose, "choose", false, "the console: choose the probe from a list (USB probes, an stlink-server, the simulated boards)")
	complete(root, "sim", scenario.Names()...)
	complete(root, "log-level", "error", "warn", "info", "debug", "trace")
	root.AddCommand(a.infoCommand(), a.listCommand(), a.simCommand(), a.obCommand(), a.sweepCommand(), a.daCommand(), a.bootCommand(), a.memCommand(), a.flashCommand(), a.serveCommand(), a.shareCommand(), a.captureCommand())
	hideFlagsInUseLines(root)
	return root
}

// complete offers values as the shell completions of c's flag name.
func complete(c *cobra.Command, name string, values ...string) {
	_ = c.RegisterFlagCompletionFunc(name, func(*cobra.Command, []string, string) ([]cobra.Completion, cobra.ShellCompDirective) {
		return values, cobra.ShellCompDirectiveNoFileComp
	})
}

// noArgs rejects positional arguments where a command takes none: on the
// root, an unknown sub-command.
func (a *app) noArgs(c *cobra.Command, args []string) error {
	if len(args) == 0 {
		return nil
	}
	if !c.HasParent() {
		return unknownCommand(c, args[0], "")
	}
	return usage(c, fmt.Errorf("unexpected argument %q", args[0]))
}

// suggestDistance is how many edits apart a mistyped sub-command may be
// from the one suggested (cobra's own default).
const suggestDistance = 2

// unknownCommand is the usage error for name, which is not a sub-command
// of c: it names the sub-commands name is close to (cobra's suggestions:
// a few edits away, or a prefix) and adds note, if any.
func unknownCommand(c *cobra.Command, name, note string) error {
	what := "sub-command"
	if !c.HasParent() {
		what = "command"
	}
	msg := fmt.Sprintf("unknown %s %q", what, name)
	if note != "" {
		msg += " (" + note + ")"
	}
	if c.SuggestionsMinimumDistance <= 0 {
		c.SuggestionsMinimumDistance = suggestDistance
	}
	if s := c.SuggestionsFor(name); len(s) > 0 {
		alts := s[0]
		if n := len(s); n > 1 {
			alts = strings.Join(s[:n-1], ", ") + " or " + s[n-1]
		}
		msg += "; did you mean " + alts + "?"
	}
	return usage(c, errors.New(msg))
}

// unknownFirstCommand finds, in a command line the root could not parse,
// a first positional argument that is no sub-command ("stprobe inf
// --json"): the root knows no flag of a sub-command, so the mistyped
// command, not the flag, is the mistake to report. It returns nil when
// the first positional argument is a sub-command, or there is none.
func unknownFirstCommand(root *cobra.Command, args []string) error {
	for i := 0; i < len(args); i++ {
		arg := args[i]
		switch {
		case arg == "--":
			return nil
		case strings.HasPrefix(arg, "--"):
			name, _, hasValue := strings.Cut(arg[2:], "=")
			f := root.Flags().Lookup(name)
			if f == nil {
				f = root.PersistentFlags().Lookup(name)
			}
			if f != nil && !hasValue && f.NoOptDefVal == "" {
				i++ // the flag's value
			}
			continue
		case strings.HasPrefix(arg, "-") && len(arg) > 1:
			continue
		}
		for _, sub := range root.Commands() {
			if sub.Name() == arg || sub.HasAlias(arg) {
				return nil
			}
		}
		return unknownCommand(root, arg, "")
	}
	return nil
}

// before runs ahead of every command: it checks the global selectors and
// makes the logger.
func (a *app) before(c *cobra.Command, _ []string) error {
	a.cur = c
	if err := a.checkSelectors(c); err != nil {
		return &globalError{usage(c, err)}
	}
	lvl, err := logrus.ParseLevel(a.logLevel)
	if err != nil || lvl < logrus.ErrorLevel {
		return &globalError{usage(c, fmt.Errorf("--log-level %q: want error, warn, info, debug or trace", a.logLevel))}
	}
	out := a.stderr
	if a.logFile != "" {
		f, err := os.OpenFile(a.logFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return &globalError{fmt.Errorf("file: --log-file: %w", err)}
		}
		out, a.logClose = f, f.Close
	}
	a.log = newLogger(out, lvl)
	return nil
}

// checkSelectors rejects global selectors that contradict each other or
// name no simulated board, before any command runs. Only list takes both
// --sim and --server (it lists every source it is given).
func (a *app) checkSelectors(c *cobra.Command) error {
	sel := a.sel
	if topName(c) == "list" {
		if err := (bench.Selector{Server: sel.Server}).Check(); err != nil {
			return err
		}
		sel.Server = ""
	}
	return sel.Check()
}

// runConsole is `stprobe` with no sub-command: the console when one is
// built in, else the help.
func (a *app) runConsole(c *cobra.Command, _ []string) error {
	if a.cfg.Console == nil {
		return c.Help()
	}
	ctx := c.Context()
	if !a.sel.Chosen() && a.cfg.Choose != nil {
		usb := bench.List(ctx, bench.Selector{}, a.benchOptions())[0].Probes
		if a.choose || len(usb) > 1 {
			sel, err := a.cfg.Choose(ctx)
			if err != nil {
				return err
			}
			a.sel = sel
		}
	}
	// the log goes to the console's log pane, and to --log-file if given:
	// never onto the screen
	if a.logFile == "" {
		a.log.SetOutput(io.Discard)
	}
	if !c.Flags().Changed("log-level") {
		a.log.SetLevel(logrus.InfoLevel)
	}
	b, notice, err := a.openBench(ctx, a.benchOptions())
	if err != nil {
		return err
	}
	defer b.Close()
	_ = notice // the console shows the bench's notice (Snapshot.Notice) in its footer
	// the console takes the lease itself, and shows who holds it
	return a.cfg.Console(ctx, b, bench.Holder{Name: a.userName(), Session: "console"}, a.stdin, a.stdout)
}

// withBench opens the bench the global selectors name (printing its notice
// on stderr), takes the operator lease, runs fn and closes the bench.
func (a *app) withBench(ctx context.Context, fn func(ctx context.Context, b *bench.Bench, tok bench.Token) error) error {
	b := a.bench
	if b == nil {
		var err error
		if b, err = a.openNoted(ctx, 0); err != nil {
			return err
		}
		defer b.Close()
	}
	tok, err := b.Acquire(bench.Holder{Name: a.userName(), Session: "cli"})
	if err != nil {
		return err
	}
	defer b.Release(tok)
	return fn(ctx, b, tok)
}

// stateDirOr is dir, or the default state directory when dir is empty.
func stateDirOr(dir string) (string, error) {
	if dir != "" {
		return dir, nil
	}
	return bench.DefaultStateDir()
}

// benchOptions are the options of every bench the CLI opens.
func (a *app) benchOptions() bench.Options {
	return bench.Options{Log: a.log, ListUSB: a.listUSB}
}

// openBench opens the bench the global selectors name. A probe another
// client of the stlink-server is using is refused unless --share was given;
// the error says so.
func (a *app) openBench(ctx context.Context, o bench.Options) (*bench.Bench, string, error) {
	b, notice, err := bench.Open(ctx, a.sel, o)
	if errors.Is(err, bench.ErrProbeInUse) {
		err = fmt.Errorf("%w; to use it anyway add --share (stprobe --server %s --share ...): the other tool's commands and ours then interleave, so stop it from writing while stprobe writes", err, a.sel.Server)
	}
	return b, notice, err
}

// userName is the name the lease (and so the audit log) gives the operator.
func (a *app) userName() string {
	if a.user != "" {
		return a.user
	}
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	if n := os.Getenv("USER"); n != "" {
		return n
	}
	return "unknown"
}

// usageError is a mistake on the command line: exit status 2, with the
// command's usage line.
type usageError struct {
	cmd *cobra.Command
	err error
}

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

// usage marks err as a mistake in c's command line.
func usage(c *cobra.Command, err error) error { return &usageError{cmd: c, err: err} }

// inputError is a mistake in the command's arguments found only once the
// target was reached (an option-byte field the chip does not have, say): it
// is printed like a failure but exits with the usage status 2.
type inputError struct{ err error }

func (e *inputError) Error() string { return e.err.Error() }
func (e *inputError) Unwrap() error { return e.err }

// globalError is a mistake in the global flags: printed as "stprobe: ...".
type globalError struct{ err error }

func (e *globalError) Error() string { return e.err.Error() }
func (e *globalError) Unwrap() error { return e.err }

// exitCode maps the outcome of a command to the exit status.
func exitCode(err error) int {
	switch {
	case err == nil, errors.Is(err, pflag.ErrHelp):
		return ExitOK
	case errors.As(err, new(*usageError)), errors.As(err, new(*inputError)), isCobraUsage(err):
		return ExitUsage
	}
	return ExitFailure
}

// isCobraUsage recognises the command-line mistakes cobra reports as plain
// errors (its argument checks).
func isCobraUsage(err error) bool {
	s := err.Error()
	for _, p := range []string{"unknown command", "unknown flag", "unknown shorthand flag", "flag needs an argument", "invalid argument", "accepts ", "requires at least", "requires at most"} {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

// printError writes err on stderr, one line starting with the command that
// failed; a usage mistake adds the command's usage line.
func (a *app) printError(w io.Writer, styles fang.Styles, err error) {
	prefix := "stprobe"
	var ue *usageError
	var ge *globalError
	switch {
	case errors.As(err, &ge):
	case errors.As(err, &ue) && ue.cmd != nil && ue.cmd.HasParent():
		prefix = strings.TrimSpace(ue.cmd.CommandPath())
	case a.cur != nil && a.cur.HasParent():
		prefix += " " + topName(a.cur)
	}
	line := prefix + ": " + oneLine(err)
	if isTerminal(a.stderr) {
		line = styles.ErrorHeader.UnsetMargins().Render(prefix) + " " + oneLine(err)
	}
	fmt.Fprintln(w, line)
	if ge == nil && errors.As(err, &ue) && ue.cmd != nil {
		line := ue.cmd.UseLine()
		if s := ue.cmd.Annotations[synopsisKey]; s != "" {
			line = "stprobe " + s
		}
		fmt.Fprintf(w, "usage: %s\n(see: %s --help)\n", line, ue.cmd.CommandPath())
	}
}

// synopsisKey is the annotation that holds a command's full synopsis.
const synopsisKey = "synopsis"

// synopsis is the annotation of a command whose synopsis (after
// "stprobe ") is s: usage mistakes print it.
func synopsis(s string) map[string]string { return map[string]string{synopsisKey: s} }

// topName is the name of the sub-command of stprobe that c is or is under
// ("ob" for `stprobe ob plan`).
func topName(c *cobra.Command) string {
	for c.HasParent() && c.Parent().HasParent() {
		c = c.Parent()
	}
	return c.Name()
}

// oneLine is err's text on one line: joined errors are separated by "; "
// so that every line of stderr starts with the command that failed.
func oneLine(err error) string {
	return strings.ReplaceAll(strings.TrimSpace(err.Error()), "\n", "; ")
}

// isTerminal reports whether w is a character device (a terminal), so that
// progress lines and styles are not written into files or pipes.
func isTerminal(w io.Writer) bool {
	f, ok := rawWriter(w).(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// dash shows "-" for an empty field.
func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
