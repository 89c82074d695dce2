package stm32h5

import (
	"encoding/binary"
	"testing"

	"github.com/stprobe/stprobe/targets"
)

// FuzzBootloaderInput feeds arbitrary host bytes to the modelled ROM
// bootloader, as UART bytes and as DFU control transfers (the first 8
// bytes a setup packet, the rest OUT data): it must never panic, and
// nothing the host sends may change the product state.
func FuzzBootloaderInput(f *testing.F) {
	f.Add([]byte{0x7F, 0x00, 0xFF, 0x01, 0xFE, 0x02, 0xFD})
	f.Add([]byte{0x7F, 0x11, 0xEE, 0x40, 0x02, 0x20, 0x50, 0x32, 0x0F, 0xF0})
	f.Add([]byte{0x7F, 0x31, 0xCE, 0x08, 0, 0, 0, 0x08, 0x03, 1, 2, 3, 4, 4})
	f.Add([]byte{0x7F, 0x50, 0xAF, 0x00, 0x01, 0x01})
	f.Add([]byte{0x21, 0x01, 0, 0, 0, 0, 5, 0, 0x21, 0x50, 0x20, 0x02, 0x40})
	f.Add([]byte{0xA1, 0x02, 2, 0, 0, 0, 0, 4})
	f.Add([]byte{0x21, 0x01, 0, 0, 0, 0, 1, 0, 0x92})
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := New(Config{Line: LineH533, ProductState: targets.StateProvisioning})
		if err != nil {
			t.Fatal(err)
		}
		bl := m.ROMBootloader(true)
		bl.NewUART().Feed(b)
		d := bl.NewDFU()
		for len(b) >= 8 {
			n := min(int(binary.LittleEndian.Uint16(b[6:])), len(b)-8)
			var out []byte
			if b[0]&0x80 == 0 {
				out = b[8 : 8+n]
			}
			d.Control(b[:8], out)
			d.Control([]byte{0xA1, 3, 0, 0, 0, 0, 6, 0}, nil) // GETSTATUS runs a pending command
			b = b[8+n:]
		}
		if m.ProductState() != targets.StateProvisioning {
			t.Fatalf("bootloader input changed the product state to %v", m.ProductState())
		}
	})
}
