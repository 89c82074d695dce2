// Package boot probes the STM32 ROM (system) bootloader, the other ways
// into a chip besides SWD, read-only: the USART protocol (package
// probe/boot/uart) and USB DFU (package probe/boot/dfu). Each path gives a
// Result; Diagnose combines them with what the SWD connection matrix found
// into findings with plain-language text and the checks only a person at
// the bench can make.
//
// Nothing in these packages can write, erase or unprotect: each path sends
// through a guard that refuses every command not on a read-only allow-list.
package boot

import (
	"fmt"
	"strings"

	"github.com/stprobe/stprobe/enum"

	"github.com/stprobe/stprobe/targets"
)

// Path names a way into the ROM bootloader.
type Path string

// Paths.
const (
	PathUART Path = "uart"
	PathDFU  Path = "usb-dfu"
)

// Outcome is what a path found.
type Outcome int

// Outcomes.
const (
	// Silent: nothing answered (no DFU device on the bus, no byte on the UART).
	Silent Outcome = iota
	// Answered: the ROM bootloader answered its protocol.
	Answered
	// Failed: something answered but not as the ROM bootloader does (echo,
	// garbage, wrong device), or the host side failed (no such port).
	Failed
)

// outcomeNames are the outcomes' names, indexed by Outcome.
var outcomeNames = [...]string{Silent: "silent", Answered: "answered", Failed: "error"}

// String names the outcome.
func (o Outcome) String() string {
	return enum.Name(outcomeNames[:], o, "Outcome")
}

// MarshalText makes JSON show the name.
func (o Outcome) MarshalText() ([]byte, error) { return []byte(o.String()), nil }

// Memory is one DfuSe memory (one alternate setting's layout string).
type Memory struct {
	Alt     int       `json:"alt"`
	Name    string    `json:"name"`
	Start   uint32    `json:"start"`
	Sectors []Sectors `json:"sectors"`
	Raw     string    `json:"raw"`
}

// Sectors is a run of equal sectors in a DfuSe layout.
type Sectors struct {
	Count int  `json:"count"`
	Size  int  `json:"size"` // bytes
	Read  bool `json:"read"`
	Erase bool `json:"erase"`
	Write bool `json:"write"`
}

// Size is the memory's total size in bytes.
func (m Memory) Size() int {
	n := 0
	for _, s := range m.Sectors {
		n += s.Count * s.Size
	}
	return n
}

// DFUInfo is what the DFU path read.
type DFUInfo struct {
	Manufacturer string `json:"manufacturer"`
	Product      string `json:"product"`
	Serial       string `json:"serial"`
	BCDDevice    uint16 `json:"bcd_device"`
	// From the DFU functional descriptor.
	Attributes   uint8    `json:"attributes"`
	DetachMs     uint16   `json:"detach_ms"`
	TransferSize uint16   `json:"transfer_size"`
	DFUVersion   uint16   `json:"dfu_version"` // 0x011A = DfuSe
	Memories     []Memory `json:"memories"`
	// State and Status are the first GETSTATUS answer; Cleared is true when
	// the device was in dfuERROR and CLRSTATUS brought it back.
	State   uint8 `json:"state"`
	Status  uint8 `json:"status"`
	Cleared bool  `json:"cleared"`
	// Commands is the DfuSe command list (UPLOAD block 0), when read.
	Commands []byte `json:"commands,omitempty"`
}

// UARTInfo is what the UART path read.
type UARTInfo struct {
	Port   string `json:"port"`
	Baud   int    `json:"baud"`
	Parity string `json:"parity"`
	// AlreadySynced is true when the sync byte got NACK (the bootloader was
	// synced by an earlier session) rather than ACK.
	AlreadySynced bool `json:"already_synced"`
	// Version is the protocol version byte (0x40 = V4.0), Commands the Get
	// list, Options the two Get Version option bytes.
	Version  byte    `json:"version"`
	Commands []byte  `json:"commands"`
	Options  [2]byte `json:"options"`
}

