package uart

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Port is what the probe needs from a serial port; go.bug.st/serial's Port
// satisfies it, and tests use a fake.
type Port interface {
	// Read returns what arrived; (0, nil) when the read timeout passed.
	Read(p []byte) (int, error)
	Write(p []byte) (int, error)
	SetReadTimeout(t time.Duration) error
	ResetInputBuffer() error
	SetDTR(dtr bool) error
	SetRTS(rts bool) error
}

// DefaultTimeout bounds the wait for each reply (stm32flash waits 0.5 s).
const DefaultTimeout = 500 * time.Millisecond

// readSlice is the longest single port read, so a cancelled context is
// noticed quickly.
const readSlice = 50 * time.Millisecond

// Session talks the USART bootloader protocol over a port, read-only: its
// only way to send a command is through the allow-list (ReadOnly), and the
// only parameters it ever sends are a Read Memory address and length.
type Session struct {
	port    Port
	timeout time.Duration
}

// NewSession wraps port; timeout bounds each reply (DefaultTimeout when 0).
func NewSession(port Port, timeout time.Duration) *Session {
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	return &Session{port: port, timeout: timeout}
}

// write sends b.
func (s *Session) write(b []byte) error {
	if _, err := s.port.Write(b); err != nil {
		return fmt.Errorf("uart: writing to the port: %w", err)
	}
	return nil
}

// read collects exactly n bytes within the session timeout. It returns
// what arrived with ErrSilent when the time ran out.
func (s *Session) read(ctx context.Context, n int) ([]byte, error) {
	deadline := time.Now().Add(s.timeout)
	out := make([]byte, 0, n)
	buf := make([]byte, n)
	for len(out) < n {
		if err := ctx.Err(); err != nil {
			return out, fmt.Errorf("uart: %w", err)
		}
		left := time.Until(deadline)
		if left <= 0 {
			return out, ErrSilent
		}
		if err := s.port.SetReadTimeout(min(left, readSlice)); err != nil {
			return out, fmt.Errorf("uart: setting the read timeout: %w", err)
		}
		k, err := s.port.Read(buf[:n-len(out)])
		out = append(out, buf[:k]...)
		if err != nil {
			return out, fmt.Errorf("uart: reading the port: %w", err)
		}
	}
	return out, nil
}

// Sync sends the 0x7F auto-baud byte. already is true when the bootloader
// answered NACK (synced by an earlier session). A silent line gets a second
// 0x7F, as stm32flash does (a lone 0x7F may have been taken as an opcode).
// An echoed 0x7F or any other byte is an error naming what came back.
func (s *Session) Sync(ctx context.Context) (already bool, err error) {
	for try := 0; try < 2; try++ {
		if err := s.write([]byte{Sync}); err != nil {
			return false, err
		}
		b, err := s.read(ctx, 1)
		if errors.Is(err, ErrSilent) {
			continue
		}
		if err != nil {
			return false, err
		}
		switch b[0] {
		case ACK:
			return false, nil
		case NACK:
			return true, nil
		case Sync:
			return false, fmt.Errorf("uart: the sync byte 0x7F came back: TX is looped to RX (echoing adapter or half-duplex wiring)")
		}
		return false, fmt.Errorf("uart: the sync byte got 0x%02X, not ACK or NACK: the application runs or the baud rate or parity is wrong", b[0])
	}
	return false, fmt.Errorf("uart: sync: %w", ErrSilent)
}

// Command sends opcode code and its complement and waits for ACK. Codes
// that are not read-only are refused with ErrNotReadOnly before any byte is
// written.
func (s *Session) Command(ctx context.Context, code byte) error {
	if !ReadOnly(code) {
		return fmt.Errorf("uart: %s (0x%02X): %w", CommandName(code), code, ErrNotReadOnly)
	}
	if err := s.write([]byte{code, ^code}); err != nil {
		return err
	}
	return s.ack(ctx, CommandName(code))
}

// ack waits for one ACK.
func (s *Session) ack(ctx context.Context, what string) error {
	b, err := s.read(ctx, 1)
	if err != nil {
		return fmt.Errorf("uart: %s: %w", what, err)
	}
	switch b[0] {
	case ACK:
		return nil
	case NACK:
		return fmt.Errorf("uart: %s: %w", what, ErrNACK)
	}
	return fmt.Errorf("uart: %s: got 0x%02X, want ACK", what, b[0])
}

// Get returns the protocol version and the command codes the ROM lists.
func (s *Session) Get(ctx context.Context) (version byte, commands []byte, err error) {
	if err := s.Command(ctx, 0x00); err != nil {
		return 0, nil, err
	}
	n, err := s.read(ctx, 1)
	if err != nil {
		return 0, nil, fmt.Errorf("uart: Get: %w", err)
	}
	rest, err := s.read(ctx, int(n[0])+2)
	if err != nil {
		return 0, nil, fmt.Errorf("uart: Get: %w", err)
	}
	return ParseGet(append([]byte{ACK, n[0]}, rest...))
}

// GetVersion returns the protocol version and the two option bytes.
func (s *Session) GetVersion(ctx context.Context) (version byte, options [2]byte, err error) {
	if err := s.Command(ctx, 0x01); err != nil {
		return 0, options, err
	}
	rest, err := s.read(ctx, 4)
	if err != nil {
		return 0, options, fmt.Errorf("uart: Get Version: %w", err)
	}
	return ParseGetVersion(append([]byte{ACK}, rest...))
}

// GetID returns the product ID (the DEV_ID on STM32H5).
func (s *Session) GetID(ctx context.Context) (uint16, error) {
	if err := s.Command(ctx, 0x02); err != nil {
		return 0, err
	}
	n, err := s.read(ctx, 1)
	if err != nil {
		return 0, fmt.Errorf("uart: Get ID: %w", err)
	}
	rest, err := s.read(ctx, int(n[0])+2)
	if err != nil {
		return 0, fmt.Errorf("uart: Get ID: %w", err)
	}
	return ParseGetID(append([]byte{ACK, n[0]}, rest...))
}

// ReadMemory reads n (1…256) bytes at addr. A NACK means the bootloader
// refuses the address (protected or unmapped).
func (s *Session) ReadMemory(ctx context.Context, addr uint32, n int) ([]byte, error) {
	if n < 1 || n > 256 {
		return nil, fmt.Errorf("uart: Read Memory of %d bytes: want 1 to 256", n)
	}
	if err := s.Command(ctx, 0x11); err != nil {
		return nil, err
	}
	if err := s.write(addressFrame(addr)); err != nil {
		return nil, err
	}
	if err := s.ack(ctx, fmt.Sprintf("Read Memory address 0x%08X", addr)); err != nil {
		return nil, err
	}
	if err := s.write([]byte{byte(n - 1), ^byte(n - 1)}); err != nil {
		return nil, err
	}
	if err := s.ack(ctx, "Read Memory length"); err != nil {
		return nil, err
	}
	b, err := s.read(ctx, n)
	if err != nil {
		return nil, fmt.Errorf("uart: Read Memory data: %w", err)
	}
	return b, nil
}
