package dfu_test

import (
	"testing"

	"github.com/stprobe/stprobe/boot/dfu"
	"github.com/stprobe/stprobe/probe/sim/scenario"
)

// FuzzDecoders feeds arbitrary bytes to every decoder of what a DFU device
// sends: descriptors, strings, layouts and GETSTATUS. None may panic.
func FuzzDecoders(f *testing.F) {
	s, _ := scenario.Lookup("h533-provisioning")
	fn := s.Bootloader(s.NewProbe()).NewDFU()
	f.Add(fn.DeviceDescriptor())
	f.Add(fn.ConfigDescriptor())
	for i := uint8(0); i < 7; i++ {
		if b, ok := fn.StringDescriptor(i); ok {
			f.Add(b)
		}
	}
	for _, l := range fn.Layouts() {
		f.Add([]byte(l))
	}
	f.Add([]byte("@Internal Flash  /0x08000000/04*016Kg,01*064Kg,07*128Kg"))
	f.Add([]byte("@Option Bytes  /0x1FFFC000/01*016 g"))
	f.Add([]byte("@x/0x0/99999999*99999999Mg"))
	f.Add([]byte{0, 0, 0, 0, 2, 0})
	f.Add([]byte{9, 2, 9, 0, 1, 1, 0, 0xC0, 50, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		dfu.ParseDeviceDescriptor(b)
		if c, err := dfu.ParseConfig(b); err == nil && len(c.Alts) > len(b)/9 {
			t.Fatalf("%d alternate settings from %d bytes", len(c.Alts), len(b))
		}
		dfu.ParseString(b)
		if m, err := dfu.ParseLayout(0, string(b)); err == nil && m.Size() < 0 {
			t.Fatalf("layout %q has negative size", b)
		}
		dfu.ParseStatus(b)
	})
}
