package usbrelay

import (
	"context"
	"encoding/binary"
	"fmt"
	"sync"
	"unicode/utf16"

	"github.com/stprobe/stprobe/probe/sim"
)

// DFUFunction is a simulated ROM bootloader's USB DFU function, as
// *stm32h5.BootDFU implements it: descriptors, control transfers on EP0,
// and whether it is on the bus at all (the ROM only runs in some product
// states and BOOT0 levels).
type DFUFunction interface {
	Present() bool
	DeviceDescriptor() []byte
	ConfigDescriptor() []byte
	StringDescriptor(index uint8) ([]byte, bool)
	// Control answers a control transfer (8-byte setup, OUT data stage):
	// the IN data stage, or false for a stall.
	Control(setup, out []byte) ([]byte, bool)
	// Reset is a USB port reset.
	Reset()
}

// StartBus puts simulated ST-LINKs (device numbers 2, 3, ...) and then ROM
// DFU functions (the following numbers) on one simulated bus. A DFU
// function that is not Present when the bus starts is left off it, as a
// chip whose ROM bootloader does not run shows nothing on USB. Close the
// relay when done.
func StartBus(ctx context.Context, probes []Device, dfus []DFUFunction) (*Relay, error) {
	var ds []busDevice
	for i, d := range probes {
		if d.Probe == nil {
			return nil, fmt.Errorf("usbrelay: device %d has no probe", i)
		}
		id, err := identityOf(d, 2+len(ds))
		if err != nil {
			return nil, fmt.Errorf("usbrelay: device %d: %w", i, err)
		}
		ds = append(ds, newDevice(id, d.Probe, sim.OutDataLen))
	}
	for _, fn := range dfus {
		if fn != nil && fn.Present() {
			ds = append(ds, &dfuDevice{fn: fn, devnum: 2 + len(ds), changed: make(chan struct{})})
		}
	}
	if len(ds) == 0 {
		return nil, fmt.Errorf("usbrelay: nothing to put on the bus (no probe, and no DFU function whose ROM bootloader runs)")
	}
	return start(ctx, ds)
}

// dfuDevice is the USB side of one DFU function: control URBs only.
type dfuDevice struct {
	fn      DFUFunction
	devnum  int
	mu      sync.Mutex
	changed chan struct{} // never closed: a DFU device keeps no URB pending
}

func (d *dfuDevice) node() string { return busNode(d.devnum) }

func (d *dfuDevice) inFlight() (int, <-chan struct{}) { return 0, d.changed }

// serve answers one request of the relay script.
func (d *dfuDevice) serve(r request) reply {
	d.mu.Lock()
	defer d.mu.Unlock()
	gone := !d.fn.Present()
	switch r.Kind {
	case kindSubmit:
		if gone {
			return reply{Errno: errnoENODEV}
		}
		if r.URBType != urbControl {
			return reply{Completions: []completion{{ID: r.ID, Status: -errnoEPIPE}}}
		}
		return reply{Completions: []completion{d.control(r)}}
	case kindDiscard:
		return reply{Errno: errnoEINVAL}
	case kindPoll:
		return reply{}
	}
	if gone && r.Ioctl != ioctlReleaseInterface {
		return reply{Errno: errnoENODEV}
	}
	switch r.Ioctl {
	case ioctlGetCapabilities:
		return reply{Payload: binary.LittleEndian.AppendUint32(nil, usbfsCaps)}
	case ioctlConnectInfo:
		p := binary.LittleEndian.AppendUint32(nil, uint32(d.devnum))
		return reply{Payload: append(p, 0, 0, 0, 0)}
	case ioctlGetDriver, ioctlUSBFSIoctl:
		return reply{Errno: errnoENODATA}
	case ioctlReset:
		d.fn.Reset()
		return reply{}
	case ioctlClaimInterface, ioctlReleaseInterface, ioctlSetInterface, ioctlSetConfiguration,
		ioctlClearHalt, ioctlDisconnectClaim:
		return reply{}
	}
	return reply{Errno: errnoENOTTY}
}

// control passes a control URB to the function.
func (d *dfuDevice) control(r request) completion {
	if len(r.Data) < setupPacketSize {
		return completion{ID: r.ID, Status: -errnoEPIPE}
	}
	setup := r.Data[:setupPacketSize]
	out := r.Data[setupPacketSize:]
	wLength := int(binary.LittleEndian.Uint16(setup[6:]))
	in := setup[0]&0x80 != 0
	if in {
		out = nil
	} else {
		out = out[:min(len(out), wLength)]
	}
	data, ok := d.fn.Control(setup, out)
	if !ok {
		return completion{ID: r.ID, Status: -errnoEPIPE}
	}
	if !in {
		return completion{ID: r.ID, Actual: uint32(len(out))}
	}
	room := max(0, int(r.Length)-setupPacketSize)
	data = data[:min(len(data), wLength, room)]
	return completion{ID: r.ID, Actual: uint32(len(data)), Offset: setupPacketSize, Data: data}
}

// str decodes string descriptor i, or "".
func (d *dfuDevice) str(i uint8) string {
	b, ok := d.fn.StringDescriptor(i)
	if !ok || len(b) < 2 {
		return ""
	}
	var units []uint16
	for k := 2; k+1 < len(b); k += 2 {
		units = append(units, binary.LittleEndian.Uint16(b[k:]))
	}
	return string(utf16.Decode(units))
}

// description renders the umockdev record of the DFU device.
func (d *dfuDevice) description() string {
	dev := d.fn.DeviceDescriptor()
	r := usbRecord{
		devnum:      d.devnum,
		descriptors: append(append([]byte(nil), dev...), d.fn.ConfigDescriptor()...),
		interfaces:  ":fe0102:", attributes: 0xC0, speed: "12",
	}
	var iMan, iProd, iSer uint8
	if len(dev) >= 18 {
		r.vid, r.pid, r.bcd = binary.LittleEndian.Uint16(dev[8:]), binary.LittleEndian.Uint16(dev[10:]), binary.LittleEndian.Uint16(dev[12:])
		iMan, iProd, iSer = dev[14], dev[15], dev[16]
	}
	r.manufacturer, r.product, r.serial = d.str(iMan), d.str(iProd), d.str(iSer)
	r.udevSerial = r.serial
	return r.String()
}
