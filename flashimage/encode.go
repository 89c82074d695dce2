package flashimage

import (
	"bytes"
	"fmt"
)

// EncodeHEX writes segments as Intel HEX: an extended linear address record
// (04) whenever the upper 16 bits change, data records of up to 32 bytes
// that never cross a 64 KiB boundary, a start linear address record (05)
// when hasEntry, and the end-of-file record.
func EncodeHEX(segs []Segment, entry uint32, hasEntry bool) []byte {
	var b bytes.Buffer
	record := func(typ byte, offset uint16, data []byte) {
		rec := append([]byte{byte(len(data)), byte(offset >> 8), byte(offset), typ}, data...)
		var sum byte
		for _, c := range rec {
			sum += c
		}
		rec = append(rec, -sum)
		fmt.Fprintf(&b, ":%X\n", rec)
	}
	upper := -1
	for _, s := range segs {
		for i := 0; i < len(s.Data); {
			addr := s.Addr + uint32(i)
			if int(addr>>16) != upper {
				upper = int(addr >> 16)
				record(recExtLinear, 0, []byte{byte(upper >> 8), byte(upper)})
			}
			n := min(32, len(s.Data)-i, int(0x10000-addr&0xFFFF))
			record(recData, uint16(addr), s.Data[i:i+n])
			i += n
		}
	}
	if hasEntry {
		record(recStartLinear, 0, []byte{byte(entry >> 24), byte(entry >> 16), byte(entry >> 8), byte(entry)})
	}
	record(recEOF, 0, nil)
	return b.Bytes()
}
