package main

// Placeholders so the command compiles while the sub-commands are written.
// Whoever writes the real sub-command deletes its stub from this file.

import (
	"context"
	"errors"
	"io"
)

var errNotBuilt = errors.New("not built yet")

func cmdInfo(ctx context.Context, g *globalFlags, args []string, stdout, stderr io.Writer) error {
	return errNotBuilt
}

func cmdList(ctx context.Context, g *globalFlags, args []string, stdout, stderr io.Writer) error {
	return errNotBuilt
}

func cmdSim(ctx context.Context, g *globalFlags, args []string, stdout, stderr io.Writer) error {
	return errNotBuilt
}

func cmdOB(ctx context.Context, g *globalFlags, args []string, stdout, stderr io.Writer) error {
	return errNotBuilt
}

func cmdSweep(ctx context.Context, g *globalFlags, args []string, stdout, stderr io.Writer) error {
	return errNotBuilt
}
