package dfu

import (
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf16"

	"github.com/stprobe/stprobe/boot"
)

// DeviceDescriptor is the part of the standard device descriptor the probe uses.
type DeviceDescriptor struct {
	VendorID, ProductID, BCDDevice uint16
	// String indexes (0: none).
	Manufacturer, Product, Serial uint8
}

// ParseDeviceDescriptor decodes an 18-byte device descriptor.
func ParseDeviceDescriptor(b []byte) (DeviceDescriptor, error) {
	if len(b) < 18 || b[0] < 18 || b[1] != 0x01 {
		return DeviceDescriptor{}, fmt.Errorf("device descriptor % X: want 18 bytes of type 1", b)
	}
	return DeviceDescriptor{
		VendorID: binary.LittleEndian.Uint16(b[8:]), ProductID: binary.LittleEndian.Uint16(b[10:]),
		BCDDevice: binary.LittleEndian.Uint16(b[12:]), Manufacturer: b[14], Product: b[15], Serial: b[16],
	}, nil
}

// Alt is one alternate setting of a DFU interface.
type Alt struct {
	Interface, Alt uint8
	StringIndex    uint8 // iInterface: the DfuSe memory layout
}

// Functional is the DFU functional descriptor (type 0x21).
type Functional struct {
	Attributes   uint8
	DetachMs     uint16
	TransferSize uint16
	Version      uint16 // bcdDFUVersion; 0x011A = DfuSe
}

// Config is what the probe takes from a configuration descriptor: the DFU
// (class 0xFE, subclass 1) alternate settings and the functional descriptor.
type Config struct {
	Alts       []Alt
	Functional Functional
	HasFunc    bool
}

// ParseConfig walks a whole configuration descriptor. Descriptors it does
// not need are skipped; a descriptor that runs past the end is an error.
func ParseConfig(b []byte) (Config, error) {
	var c Config
	if len(b) < 9 || b[1] != 0x02 {
		return c, fmt.Errorf("configuration descriptor % X: want type 2, at least 9 bytes", b)
	}
	inDFU := false
	for i := 0; i < len(b); {
		n := int(b[i])
		if n < 2 || i+n > len(b) {
			return c, fmt.Errorf("configuration descriptor: descriptor at byte %d has length %d, %d bytes left", i, n, len(b)-i)
		}
		d := b[i : i+n]
		switch d[1] {
		case 0x04: // interface
			if n < 9 {
				return c, fmt.Errorf("configuration descriptor: interface descriptor of %d bytes", n)
			}
			inDFU = d[5] == 0xFE && d[6] == 0x01
			if inDFU {
				c.Alts = append(c.Alts, Alt{Interface: d[2], Alt: d[3], StringIndex: d[8]})
			}
		case 0x21: // DFU functional
			if inDFU && n >= 7 {
				c.Functional = Functional{Attributes: d[2], DetachMs: binary.LittleEndian.Uint16(d[3:]),
					TransferSize: binary.LittleEndian.Uint16(d[5:])}
				if n >= 9 {
					c.Functional.Version = binary.LittleEndian.Uint16(d[7:])
				}
				c.HasFunc = true
			}
		}
		i += n
	}
	return c, nil
}

// ParseString decodes a UTF-16LE string descriptor.
func ParseString(b []byte) (string, error) {
	if len(b) < 2 || b[1] != 0x03 || int(b[0]) > len(b) || b[0]%2 != 0 {
		return "", fmt.Errorf("string descriptor % X: want type 3 with an even length", b)
	}
	var u []uint16
	for i := 2; i+1 < int(b[0]); i += 2 {
		u = append(u, binary.LittleEndian.Uint16(b[i:]))
	}
	return string(utf16.Decode(u)), nil
}

