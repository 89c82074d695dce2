// Package uart probes the STM32 ROM bootloader over a serial port (AN3155
// USART protocol), read-only: sync, Get, Get Version, Get ID and a few
// bytes of Read Memory (the product state). Every reply has a bounded wait.
// Optionally it drives BOOT0 and NRST through the adapter's DTR/RTS lines.
// It never writes, erases or unprotects: Session refuses every opcode not
// on the read-only allow-list before a byte leaves the host.
package uart

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"time"

	"go.bug.st/serial"

	"github.com/stprobe/stprobe/boot"
	"github.com/stprobe/stprobe/safefile"
	"github.com/stprobe/stprobe/targets/stm32h5"
)

// DefaultBaud is the probe's baud rate unless told otherwise.
const DefaultBaud = 115200

// Parity of the line: the ROM wants even.
type Parity string

// Parities.
const (
	ParityEven Parity = "even"
	ParityNone Parity = "none"
	ParityOdd  Parity = "odd"
)

// ParseParity accepts even/none/odd or e/n/o (any case; "" is even).
func ParseParity(s string) (Parity, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "even", "e":
		return ParityEven, nil
	case "none", "n":
		return ParityNone, nil
	case "odd", "o":
		return ParityOdd, nil
	}
	return "", fmt.Errorf("uart: parity %q: want even, none or odd", s)
}

// Signal is a modem output line of the adapter.
type Signal string

// Signals; SignalNone means not wired.
const (
	SignalNone Signal = ""
	SignalDTR  Signal = "dtr"
	SignalRTS  Signal = "rts"
)

// Wiring says which adapter lines drive BOOT0 and NRST. With the usual
// USB-serial adapter, asserting DTR or RTS drives the pin low; Inverted
// flips that (boards with a transistor in between).
type Wiring struct {
	BOOT0, NRST Signal
	Inverted    bool
}

// Options configure a probe.
type Options struct {
	Baud   int    // DefaultBaud when 0
	Parity Parity // ParityEven when ""
	// Timeout bounds each reply (DefaultTimeout when 0).
	Timeout time.Duration
	// Wiring drives BOOT0 high and pulses NRST before the sync when set.
	Wiring Wiring
	// ResetHold and BootWait are how long NRST is held low and how long
	// the ROM gets to start after it (100 ms and 300 ms when 0).
	ResetHold, BootWait time.Duration
	// Sleep waits (time.Sleep when nil; tests pass a fake).
	Sleep func(time.Duration)
}

func (o Options) withDefaults() Options {
	if o.Baud == 0 {
		o.Baud = DefaultBaud
	}
	if o.Parity == "" {
		o.Parity = ParityEven
	}
	if o.ResetHold == 0 {
		o.ResetHold = 100 * time.Millisecond
	}
	if o.BootWait == 0 {
		o.BootWait = 300 * time.Millisecond
	}
	if o.Sleep == nil {
		o.Sleep = time.Sleep
	}
	return o
}

// Open opens a serial port at opts' baud rate and parity, 8 data bits, 1
// stop bit. A path that is missing, is not a terminal device (a plain
// file, a directory, /dev/null) or may not be opened is refused with
// ErrNoDevice, ErrNotSerial or an error wrapping fs.ErrPermission.
func Open(name string, opts Options) (serial.Port, error) {
	if err := checkPort(name); err != nil {
		return nil, err
	}
	opts = opts.withDefaults()
	mode := &serial.Mode{BaudRate: opts.Baud, DataBits: 8, StopBits: serial.OneStopBit, Parity: serial.EvenParity}
	switch opts.Parity {
	case ParityNone:
		mode.Parity = serial.NoParity
	case ParityOdd:
		mode.Parity = serial.OddParity
	}
	p, err := serial.Open(name, mode)
	if err != nil {
		var pe *serial.PortError
		switch {
		case errors.As(err, &pe) && pe.Code() == serial.InvalidSerialPort:
			// the device refused the terminal settings (TCGETS: ENOTTY)
			return nil, fmt.Errorf("uart: %s is %w (a character device that is not a terminal)", name, ErrNotSerial)
		case errors.As(err, &pe) && pe.Code() == serial.PortNotFound:
			return nil, fmt.Errorf("uart: %s: %w", name, ErrNoDevice)
		case errors.As(err, &pe) && pe.Code() == serial.PermissionDenied, errors.Is(err, fs.ErrPermission):
			return nil, fmt.Errorf("uart: opening %s: permission denied (add this user to the port's group, dialout on Debian and Ubuntu): %w", name, fs.ErrPermission)
		}
		return nil, fmt.Errorf("uart: opening %s: %w", name, err)
	}
	return p, nil
}

// Errors of Open for ports the host cannot use.
var (
	ErrNoDevice  = errors.New("no such device (is the adapter plugged in?)")
	ErrNotSerial = errors.New("not a serial port")
)

