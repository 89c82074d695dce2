// Command stprobe is a terminal console for ST-LINK bench work: it finds out
// why an STM32 will not connect, reads and edits option bytes without
// bricking the chip, and runs on a simulated bench when no probe is plugged in.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/stprobe/stprobe/cli"
)

func main() {
	// Any of these stops the running job: the bench finishes or undoes the
	// current step, records it, and the command exits.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGPIPE)
	// The console is not built yet: without it, stprobe alone prints the help.
	code := cli.Run(ctx, cli.Config{Console: nil}, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
