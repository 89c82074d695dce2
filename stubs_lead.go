package main

// Placeholders so the command compiles while the sub-commands are written.
// Whoever writes the real sub-command deletes its stub from this file.

import (
	"errors"
)

var errNotBuilt = errors.New("not built yet")