// checkPort refuses a path that cannot be a serial port before opening it
// (opening a FIFO would block; a plain file would be "probed").
func checkPort(name string) error {
	fi, err := os.Stat(name)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("uart: %s: %w", name, ErrNoDevice)
	case errors.Is(err, fs.ErrPermission):
		return fmt.Errorf("uart: %s: permission denied (add this user to the port's group, dialout on Debian and Ubuntu): %w", name, err)
	case err != nil:
		return fmt.Errorf("uart: %s: %w", name, err)
	case fi.Mode()&fs.ModeCharDevice == 0:
		return fmt.Errorf("uart: %s is %w (it is a %s)", name, ErrNotSerial, safefile.Kind(fi.Mode()))
	}
	return nil
}

// unusable reports whether err says the port itself cannot be used.
func unusable(err error) bool {
	return errors.Is(err, ErrNoDevice) || errors.Is(err, ErrNotSerial) || errors.Is(err, fs.ErrPermission)
}

// ProbePort opens the port name, probes it and closes it. A port that cannot
// be opened gives a Failed result.
func ProbePort(ctx context.Context, name string, opts Options) boot.Result {
	p, err := Open(name, opts)
	if err != nil {
		return boot.Result{Path: boot.PathUART, Outcome: boot.Failed, Detail: err.Error(), PortUnusable: unusable(err),
			UART: &boot.UARTInfo{Port: name, Baud: opts.withDefaults().Baud, Parity: string(opts.withDefaults().Parity)}}
	}
	defer p.Close()
	return Probe(ctx, p, name, opts)
}

// Probe runs the read-only probe on an open port: reset into the
// bootloader when Wiring says how, sync, Get Version, Get, Get ID, then
// FLASH_OPTSR_CUR and the next bytes of the option area (product state)
// where the bootloader allows the read.
func Probe(ctx context.Context, port Port, name string, opts Options) boot.Result {
	opts = opts.withDefaults()
	info := &boot.UARTInfo{Port: name, Baud: opts.Baud, Parity: string(opts.Parity)}
	r := boot.Result{Path: boot.PathUART, UART: info}
	fail := func(err error) boot.Result {
		r.Outcome, r.Detail = boot.Failed, err.Error()
		return r
	}
	if err := resetIntoBootloader(port, opts); err != nil {
		return fail(err)
	}
	if err := port.ResetInputBuffer(); err != nil {
		return fail(fmt.Errorf("uart: flushing the input: %w", err))
	}
	s := NewSession(port, opts.Timeout)
	already, err := s.Sync(ctx)
	if errors.Is(err, ErrSilent) {
		r.Outcome = boot.Silent
		r.Detail = fmt.Sprintf("no answer to two 0x7F sync bytes on %s at %d baud", name, opts.Baud)
		return r
	}
	if err != nil {
		return fail(err)
	}
	info.AlreadySynced = already
	if info.Version, info.Options, err = s.GetVersion(ctx); err != nil {
		return fail(err)
	}
	if _, info.Commands, err = s.Get(ctx); err != nil {
		return fail(err)
	}
	pid, err := s.GetID(ctx)
	if err != nil {
		return fail(err)
	}
	r.Outcome, r.PID, r.HasPID, r.Line = boot.Answered, pid, true, boot.LineName(pid)
	if bl, ok := stm32h5.Bootloader(pid); ok {
		if b, err := s.ReadMemory(ctx, bl.IDAddr, 1); err == nil {
			r.BootloaderID, r.HasBootloaderID = b[0], true
		}
	}
	b, err := s.ReadMemory(ctx, boot.OPTSRAddr, 16)
	switch {
	case err == nil:
		r.SetOptionBytes(b)
	case errors.Is(err, ErrNACK):
		r.Unreadable = fmt.Sprintf("Read Memory at 0x%08X refused (NACK)", boot.OPTSRAddr)
	default:
		r.Unreadable = err.Error()
	}
	return r
}

// resetIntoBootloader drives BOOT0 high and pulses NRST when wired.
func resetIntoBootloader(port Port, opts Options) error {
	w := opts.Wiring
	if w.BOOT0 == SignalNone && w.NRST == SignalNone {
		return nil
	}
	// pinLow is the line level that drives the pin low.
	pinLow := !w.Inverted
	set := func(s Signal, low bool) error {
		asserted := low == pinLow
		var err error
		switch s {
		case SignalDTR:
			err = port.SetDTR(asserted)
		case SignalRTS:
			err = port.SetRTS(asserted)
		case SignalNone:
			return nil
		default:
			return fmt.Errorf("uart: modem line %q: want dtr or rts", s)
		}
		if err != nil {
			return fmt.Errorf("uart: driving %s (does the adapter have it, is it a real serial port?): %w", strings.ToUpper(string(s)), err)
		}
		return nil
	}
	if w.BOOT0 != SignalNone && w.BOOT0 == w.NRST {
		return fmt.Errorf("uart: BOOT0 and NRST are both wired to %s", strings.ToUpper(string(w.BOOT0)))
	}
	if err := set(w.BOOT0, false); err != nil {
		return err
	}
	if w.NRST != SignalNone {
		if err := set(w.NRST, true); err != nil {
			return err
		}
		opts.Sleep(opts.ResetHold)
		if err := set(w.NRST, false); err != nil {
			return err
		}
	}
	opts.Sleep(opts.BootWait)
	return nil
}

// A go.bug.st/serial port is a Port.
var _ Port = serial.Port(nil)
