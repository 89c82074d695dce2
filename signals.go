package main

import (
	"context"
	"errors"
	"os"
	"os/signal"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// signals is how stprobe answers signals, one rule for every command:
// SIGINT, SIGTERM, SIGHUP and SIGPIPE end ctx, which stops the running job
// at its next step (a write finishes or undoes that step and is recorded).
// A closed pipe on stdout or stderr counts as SIGPIPE as soon as its
// reader goes away, not only at the next write to it. While the SSH
// server runs (serving), SIGHUP reads its keys again and SIGPIPE (a
// client gone) is ignored; SIGINT and SIGTERM stop it.
type signals struct {
	ctx    context.Context
	cancel context.CancelCauseFunc
	ch     chan os.Signal
	done   chan struct{}

	mu     sync.Mutex
	reload func() // set while serving
}

// newSignals starts listening for the signals and watching stdout and
// stderr; stop ends it.
func newSignals() *signals {
	ctx, cancel := context.WithCancelCause(context.Background())
	s := &signals{ctx: ctx, cancel: cancel, ch: make(chan os.Signal, 4), done: make(chan struct{})}
	signal.Notify(s.ch, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGPIPE)
	go s.loop()
	for _, f := range []*os.File{os.Stdout, os.Stderr} {
		if isPipe(f) {
			go s.watchPipe(f)
		}
	}
	return s
}

// stop stops listening.
func (s *signals) stop() {
	signal.Stop(s.ch)
	close(s.done)
}

// serving makes SIGHUP call reload and SIGPIPE do nothing, until the
// returned function is called.
func (s *signals) serving(reload func()) (end func()) {
	s.mu.Lock()
	s.reload = reload
	s.mu.Unlock()
	return func() {
		s.mu.Lock()
		s.reload = nil
		s.mu.Unlock()
	}
}

func (s *signals) loop() {
	for {
		select {
		case <-s.done:
			return
		case sig := <-s.ch:
			s.handle(sig.(syscall.Signal), "signal "+unix.SignalName(sig.(syscall.Signal)))
		}
	}
}

// handle applies the rule to sig; why is the context's cause.
func (s *signals) handle(sig syscall.Signal, why string) {
	s.mu.Lock()
	reload := s.reload
	s.mu.Unlock()
	if reload != nil {
		switch sig {
		case syscall.SIGHUP:
			reload()
			return
		case syscall.SIGPIPE:
			return
		}
	}
	s.cancel(errors.New(why))
}

// watchPipe waits until the reader of the pipe f writes to goes away and
// then acts as on SIGPIPE.
func (s *signals) watchPipe(f *os.File) {
	fds := []unix.PollFd{{Fd: int32(f.Fd())}}
	for {
		select {
		case <-s.done:
			return
		default:
		}
		fds[0].Revents = 0
		n, err := unix.Poll(fds, 1000)
		if err != nil && !errors.Is(err, unix.EINTR) {
			return
		}
		if n > 0 && fds[0].Revents&(unix.POLLERR|unix.POLLHUP|unix.POLLNVAL) != 0 {
			if fds[0].Revents&unix.POLLNVAL == 0 {
				s.handle(syscall.SIGPIPE, "the reader of "+f.Name()+" went away (closed pipe)")
			}
			return
		}
	}
}

// isPipe reports whether f is a pipe (FIFO).
func isPipe(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeNamedPipe != 0
}
