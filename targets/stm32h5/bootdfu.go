package stm32h5

import (
	"encoding/binary"
	"fmt"
	"sync"
	"unicode/utf16"

	"github.com/stprobe/stprobe/targets"
)

// USB identity of the ROM DFU (AN3156; the same on every STM32).
const (
	DFUVendorID  = 0x0483
	DFUProductID = 0xDF11
)

// Chosen USB details of the modelled H5 ROM DFU, after the H7/U5
// generation of ROMs (no H5 capture is public): bcdDevice 0x0200, product
// "DFU in FS Mode", functional descriptor attributes 0x0B, detach timeout
// 255 ms, transfer size 1024, DfuSe version 0x011A.
const (
	dfuBCDDevice    = 0x0200
	dfuAttributes   = 0x0B
	dfuDetachMs     = 255
	dfuTransferSize = 1024
	dfuVersion      = 0x011A
	dfuManufacturer = "STMicroelectronics"
	dfuProduct      = "DFU in FS Mode"
)

// DFU states and status codes (DFU 1.1) the model uses.
const (
	dfuStateIdle         = 2
	dfuStateDnloadSync   = 3
	dfuStateDnBusy       = 4
	dfuStateDnloadIdle   = 5
	dfuStateManifestSync = 6
	dfuStateManifest     = 7
	dfuStateUploadIdle   = 9
	dfuStateError        = 10

	dfuStatusOK      = 0x00
	dfuStatusTarget  = 0x01
	dfuStatusWrite   = 0x03
	dfuStatusVendor  = 0x0B
	dfuStatusStalled = 0x0F
)

// String descriptor indexes: fixed strings, then one per alternate setting.
const (
	dfuStrManufacturer = 1
	dfuStrProduct      = 2
	dfuStrSerial       = 3
	dfuStrFirstAlt     = 4
)

// BootDFU is the modelled ROM bootloader's USB DFU (DfuSe) function. It
// answers the standard requests a host makes while enumerating and the DFU
// class requests, reading memory with the DfuSe Set Address Pointer
// command and UPLOAD. Chosen: downloads of data, erase and read unprotect
// fail (dfuERROR), the model never programs anything; a zero-length
// download (leave) makes the device go away. Present is false when the
// bootloader does not run: the device is not on the bus. Safe for
// concurrent use.
type BootDFU struct {
	b *ROMBootloader

	mu      sync.Mutex
	state   byte
	status  byte
	addr    uint32
	pending []byte
	alt     uint8
	left    bool
}

// NewDFU returns the DFU function in its reset state (dfuIDLE, address
// pointer at the start of flash).
func (b *ROMBootloader) NewDFU() *BootDFU {
	return &BootDFU{b: b, state: dfuStateIdle, addr: 0x08000000}
}

// Present reports whether the DFU device is on the bus: the bootloader runs
// and the host has not made it leave.
func (d *BootDFU) Present() bool {
	d.mu.Lock()
	left := d.left
	d.mu.Unlock()
	return !left && d.b.Runs()
}

// Layouts are the DfuSe memory-layout strings, one per alternate setting.
func (d *BootDFU) Layouts() []string {
	return []string{
		fmt.Sprintf("@Internal Flash   /0x08000000/%d*08Kg", d.b.FlashKB()/8),
		// Chosen: the option-byte alternate shows the FLASH option
		// registers from FLASH_OPTSR_CUR.
		fmt.Sprintf("@Option Bytes   /0x%08X/01*176 e", targets.H5FlashRegs+targets.FlashOPTSRCur),
		fmt.Sprintf("@OTP Memory   /0x%08X/01*%d e", targets.H5OTP, targets.H5OTPSize),
	}
}

// Serial is the USB serial number: chosen after the recipe reported for
// U5 ROMs, UID word 0 + word 2 then the upper half of word 1, in hex.
func (d *BootDFU) Serial() string {
	u := d.b.UID()
	return fmt.Sprintf("%08X%04X", u[0]+u[2], u[1]>>16)
}

