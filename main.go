// Command stprobe is a terminal console for ST-LINK bench work: it finds out
// why an STM32 will not connect, reads and edits option bytes without
// bricking the chip, runs Debug Authentication, serves the bench over SSH,
// and runs on a simulated bench when no probe is plugged in.
package main

import (
	"context"
	"io"
	"net"
	"os"

	tea "charm.land/bubbletea/v2"

	"github.com/stprobe/stprobe/bench"
	"github.com/stprobe/stprobe/cli"
	"github.com/stprobe/stprobe/serve"
	"github.com/stprobe/stprobe/tui"
)

func main() {
	// SIGINT, SIGTERM, SIGHUP, SIGPIPE (or a closed pipe on stdout or
	// stderr) stop the running job: the bench finishes or undoes the
	// current step, records it, and the command exits. While serving over
	// SSH, SIGHUP reads the keys again and SIGPIPE is ignored (signals.go).
	sig := newSignals()
	serve := func(ctx context.Context, b *bench.Bench, o cli.ServeOptions) error { return serveSSH(ctx, b, o, sig) }
	cfg := cli.Config{Console: console, Choose: choose, Serve: serve}
	code := cli.Run(sig.ctx, cfg, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	sig.stop()
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
func serveSSH(ctx context.Context, b *bench.Bench, o cli.ServeOptions, sig *signals) error {
	srv, err := serve.New(serve.Config{
		Listen: o.Listen, AuthorizedKeys: o.AuthorizedKeys, HostKey: o.HostKey, Roles: o.Roles,
		ReadOnly: o.ReadOnly, IdleTimeout: o.IdleTimeout, MaxSessions: o.MaxSessions,
		HandshakeTimeout: o.HandshakeTimeout, MaxConnections: o.MaxConnections, MaxPerAddress: o.MaxPerAddress,
		Listening: func(a net.Addr) {
			if o.Listening != nil {
				o.Listening(a.String())
			}
		},
		Bench: b, Log: b.Log(),
		StlinkServer: o.StlinkServer, StateDir: o.StateDir,
		LocalHolder: bench.Holder{Name: o.User, Session: "stlink-server on this machine"},
		Console: func(ctx context.Context, b *bench.Bench, who bench.Holder, observer bool, env []string) tea.Model {
			return tui.New(ctx, b, who, tui.Options{Env: env, ReadOnly: observer})
		},
	})
	if err != nil {
		return err
	}
	defer sig.serving(srv.Reload)()
	return srv.Serve(ctx)
}
