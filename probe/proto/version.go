package proto

import (
	"encoding/binary"
	"fmt"
	"strings"
)

// DecodeVersion decodes the 6-byte GET_VERSION reply. For hardware 3 and
// later the J/M fields are zero and the caller must ask GET_VERSION_EXT.
func DecodeVersion(b []byte) (Version, error) {
	if len(b) < 6 {
		return Version{}, fmt.Errorf("GET_VERSION reply is %d bytes, want 6", len(b))
	}
	w := binary.BigEndian.Uint16(b[0:2])
	v := Version{
		Hardware: int(w >> 12),
		VID:      binary.LittleEndian.Uint16(b[2:4]),
		PID:      binary.LittleEndian.Uint16(b[4:6]),
	}
	x, y := int(w>>6)&0x3F, int(w)&0x3F
	switch {
	case v.Hardware >= 3:
		// the real numbers come from GET_VERSION_EXT
	case IsV21PID(v.PID):
		if (x <= 22 && y == 7) || (x >= 25 && y >= 7 && y <= 12) {
			v.MSD, v.SWIM = x, y // STM8-only V2-1
		} else {
			v.JTAG, v.MSD = x, y
		}
	default:
		v.JTAG, v.SWIM = x, y
	}
	if v.Hardware < 2 || v.Hardware > 4 {
		return v, fmt.Errorf("GET_VERSION reports hardware version %d, not an ST-LINK/V2 or later", v.Hardware)
	}
	return v, nil
}

// DecodeVersionExt decodes the 12-byte GET_VERSION_EXT reply of V3 probes.
func DecodeVersionExt(b []byte) (Version, error) {
	if len(b) < 12 {
		return Version{}, fmt.Errorf("GET_VERSION_EXT reply is %d bytes, want 12", len(b))
	}
	v := Version{
		Hardware: int(b[0]),
		SWIM:     int(b[1]),
		JTAG:     int(b[2]),
		MSD:      int(b[3]),
		Bridge:   int(b[4]),
		VID:      binary.LittleEndian.Uint16(b[8:10]),
		PID:      binary.LittleEndian.Uint16(b[10:12]),
	}
	if v.Hardware < 3 || v.Hardware > 4 {
		return v, fmt.Errorf("GET_VERSION_EXT reports hardware version %d, want 3 or 4", v.Hardware)
	}
	return v, nil
}

// EncodeVersion builds the 6-byte GET_VERSION reply for v (used by the simulator).
func EncodeVersion(v Version) []byte {
	x, y := v.JTAG, v.SWIM
	switch {
	case IsV21PID(v.PID) && v.JTAG == 0 && v.SWIM != 0:
		x, y = v.MSD, v.SWIM // STM8-only V2-1
	case IsV21PID(v.PID):
		y = v.MSD
	}
	if v.Hardware >= 3 {
		x, y = 0, 0
	}
	w := uint16(v.Hardware&0xF)<<12 | uint16(x&0x3F)<<6 | uint16(y&0x3F)
	b := make([]byte, 6)
	binary.BigEndian.PutUint16(b[0:2], w)
	binary.LittleEndian.PutUint16(b[2:4], v.VID)
	binary.LittleEndian.PutUint16(b[4:6], v.PID)
	return b
}

// EncodeVersionExt builds the 12-byte GET_VERSION_EXT reply for v.
func EncodeVersionExt(v Version) []byte {
	b := make([]byte, 12)
	b[0], b[1], b[2], b[3], b[4] = byte(v.Hardware), byte(v.SWIM), byte(v.JTAG), byte(v.MSD), byte(v.Bridge)
	binary.LittleEndian.PutUint16(b[8:10], v.VID)
	binary.LittleEndian.PutUint16(b[10:12], v.PID)
	return b
}

// String renders the version the way ST writes it, e.g. V2J46S7, V2J40M27, V3J7M3.
func (v Version) String() string {
	var s strings.Builder
	fmt.Fprintf(&s, "V%dJ%d", v.Hardware, v.JTAG)
	if v.MSD != 0 {
		fmt.Fprintf(&s, "M%d", v.MSD)
	}
	if v.Bridge != 0 {
		fmt.Fprintf(&s, "B%d", v.Bridge)
	}
	if v.SWIM != 0 || (v.MSD == 0 && v.Hardware == 2) {
		fmt.Fprintf(&s, "S%d", v.SWIM)
	}
	return s.String()
}

// ParseVersion parses an ST version string such as "V2J46S7", "V2J40M27" or "V3J7M3B5S1".
func ParseVersion(s string) (Version, error) {
	var v Version
	rest := strings.ToUpper(strings.TrimSpace(s))
	if rest == "" || rest[0] != 'V' {
		return v, fmt.Errorf("firmware version %q: want a form like V2J46S7", s)
	}
	seen := map[byte]bool{}
	for len(rest) > 0 {
		letter := rest[0]
		i := 1
		for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
			i++
		}
		if i == 1 {
			return v, fmt.Errorf("firmware version %q: letter %c has no number", s, letter)
		}
		if seen[letter] {
			return v, fmt.Errorf("firmware version %q: %c given twice", s, letter)
		}
		seen[letter] = true
		var n int
		fmt.Sscanf(rest[1:i], "%d", &n)
		switch letter {
		case 'V':
			v.Hardware = n
		case 'J':
			v.JTAG = n
		case 'S':
			v.SWIM = n
		case 'M':
			v.MSD = n
		case 'B':
			v.Bridge = n
		default:
			return v, fmt.Errorf("firmware version %q: unknown field %c", s, letter)
		}
		rest = rest[i:]
	}
	if v.Hardware < 2 || v.Hardware > 4 {
		return v, fmt.Errorf("firmware version %q: hardware V%d is not supported (V2, V3 or V4)", s, v.Hardware)
	}
	return v, nil
}