// DeviceDescriptor is the 18-byte standard device descriptor.
func (d *BootDFU) DeviceDescriptor() []byte {
	b := []byte{18, 0x01, 0x00, 0x02, 0x00, 0x00, 0x00, 64, 0, 0, 0, 0, 0, 0,
		dfuStrManufacturer, dfuStrProduct, dfuStrSerial, 1}
	binary.LittleEndian.PutUint16(b[8:], DFUVendorID)
	binary.LittleEndian.PutUint16(b[10:], DFUProductID)
	binary.LittleEndian.PutUint16(b[12:], dfuBCDDevice)
	return b
}

// ConfigDescriptor is configuration 1: interface 0 with one alternate
// setting per memory (class 0xFE, subclass 1, protocol 2, no endpoints),
// followed by the DFU functional descriptor.
func (d *BootDFU) ConfigDescriptor() []byte {
	b := []byte{9, 0x02, 0, 0, 1, 1, 0, 0xC0, 50}
	for i := range d.Layouts() {
		b = append(b, 9, 0x04, 0, byte(i), 0, 0xFE, 0x01, 0x02, byte(dfuStrFirstAlt+i))
	}
	f := []byte{9, 0x21, dfuAttributes, 0, 0, 0, 0, 0, 0}
	binary.LittleEndian.PutUint16(f[3:], dfuDetachMs)
	binary.LittleEndian.PutUint16(f[5:], dfuTransferSize)
	binary.LittleEndian.PutUint16(f[7:], dfuVersion)
	b = append(b, f...)
	binary.LittleEndian.PutUint16(b[2:], uint16(len(b)))
	return b
}

// StringDescriptor returns string descriptor i (0: the language list), or
// false when there is none.
func (d *BootDFU) StringDescriptor(i uint8) ([]byte, bool) {
	var s string
	layouts := d.Layouts()
	switch {
	case i == 0:
		return []byte{4, 0x03, 0x09, 0x04}, true
	case i == dfuStrManufacturer:
		s = dfuManufacturer
	case i == dfuStrProduct:
		s = dfuProduct
	case i == dfuStrSerial:
		s = d.Serial()
	case int(i) >= dfuStrFirstAlt && int(i) < dfuStrFirstAlt+len(layouts):
		s = layouts[int(i)-dfuStrFirstAlt]
	default:
		return nil, false
	}
	units := utf16.Encode([]rune(s))
	b := []byte{byte(2 + 2*len(units)), 0x03}
	for _, u := range units {
		b = binary.LittleEndian.AppendUint16(b, u)
	}
	return b, true
}

// SetAlt selects an alternate setting of interface 0.
func (d *BootDFU) SetAlt(alt uint8) error {
	if int(alt) >= len(d.Layouts()) {
		return fmt.Errorf("stm32h5: DFU has no alternate setting %d", alt)
	}
	d.mu.Lock()
	d.alt = alt
	d.mu.Unlock()
	return nil
}

// Reset puts the DFU function back to its state after a USB reset.
func (d *BootDFU) Reset() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.state, d.status, d.addr, d.pending = dfuStateIdle, dfuStatusOK, 0x08000000, nil
}

// Control answers one control transfer: setup is the 8-byte setup packet,
// out the OUT data stage. It returns the IN data stage, or ok false for a
// stall.
func (d *BootDFU) Control(setup []byte, out []byte) (in []byte, ok bool) {
	if len(setup) < 8 || !d.Present() {
		return nil, false
	}
	reqType, req := setup[0], setup[1]
	value := binary.LittleEndian.Uint16(setup[2:])
	length := int(binary.LittleEndian.Uint16(setup[6:]))
	clip := func(b []byte) []byte { return b[:min(len(b), length)] }
	switch reqType {
	case 0x80: // standard, device to host
		switch req {
		case 0x06: // GET_DESCRIPTOR
			switch value >> 8 {
			case 0x01:
				return clip(d.DeviceDescriptor()), true
			case 0x02:
				return clip(d.ConfigDescriptor()), true
			case 0x03:
				s, ok := d.StringDescriptor(uint8(value))
				return clip(s), ok
			}
			return nil, false
		case 0x00:
			return clip([]byte{0, 0}), true
		case 0x08:
			return clip([]byte{1}), true
		}
		return nil, false
	case 0x81: // standard, interface to host: GET_INTERFACE
		if req == 0x0A {
			d.mu.Lock()
			defer d.mu.Unlock()
			return clip([]byte{d.alt}), true
		}
		return nil, false
	case 0x00, 0x01: // standard OUT (SET_CONFIGURATION, SET_INTERFACE, ...)
		return nil, true
	case 0x21, 0xA1:
		d.mu.Lock()
		defer d.mu.Unlock()
		return d.class(req, value, length, out)
	}
	return nil, false
}

