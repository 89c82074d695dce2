package bench

import (
	"io"

	"github.com/sirupsen/logrus"
)

// logHook turns the bench logger's entries into LogEntry events.
type logHook struct{ b *Bench }

// Levels are every level: the logger's own level decides what is logged.
func (h *logHook) Levels() []logrus.Level { return logrus.AllLevels }

// Fire publishes the entry.
func (h *logHook) Fire(e *logrus.Entry) error {
	fields := make(map[string]any, len(e.Data))
	for k, v := range e.Data {
		if err, ok := v.(error); ok {
			v = err.Error()
		}
		fields[k] = v
	}
	lvl, msg := e.Level, e.Message
	h.b.publish(func(m EventMeta) Event {
		m.Time = e.Time
		return LogEntry{EventMeta: m, Level: lvl, Message: msg, Fields: fields}
	})
	return nil
}

// withoutHook is hooks without h.
func withoutHook(hooks logrus.LevelHooks, h logrus.Hook) logrus.LevelHooks {
	out := logrus.LevelHooks{}
	for lvl, hs := range hooks {
		for _, x := range hs {
			if x != h {
				out[lvl] = append(out[lvl], x)
			}
		}
	}
	return out
}

// discardLogger is the logger of a bench given none.
func discardLogger() *logrus.Logger {
	l := logrus.New()
	l.SetOutput(io.Discard)
	l.SetLevel(logrus.InfoLevel)
	return l
}
