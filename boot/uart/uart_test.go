package uart_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stprobe/stprobe/boot"
	"github.com/stprobe/stprobe/boot/uart"
	"github.com/stprobe/stprobe/probe/sim/scenario"
	"github.com/stprobe/stprobe/targets/stm32h5"
)

// fakePort is a serial port wired to a bootloader model (or to nothing):
// every write goes to answer, whose reply is read back. It records what the
// host wrote and the modem lines it drove.
type fakePort struct {
	answer  func([]byte) []byte
	pending []byte
	writes  [][]byte
	lines   []string
	timeout time.Duration
}

func (p *fakePort) Write(b []byte) (int, error) {
	p.writes = append(p.writes, append([]byte(nil), b...))
	if p.answer != nil {
		p.pending = append(p.pending, p.answer(b)...)
	}
	return len(b), nil
}

func (p *fakePort) Read(b []byte) (int, error) {
	if len(p.pending) == 0 {
		time.Sleep(p.timeout) // a read that times out, as the real port's does
		return 0, nil
	}
	n := copy(b, p.pending)
	p.pending = p.pending[n:]
	return n, nil
}

func (p *fakePort) SetReadTimeout(t time.Duration) error { p.timeout = t; return nil }
func (p *fakePort) ResetInputBuffer() error              { p.pending = nil; return nil }
func (p *fakePort) SetDTR(v bool) error {
	p.lines = append(p.lines, fmt.Sprintf("dtr=%v", v))
	return nil
}
func (p *fakePort) SetRTS(v bool) error {
	p.lines = append(p.lines, fmt.Sprintf("rts=%v", v))
	return nil
}

func (p *fakePort) sent() int {
	n := 0
	for _, w := range p.writes {
		n += len(w)
	}
	return n
}

// testOpts keeps silent cases short; nothing asserts on durations.
var testOpts = uart.Options{Timeout: 20 * time.Millisecond, Sleep: func(time.Duration) {}}

// TestProbeEveryScenario: the UART answers exactly when the ROM bootloader
// runs (OPEN with BOOT0 high, PROVISIONING whatever BOOT0 says), with the
// line's PID, protocol V4.0 and the product state read through Read Memory.
func TestProbeEveryScenario(t *testing.T) {
	for _, s := range scenario.List() {
		if s.Chip == nil {
			continue
		}
		for _, boot0 := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/boot0=%v", s.Name, boot0), func(t *testing.T) {
				s := s.WithBoot0(boot0)
				bl := s.Bootloader(s.NewProbe())
				port := &fakePort{answer: bl.NewUART().Feed}
				r := uart.Probe(context.Background(), port, "sim", testOpts)
				state := s.Chip.ProductState
				if !stm32h5.ROMBootloaderRuns(state, boot0) {
					if r.Outcome != boot.Silent {
						t.Fatalf("%v with BOOT0=%v: outcome %v (%s), want silent", state, boot0, r.Outcome, r.Detail)
					}
					return
				}
				if r.Outcome != boot.Answered {
					t.Fatalf("%v with BOOT0=%v: outcome %v (%s), want answered", state, boot0, r.Outcome, r.Detail)
				}
				if !r.HasPID || r.PID != s.Chip.Line {
					t.Errorf("PID 0x%03X (has %v), want 0x%03X", r.PID, r.HasPID, s.Chip.Line)
				}
				if r.UART.Version != 0x40 || r.UART.AlreadySynced {
					t.Errorf("version 0x%02X already synced %v, want 0x40 and a fresh sync", r.UART.Version, r.UART.AlreadySynced)
				}
				if !r.HasProductState || r.ProductState != state {
					t.Errorf("product state %v (has %v), want %v", r.ProductState, r.HasProductState, state)
				}
				if bl, _ := stm32h5.Bootloader(s.Chip.Line); !r.HasBootloaderID || r.BootloaderID != bl.ID {
					t.Errorf("bootloader ID 0x%02X (has %v), want 0x%02X", r.BootloaderID, r.HasBootloaderID, bl.ID)
				}
				if !slices.Contains(r.UART.Commands, 0x11) {
					t.Errorf("Get list % X lacks Read Memory", r.UART.Commands)
				}
			})
		}
	}
}

func TestProbeIDsPerLine(t *testing.T) {
	for name, pid := range map[string]uint16{"h533-open": 0x478, "h503-open": 0x474, "h563-open": 0x484} {
		s, err := scenario.Lookup(name)
		if err != nil {
			t.Fatal(err)
		}
		s = s.WithBoot0(true)
		r := uart.Probe(context.Background(), &fakePort{answer: s.Bootloader(s.NewProbe()).NewUART().Feed}, "sim", testOpts)
		if r.Outcome != boot.Answered || r.PID != pid || r.Line == "" {
			t.Errorf("%s: %s, want PID 0x%03X", name, r.Summary(), pid)
		}
	}
}

// TestAlreadySynced: a second session gets NACK to its sync (the ROM is
// locked to this USART from the first) and still reads everything.
func TestAlreadySynced(t *testing.T) {
	s, _ := scenario.Lookup("h533-provisioning")
	link := s.Bootloader(s.NewProbe()).NewUART()
	uart.Probe(context.Background(), &fakePort{answer: link.Feed}, "sim", testOpts)
	r := uart.Probe(context.Background(), &fakePort{answer: link.Feed}, "sim", testOpts)
	if r.Outcome != boot.Answered || !r.UART.AlreadySynced {
		t.Fatalf("second session: %s, already synced %v", r.Summary(), r.UART != nil && r.UART.AlreadySynced)
	}
}

