// Package bootuart serves the simulated chip's ROM bootloader UART on a
// pseudo-terminal, so that any serial program (stprobe's UART probe,
// stm32flash) can talk to it through a device path. A pty carries no baud
// rate, parity or modem lines: the line settings a program asks for are
// accepted and not applied.
package bootuart

import (
	"errors"
	"fmt"
	"os"
	"sync"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"
)

// Link is the bootloader side of a UART: bytes in, answer out.
// *stm32h5.BootUART implements it.
type Link interface {
	Feed(in []byte) []byte
}

// Server is a running pty with the bootloader on its master side.
type Server struct {
	master, slave *os.File
	done          chan struct{}
	closeOnce     sync.Once
	mu            sync.Mutex
	received      int
}

// Serve opens a pty and answers what a program writes to its slave side
// (Path) with link's replies, until Close. The slave is in raw mode, so no
// byte is echoed or altered before the program sets its own line settings.
func Serve(link Link) (*Server, error) {
	master, slave, err := pty.Open()
	if err != nil {
		return nil, fmt.Errorf("bootuart: opening a pseudo-terminal: %w", err)
	}
	if err := makeRaw(slave); err != nil {
		master.Close()
		slave.Close()
		return nil, err
	}
	s := &Server{master: master, slave: slave, done: make(chan struct{})}
	go s.loop(link)
	return s, nil
}

// makeRaw turns off echo, line editing and character translation.
func makeRaw(f *os.File) error {
	t, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	if err != nil {
		return fmt.Errorf("bootuart: reading the pty settings: %w", err)
	}
	t.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP | unix.INLCR | unix.IGNCR | unix.ICRNL | unix.IXON
	t.Oflag &^= unix.OPOST
	t.Lflag &^= unix.ECHO | unix.ECHONL | unix.ICANON | unix.ISIG | unix.IEXTEN
	t.Cflag &^= unix.CSIZE | unix.PARENB
	t.Cflag |= unix.CS8
	t.Cc[unix.VMIN], t.Cc[unix.VTIME] = 1, 0
	if err := unix.IoctlSetTermios(int(f.Fd()), unix.TCSETS, t); err != nil {
		return fmt.Errorf("bootuart: setting the pty to raw mode: %w", err)
	}
	return nil
}

// loop relays bytes until the master closes.
func (s *Server) loop(link Link) {
	defer close(s.done)
	buf := make([]byte, 512)
	for {
		n, err := s.master.Read(buf)
		if n > 0 {
			s.mu.Lock()
			s.received += n
			s.mu.Unlock()
			if out := link.Feed(buf[:n]); len(out) > 0 {
				if _, werr := s.master.Write(out); werr != nil {
					return
				}
			}
		}
		if err != nil {
			return
		}
	}
}

// Path is the device path a program opens, e.g. /dev/pts/3.
func (s *Server) Path() string { return s.slave.Name() }

// Received counts the bytes programs have written to the pty.
func (s *Server) Received() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.received
}

// Close stops serving and closes the pty.
func (s *Server) Close() error {
	var err error
	s.closeOnce.Do(func() {
		err = errors.Join(s.master.Close(), s.slave.Close())
		<-s.done
	})
	if err != nil {
		return fmt.Errorf("bootuart: closing the pty: %w", err)
	}
	return nil
}