// Result is what one path found.
type Result struct {
	Path    Path    `json:"path"`
	Outcome Outcome `json:"outcome"`
	// Detail says what happened in a sentence (why silent, what failed).
	Detail string `json:"detail"`
	// PortUnusable says the host could not use the path at all (no such
	// device, not a serial port, no permission): nothing was sent, so the
	// result says nothing about the chip.
	PortUnusable bool `json:"port_unusable,omitempty"`
	// PID is the product ID the bootloader reported (UART Get ID; on DFU
	// DBGMCU_IDCODE's DEV_ID where the ROM lets it be read); HasPID says
	// whether one was read, Line names it.
	PID    uint16 `json:"pid,omitempty"`
	HasPID bool   `json:"has_pid"`
	Line   string `json:"line,omitempty"`
	// ProductState is FLASH_OPTSR_CUR's state byte read through the
	// bootloader, when it allowed the read (HasProductState); State names
	// it. The JSON holds the state in the shape of every product state
	// stprobe prints, {"code": "0x17", "name": "PROVISIONING"}.
	ProductState    targets.ProductState `json:"product_state,omitempty"`
	HasProductState bool                 `json:"has_product_state"`
	State           string               `json:"-"`
	// BootloaderID is the bootloader ID byte read from system memory at the
	// line's documented address (AN2606), when the ROM allowed it.
	BootloaderID    byte `json:"bootloader_id,omitempty"`
	HasBootloaderID bool `json:"has_bootloader_id"`
	// OptionBytes are the first bytes of the option-byte area the
	// bootloader let us read (FLASH_OPTSR_CUR first), nil when refused.
	OptionBytes []byte `json:"option_bytes,omitempty"`
	// Unreadable says why a memory read was refused (NACK, stall).
	Unreadable string    `json:"unreadable,omitempty"`
	UART       *UARTInfo `json:"uart,omitempty"`
	DFU        *DFUInfo  `json:"dfu,omitempty"`
}

// StateName is the product state read through the bootloader, or "".
func (r Result) StateName() string {
	if !r.HasProductState {
		return ""
	}
	return r.ProductState.String()
}

// Implies says in a sentence what the result tells about the product state.
func (r Result) Implies() string {
	if r.PortUnusable {
		return "not probed: the port could not be used, so nothing is known about the chip from this path"
	}
	switch r.Outcome {
	case Answered:
		if r.HasProductState {
			return fmt.Sprintf("the ROM bootloader runs; it reports product state %v", r.ProductState)
		}
		return "the ROM bootloader runs: OPEN with BOOT0 high, or PROVISIONING"
	case Silent:
		return "no bootloader on this path: a closed state (iROT_PROVISIONED, TZ_CLOSED, CLOSED, LOCKED), BOOT0 low in OPEN, or wiring"
	}
	return "inconclusive: something answered, but not the ROM bootloader"
}

// Summary renders the result in one line, e.g. "uart: answered, PID 0x478
// (STM32H523/H533), bootloader V4.0".
func (r Result) Summary() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s", r.Path, r.Outcome)
	if r.HasPID {
		fmt.Fprintf(&b, ", PID 0x%03X", r.PID)
		if r.Line != "" {
			fmt.Fprintf(&b, " (%s)", r.Line)
		}
	}
	if r.UART != nil && r.Outcome == Answered {
		fmt.Fprintf(&b, ", bootloader V%d.%d", r.UART.Version>>4, r.UART.Version&0xF)
	}
	if r.DFU != nil && r.Outcome == Answered {
		fmt.Fprintf(&b, ", %q %d memories", r.DFU.Product, len(r.DFU.Memories))
	}
	if r.HasBootloaderID {
		fmt.Fprintf(&b, ", bootloader ID 0x%02X", r.BootloaderID)
	}
	if r.HasProductState {
		fmt.Fprintf(&b, ", state %v", r.ProductState)
	}
	if r.Detail != "" {
		fmt.Fprintf(&b, " - %s", r.Detail)
	}
	return b.String()
}

// LineName names the STM32 line a bootloader PID or DEV_ID stands for, or
// "" when no family knows it.
func LineName(pid uint16) string {
	if _, l, ok := targets.LookupDevID(pid); ok {
		return l.Name
	}
	return ""
}

// SetOptionBytes records option-area bytes read at OPTSRAddr and the
// product state they hold.
func (r *Result) SetOptionBytes(b []byte) {
	r.OptionBytes = append([]byte(nil), b...)
	r.ProductState, r.HasProductState = StateAt(b)
	r.State = ""
	if r.HasProductState {
		r.State = r.ProductState.String()
	}
}

// StateAt decodes the product state from option-area bytes read at
// optsrAddr (little-endian FLASH_OPTSR_CUR first); ok is false when too
// few bytes were read or the byte is not a lifecycle state.
func StateAt(b []byte) (targets.ProductState, bool) {
	if len(b) < 4 {
		return 0, false
	}
	optsr := uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 | uint32(b[3])<<24
	s := targets.ProductStateOf(optsr)
	return s, s.Valid()
}

// OPTSRAddr is where both paths read FLASH_OPTSR_CUR (the product state).
const OPTSRAddr = targets.H5FlashRegs + targets.FlashOPTSRCur

// IDCodeAddr is where the DFU path reads DBGMCU_IDCODE (chip ID).
const IDCodeAddr = targets.H5DBGMCUAP1 + targets.DBGMCUIDCode
