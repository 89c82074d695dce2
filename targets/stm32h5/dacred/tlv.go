package dacred

import (
	"encoding/binary"
	"fmt"
)

// AppendTLV appends one TLV {u16 0, u16 type, u32 length, value}; pad
// zero-pads the value to a 4-byte multiple (the mailbox form; ST's
// password file is not padded).
func AppendTLV(b []byte, typ uint16, v []byte, pad bool) []byte {
	b = binary.LittleEndian.AppendUint16(b, 0)
	b = binary.LittleEndian.AppendUint16(b, typ)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(v)))
	b = append(b, v...)
	for pad && len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}

// item is one TLV of a file.
type item struct {
	typ   uint16
	value []byte
}

// splitTLVs splits b into TLVs. Values may be padded to 4 bytes when the
// padding is zeros and the next header is plausible; at most maxTLVs.
func splitTLVs(b []byte) ([]item, error) {
	var out []item
	for i := 0; i < len(b); {
		if len(out) == maxTLVs {
			return nil, fmt.Errorf("more than %d TLVs: %w", maxTLVs, ErrFormat)
		}
		if len(b)-i < tlvHeaderSize {
			return nil, fmt.Errorf("TLV header at byte %d truncated: %w", i, ErrFormat)
		}
		if r := binary.LittleEndian.Uint16(b[i:]); r != 0 {
			return nil, fmt.Errorf("TLV at byte %d: reserved field 0x%04X not zero: %w", i, r, ErrFormat)
		}
		typ := binary.LittleEndian.Uint16(b[i+2:])
		n := binary.LittleEndian.Uint32(b[i+4:])
		start := i + tlvHeaderSize
		if uint64(n) > uint64(len(b)-start) {
			return nil, fmt.Errorf("TLV 0x%04X at byte %d: length %d runs past the end: %w", typ, i, n, ErrFormat)
		}
		out = append(out, item{typ, b[start : start+int(n)]})
		i = start + int(n)
		// Padded layout: zeros up to the word boundary where no packed
		// header follows.
		if pad := (4 - i%4) % 4; pad > 0 && i+pad <= len(b) && zeros(b[i:i+pad]) && !plausible(b, i) {
			i += pad
		}
	}
	return out, nil
}

// plausible reports whether a TLV header at i has a zero reserved field and
// a length that fits.
func plausible(b []byte, i int) bool {
	if len(b)-i < tlvHeaderSize || b[i] != 0 || b[i+1] != 0 {
		return false
	}
	return uint64(binary.LittleEndian.Uint32(b[i+4:])) <= uint64(len(b)-i-tlvHeaderSize)
}

func zeros(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}
