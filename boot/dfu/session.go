package dfu

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Device is what the probe needs from a USB device: control transfers on
// endpoint 0 (DFU uses no other). gousb's *Device satisfies it; tests use a
// fake.
type Device interface {
	Control(rType, request uint8, val, idx uint16, data []byte) (int, error)
}

// DFU class requests (DFU 1.1).
const (
	ReqDetach    = 0
	ReqDnload    = 1
	ReqUpload    = 2
	ReqGetStatus = 3
	ReqClrStatus = 4
	ReqGetState  = 5
	ReqAbort     = 6
)

// Request types.
const (
	typeStandardIn = 0x80 // standard, device to host
	typeClassOut   = 0x21 // class, host to interface
	typeClassIn    = 0xA1 // class, interface to host
)

// DfuSe commands (first byte of a DNLOAD with wValue 0).
const (
	CmdGetCommands   = 0x00
	CmdSetAddress    = 0x21
	CmdErase         = 0x41
	CmdReadUnprotect = 0x92
)

// DFU states the probe acts on.
const (
	StateIdle       = 2
	StateDnBusy     = 4
	StateDnloadIdle = 5
	StateUploadIdle = 9
	StateError      = 10
)

// ErrNotReadOnly is returned for a request the probe refuses to send.
var ErrNotReadOnly = errors.New("request refused: the DFU probe only sends read-only requests")

// Check says whether a control request may leave the host: GET_DESCRIPTOR,
// GETSTATUS, GETSTATE, UPLOAD, CLRSTATUS, ABORT, and DNLOAD only when it
// carries the DfuSe Set Address Pointer or Get Commands command. Everything
// else - DETACH, data downloads, erase, read unprotect, the zero-length
// download that leaves DFU, any standard or vendor OUT request - is refused.
func Check(rType, request uint8, val uint16, data []byte) error {
	switch {
	case rType == typeStandardIn && request == 0x06: // GET_DESCRIPTOR
		return nil
	case rType == typeClassIn && (request == ReqUpload || request == ReqGetStatus || request == ReqGetState):
		return nil
	case rType == typeClassOut && (request == ReqClrStatus || request == ReqAbort) && len(data) == 0:
		return nil
	case rType == typeClassOut && request == ReqDnload && val == 0:
		if len(data) == 5 && data[0] == CmdSetAddress || len(data) == 1 && data[0] == CmdGetCommands {
			return nil
		}
		return fmt.Errorf("DfuSe command % X: %w", data, ErrNotReadOnly)
	}
	return fmt.Errorf("control request type 0x%02X request %d value %d: %w", rType, request, val, ErrNotReadOnly)
}

// Session sends DFU requests through the read-only guard.
type Session struct {
	dev   Device
	iface uint16
	sleep func(time.Duration)
}

// NewSession wraps dev for DFU interface iface; sleep waits out the
// device's poll timeouts (time.Sleep when nil).
func NewSession(dev Device, iface uint16, sleep func(time.Duration)) *Session {
	if sleep == nil {
		sleep = time.Sleep
	}
	return &Session{dev: dev, iface: iface, sleep: sleep}
}

// Control sends one control request if Check allows it. idx is the
// interface for class requests; standard requests pass their own.
func (s *Session) Control(ctx context.Context, rType, request uint8, val, idx uint16, data []byte) (int, error) {
	if err := Check(rType, request, val, data); err != nil {
		return 0, fmt.Errorf("dfu: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("dfu: %w", err)
	}
	n, err := s.dev.Control(rType, request, val, idx, data)
	if err != nil {
		return n, fmt.Errorf("dfu: control request 0x%02X/%d: %w", rType, request, err)
	}
	return n, nil
}

// descriptor reads a standard descriptor (type, index) with language lang.
func (s *Session) descriptor(ctx context.Context, typ, index uint8, lang uint16, size int) ([]byte, error) {
	buf := make([]byte, size)
	n, err := s.Control(ctx, typeStandardIn, 0x06, uint16(typ)<<8|uint16(index), lang, buf)
	if err != nil {
		return nil, err
	}
	return buf[:n], nil
}

// GetStatus reads the device's status.
func (s *Session) GetStatus(ctx context.Context) (Status, error) {
	buf := make([]byte, 6)
	n, err := s.Control(ctx, typeClassIn, ReqGetStatus, 0, s.iface, buf)
	if err != nil {
		return Status{}, err
	}
	return ParseStatus(buf[:n])
}

// ClrStatus clears dfuERROR.
func (s *Session) ClrStatus(ctx context.Context) error {
	_, err := s.Control(ctx, typeClassOut, ReqClrStatus, 0, s.iface, nil)
	return err
}

// Abort returns the device to dfuIDLE.
func (s *Session) Abort(ctx context.Context) error {
	_, err := s.Control(ctx, typeClassOut, ReqAbort, 0, s.iface, nil)
	return err
}

// SetAddress runs the DfuSe Set Address Pointer command and waits for it
// to complete (dfuDNBUSY, then dfuDNLOAD-IDLE).
func (s *Session) SetAddress(ctx context.Context, addr uint32) error {
	cmd := []byte{CmdSetAddress, byte(addr), byte(addr >> 8), byte(addr >> 16), byte(addr >> 24)}
	if _, err := s.Control(ctx, typeClassOut, ReqDnload, 0, s.iface, cmd); err != nil {
		return err
	}
	for i := 0; i < 3; i++ {
		st, err := s.GetStatus(ctx)
		if err != nil {
			return err
		}
		switch {
		case st.State == StateError:
			return fmt.Errorf("dfu: Set Address Pointer 0x%08X refused: status 0x%02X", addr, st.Status)
		case st.State == StateDnloadIdle:
			return nil
		case st.State != StateDnBusy:
			return fmt.Errorf("dfu: Set Address Pointer 0x%08X: unexpected state %s", addr, StateName(st.State))
		}
		s.sleep(min(time.Duration(st.PollTimeout)*time.Millisecond, time.Second))
	}
	return fmt.Errorf("dfu: Set Address Pointer 0x%08X: still busy", addr)
}

// Read reads n bytes at addr: Set Address Pointer, ABORT, UPLOAD block 2.
// n must not exceed the transfer size.
func (s *Session) Read(ctx context.Context, addr uint32, n int) ([]byte, error) {
	if err := s.SetAddress(ctx, addr); err != nil {
		return nil, err
	}
	if err := s.Abort(ctx); err != nil {
		return nil, err
	}
	buf := make([]byte, n)
	k, err := s.Control(ctx, typeClassIn, ReqUpload, 2, s.iface, buf)
	if err != nil {
		return nil, err
	}
	return buf[:k], s.Abort(ctx)
}

// Commands reads the DfuSe command list (UPLOAD block 0).
func (s *Session) Commands(ctx context.Context) ([]byte, error) {
	buf := make([]byte, 16)
	n, err := s.Control(ctx, typeClassIn, ReqUpload, 0, s.iface, buf)
	if err != nil {
		return nil, err
	}
	return buf[:n], s.Abort(ctx)
}

// recover brings the device back to dfuIDLE after a failed request.
func (s *Session) recover(ctx context.Context) {
	if st, err := s.GetStatus(ctx); err == nil && st.State == StateError {
		s.ClrStatus(ctx)
	}
	s.Abort(ctx)
}
