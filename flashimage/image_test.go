package flashimage_test

import (
	"bytes"
	"debug/elf"
	"errors"
	"strings"
	"testing"

	"github.com/stprobe/stprobe/flashimage"
	"github.com/stprobe/stprobe/flashimage/flashimagetest"
)

func seq(n int, start byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = start + byte(i)
	}
	return b
}

func TestParseHEX(t *testing.T) {
	tests := []struct {
		name  string
		in    string
		segs  []flashimage.Segment
		entry uint32
		err   string
	}{
		{
			name: "linear address, start linear",
			in:   ":020000040800F2\n:0400000001020304F2\n:0400040005060708DE\n:0400000508000101ED\n:00000001FF\n",
			segs: []flashimage.Segment{{Addr: 0x08000000, Data: seq(8, 1)}}, entry: 0x08000101,
		},
		{
			name: "segment address, start segment, CRLF",
			in:   ":020000021000EC\r\n:0100000041BE\r\n:0400000310000020C9\r\n:00000001FF\r\n",
			segs: []flashimage.Segment{{Addr: 0x10000, Data: []byte{0x41}}}, entry: 0x10020,
		},
		{
			name: "two runs, sorted",
			in:   ":020000040800F2\n:0100100022CD\n:0100000011EE\n:00000001FF\n",
			segs: []flashimage.Segment{{Addr: 0x08000000, Data: []byte{0x11}}, {Addr: 0x08000010, Data: []byte{0x22}}},
		},
		{name: "bad checksum", in: ":0100000011EF\n:00000001FF\n", err: "line 1: checksum 0xEF is wrong (the record's bytes want 0xEE)"},
		{name: "no colon", in: "0100000011EE\n", err: "line 1: a record starts with ':'"},
		{name: "not hex", in: ":01000000GGEE\n", err: "line 1: not hex"},
		{name: "odd digits", in: ":0100000011E\n", err: "line 1: an odd number of hex digits"},
		{name: "length mismatch", in: ":0200000011ED\n", err: "line 1: the record says 2 data bytes but holds 1"},
		{name: "short record", in: ":0000\n", err: "line 1: a record of 2 bytes is too short"},
		{name: "unknown type", in: ":00000006FA\n", err: "line 1: unknown record type 06"},
		{name: "missing EOF", in: ":0100000011EE\n", err: "line 1: the file ends without the end-of-file record"},
		{name: "after EOF", in: ":00000001FF\n:0100000011EE\n", err: "line 2: data after the end-of-file record"},
		{name: "overlap", in: ":020000001122CB\n:0100010033CB\n:00000001FF\n", err: "the data record of line 2 overlaps the data record of line 1 at 0x00000001"},
		{name: "bad 04 length", in: ":0100000408F3\n:00000001FF\n", err: "line 1: record type 04 carries 1 bytes (want 2)"},
		{name: "past 4 GiB", in: ":02000004FFFFFC\n:02FFFF001122CD\n:00000001FF\n", err: "line 2: 2 bytes at 0xFFFFFFFF run past the end"},
		{name: "empty", in: ":00000001FF\n", err: "the file holds no data to program"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			im, err := flashimage.ParseHEX([]byte(tc.in))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want it to contain %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !segsEqual(im.Segments, tc.segs) {
				t.Errorf("segments = %v, want %v", im.Segments, tc.segs)
			}
			if tc.entry != 0 && (!im.HasEntry || im.Entry != tc.entry) {
				t.Errorf("entry = 0x%X (%v), want 0x%X", im.Entry, im.HasEntry, tc.entry)
			}
		})
	}
}

func segsEqual(a, b []flashimage.Segment) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Addr != b[i].Addr || !bytes.Equal(a[i].Data, b[i].Data) {
			return false
		}
	}
	return true
}

// TestHEXRoundTrip encodes segments that cross 64 KiB boundaries and reads
// them back.
func TestHEXRoundTrip(t *testing.T) {
	segs := []flashimage.Segment{{Addr: 0x0800FFF0, Data: seq(100, 3)}, {Addr: 0x08020000, Data: seq(7, 9)}}
	im, err := flashimage.ParseHEX(flashimage.EncodeHEX(segs, 0x08000199, true))
	if err != nil {
		t.Fatal(err)
	}
	if !segsEqual(im.Segments, segs) || im.Entry != 0x08000199 {
		t.Fatalf("round trip: %v entry 0x%X", im.Segments, im.Entry)
	}
}

