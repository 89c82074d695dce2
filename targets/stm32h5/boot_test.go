package stm32h5

import (
	"bytes"
	"testing"

	"github.com/stprobe/stprobe/targets"
)

func TestROMBootloaderRuns(t *testing.T) {
	tests := []struct {
		state     targets.ProductState
		low, high bool
	}{
		{targets.StateOpen, false, true},
		{targets.StateProvisioning, true, true},
		{targets.StateIROTProvisioned, false, false},
		{targets.StateTZClosed, false, false},
		{targets.StateClosed, false, false},
		{targets.StateLocked, false, false},
	}
	for _, tt := range tests {
		if ROMBootloaderRuns(tt.state, false) != tt.low || ROMBootloaderRuns(tt.state, true) != tt.high {
			t.Errorf("%v: runs with BOOT0 low/high = %v/%v, want %v/%v", tt.state,
				ROMBootloaderRuns(tt.state, false), ROMBootloaderRuns(tt.state, true), tt.low, tt.high)
		}
	}
}

func TestBootUARTExchange(t *testing.T) {
	m, err := New(Config{Line: LineH533, ProductState: targets.StateOpen})
	if err != nil {
		t.Fatal(err)
	}
	u := m.ROMBootloader(true).NewUART()
	steps := []struct{ in, out []byte }{
		{[]byte{0x00}, nil},          // noise before sync: ignored
		{[]byte{0x7F}, []byte{0x79}}, // sync
		{[]byte{0x02, 0xFD}, []byte{0x79, 0x01, 0x04, 0x78, 0x79}},             // Get ID
		{[]byte{0x01, 0xFE}, []byte{0x79, 0x40, 0x00, 0x00, 0x79}},             // Get Version
		{[]byte{0x02, 0x00}, []byte{0x1F}},                                     // bad complement
		{[]byte{0x7F}, nil},                                                    // a 0x7F after sync is an opcode...
		{[]byte{0x7F}, []byte{0x1F}},                                           // ...whose complement is wrong
		{[]byte{0x31, 0xCE}, []byte{0x1F}},                                     // write refused
		{[]byte{0x44, 0xBB}, []byte{0x1F}},                                     // erase refused
		{[]byte{0x92, 0x6D}, []byte{0x1F}},                                     // readout unprotect refused
		{[]byte{0x11, 0xEE}, []byte{0x79}},                                     // Read Memory
		{[]byte{0x40, 0x02, 0x20, 0x50, 0x32}, []byte{0x79}},                   // FLASH_OPTSR_CUR + XOR
		{[]byte{0x03, 0xFC}, []byte{0x79}},                                     // 4 bytes: state 0xED in byte 1
		{[]byte{0x11, 0xEE, 0xFF, 0xFF, 0xFF, 0x00, 0x00}, []byte{0x79, 0x1F}}, // unmapped address
	}
	for i, s := range steps {
		got := u.Feed(s.in)
		if !bytes.HasPrefix(got, s.out) || (s.out == nil && got != nil) {
			t.Fatalf("step %d: % X → % X, want % X…", i, s.in, got, s.out)
		}
		if i == 12 && (len(got) != 5 || targets.ProductStateOf(uint32(got[2])<<8) != targets.StateOpen) {
			t.Fatalf("FLASH_OPTSR_CUR read % X: want ACK and 4 bytes with state 0xED", got)
		}
	}
	silent := m.ROMBootloader(false).NewUART()
	if got := silent.Feed([]byte{0x7F, 0x7F}); got != nil {
		t.Errorf("OPEN with BOOT0 low answered % X", got)
	}
}
