package flashprog

import (
	"context"
	"fmt"
	"strings"

	"github.com/stprobe/stprobe/targets"
)

// Target is memory and register access through the chip's core access
// port. Addresses and lengths of ReadMem and WriteMem are multiples of 4.
type Target interface {
	Read32(ctx context.Context, addr uint32) (uint32, error)
	Write32(ctx context.Context, addr, v uint32) error
	ReadMem(ctx context.Context, addr uint32, buf []byte) error
	WriteMem(ctx context.Context, addr uint32, data []byte) error
}

// Sector is one erase unit of the main flash as a plan shows it.
type Sector struct {
	// Name names it as the reference manual does ("bank 1 sector 3").
	Name string `json:"name"`
	// Addr and Size place it in the address map (bank swap applied).
	Addr uint32 `json:"addr"`
	Size uint32 `json:"size"`
	// Protected says why the current state forbids erasing or programming
	// it ("" when it may be written).
	Protected string `json:"protected,omitempty"`
	// Empty is true when every byte read 0xFF when the plan was made.
	Empty bool `json:"empty"`
	// Secure is true for a secure sector of a chip with TrustZone enabled:
	// it is read and written through the secure alias.
	Secure bool `json:"secure,omitempty"`

	// id is the controller's own handle of the sector.
	id any
}

// End is the address after the sector.
func (s Sector) End() uint64 { return uint64(s.Addr) + uint64(s.Size) }

// sectorOf is the controller's own handle of s, or an error naming the
// line when s came from another controller's layout.
func sectorOf[T any](s Sector, line string) (T, error) {
	id, ok := s.id.(T)
	if !ok {
		return id, fmt.Errorf("flash: %s is not a sector of this %s's layout", s.Name, line)
	}
	return id, nil
}

// Layout is a chip's main flash as its controller reads it.
type Layout struct {
	// Line names the chip line.
	Line string `json:"line"`
	// Base and Size are the flash's address range (non-secure alias);
	// SecureBase is the secure alias of the same flash (0: none).
	Base       uint32 `json:"base"`
	Size       uint32 `json:"size"`
	SecureBase uint32 `json:"secure_base,omitempty"`
	// Sectors are in address order.
	Sectors []Sector `json:"sectors"`
	// ProgramUnit is the bytes programmed at once (16 on the STM32H5: a
	// quad-word with its ECC), written once after an erase.
	ProgramUnit int `json:"program_unit"`
	// State is the product state or protection level the protections
	// were judged in.
	State string `json:"state"`
	// Notes say what the layout implies (bank swap, TrustZone).
	Notes []string `json:"notes,omitempty"`
	// Unreadable says why the debugger cannot read the flash at all (read-out
	// protection level 1); "" when it can.
	Unreadable string `json:"unreadable,omitempty"`
}

// Controller is one family's flash controller: its unlock, erase and
// program sequences. Every method leaves the controller idle and reports
// the error flags it saw (cleared afterwards).
type Controller interface {
	// Layout reads the flash size, bank swap and protections.
	Layout(ctx context.Context) (*Layout, error)
	// Unlock opens the control register for program and erase.
	Unlock(ctx context.Context) error
	// Erase erases one sector of the layout.
	Erase(ctx context.Context, s Sector) error
	// Program writes data at addr (both aligned to ProgramUnit) into erased
	// flash; progress is called with the bytes done so far.
	Program(ctx context.Context, addr uint32, data []byte, progress func(done int)) error
	// Lock closes the control register again.
	Lock(ctx context.Context) error
}

// ControllerFor returns the flash controller of chip, driving it through t.
func ControllerFor(chip *targets.Chip, t Target, o ControllerOptions) (Controller, error) {
	if chip == nil {
		return nil, fmt.Errorf("flash: the chip is not identified, so stprobe does not know its flash controller")
	}
	switch chip.Family.Name {
	case "STM32H5":
		return NewH5(chip, t, o), nil
	case "STM32F1":
		return NewF1(chip, t, o), nil
	case "STM32F4":
		return NewF4(chip, t, o), nil
	case "STM32G0", "STM32G4", "STM32L4":
		return NewL4(chip, t, o), nil
	case "STM32H7":
		return NewH7(chip, t, o), nil
	}
	return nil, fmt.Errorf("flash: programming %s (%s) flash is not implemented yet; the STM32H5, H7, F1, F4, G0, G4 and L4 are", chip.Line.Name, chip.Family.Name)
}

// ControllerOptions tune a controller.
type ControllerOptions struct {
	// QuadWordsPerPoll is how many program units (quad-words on the
	// STM32H5, half-words on the F1, words on the F4, double words on the
	// G0, G4 and L4) one memory write carries
	// before the status register is read (default 1: every unit is
	// checked, as OpenOCD does). More relies on the bus holding each write
	// until the one before it is programmed.
	QuadWordsPerPoll int
	// BytesPerPoll, when set, overrides QuadWordsPerPoll with as many
	// program units as fit in that many bytes (1024: 64 quad-words on the
	// STM32H5, 512 half-words on the F1, 128 double words on the G0/G4/L4).
	BytesPerPoll int
	// TargetMillivolts is the target's supply as the probe measured it (0:
	// not measured). The STM32F4 picks its program parallelism from it.
	TargetMillivolts int
	// MaxPolls bounds each busy-wait (default 100000 status reads).
	MaxPolls int
	// RegisterByRegister keeps the host driving the flash controller even
	// where a flash loader could run on the halted core (the STM32H5).
	RegisterByRegister bool
}

// Protection says in words what State is: "product state CLOSED" on the
// STM32H5, "read-out protection level 1" on the families whose State is
// an RDP level ("RDP level 1").
func (l *Layout) Protection() string {
	if rest, ok := strings.CutPrefix(l.State, "RDP "); ok {
		return "read-out protection " + rest
	}
	return "product state " + l.State
}

// readAddr is where to read the byte at addr (non-secure alias) from: the
// secure alias inside a secure sector.
func (l *Layout) readAddr(addr uint32) uint32 {
	if l == nil {
		return addr
	}
	if s := l.sectorAt(addr); s != nil && s.Secure && l.SecureBase != 0 {
		return addr - l.Base + l.SecureBase
	}
	return addr
}

// sectorAt is the sector holding addr (non-secure alias), nil outside.
func (l *Layout) sectorAt(addr uint32) *Sector {
	if l == nil || addr < l.Base || uint64(addr) >= uint64(l.Base)+uint64(l.Size) {
		return nil
	}
	for i := range l.Sectors {
		if s := &l.Sectors[i]; addr >= s.Addr && uint64(addr) < s.End() {
			return s
		}
	}
	return nil
}

// readMem reads buf at addr (non-secure alias), each sector through the
// alias its security needs.
func (l *Layout) readMem(ctx context.Context, t Target, addr uint32, buf []byte) error {
	for off := 0; off < len(buf); {
		a := addr + uint32(off)
		n := len(buf) - off
		if s := l.sectorAt(a); s != nil {
			n = min(n, int(s.End()-uint64(a)))
		}
		if err := t.ReadMem(ctx, l.readAddr(a), buf[off:off+n]); err != nil {
			return err
		}
		off += n
	}
	return nil
}
