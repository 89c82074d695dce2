// Package chipsim is the plug-in point between the simulated ST-LINK (package
// probe/sim) and an executable chip model (a generic Cortex-M33 here, the
// STM32H5 in package targets/stm32h5). The simulated probe owns the SWD wire
// and the DP/MEM-AP registers; a Chip supplies what lies behind them: whether
// the pins answer at all, the DPIDR, and one bus per access port.
package chipsim

import (
	"errors"
	"time"
)

// Size is the width of one bus access in bytes: 1, 2 or 4.
type Size int

// Access widths.
const (
	Byte     Size = 1
	Halfword Size = 2
	Word     Size = 4
)

// ErrBusFault is returned by a bus access that the interconnect refuses
// (unmapped address, security violation, locked port). The simulated DP turns
// it into a sticky error and the probe into an SWD fault status.
var ErrBusFault = errors.New("bus fault")

// Chip is a simulated target as seen from the SWD wire.
type Chip interface {
	// SWDResponds reports whether the debug port answers right now
	// (false: no power, SWD pins reused by firmware, nothing wired).
	SWDResponds() bool
	// DPIDR is the SW-DP identification register.
	DPIDR() uint32
	// AP returns access port n, or nil when nothing is implemented there
	// (its IDR then reads as zero).
	AP(n uint8) AP
	// SetNRST drives the reset pin; low holds the chip in reset. A chip whose
	// NRST is not wired ignores it.
	SetNRST(low bool)
	// Advance lets modelled time pass: firmware runs, timeouts expire.
	Advance(d time.Duration)
	// LinkEpoch increases every time the chip goes through a reset that drops
	// the debug link (power-on or option-byte reload); the simulated DP then
	// loses its power-up state until the host connects again.
	LinkEpoch() uint64
}

// Staller is a Chip whose bus can hold an access (a flash write waiting
// for the program before it). TakeStall returns the time held since the
// last call and forgets it; the simulated probe adds it to the modelled
// time of the exchange.
type Staller interface {
	TakeStall() time.Duration
}

// AP is one access port: its identification registers and the bus it reaches.
type AP interface {
	IDR() uint32
	BASE() uint32
	CFG() uint32
	// Enabled is false when the port exists but is locked (for example AP1 of
	// an STM32H5 in CLOSED); its IDR still reads, every bus access faults.
	Enabled() bool
	// Read reads size bytes at addr (naturally aligned), returned in the low
	// bits. csw is the MEM-AP CSW in force (security and privilege bits).
	Read(addr uint32, size Size, csw uint32) (uint32, error)
	// Write writes the low size bytes of v at addr.
	Write(addr uint32, size Size, v uint32, csw uint32) error
}
