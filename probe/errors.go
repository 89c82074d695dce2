package probe

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"syscall"

	"github.com/stprobe/stprobe/probe/proto"
)

// Layer names where in the chain host → probe → debug port → access port →
// target a failure happened, so that a user knows where to look.
type Layer string

// Layers, outermost first.
const (
	LayerUSB    Layer = "USB"    // the cable, the USB stack or the stlink-server connection
	LayerProbe  Layer = "probe"  // the ST-LINK itself: firmware limits, malformed replies
	LayerDP     Layer = "DP"     // the SWD debug port of the target
	LayerAP     Layer = "AP"     // an access port behind the debug port
	LayerTarget Layer = "target" // the chip: no device, no core, core not halting
)

// layered is implemented by every error of this package that knows its layer.
type layered interface {
	error
	Layer() Layer
}

// LayerOf returns the layer of the first error in err's chain that knows it,
// or "" when none does (for example a plain argument error). Context
// cancellation has no layer.
func LayerOf(err error) Layer {
	var l layered
	if errors.As(err, &l) {
		return l.Layer()
	}
	return ""
}

// transportError is the type of the transport sentinels.
type transportError struct{ msg string }

// Error returns the message.
func (e *transportError) Error() string { return e.msg }

// Layer is LayerUSB: the probe is not reachable.
func (e *transportError) Layer() Layer { return LayerUSB }

// ErrDisconnected means the probe went away (unplugged, stlink-server closed
// the connection). Transports wrap it; a Link keeps returning it afterwards.
var ErrDisconnected error = &transportError{"probe disconnected: replug the ST-LINK"}

// ErrTimeout means the probe did not answer within the deadline.
var ErrTimeout error = &transportError{"probe did not answer in time: replug the ST-LINK; if it persists, check the USB cable and hub"}

// statusInfo describes one ST-LINK status code for humans.
type statusInfo struct {
	layer Layer
	what  string // what happened
	next  string // what to try next
}

const (
	hintWiring   = "check wiring, target power and voltage; try a lower SWD clock or Under Reset"
	hintFirmware = "update the ST-LINK firmware; if it persists, replug the probe"
	hintAddress  = "check the address and the access port; the region may be secure-only, unmapped or closed by the product state"
)

// statuses lists every status code the driver explains.
var statuses = map[proto.Status]statusInfo{
	proto.StatusFault:                {LayerProbe, "probe reported a fault", hintFirmware},
	proto.StatusUnknownError:         {LayerProbe, "probe reported an unknown error", "retry; lower the SWD clock; " + hintFirmware},
	proto.StatusSPIError:             {LayerProbe, "probe SPI error", hintFirmware},
	proto.StatusDMAError:             {LayerProbe, "probe DMA error", hintFirmware},
	proto.StatusUnknownJTAGChain:     {LayerTarget, "unknown JTAG chain", hintWiring},
	proto.StatusNoDeviceConnected:    {LayerTarget, "no target device connected", hintWiring},
	proto.StatusInternalError:        {LayerProbe, "probe internal error", hintFirmware},
	proto.StatusCmdWait:              {LayerProbe, "probe busy", "retry the operation"},
	proto.StatusCmdError:             {LayerProbe, "probe refused the command", "the probe may be in the wrong mode (reconnect), or this firmware lacks the command: " + hintFirmware},
	proto.StatusGetIDCodeError:       {LayerTarget, "target IDCODE could not be read", hintWiring},
	proto.StatusAlignmentError:       {LayerProbe, "misaligned access", "use an address and length aligned to the access width"},
	proto.StatusDbgPowerError:        {LayerDP, "debug power-up failed", "check target power; try Under Reset"},
	proto.StatusWriteError:           {LayerTarget, "target write failed", "check that the region is writable and unlocked"},
	proto.StatusWriteVerifError:      {LayerTarget, "target write did not verify", "check that the region is writable and unlocked"},
	proto.StatusAlreadyOpenedOther:   {LayerProbe, "probe already opened in another mode", "close the other tool using this probe, or replug it"},
	proto.StatusSWDAPWait:            {LayerAP, "SWD AP wait, the target stayed busy", "try a lower SWD clock or Under Reset"},
	proto.StatusSWDAPFault:           {LayerAP, "SWD AP fault", hintAddress},
	proto.StatusSWDAPError:           {LayerAP, "SWD AP no valid response", hintWiring},
	proto.StatusSWDAPParityError:     {LayerAP, "SWD AP parity error", "signal integrity: shorten the wires and lower the SWD clock"},
	proto.StatusSWDDPWait:            {LayerDP, "SWD DP wait, the target stayed busy", "try a lower SWD clock or Under Reset"},
	proto.StatusSWDDPFault:           {LayerDP, "SWD DP fault", "a sticky error is pending or debug power is off; reconnect, or try Under Reset"},
	proto.StatusSWDDPError:           {LayerDP, "SWD DP no response", hintWiring},
	proto.StatusSWDDPParityError:     {LayerDP, "SWD DP parity error", "signal integrity: shorten the wires and lower the SWD clock"},
	proto.StatusSWDAPWDataError:      {LayerAP, "SWD AP write data error", "signal integrity: lower the SWD clock"},
	proto.StatusSWDAPStickyError:     {LayerAP, "SWD AP sticky error", hintAddress},
	proto.StatusSWDAPStickyOrunError: {LayerAP, "SWD AP sticky overrun", "lower the SWD clock"},
	proto.StatusBadAP:                {LayerProbe, "probe rejected the access port number", "use an AP number this firmware supports, or update the firmware"},
	proto.StatusSWVNotAvailable:      {LayerProbe, "SWV not available", "this probe has no trace support"},
	proto.StatusConfChanged:          {LayerProbe, "probe configuration changed", "retry the operation"},
	proto.StatusFreqNotSupported:     {LayerProbe, "frequency not supported by the probe", "choose a frequency from the probe's list"},
	proto.StatusUnknownCmd:           {LayerProbe, "probe does not know the command", hintFirmware},
}

