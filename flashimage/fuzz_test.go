package flashimage_test

import (
	"testing"

	"github.com/stprobe/stprobe/flashimage"
	"github.com/stprobe/stprobe/flashimage/flashimagetest"
)

// FuzzParseHEX: any bytes give an image or an error, never a panic, and an
// image's segments are sorted and apart.
func FuzzParseHEX(f *testing.F) {
	f.Add([]byte(":020000040800F2\n:0400000001020304F2\n:0400000508000101ED\n:00000001FF\n"))
	f.Add([]byte(":020000021000EC\r\n:0100000041BE\r\n:0400000310000020C9\r\n:00000001FF\r\n"))
	f.Add([]byte(":020000001122CB\n:0100010033CB\n:00000001FF\n"))
	f.Add([]byte(":02000004FFFFFC\n:02FFFF001122CD\n:00000001FF\n"))
	f.Add([]byte(":0100000011EF\n"))
	f.Add(flashimage.EncodeHEX([]flashimage.Segment{{Addr: 0x0800FFF0, Data: make([]byte, 40)}}, 1, true))
	f.Fuzz(func(t *testing.T, data []byte) {
		im, err := flashimage.ParseHEX(data)
		if err == nil {
			checkSorted(t, im)
		}
	})
}

// FuzzParseELF: the same for ELF files.
func FuzzParseELF(f *testing.F) {
	f.Add(flashimagetest.BuildELF(0x08000101, flashimagetest.Prog{PAddr: 0x08000000, Data: make([]byte, 64)}))
	f.Add(flashimagetest.BuildELF(0x08000101,
		flashimagetest.Prog{PAddr: 0x08000000, Data: make([]byte, 64)},
		flashimagetest.Prog{VAddr: 0x20000000, PAddr: 0x08000040, Data: make([]byte, 8)},
		flashimagetest.Prog{PAddr: 0x20000010, MemSize: 64}))
	f.Add([]byte("\x7fELF"))
	f.Fuzz(func(t *testing.T, data []byte) {
		im, err := flashimage.ParseELF(data)
		if err == nil {
			checkSorted(t, im)
		}
	})
}

func checkSorted(t *testing.T, im *flashimage.Image) {
	t.Helper()
	for i, s := range im.Segments {
		if len(s.Data) == 0 {
			t.Fatalf("segment %d empty", i)
		}
		if i > 0 && uint64(s.Addr) <= im.Segments[i-1].End() {
			t.Fatalf("segment %d at 0x%X not after 0x%X", i, s.Addr, im.Segments[i-1].End())
		}
	}
}
