package dfu_test

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stprobe/stprobe/boot"
	"github.com/stprobe/stprobe/boot/dfu"
	"github.com/stprobe/stprobe/probe/sim/scenario"
	"github.com/stprobe/stprobe/targets/stm32h5"
)

// modelDevice is a USB device whose EP0 is the simulated ROM DFU function
// (or, with fn nil, a device that accepts everything). It records every
// request that reached it.
type modelDevice struct {
	fn   *stm32h5.BootDFU
	seen []string
}

func (d *modelDevice) Control(rType, request uint8, val, idx uint16, data []byte) (int, error) {
	d.seen = append(d.seen, fmt.Sprintf("%02X/%d/%d", rType, request, val))
	if d.fn == nil {
		return len(data), nil
	}
	setup := []byte{rType, request, 0, 0, 0, 0, 0, 0}
	binary.LittleEndian.PutUint16(setup[2:], val)
	binary.LittleEndian.PutUint16(setup[4:], idx)
	binary.LittleEndian.PutUint16(setup[6:], uint16(len(data)))
	var out []byte
	if rType&0x80 == 0 {
		out = data
	}
	in, ok := d.fn.Control(setup, out)
	if !ok {
		return 0, errors.New("libusb: pipe error [code -9]")
	}
	if rType&0x80 == 0 {
		return len(data), nil
	}
	return copy(data, in), nil
}

// TestProbeEveryScenario: the ROM DFU is on the bus exactly when the
// bootloader runs; then the probe reads its layouts, the functional
// descriptor, the chip ID (DEV_ID) and the product state.
func TestProbeEveryScenario(t *testing.T) {
	for _, s := range scenario.List() {
		if s.Chip == nil {
			continue
		}
		for _, boot0 := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/boot0=%v", s.Name, boot0), func(t *testing.T) {
				s := s.WithBoot0(boot0)
				fn := s.Bootloader(s.NewProbe()).NewDFU()
				runs := stm32h5.ROMBootloaderRuns(s.Chip.ProductState, boot0)
				if fn.Present() != runs {
					t.Fatalf("DFU present %v, bootloader runs %v", fn.Present(), runs)
				}
				if !runs {
					return
				}
				r := dfu.Probe(context.Background(), &modelDevice{fn: fn}, dfu.Options{Sleep: func(time.Duration) {}})
				checkAnswered(t, r, s)
			})
		}
	}
}

func checkAnswered(t *testing.T, r boot.Result, s scenario.Scenario) {
	t.Helper()
	if r.Outcome != boot.Answered {
		t.Fatalf("%s, want answered", r.Summary())
	}
	if !r.HasPID || r.PID != s.Chip.Line {
		t.Errorf("PID 0x%03X (has %v), want 0x%03X", r.PID, r.HasPID, s.Chip.Line)
	}
	if !r.HasProductState || r.ProductState != s.Chip.ProductState {
		t.Errorf("state %v (has %v), want %v", r.ProductState, r.HasProductState, s.Chip.ProductState)
	}
	if bl, _ := stm32h5.Bootloader(s.Chip.Line); !r.HasBootloaderID || r.BootloaderID != bl.ID {
		t.Errorf("bootloader ID 0x%02X (has %v), want 0x%02X", r.BootloaderID, r.HasBootloaderID, bl.ID)
	}
	d := r.DFU
	if d.DFUVersion != 0x011A || d.TransferSize != 1024 || d.State != 2 || d.Product != "DFU in FS Mode" {
		t.Errorf("DFU info %+v", d)
	}
	if len(d.Memories) != 3 || d.Memories[0].Name != "Internal Flash" || d.Memories[0].Start != 0x08000000 {
		t.Fatalf("memories %+v", d.Memories)
	}
	if want := 1024 * int(stm32h5ConfigFlashKB(s)); d.Memories[0].Size() != want {
		t.Errorf("flash layout %d bytes, want %d", d.Memories[0].Size(), want)
	}
}

// stm32h5ConfigFlashKB is the flash of the scenario's line.
func stm32h5ConfigFlashKB(s scenario.Scenario) int {
	m := scenario.Model(s.NewProbe())
	return int(m.Line().MaxFlashKB)
}

// TestClearsError: a device left in dfuERROR is cleared with CLRSTATUS.
func TestClearsError(t *testing.T) {
	s, _ := scenario.Lookup("h533-provisioning")
	fn := s.Bootloader(s.NewProbe()).NewDFU()
	dev := &modelDevice{fn: fn}
	fn.Control([]byte{0x21, 1, 2, 0, 0, 0, 4, 0}, []byte{1, 2, 3, 4}) // a data download the model refuses
	r := dfu.Probe(context.Background(), dev, dfu.Options{})
	if r.Outcome != boot.Answered || r.DFU.State != 10 || !r.DFU.Cleared {
		t.Fatalf("%s: state %d cleared %v", r.Summary(), r.DFU.State, r.DFU.Cleared)
	}
}

// TestNoWriteLeavesHost sends every write, erase, unprotect, detach and
// leave request DFU and DfuSe have, and every other request code, through
// the probe API to a device that would accept anything: none reaches it.
func TestNoWriteLeavesHost(t *testing.T) {
	refused := []struct {
		name       string
		rType, req uint8
		val        uint16
		data       []byte
	}{
		{"DETACH", 0x21, dfu.ReqDetach, 1000, nil},
		{"download block 2 (write)", 0x21, dfu.ReqDnload, 2, make([]byte, 1024)},
		{"download block 7 (write)", 0x21, dfu.ReqDnload, 7, []byte{0xFF}},
		{"erase page", 0x21, dfu.ReqDnload, 0, []byte{dfu.CmdErase, 0, 0, 0, 8}},
		{"mass erase", 0x21, dfu.ReqDnload, 0, []byte{dfu.CmdErase}},
		{"read unprotect", 0x21, dfu.ReqDnload, 0, []byte{dfu.CmdReadUnprotect}},
		{"leave (zero-length download)", 0x21, dfu.ReqDnload, 0, nil},
		{"set address with trailing bytes", 0x21, dfu.ReqDnload, 0, []byte{dfu.CmdSetAddress, 0, 0, 0, 8, 0}},
		{"H5 product-state change (USB form)", 0x21, dfu.ReqDnload, 0, []byte{0x01, 0x17, 0, 0, 0}},
		{"SET_CONFIGURATION", 0x00, 9, 1, nil},
		{"SET_FEATURE", 0x00, 3, 1, nil},
		{"vendor OUT", 0x40, 1, 0, []byte{1}},
	}
	for _, tt := range refused {
		dev := &modelDevice{}
		s := dfu.NewSession(dev, 0, nil)
		_, err := s.Control(context.Background(), tt.rType, tt.req, tt.val, 0, tt.data)
		if !errors.Is(err, dfu.ErrNotReadOnly) || len(dev.seen) != 0 {
			t.Errorf("%s: err %v, reached the device %v", tt.name, err, dev.seen)
		}
	}
	// Every OUT request code of every type: only CLRSTATUS, ABORT and the
	// two read-only DfuSe commands pass.
	for _, rType := range []uint8{0x00, 0x01, 0x02, 0x21, 0x22, 0x40, 0x41, 0x42} {
		for req := 0; req < 256; req++ {
			err := dfu.Check(rType, uint8(req), 0, []byte{0x41})
			if err == nil {
				t.Errorf("OUT request type 0x%02X code %d with data 41 allowed", rType, req)
			}
		}
	}
}
