//go:build unix

package statefile

import (
	"errors"
	"os"
	"syscall"
	"time"
)

// errSyncUnsupported is what a directory sync returns where directories
// cannot be synced.
var errSyncUnsupported = syscall.EINVAL

// errLocked is returned by tryLock when another open file holds the lock.
var errLocked = errors.New("locked by another process or writer")

// tryLock takes an exclusive advisory lock on f without waiting.
func tryLock(f *os.File) error {
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		switch {
		case err == nil:
			return nil
		case errors.Is(err, syscall.EINTR):
			continue
		case errors.Is(err, syscall.EWOULDBLOCK):
			return errLocked
		}
		return err
	}
}

// unlock releases the lock taken by tryLock.
func unlock(f *os.File) { _ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN) }

// lockFile takes an exclusive lock on f, waiting at most wait; it returns
// the function that releases it.
func lockFile(f *os.File, wait time.Duration) (func(), error) {
	deadline := time.Now().Add(wait)
	for {
		err := tryLock(f)
		if err == nil {
			return func() { unlock(f) }, nil
		}
		if !errors.Is(err, errLocked) || time.Now().After(deadline) {
			return nil, err
		}
		time.Sleep(2 * time.Millisecond)
	}
}
