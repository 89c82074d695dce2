// Command stprobe is a terminal console for ST-LINK bench work: it finds out
// why an STM32 will not connect, reads and edits option bytes without
// bricking the chip, runs Debug Authentication, serves the bench over SSH,
// and runs on a simulated bench when no probe is plugged in.
package main

import (
	"context"
	"io"
	"os"
	"os/signal"
	"syscall"

	tea "charm.land/bubbletea/v2"

	"github.com/stprobe/stprobe/bench"
	"github.com/stprobe/stprobe/cli"
	"github.com/stprobe/stprobe/serve"
	"github.com/stprobe/stprobe/tui"
)

func main() {
	// Any of these stops the running job: the bench finishes or undoes the
	// current step, records it, and the command exits.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGPIPE)
	cfg := cli.Config{Console: console, Choose: choose, Serve: serveSSH}
	code := cli.Run(ctx, cfg, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// console runs the console on the terminal.
func console(ctx context.Context, b *bench.Bench, who bench.Holder, stdin io.Reader, stdout io.Writer) error {
	return tui.Run(ctx, b, who, tui.Options{ProgramOptions: []tea.ProgramOption{tea.WithInput(stdin), tea.WithOutput(stdout)}})
}

// choose asks which probe the console opens.
func choose(ctx context.Context) (bench.Selector, error) {
	return tui.Choose(ctx, tui.ChooseOptions{Always: true})
}

// serveSSH serves the console over SSH, one console per session on the one
// bench.
func serveSSH(ctx context.Context, b *bench.Bench, o cli.ServeOptions) error {
	srv, err := serve.New(serve.Config{
		Listen: o.Listen, AuthorizedKeys: o.AuthorizedKeys, HostKey: o.HostKey, Roles: o.Roles,
		ReadOnly: o.ReadOnly, IdleTimeout: o.IdleTimeout, MaxSessions: o.MaxSessions,
		Bench: b, Log: b.Log(),
		Console: func(ctx context.Context, b *bench.Bench, who bench.Holder, observer bool, env []string) tea.Model {
			return tui.New(ctx, b, who, tui.Options{Env: env, ReadOnly: observer})
		},
	})
	if err != nil {
		return err
	}
	return srv.Serve(ctx)
}