func TestProbeFailures(t *testing.T) {
	tests := []struct {
		name   string
		answer func([]byte) []byte
		want   string
	}{
		{"echo", func(b []byte) []byte { return b }, "looped"},
		{"application talking", func([]byte) []byte { return []byte("hello") }, "0x68"},
		{"get id garbage", func(b []byte) []byte {
			switch b[0] {
			case 0x7F:
				return []byte{uart.ACK}
			case 0x01:
				return []byte{uart.ACK, 0x40, 0, 0, uart.ACK}
			case 0x00:
				return []byte{uart.ACK, 1, 0x40, 0x02, uart.ACK}
			}
			return []byte{uart.ACK, 0x00, 0x04, uart.ACK}
		}, "Get ID"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := uart.Probe(context.Background(), &fakePort{answer: tt.answer}, "sim", testOpts)
			if r.Outcome != boot.Failed || !strings.Contains(r.Detail, tt.want) {
				t.Errorf("%s, want failure mentioning %q", r.Summary(), tt.want)
			}
		})
	}
}

// TestWiringResetsIntoBootloader: BOOT0 on RTS, NRST on DTR: BOOT0 driven
// high (RTS released), NRST pulsed low (DTR asserted, then released).
func TestWiringResetsIntoBootloader(t *testing.T) {
	port := &fakePort{}
	var slept []time.Duration
	opts := testOpts
	opts.Wiring = uart.Wiring{BOOT0: uart.SignalRTS, NRST: uart.SignalDTR}
	opts.Sleep = func(d time.Duration) { slept = append(slept, d) }
	uart.Probe(context.Background(), port, "sim", opts)
	if want := []string{"rts=false", "dtr=true", "dtr=false"}; !slices.Equal(port.lines, want) {
		t.Errorf("modem lines %v, want %v", port.lines, want)
	}
	if len(slept) != 2 {
		t.Errorf("waited %v, want the reset hold and the boot wait", slept)
	}
	opts.Wiring = uart.Wiring{BOOT0: uart.SignalDTR, NRST: uart.SignalDTR}
	if r := uart.Probe(context.Background(), &fakePort{}, "sim", opts); r.Outcome != boot.Failed {
		t.Errorf("BOOT0 and NRST on one line: %s, want a failure", r.Summary())
	}
}

// TestNoWriteLeavesHost sends every opcode the protocol has (and every
// other byte value) through the probe API to a port that would ACK
// anything: only Get, Get Version, Get ID and Read Memory may reach it.
func TestNoWriteLeavesHost(t *testing.T) {
	for code := 0; code < 256; code++ {
		port := &fakePort{answer: func([]byte) []byte { return []byte{uart.ACK} }}
		s := uart.NewSession(port, 20*time.Millisecond)
		err := s.Command(context.Background(), byte(code))
		if uart.ReadOnly(byte(code)) {
			if err != nil || port.sent() != 2 {
				t.Errorf("read-only 0x%02X: err %v, %d bytes sent", code, err, port.sent())
			}
			continue
		}
		if !errors.Is(err, uart.ErrNotReadOnly) || port.sent() != 0 {
			t.Errorf("%s (0x%02X): err %v, %d bytes left the host; want refusal and none", uart.CommandName(byte(code)), code, err, port.sent())
		}
	}
	var kinds = map[uart.Kind]int{}
	for _, c := range uart.Commands() {
		kinds[c.Kind]++
		if c.Kind != uart.KindRead && uart.ReadOnly(c.Code) {
			t.Errorf("%s (0x%02X) is a %v command on the allow-list", c.Name, c.Code, c.Kind)
		}
	}
	for _, k := range []uart.Kind{uart.KindWrite, uart.KindErase, uart.KindProtect, uart.KindUnprotect, uart.KindGo, uart.KindSpecial} {
		if kinds[k] == 0 {
			t.Errorf("the command table has no %v command", k)
		}
	}
}

// TestProbeSendsOnlyReadFrames checks the whole byte stream of a full
// probe: sync bytes, allow-listed opcodes with their complement, and the
// address and length frames of Read Memory - nothing else.
func TestProbeSendsOnlyReadFrames(t *testing.T) {
	s, _ := scenario.Lookup("h533-open")
	s = s.WithBoot0(true)
	port := &fakePort{answer: s.Bootloader(s.NewProbe()).NewUART().Feed}
	if r := uart.Probe(context.Background(), port, "sim", testOpts); r.Outcome != boot.Answered {
		t.Fatal(r.Summary())
	}
	for i := 0; i < len(port.writes); i++ {
		w := port.writes[i]
		switch {
		case len(w) == 1 && w[0] == uart.Sync:
		case len(w) == 2 && w[1] == ^w[0] && uart.ReadOnly(w[0]):
			if w[0] == 0x11 { // address frame, then length frame
				if i+2 >= len(port.writes) || len(port.writes[i+1]) != 5 || len(port.writes[i+2]) != 2 {
					t.Fatalf("Read Memory not followed by address and length: % X", port.writes[i:])
				}
				i += 2
			}
		default:
			t.Fatalf("frame % X is not a read-only frame", w)
		}
	}
}
