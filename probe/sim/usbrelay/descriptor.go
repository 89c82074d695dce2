package usbrelay

import (
	"encoding/binary"
	"encoding/hex"
	"strings"
	"unicode/utf16"

	"github.com/stprobe/stprobe/probe/proto"
)

// USB descriptor types and the standard requests the relay answers on EP0.
const (
	descDevice    = 0x01
	descConfig    = 0x02
	descString    = 0x03
	descInterface = 0x04
	descEndpoint  = 0x05

	reqGetStatus     = 0x00
	reqGetDescriptor = 0x06
	reqGetConfig     = 0x08
	reqGetInterface  = 0x0A

	langEnglishUS = 0x0409
)

// String descriptor indexes of a simulated ST-LINK.
const (
	strManufacturer = 1
	strProduct      = 2
	strSerial       = 3
	strInterface    = 4
)

// identity is what a simulated probe shows on the bus: its USB model, its
// strings and where it sits (bus 1, device number devnum).
type identity struct {
	model        proto.Model
	manufacturer string
	product      string
	iface        string
	serial       string // 24 hex characters
	rawSerial    bool   // report the serial as 12 raw bytes, like early ST-LINK/V2 firmware
	devnum       int
}

// node is the device node libusb opens, e.g. /dev/bus/usb/001/002.
func (id identity) node() string { return busNode(id.devnum) }

// maxPacket is the bulk endpoint packet size: 512 at high speed (V3), else 64.
func (id identity) maxPacket() uint16 {
	if id.model.HighSpeed {
		return 512
	}
	return 64
}

// deviceDescriptor is the 18-byte standard device descriptor.
func (id identity) deviceDescriptor() []byte {
	b := []byte{18, descDevice, 0x00, 0x02, 0x00, 0x00, 0x00, 64, 0, 0, 0, 0, 0x00, 0x01,
		strManufacturer, strProduct, strSerial, 1}
	binary.LittleEndian.PutUint16(b[8:], proto.VendorST)
	binary.LittleEndian.PutUint16(b[10:], id.model.PID)
	return b
}

// configDescriptor is configuration 1 with interface 0 (vendor class) and its
// three bulk endpoints: command OUT, reply IN and SWO trace IN.
func (id identity) configDescriptor() []byte {
	eps := []struct {
		addr uint8
	}{{id.model.EPIn}, {id.model.EPOut}, {id.model.EPTrace}}
	b := []byte{9, descConfig, 0, 0, 1, 1, 0, 0x80, 50}
	b = append(b, 9, descInterface, 0, 0, byte(len(eps)), 0xFF, 0xFF, 0xFF, strInterface)
	for _, ep := range eps {
		e := []byte{7, descEndpoint, ep.addr, 0x02, 0, 0, 0}
		binary.LittleEndian.PutUint16(e[4:], id.maxPacket())
		b = append(b, e...)
	}
	binary.LittleEndian.PutUint16(b[2:], uint16(len(b)))
	return b
}

// stringDescriptor returns string descriptor index (0: the language list),
// or false when the probe has no such string.
func (id identity) stringDescriptor(index uint8) ([]byte, bool) {
	var units []uint16
	switch index {
	case 0:
		units = []uint16{langEnglishUS}
	case strManufacturer:
		units = utf16.Encode([]rune(id.manufacturer))
	case strProduct:
		units = utf16.Encode([]rune(id.product))
	case strInterface:
		units = utf16.Encode([]rune(id.iface))
	case strSerial:
		raw, err := hex.DecodeString(id.serial)
		if id.rawSerial && err == nil {
			// Early ST-LINK/V2 firmware puts the 12 serial bytes themselves
			// in the descriptor, one per UTF-16 unit.
			for _, c := range raw {
				units = append(units, uint16(c))
			}
		} else {
			units = utf16.Encode([]rune(id.serial))
		}
	default:
		return nil, false
	}
	b := []byte{byte(2 + 2*len(units)), descString}
	for _, u := range units {
		b = binary.LittleEndian.AppendUint16(b, u)
	}
	return b, true
}

// description renders the umockdev device description (sysfs attributes,
// udev properties and the device node contents) of the simulated probe.
func (id identity) description() string {
	r := usbRecord{
		devnum:      id.devnum,
		descriptors: append(id.deviceDescriptor(), id.configDescriptor()...),
		vid:         proto.VendorST, pid: id.model.PID, bcd: 0x0100,
		manufacturer: id.manufacturer, product: id.product,
		udevSerial: id.serial, serial: id.serial, noSerial: id.rawSerial,
		interfaces: ":ffffff:", attributes: 0x80, speed: "12",
	}
	if id.rawSerial {
		r.udevSerial = strings.ToUpper(id.serial)
	}
	if id.model.HighSpeed {
		r.speed = "480"
	}
	return r.String()
}

// productString is the USB product string a real probe of model m shows.
func productString(m proto.Model) string {
	switch m.Generation {
	case proto.GenV2:
		return "STM32 STLink"
	case proto.GenV3PW:
		return "STLINK-V3PWR"
	default:
		return "STLINK-V3"
	}
}