// ParseLayout decodes a DfuSe memory-layout string such as
// "@Internal Flash  /0x08000000/04*016Kg,01*064Kg". Only the first address
// group is kept; units are B (or space), K and M; the type letter is a
// bit mask: bit 0 readable, bit 1 erasable, bit 2 writable ('a' = 1).
func ParseLayout(alt int, s string) (boot.Memory, error) {
	m := boot.Memory{Alt: alt, Raw: s}
	if !strings.HasPrefix(s, "@") {
		return m, fmt.Errorf("layout %q: does not start with @", s)
	}
	parts := strings.Split(s[1:], "/")
	if len(parts) < 3 {
		return m, fmt.Errorf("layout %q: want @name/0xSTART/COUNT*SIZE[unit]type", s)
	}
	m.Name = strings.TrimSpace(parts[0])
	start, err := strconv.ParseUint(strings.TrimSpace(parts[1]), 0, 32)
	if err != nil {
		return m, fmt.Errorf("layout %q: start address: %w", s, err)
	}
	m.Start = uint32(start)
	for _, g := range strings.Split(parts[2], ",") {
		sec, err := parseSectors(strings.TrimLeft(g, " "))
		if err != nil {
			return m, fmt.Errorf("layout %q: %w", s, err)
		}
		m.Sectors = append(m.Sectors, sec)
	}
	return m, nil
}

// parseSectors decodes "COUNT*SIZE[unit]type", e.g. "64*08Kg", "01*016 g".
func parseSectors(g string) (boot.Sectors, error) {
	count, rest, ok := strings.Cut(g, "*")
	if !ok || len(rest) < 2 {
		return boot.Sectors{}, fmt.Errorf("sector group %q: want COUNT*SIZE[unit]type", g)
	}
	n, err := strconv.Atoi(strings.TrimSpace(count))
	if err != nil || n < 0 || n > 1<<20 {
		return boot.Sectors{}, fmt.Errorf("sector group %q: count", g)
	}
	typ := rest[len(rest)-1]
	rest = rest[:len(rest)-1]
	mult := 1
	if k := len(rest) - 1; k >= 0 {
		switch rest[k] {
		case 'K':
			mult, rest = 1024, rest[:k]
		case 'M':
			mult, rest = 1024*1024, rest[:k]
		case 'B', ' ':
			rest = rest[:k]
		}
	}
	size, err := strconv.Atoi(strings.TrimSpace(rest))
	if err != nil || size < 0 || size > 1<<20 {
		return boot.Sectors{}, fmt.Errorf("sector group %q: size", g)
	}
	if typ < 'a' || typ > 'g' {
		return boot.Sectors{}, fmt.Errorf("sector group %q: type letter %q not a…g", g, typ)
	}
	bits := typ - 'a' + 1
	return boot.Sectors{Count: n, Size: size * mult, Read: bits&1 != 0, Erase: bits&2 != 0, Write: bits&4 != 0}, nil
}

// Status is a GETSTATUS answer.
type Status struct {
	Status      uint8
	PollTimeout uint32 // ms
	State       uint8
	StringIndex uint8
}

// ParseStatus decodes the 6-byte GETSTATUS answer.
func ParseStatus(b []byte) (Status, error) {
	if len(b) != 6 {
		return Status{}, fmt.Errorf("GETSTATUS answer % X: want 6 bytes", b)
	}
	return Status{Status: b[0], PollTimeout: uint32(b[1]) | uint32(b[2])<<8 | uint32(b[3])<<16, State: b[4], StringIndex: b[5]}, nil
}

// StateName names a DFU state.
func StateName(s uint8) string {
	names := []string{"appIDLE", "appDETACH", "dfuIDLE", "dfuDNLOAD-SYNC", "dfuDNBUSY", "dfuDNLOAD-IDLE",
		"dfuMANIFEST-SYNC", "dfuMANIFEST", "dfuMANIFEST-WAIT-RESET", "dfuUPLOAD-IDLE", "dfuERROR"}
	if int(s) < len(names) {
		return names[s]
	}
	return fmt.Sprintf("state %d", s)
}