// statusWhat names a status code in a few words.
func statusWhat(s proto.Status) string {
	if i, ok := statuses[s]; ok {
		return i.what
	}
	return "unexpected probe status"
}

// StatusError is a non-OK status byte returned by the probe. Its layer is
// derived from the status; FaultAddr is the faulting address of a memory
// transfer when the firmware reported one (HasAddr).
type StatusError struct {
	Op        string       // what the driver was doing, e.g. "read memory"
	Status    proto.Status // the status byte
	FaultAddr uint32       // faulting address (memory transfers, GETLASTRWSTATUS2)
	HasAddr   bool         // FaultAddr is valid
}

// Layer derives the failing layer from the status code.
func (e *StatusError) Layer() Layer {
	if s, ok := statuses[e.Status]; ok {
		return s.layer
	}
	return LayerProbe
}

// Error says what happened and what to try next.
func (e *StatusError) Error() string {
	s, ok := statuses[e.Status]
	if !ok {
		s = statusInfo{LayerProbe, "unexpected probe status", hintFirmware}
	}
	msg := fmt.Sprintf("%s (status 0x%02X)", s.what, uint8(e.Status))
	if e.HasAddr {
		msg += fmt.Sprintf(" at 0x%08X", e.FaultAddr)
	}
	msg += ": " + s.next
	return withOp(e.Op, msg)
}

// Is matches the per-status sentinels (ErrSWDAPFault, ...): two status errors
// match when their status bytes are equal.
func (e *StatusError) Is(target error) bool {
	t, ok := target.(*StatusError)
	return ok && t.Status == e.Status
}

// IsWait reports whether the status asks the host to retry (SWD AP or DP WAIT).
func (e *StatusError) IsWait() bool {
	return e.Status == proto.StatusSWDAPWait || e.Status == proto.StatusSWDDPWait
}

