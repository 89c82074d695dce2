package flashimage

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
)

// Intel HEX record types (Intel, "Hexadecimal Object File Format
// Specification", revision A, 1988).
const (
	recData           = 0x00                      // data bytes at the current base + offset
	recEOF            = 0x01                      // end of file
	recExtSegment     = 0x02                      // base = value << 4 (8086 segment)
	recStartSegment   = 0x03                      // CS:IP start address
	recExtLinear      = 0x04                      // base = value << 16
	recStartLinear    = 0x05                      // 32-bit start address (EIP)
	maxHexLineLength  = 1 + 2 + 4 + 2 + 2*255 + 2 // ':' LL AAAA TT data CC
	hexRecordOverhead = 5                         // length, address (2), type, checksum
)

// HexError is a malformed Intel HEX file, with the line at fault.
type HexError struct {
	Line int
	Err  error
}

// Error names the line.
func (e *HexError) Error() string { return fmt.Sprintf("Intel HEX line %d: %v", e.Line, e.Err) }

// Unwrap returns the cause.
func (e *HexError) Unwrap() error { return e.Err }

// ParseHEX decodes an Intel HEX file: data records with the extended
// segment (02) and extended linear (04) address records, start records (03,
// 05), and the end-of-file record (01), which must come last. Every record's
// checksum is checked; a byte given twice is refused.
func ParseHEX(data []byte) (*Image, error) {
	im := &Image{Format: FormatHEX, SHA256: sha256.Sum256(data)}
	var (
		segs  []Segment
		lines []int // the line of each segment, for errors
		base  uint32
		seen  bool // the EOF record was read
		total int
	)
	lineNo := 0
	for rest := data; len(rest) > 0; {
		var line []byte
		if i := bytes.IndexByte(rest, '\n'); i >= 0 {
			line, rest = rest[:i], rest[i+1:]
		} else {
			line, rest = rest, nil
		}
		lineNo++
		line = bytes.TrimRight(line, "\r \t")
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		fail := func(format string, a ...any) error {
			return &HexError{Line: lineNo, Err: fmt.Errorf(format, a...)}
		}
		if seen {
			return nil, fail("data after the end-of-file record")
		}
		if line[0] != ':' {
			return nil, fail("a record starts with ':', this line starts with %q", truncate(line))
		}
		if len(line) > maxHexLineLength {
			return nil, fail("the line is %d characters long, longer than any record (%d)", len(line), maxHexLineLength)
		}
		digits := line[1:]
		if len(digits)%2 != 0 {
			return nil, fail("an odd number of hex digits (%d)", len(digits))
		}
		rec := make([]byte, len(digits)/2)
		if _, err := hex.Decode(rec, digits); err != nil {
			return nil, fail("not hex: %v", err)
		}
		if len(rec) < hexRecordOverhead {
			return nil, fail("a record of %d bytes is too short (at least %d)", len(rec), hexRecordOverhead)
		}
		n := int(rec[0])
		if len(rec) != n+hexRecordOverhead {
			return nil, fail("the record says %d data bytes but holds %d", n, len(rec)-hexRecordOverhead)
		}
		var sum byte
		for _, b := range rec {
			sum += b
		}
		if sum != 0 {
			want := -(sum - rec[len(rec)-1])
			return nil, fail("checksum 0x%02X is wrong (the record's bytes want 0x%02X)", rec[len(rec)-1], want)
		}
		offset := uint32(rec[1])<<8 | uint32(rec[2])
		payload := rec[4 : 4+n]
		switch typ := rec[3]; typ {
		case recData:
			addr := uint64(base) + uint64(offset)
			if addr+uint64(n) > 1<<32 {
				return nil, fail("%d bytes at 0x%X run past the end of the 32-bit address space", n, addr)
			}
			if n == 0 {
				continue
			}
			total += n
			if total > MaxImage {
				return nil, fail("the file holds more than the %d MiB an image may hold", MaxImage>>20)
			}
			segs = append(segs, Segment{Addr: uint32(addr), Data: append([]byte(nil), payload...)})
			lines = append(lines, lineNo)
		case recEOF:
			if n != 0 {
				return nil, fail("the end-of-file record carries %d data bytes (want 0)", n)
			}
			seen = true
		case recExtSegment, recExtLinear:
			if n != 2 {
				return nil, fail("record type %02X carries %d bytes (want 2)", typ, n)
			}
			v := uint32(payload[0])<<8 | uint32(payload[1])
			if typ == recExtSegment {
				base = v << 4
			} else {
				base = v << 16
			}
		case recStartSegment, recStartLinear:
			if n != 4 {
				return nil, fail("record type %02X carries %d bytes (want 4)", typ, n)
			}
			v := uint32(payload[0])<<24 | uint32(payload[1])<<16 | uint32(payload[2])<<8 | uint32(payload[3])
			if typ == recStartSegment {
				v = (v>>16)<<4 + v&0xFFFF // CS:IP
			}
			im.Entry, im.HasEntry = v, true
		default:
			return nil, fail("unknown record type %02X (want 00 to 05)", typ)
		}
	}
	if !seen {
		return nil, &HexError{Line: lineNo, Err: errors.New("the file ends without the end-of-file record (:00000001FF): it may be cut short")}
	}
	out, err := normalize(segs, func(i int) string { return fmt.Sprintf("the data record of line %d", lines[i]) })
	if err != nil {
		return nil, fmt.Errorf("the Intel HEX file: %w", err)
	}
	im.Segments = out
	return im, nil
}

// truncate shortens a line for an error message.
func truncate(b []byte) string {
	if len(b) > 16 {
		return string(b[:16]) + "…"
	}
	return string(b)
}
