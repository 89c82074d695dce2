package uart_test

import (
	"testing"

	"github.com/stprobe/stprobe/boot/uart"
)

// FuzzParseReplies feeds arbitrary bytes to the three reply decoders: they
// must never panic, and what they accept must be well formed.
func FuzzParseReplies(f *testing.F) {
	f.Add([]byte{0x79, 0x0D, 0x40, 0x00, 0x01, 0x02, 0x11, 0x21, 0x31, 0x44, 0x63, 0x73, 0x82, 0x92, 0xA1, 0x50, 0x79})
	f.Add([]byte{0x79, 0x40, 0x00, 0x00, 0x79})
	f.Add([]byte{0x79, 0x01, 0x04, 0x78, 0x79})
	f.Add([]byte{0x79, 0x02, 0x00, 0x04, 0x84, 0x79})
	f.Add([]byte{0x1F})
	f.Add([]byte{0x79, 0xFF, 0x40, 0x79})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		if _, cmds, err := uart.ParseGet(b); err == nil && len(cmds) != len(b)-4 {
			t.Fatalf("Get % X: %d codes", b, len(cmds))
		}
		uart.ParseGetVersion(b)
		if _, err := uart.ParseGetID(b); err == nil && (b[0] != uart.ACK || b[len(b)-1] != uart.ACK) {
			t.Fatalf("Get ID % X accepted without ACKs", b)
		}
	})
}
