package cli

import (
	"io"

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
