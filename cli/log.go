package cli

import (
	"io"
	"sync"

	"github.com/sirupsen/logrus"
)

// newLogger is the one logger of a run: the bench logs what it does to it,
// and at trace level every probe transfer.
func newLogger(w io.Writer, lvl logrus.Level) *logrus.Logger {
	l := logrus.New()
	l.SetOutput(w)
	l.SetLevel(lvl)
	l.SetFormatter(&logrus.TextFormatter{})
	return l
}

// lockedWriter serialises writes to w: the logger (on the bench's
// goroutine) and the command's progress lines share stderr.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

// Write writes p to w under the lock.
func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// rawWriter is w without a lockedWriter around it, for the checks that look
// at what w is (a terminal, colours).
func rawWriter(w io.Writer) io.Writer {
	if l, ok := w.(*lockedWriter); ok {
		return l.w
	}
	return w
}
