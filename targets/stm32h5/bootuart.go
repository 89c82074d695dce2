package stm32h5

import "sync"

// USART bootloader protocol bytes (AN3155).
const (
	uartACK  = 0x79
	uartNACK = 0x1F
	uartSync = 0x7F
)

// uartStep is where a BootUART is in the protocol.
type uartStep int

const (
	uartWaitSync  uartStep = iota // before the 0x7F auto-baud byte
	uartWaitCmd                   // synced, waiting for an opcode
	uartWaitCheck                 // opcode received, waiting for its complement
	uartWaitAddr                  // Read Memory / Go: 4 address bytes + XOR
	uartWaitLen                   // Read Memory: N-1 and its complement
	uartGone                      // after Go: the application runs, the ROM is silent
)

// BootUART is one USART link to the modelled ROM bootloader: bytes the host
// sends go in through Feed, the bootloader's answer comes out. It models
// sync (first 0x7F → ACK; a 0x7F after sync is an opcode), Get, Get
// Version, Get ID, Read Memory and Go with AN3155 checksums. Chosen: every
// command that writes, erases, changes protection or the product state is
// NACKed after its opcode (the model never programs anything). When the
// bootloader does not run (ROMBootloaderRuns is false) nothing answers. Safe
// for concurrent use.
type BootUART struct {
	b *ROMBootloader

	mu   sync.Mutex
	step uartStep
	op   byte
	buf  []byte
	addr uint32
}

// NewUART returns a USART link in its reset state (not synced).
func (b *ROMBootloader) NewUART() *BootUART { return &BootUART{b: b} }

// Reset puts the link back to its state after a chip reset.
func (u *BootUART) Reset() {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.step, u.buf = uartWaitSync, nil
}

// Feed takes bytes the host sent and returns the bootloader's answer (nil
// when it says nothing).
func (u *BootUART) Feed(in []byte) []byte {
	if !u.b.Runs() {
		return nil
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	var out []byte
	for _, c := range in {
		out = append(out, u.feedByte(c)...)
	}
	return out
}

func (u *BootUART) feedByte(c byte) []byte {
	switch u.step {
	case uartWaitSync:
		if c == uartSync {
			u.step = uartWaitCmd
			return []byte{uartACK}
		}
		return nil // noise before auto-baud is ignored
	case uartWaitCmd:
		u.op, u.step = c, uartWaitCheck
		return nil
	case uartWaitCheck:
		u.step = uartWaitCmd
		if c != ^u.op {
			return []byte{uartNACK}
		}
		return u.command()
	case uartWaitAddr:
		u.buf = append(u.buf, c)
		if len(u.buf) < 5 {
			return nil
		}
		b := u.buf
		u.buf, u.step = nil, uartWaitCmd
		if b[0]^b[1]^b[2]^b[3] != b[4] {
			return []byte{uartNACK}
		}
		u.addr = uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
		if _, ok := u.b.read(u.addr, 1); !ok {
			return []byte{uartNACK}
		}
		if u.op == 0x21 { // Go: the ROM jumps; the application does not speak AN3155
			u.step = uartGone
			return []byte{uartACK}
		}
		u.step = uartWaitLen
		return []byte{uartACK}
	case uartWaitLen:
		u.buf = append(u.buf, c)
		if len(u.buf) < 2 {
			return nil
		}
		n, check := u.buf[0], u.buf[1]
		u.buf, u.step = nil, uartWaitCmd
		if check != ^n {
			return []byte{uartNACK}
		}
		data, ok := u.b.read(u.addr, int(n)+1)
		if !ok {
			return []byte{uartNACK}
		}
		return append([]byte{uartACK}, data...)
	}
	return nil // uartGone
}

// command answers an opcode whose complement was right.
func (u *BootUART) command() []byte {
	switch u.op {
	case 0x00: // Get
		out := []byte{uartACK, byte(len(bootUARTCommands)), bootUARTVersion}
		out = append(out, bootUARTCommands...)
		return append(out, uartACK)
	case 0x01: // Get Version: two zero option bytes "for compatibility"
		return []byte{uartACK, bootUARTVersion, 0x00, 0x00, uartACK}
	case 0x02: // Get ID
		pid := u.b.info.PID
		return []byte{uartACK, 0x01, byte(pid >> 8), byte(pid), uartACK}
	case 0x11, 0x21: // Read Memory, Go
		u.step, u.buf = uartWaitAddr, nil
		return []byte{uartACK}
	}
	return []byte{uartNACK}
}