// Sentinels, one per status code, for errors.Is.
var (
	ErrProbeFault         error = &StatusError{Status: proto.StatusFault}
	ErrUnknown            error = &StatusError{Status: proto.StatusUnknownError}
	ErrSPI                error = &StatusError{Status: proto.StatusSPIError}
	ErrDMA                error = &StatusError{Status: proto.StatusDMAError}
	ErrUnknownJTAGChain   error = &StatusError{Status: proto.StatusUnknownJTAGChain}
	ErrNoDevice           error = &StatusError{Status: proto.StatusNoDeviceConnected}
	ErrProbeInternal      error = &StatusError{Status: proto.StatusInternalError}
	ErrCmdWait            error = &StatusError{Status: proto.StatusCmdWait}
	ErrCmd                error = &StatusError{Status: proto.StatusCmdError}
	ErrGetIDCode          error = &StatusError{Status: proto.StatusGetIDCodeError}
	ErrAlignment          error = &StatusError{Status: proto.StatusAlignmentError}
	ErrDbgPower           error = &StatusError{Status: proto.StatusDbgPowerError}
	ErrWrite              error = &StatusError{Status: proto.StatusWriteError}
	ErrWriteVerify        error = &StatusError{Status: proto.StatusWriteVerifError}
	ErrAlreadyOpenedOther error = &StatusError{Status: proto.StatusAlreadyOpenedOther}
	ErrSWDAPWait          error = &StatusError{Status: proto.StatusSWDAPWait}
	ErrSWDAPFault         error = &StatusError{Status: proto.StatusSWDAPFault}
	ErrSWDAPError         error = &StatusError{Status: proto.StatusSWDAPError}
	ErrSWDAPParity        error = &StatusError{Status: proto.StatusSWDAPParityError}
	ErrSWDDPWait          error = &StatusError{Status: proto.StatusSWDDPWait}
	ErrSWDDPFault         error = &StatusError{Status: proto.StatusSWDDPFault}
	ErrSWDDPError         error = &StatusError{Status: proto.StatusSWDDPError}
	ErrSWDDPParity        error = &StatusError{Status: proto.StatusSWDDPParityError}
	ErrSWDAPWData         error = &StatusError{Status: proto.StatusSWDAPWDataError}
	ErrSWDAPSticky        error = &StatusError{Status: proto.StatusSWDAPStickyError}
	ErrSWDAPStickyOrun    error = &StatusError{Status: proto.StatusSWDAPStickyOrunError}
	ErrBadAP              error = &StatusError{Status: proto.StatusBadAP}
	ErrSWVNotAvailable    error = &StatusError{Status: proto.StatusSWVNotAvailable}
	ErrConfChanged        error = &StatusError{Status: proto.StatusConfChanged}
	ErrFreqNotSupported   error = &StatusError{Status: proto.StatusFreqNotSupported}
	ErrUnknownCmd         error = &StatusError{Status: proto.StatusUnknownCmd}
)

// KnownStatus reports whether s is a status code the driver knows.
func KnownStatus(s proto.Status) bool {
	_, ok := statuses[s]
	return ok || s == proto.StatusOK
}

// withOp is msg after "op: ", or msg alone when op is empty.
func withOp(op, msg string) string {
	if op == "" {
		return msg
	}
	return op + ": " + msg
}

// FirmwareError means the probe's firmware is too old (or the probe
// generation too small) for what was asked.
type FirmwareError struct {
	Op      string        // what the driver was asked to do
	Feature string        // what needs the newer firmware, e.g. "AP1"
	Need    proto.Version // the first firmware that has it (Hardware and JTAG set)
	Have    proto.Version // the probe's firmware
}

// Layer is LayerProbe.
func (e *FirmwareError) Layer() Layer { return LayerProbe }

// Error names the firmware needed and the one present.
func (e *FirmwareError) Error() string {
	need := fmt.Sprintf("V%dJ%d", e.Need.Hardware, e.Need.JTAG)
	var msg string
	if e.Need.Hardware > e.Have.Hardware {
		msg = fmt.Sprintf("needs an STLINK-V%d (firmware %s or later) for %s; this probe is an ST-LINK/V%d with %s: use a newer probe",
			e.Need.Hardware, need, e.Feature, e.Have.Hardware, e.Have)
	} else {
		msg = fmt.Sprintf("needs ST-LINK firmware %s or later for %s; this probe has %s: update the firmware", need, e.Feature, e.Have)
	}
	return withOp(e.Op, msg)
}

// Is matches ErrFirmwareTooOld.
func (e *FirmwareError) Is(target error) bool { return target == ErrFirmwareTooOld }

// ErrFirmwareTooOld matches every FirmwareError with errors.Is.
var ErrFirmwareTooOld = errors.New("probe firmware too old")