func TestParseELF(t *testing.T) {
	text, data := seq(64, 0), seq(16, 0x80)
	tests := []struct {
		name  string
		progs []flashimagetest.Prog
		segs  []flashimage.Segment
		err   string
	}{
		{
			name: "text and data copied to flash, bss skipped",
			progs: []flashimagetest.Prog{
				{VAddr: 0x08000000, PAddr: 0x08000000, Data: text},
				{VAddr: 0x20000000, PAddr: 0x08000040, Data: data},
				{VAddr: 0x20000010, PAddr: 0x20000010, MemSize: 256},
				{Type: elf.PT_NOTE, PAddr: 0x30000000, Data: seq(4, 0)},
			},
			segs: []flashimage.Segment{{Addr: 0x08000000, Data: append(append([]byte(nil), text...), data...)}},
		},
		{
			name: "overlapping segments",
			progs: []flashimagetest.Prog{
				{PAddr: 0x08000000, Data: text},
				{PAddr: 0x08000020, Data: data},
			},
			err: "program header 1 (0x08000020, 16 bytes) overlaps program header 0",
		},
		{name: "nothing to load", progs: []flashimagetest.Prog{{PAddr: 0x20000000, MemSize: 64}}, err: "no data to program"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			im, err := flashimage.ParseELF(flashimagetest.BuildELF(0x08000101, tc.progs...))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want it to contain %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !segsEqual(im.Segments, tc.segs) {
				t.Errorf("segments = %v, want %v", im.Segments, tc.segs)
			}
			if im.Entry != 0x08000101 {
				t.Errorf("entry 0x%X", im.Entry)
			}
		})
	}
	t.Run("cut short", func(t *testing.T) {
		b := flashimagetest.BuildELF(0, flashimagetest.Prog{PAddr: 0x08000000, Data: text})
		if _, err := flashimage.ParseELF(b[:len(b)-10]); err == nil || !strings.Contains(err.Error(), "cut short") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("not ELF", func(t *testing.T) {
		if _, err := flashimage.ParseELF([]byte("\x7fELF garbage")); err == nil {
			t.Fatal("no error")
		}
	})
}

func TestParseDetectAndAddr(t *testing.T) {
	hexFile := []byte(":0100000011EE\n:00000001FF\n")
	tests := []struct {
		name string
		file string
		data []byte
		o    flashimage.Options
		want flashimage.Format
		err  string
	}{
		{name: "bin needs addr", file: "app.bin", data: seq(4, 0), err: "give the address"},
		{name: "bin", file: "app.bin", data: seq(4, 0), o: flashimage.Options{Addr: 0x08000000, HasAddr: true}, want: flashimage.FormatBIN},
		{name: "hex by name", file: "app.hex", data: hexFile, want: flashimage.FormatHEX},
		{name: "hex by content", file: "app.txt", data: hexFile, want: flashimage.FormatHEX},
		{name: "hex refuses addr", file: "app.hex", data: hexFile, o: flashimage.Options{HasAddr: true}, err: "--addr is only for raw binaries"},
		{name: "elf by magic", file: "app", data: flashimagetest.BuildELF(0, flashimagetest.Prog{PAddr: 0x08000000, Data: seq(4, 0)}), want: flashimage.FormatELF},
		{name: "empty bin", file: "x.bin", data: nil, o: flashimage.Options{HasAddr: true}, err: "the file is empty"},
		{name: "bin past 4 GiB", file: "x.bin", data: seq(8, 0), o: flashimage.Options{Addr: 0xFFFFFFFC, HasAddr: true}, err: "past the end of the address space"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			im, err := flashimage.Parse(tc.file, tc.data, tc.o)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if im.Format != tc.want {
				t.Errorf("format %s, want %s", im.Format, tc.want)
			}
		})
	}
}

func TestWithin(t *testing.T) {
	flash := flashimage.Range{Start: 0x08000000, End: 0x08020000}
	im, _ := flashimage.ParseBIN(seq(32, 0), 0x0801FFF0)
	if err := im.Within(flash); !errors.Is(err, flashimage.ErrOutside) || !strings.Contains(err.Error(), "32 bytes at 0x0801FFF0..0x0802000F are not in 0x08000000..0x0801FFFF") {
		t.Fatalf("err = %v", err)
	}
	im, _ = flashimage.ParseBIN(seq(16, 0), 0x0801FFF0)
	if err := im.Within(flash); err != nil {
		t.Fatal(err)
	}
	if got := im.Bytes(0x0801FFEE, 4, 0xFF); !bytes.Equal(got, []byte{0xFF, 0xFF, 0, 1}) {
		t.Fatalf("Bytes = % X", got)
	}
}
