//go:build !unix

package statefile

import (
	"errors"
	"os"
	"time"
)

var errSyncUnsupported = errors.New("sync unsupported")

// tryLock cannot lock on this platform; concurrent writers are not detected.
func tryLock(f *os.File) error { return nil }

func unlock(f *os.File) {}

func lockFile(f *os.File, wait time.Duration) (func(), error) { return func() {}, nil }