// ReplyError is a reply the driver cannot make sense of: too short, an
// unknown status byte, an impossible value.
type ReplyError struct {
	Op     string
	Reason string
}

// Layer is LayerProbe.
func (e *ReplyError) Layer() Layer { return LayerProbe }

// Error says what was wrong and what to try.
func (e *ReplyError) Error() string {
	msg := "malformed reply from the probe: " + e.Reason + ": replug the ST-LINK; if it persists, update its firmware"
	return withOp(e.Op, msg)
}

// Is matches ErrMalformedReply.
func (e *ReplyError) Is(target error) bool { return target == ErrMalformedReply }

// ErrMalformedReply matches every ReplyError with errors.Is.
var ErrMalformedReply = errors.New("malformed probe reply")

// OpError is a failure the driver detected itself (not a probe status): debug
// power never acknowledged, a core that does not halt, an access port that
// reads as absent.
type OpError struct {
	Op    string // what the driver was doing
	Where Layer  // the layer that misbehaved
	What  string // what happened
	Next  string // what to try next
	Err   error  // the underlying failure, if any
}

// Layer returns Where.
func (e *OpError) Layer() Layer { return e.Where }

// Error says what happened and what to try next.
func (e *OpError) Error() string {
	msg := e.What
	var se *StatusError
	switch {
	case errors.As(e.Err, &se):
		// the status says enough; its own advice would repeat ours
		msg += fmt.Sprintf(" (%s, status 0x%02X", statusWhat(se.Status), uint8(se.Status))
		if se.HasAddr {
			msg += fmt.Sprintf(" at 0x%08X", se.FaultAddr)
		}
		msg += ")"
	case e.Err != nil:
		msg += " (" + e.Err.Error() + ")"
	}
	if e.Next != "" {
		msg += ": " + e.Next
	}
	return withOp(e.Op, msg)
}

// Unwrap returns the underlying failure.
func (e *OpError) Unwrap() error { return e.Err }

// TransferError is a transport failure that is neither an unplug nor a
// timeout: a short or over-long reply, a USB stack error.
type TransferError struct{ Err error }

// Layer is LayerUSB.
func (e *TransferError) Layer() Layer { return LayerUSB }

// Error says what failed and what to try.
func (e *TransferError) Error() string {
	return "USB transfer failed: " + e.Err.Error() + ": replug the ST-LINK; if it persists, try another cable or port"
}

// Unwrap returns the transport's error.
func (e *TransferError) Unwrap() error { return e.Err }

// isTransport reports whether err means the probe itself is unreachable or
// the caller gave up: unplug, timeout or context end.
func isTransport(err error) bool {
	return errors.Is(err, ErrDisconnected) || errors.Is(err, ErrTimeout) ||
		errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}

// mapTransportError turns what a transport returned into ErrDisconnected or
// ErrTimeout where it means that, keeping the original error in the chain.
// Transports should wrap the sentinels themselves; this also recognises the
// usual shapes of such errors: end of stream, closed or reset connections,
// a missing device, errors whose Timeout() is true (net.Error, os deadline)
// and errors offering Unplugged() or Disconnected() true (the simulator).
func mapTransportError(ctx context.Context, err error) error {
	if errors.Is(err, ErrDisconnected) || errors.Is(err, ErrTimeout) {
		return err
	}
	if ctx.Err() != nil && errors.Is(err, ctx.Err()) {
		if errors.Is(err, context.DeadlineExceeded) {
			return fmt.Errorf("%w: %w", ErrTimeout, err)
		}
		return err
	}
	var unplug interface{ Unplugged() bool }
	var disc interface{ Disconnected() bool }
	var tmo interface{ Timeout() bool }
	switch {
	case errors.As(err, &unplug) && unplug.Unplugged(),
		errors.As(err, &disc) && disc.Disconnected(),
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, net.ErrClosed),
		errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE), errors.Is(err, syscall.ENODEV),
		errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ESHUTDOWN):
		return fmt.Errorf("%w: %w", ErrDisconnected, err)
	case errors.As(err, &tmo) && tmo.Timeout(), errors.Is(err, os.ErrDeadlineExceeded), errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("%w: %w", ErrTimeout, err)
	}
	return err
}