// class answers a DFU class request; d.mu is held.
func (d *BootDFU) class(req uint8, value uint16, length int, out []byte) ([]byte, bool) {
	fail := func(status byte) ([]byte, bool) {
		d.state, d.status = dfuStateError, status
		return nil, false
	}
	switch req {
	case 0: // DETACH: the ROM is already in DFU mode
		return nil, true
	case 1: // DNLOAD
		if d.state != dfuStateIdle && d.state != dfuStateDnloadIdle {
			return fail(dfuStatusStalled)
		}
		switch {
		case value == 0 && len(out) == 0: // leave
			d.state = dfuStateManifestSync
		case value == 0:
			d.pending, d.state = append([]byte(nil), out...), dfuStateDnloadSync
		default:
			return fail(dfuStatusWrite) // chosen: the model does not program
		}
		return nil, true
	case 2: // UPLOAD
		if d.state != dfuStateIdle && d.state != dfuStateUploadIdle {
			return fail(dfuStatusStalled)
		}
		switch {
		case value == 0:
			d.state = dfuStateUploadIdle
			return []byte{0x00, 0x21, 0x41, 0x92}[:min(4, length)], true
		case value == 1:
			return fail(dfuStatusStalled)
		}
		start := uint64(d.addr) + uint64(value-2)*dfuTransferSize
		if length == 0 || length > dfuTransferSize || start > 0xFFFFFFFF {
			return fail(dfuStatusTarget)
		}
		data, ok := d.b.read(uint32(start), length)
		if !ok {
			return fail(dfuStatusTarget)
		}
		d.state = dfuStateUploadIdle
		return data, true
	case 3: // GETSTATUS
		state := d.state
		switch d.state {
		case dfuStateDnloadSync:
			if !d.execute() {
				state = d.state
				break
			}
			state, d.state = dfuStateDnBusy, dfuStateDnloadIdle
		case dfuStateManifestSync:
			state = dfuStateManifest
			d.left = true // the ROM jumps away and drops off the bus
		}
		return []byte{d.status, 0, 0, 0, state, 0}[:min(6, length)], true
	case 4: // CLRSTATUS
		d.state, d.status = dfuStateIdle, dfuStatusOK
		return nil, true
	case 5: // GETSTATE
		return []byte{d.state}[:min(1, length)], true
	case 6: // ABORT
		d.state, d.pending = dfuStateIdle, nil
		return nil, true
	}
	return fail(dfuStatusStalled)
}

// execute runs the pending DfuSe command; false leaves the state at
// dfuERROR with the status set.
func (d *BootDFU) execute() bool {
	p := d.pending
	d.pending = nil
	switch {
	case len(p) == 5 && p[0] == 0x21: // Set Address Pointer, little-endian
		d.addr = binary.LittleEndian.Uint32(p[1:])
		return true
	case len(p) == 1 && p[0] == 0x00: // Get Commands
		return true
	case len(p) >= 1 && (p[0] == 0x41 || p[0] == 0x92):
		// chosen: erase and read unprotect fail, the model never erases
		d.state, d.status = dfuStateError, dfuStatusVendor
		return false
	}
	d.state, d.status = dfuStateError, dfuStatusStalled
	return false
}
