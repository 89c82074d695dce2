// Package bootsim serves a simulated board's ROM bootloader paths: the
// UART on a pseudo-terminal any serial program can open, and USB DFU
// in-process (for a libusb program, put the same function on the umockdev
// bus with usbrelay.StartBus).
package bootsim

import (
	"encoding/binary"
	"errors"

	"github.com/stprobe/stprobe/probe/sim"
	"github.com/stprobe/stprobe/probe/sim/bootuart"
	"github.com/stprobe/stprobe/probe/sim/scenario"
	"github.com/stprobe/stprobe/targets/stm32h5"
)

// Bench is a running set of bootloader paths of one simulated board.
type Bench struct {
	uart *bootuart.Server
	dfu  *stm32h5.BootDFU
}

// Start serves the ROM bootloader of the STM32H5 that p hosts, with BOOT0
// as s sets it: the UART on a new pty (UARTPath) and the DFU function
// (Device, DFU). A board without an STM32H5 is an error. Close when done.
func Start(s scenario.Scenario, p *sim.Probe) (*Bench, error) {
	bl := s.Bootloader(p)
	if bl == nil {
		return nil, errors.New("bootsim: scenario " + s.Name + " has no STM32H5, so no ROM bootloader")
	}
	srv, err := bootuart.Serve(bl.NewUART())
	if err != nil {
		return nil, err
	}
	return &Bench{uart: srv, dfu: bl.NewDFU()}, nil
}

// UARTPath is the pty a serial program opens, e.g. /dev/pts/4.
func (b *Bench) UARTPath() string { return b.uart.Path() }

// DFU is the simulated DFU function (for usbrelay.StartBus).
func (b *Bench) DFU() *stm32h5.BootDFU { return b.dfu }

// Present reports whether the DFU function is on the bus: the ROM
// bootloader runs (OPEN with BOOT0 high, or PROVISIONING).
func (b *Bench) Present() bool { return b.dfu.Present() }

// Close stops the pty.
func (b *Bench) Close() error { return b.uart.Close() }

// Device puts a simulated DFU function behind the host probe's control-transfer
// interface (dfu.Device), as a USB stack
// would: IN data copied to the caller's buffer, a stall as an error.
type Device struct{ Fn *stm32h5.BootDFU }

// errStall is what a stalled control transfer returns.
var errStall = errors.New("bootsim: control transfer stalled (pipe error)")

// Control runs one control transfer on the function.
func (d Device) Control(rType, request uint8, val, idx uint16, data []byte) (int, error) {
	setup := make([]byte, 8)
	setup[0], setup[1] = rType, request
	binary.LittleEndian.PutUint16(setup[2:], val)
	binary.LittleEndian.PutUint16(setup[4:], idx)
	binary.LittleEndian.PutUint16(setup[6:], uint16(len(data)))
	in := rType&0x80 != 0
	var out []byte
	if !in {
		out = data
	}
	got, ok := d.Fn.Control(setup, out)
	if !ok {
		return 0, errStall
	}
	if !in {
		return len(data), nil
	}
	return copy(data, got), nil
}
