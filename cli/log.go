package cli

import (
	"io"
	"strings"

	"github.com/sirupsen/logrus"
)

// newLogger is the one logger of a run: the bench logs what it does to it,
// and at trace level every probe transfer.
func newLogger(w io.Writer, lvl logrus.Level) *logrus.Logger {
	l := logrus.New()
	l.SetOutput(w)
	l.SetLevel(lvl)
	l.SetFormatter(&quietFormatter{next: &logrus.TextFormatter{}, level: lvl})
	return l
}

// quietFormatter leaves out of the log the warnings that the command line
// already reports to the user on stderr — a job's error, the fall-back to
// the simulated bench — unless the log is at info level or finer: they
// would otherwise be printed twice.
type quietFormatter struct {
	next  logrus.Formatter
	level logrus.Level
}

// Format formats e, or returns nothing for an entry the user already saw.
func (f *quietFormatter) Format(e *logrus.Entry) ([]byte, error) {
	if f.level < logrus.InfoLevel && reported(e) {
		return nil, nil
	}
	return f.next.Format(e)
}

// reported tells the bench's warnings that repeat what a command prints.
func reported(e *logrus.Entry) bool {
	if e.Level != logrus.WarnLevel {
		return false
	}
	switch {
	case e.Message == "job failed", e.Message == "job refused":
		return true
	case strings.Contains(e.Message, "using the simulated bench"):
		return true
	}
	return false
}
