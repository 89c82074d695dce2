//go:build !unix

package obytes

import (
	"errors"
	"os"
	"time"
)

var errSyncUnsupported = errors.New("sync unsupported")

func openNoBlock(path string) (*os.File, error) { return os.Open(path) }

var errLocked = errors.New("locked by another process or writer")

// tryLock cannot lock on this platform; concurrent writers are not detected.
func tryLock(f *os.File) error { return nil }

func unlock(f *os.File) {}

func lockFile(f *os.File, wait time.Duration) (func(), error) { return func() {}, nil }
