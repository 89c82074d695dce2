package uart

import (
	"errors"
	"fmt"

	"github.com/stprobe/stprobe/enum"
)

// Protocol bytes (AN3155).
const (
	ACK  = 0x79
	NACK = 0x1F
	Sync = 0x7F
)

// Kind says what a bootloader command does.
type Kind int

// Command kinds. Only KindRead commands ever leave the host.
const (
	KindRead      Kind = iota // reads: Get, Get Version, Get ID, Read Memory, Get Checksum
	KindWrite                 // writes memory
	KindErase                 // erases flash
	KindProtect               // sets write or readout protection (then resets)
	KindUnprotect             // removes protection (readout unprotect mass-erases)
	KindGo                    // jumps to an address: the bootloader stops
	KindSpecial               // device-specific, e.g. the H5's product-state change
)

// kindNames are the kinds' names, indexed by Kind.
var kindNames = [...]string{
	KindRead:      "read",
	KindWrite:     "write",
	KindErase:     "erase",
	KindProtect:   "protect",
	KindUnprotect: "unprotect",
	KindGo:        "go",
	KindSpecial:   "special",
}

// String names the kind.
func (k Kind) String() string {
	return enum.Name(kindNames[:], k, "Kind")
}

// Command is one AN3155 command code.
type Command struct {
	Code byte
	Name string
	Kind Kind
}

// Commands lists every command code of the USART protocol (AN3155 and its
// I2C no-stretch variants, which a ROM may list in its Get reply).
func Commands() []Command {
	return []Command{
		{0x00, "Get", KindRead},
		{0x01, "Get Version", KindRead},
		{0x02, "Get ID", KindRead},
		{0x11, "Read Memory", KindRead},
		{0x21, "Go", KindGo},
		{0x31, "Write Memory", KindWrite},
		{0x32, "No-Stretch Write Memory", KindWrite},
		{0x43, "Erase", KindErase},
		{0x44, "Extended Erase", KindErase},
		{0x45, "No-Stretch Erase", KindErase},
		{0x50, "Special", KindSpecial},
		{0x51, "Extended Special", KindSpecial},
		{0x63, "Write Protect", KindProtect},
		{0x64, "No-Stretch Write Protect", KindProtect},
		{0x73, "Write Unprotect", KindUnprotect},
		{0x74, "No-Stretch Write Unprotect", KindUnprotect},
		{0x82, "Readout Protect", KindProtect},
		{0x83, "No-Stretch Readout Protect", KindProtect},
		{0x92, "Readout Unprotect", KindUnprotect},
		{0x93, "No-Stretch Readout Unprotect", KindUnprotect},
		{0xA1, "Get Checksum", KindRead},
	}
}

// CommandName names code, or "0xNN" when the protocol has no such command.
func CommandName(code byte) string {
	for _, c := range Commands() {
		if c.Code == code {
			return c.Name
		}
	}
	return fmt.Sprintf("0x%02X", code)
}

// readOnly is the allow-list: the only opcodes the probe ever sends.
var readOnly = [256]bool{0x00: true, 0x01: true, 0x02: true, 0x11: true}

// ReadOnly reports whether the probe may send opcode code: Get, Get
// Version, Get ID and Read Memory. Everything else is refused before a byte
// leaves the host.
func ReadOnly(code byte) bool { return readOnly[code] }

// Errors of the protocol layer.
var (
	// ErrSilent: nothing arrived within the timeout.
	ErrSilent = errors.New("no answer")
	// ErrNACK: the bootloader refused the command or its parameters.
	ErrNACK = errors.New("NACK")
	// ErrNotReadOnly: the probe refused to send a command that could write,
	// erase, (un)protect, jump or change the product state.
	ErrNotReadOnly = errors.New("command refused: the bootloader probe only sends read-only commands")
)

// ParseGet decodes a whole Get reply: ACK, N, version, N command codes, ACK.
func ParseGet(b []byte) (version byte, commands []byte, err error) {
	if len(b) < 4 || b[0] != ACK {
		return 0, nil, fmt.Errorf("Get reply % X: want ACK, count, version, codes, ACK", b)
	}
	n := int(b[1])
	if len(b) != n+4 || b[len(b)-1] != ACK {
		return 0, nil, fmt.Errorf("Get reply % X: count %d does not match its length", b, n)
	}
	return b[2], append([]byte(nil), b[3:3+n]...), nil
}

// ParseGetVersion decodes a Get Version reply: ACK, version, option 1,
// option 2, ACK.
func ParseGetVersion(b []byte) (version byte, options [2]byte, err error) {
	if len(b) != 5 || b[0] != ACK || b[4] != ACK {
		return 0, options, fmt.Errorf("Get Version reply % X: want ACK, version, 2 option bytes, ACK", b)
	}
	return b[1], [2]byte{b[2], b[3]}, nil
}

// ParseGetID decodes a Get ID reply: ACK, N, N+1 PID bytes (MSB first),
// ACK. A PID longer than two bytes keeps its last two.
func ParseGetID(b []byte) (pid uint16, err error) {
	if len(b) < 5 || b[0] != ACK || b[len(b)-1] != ACK || len(b) != int(b[1])+4 {
		return 0, fmt.Errorf("Get ID reply % X: want ACK, N, N+1 ID bytes, ACK", b)
	}
	id := b[2 : len(b)-1]
	return uint16(id[len(id)-2])<<8 | uint16(id[len(id)-1]), nil
}

// addressFrame is a 4-byte address, MSB first, and its XOR.
func addressFrame(addr uint32) []byte {
	b := []byte{byte(addr >> 24), byte(addr >> 16), byte(addr >> 8), byte(addr)}
	return append(b, b[0]^b[1]^b[2]^b[3])
}
