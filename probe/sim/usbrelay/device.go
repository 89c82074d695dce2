package usbrelay

import (
	"encoding/binary"
	"fmt"
	"sync"
	"time"

	"github.com/stprobe/stprobe/probe/proto"
	"github.com/stprobe/stprobe/probe/sim"
)

// firmware is the part of a simulated probe the relay drives: one command
// block plus its OUT data in, the reply (if the command has one) out; no
// reply to a command that has one means the probe stopped answering. An
// unplugged probe is gone from the bus.
type firmware interface {
	Handle(cmd [16]byte, out []byte) ([]byte, bool)
	Unplugged() bool
}

// costFirmware is a firmware that also tells what an exchange cost on the
// modelled clock (a *sim.Probe).
type costFirmware interface {
	HandleCost(cmd [16]byte, out []byte) ([]byte, bool, sim.Stats)
}

// setupPacketSize is the size of a control transfer's setup packet, which
// starts the buffer of every control URB.
const setupPacketSize = 8

// usbfsCaps is what USBDEVFS_GET_CAPABILITIES reports: zero-length packets,
// bulk continuation, no packet size limit, bulk scatter-gather.
const usbfsCaps = 0x0F

// pendingURB is an IN URB the host submitted that has no data yet.
type pendingURB struct {
	id     uint32
	ep     uint8
	length uint32
}

// device is the USB side of one simulated probe: it turns URBs into firmware
// calls and replies into completed URBs.
type device struct {
	id         identity
	fw         firmware
	outDataLen func(cmd [16]byte) int

	acct *sim.Accountant // accounts the client sessions of this device

	mu      sync.Mutex
	sess    *sim.Session  // the client session: from claiming the interface to releasing it
	owed    time.Duration // modelled time of commands run and not yet paced
	out     []byte        // OUT bytes received that do not form a whole command yet
	replies [][]byte      // IN messages waiting for the host, oldest first
	pending []pendingURB
	changed chan struct{} // closed and replaced whenever pending changes
}

func newDevice(id identity, fw firmware, outDataLen func([16]byte) int) *device {
	return &device{id: id, fw: fw, outDataLen: outDataLen, changed: make(chan struct{}),
		acct: sim.NewAccountant("usb-relay", sim.CostOptions{})}
}

// client names the device's client in its sessions.
func (d *device) client() string { return fmt.Sprintf("usb bus 001 device %03d", d.id.devnum) }

// beginLocked starts a client session unless one is open.
func (d *device) beginLocked() {
	if d.sess == nil {
		d.sess = d.acct.Begin(d.client())
	}
}

// endLocked ends the open client session, if any.
func (d *device) endLocked() {
	if d.sess != nil {
		d.sess.End()
		d.sess = nil
	}
}

// end ends the open client session, if any (the relay closes).
func (d *device) end() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.endLocked()
}

// takeOwed returns the modelled time of the commands run since the last
// call, for pacing.
func (d *device) takeOwed() time.Duration {
	d.mu.Lock()
	defer d.mu.Unlock()
	owed := d.owed
	d.owed = 0
	return owed
}

// serve answers one request of the relay script.
func (d *device) serve(r request) reply {
	d.mu.Lock()
	defer d.mu.Unlock()
	before := len(d.pending)
	defer func() {
		if len(d.pending) != before {
			close(d.changed)
			d.changed = make(chan struct{})
		}
	}()
	if d.sess != nil && r.Kind != kindPoll {
		d.sess.Request()
	}
	switch r.Kind {
	case kindSubmit:
		return d.submit(r)
	case kindDiscard:
		return d.discard(r.ID)
	case kindPoll:
		return d.poll()
	default:
		return d.ioctl(r.Ioctl)
	}
}

// submit takes a new URB.
func (d *device) submit(r request) reply {
	if d.fw.Unplugged() {
		return reply{Errno: errnoENODEV}
	}
	switch {
	case r.URBType == urbControl:
		return reply{Completions: []completion{d.control(r)}}
	case r.URBType != urbBulk:
		return reply{Errno: errnoEINVAL}
	case r.Endpoint&0x80 != 0:
		if r.Endpoint != d.id.model.EPIn && r.Endpoint != d.id.model.EPTrace {
			return reply{Completions: []completion{{ID: r.ID, Status: -errnoEPIPE}}}
		}
		d.pending = append(d.pending, pendingURB{id: r.ID, ep: r.Endpoint, length: r.Length})
		return reply{Completions: d.pump()}
	case r.Endpoint != d.id.model.EPOut:
		return reply{Completions: []completion{{ID: r.ID, Status: -errnoEPIPE}}}
	}
	data := r.Data[:min(len(r.Data), int(r.Length))]
	done := completion{ID: r.ID, Actual: uint32(len(data))}
	d.out = append(d.out, data...)
	d.runCommands()
	return reply{Completions: append([]completion{done}, d.pump()...)}
}

// runCommands runs every complete command block (with its OUT data) received.
func (d *device) runCommands() {
	for len(d.out) >= proto.CommandSize {
		var cmd [16]byte
		copy(cmd[:], d.out)
		need := proto.CommandSize + d.outDataLen(cmd)
		if len(d.out) < need {
			return
		}
		data := append([]byte(nil), d.out[proto.CommandSize:need]...)
		d.out = append(d.out[:0], d.out[need:]...)
		var answer []byte
		var ok bool
		if cf, costs := d.fw.(costFirmware); costs {
			var cost sim.Stats
			answer, ok, cost = cf.HandleCost(cmd, data)
			if cost.Commands > 0 {
				if d.sess == nil { // a host that never claimed the interface
					d.beginLocked()
					d.sess.Request()
				}
				d.sess.Add(d.id.serial, cmd, cost)
				d.owed += cost.Wire
			}
		} else {
			answer, ok = d.fw.Handle(cmd, data)
		}
		if ok {
			d.replies = append(d.replies, answer)
		}
	}
}

// pump completes pending reply-endpoint URBs with queued replies. A URB
// takes at most one reply (a transfer ends with the reply's short packet);
// a reply longer than the URB stays queued for the next one.
func (d *device) pump() []completion {
	var done []completion
	for len(d.replies) > 0 {
		i := d.firstPending(d.id.model.EPIn)
		if i < 0 {
			break
		}
		u := d.pending[i]
		d.pending = append(d.pending[:i], d.pending[i+1:]...)
		head := d.replies[0]
		n := min(len(head), int(u.length))
		done = append(done, completion{ID: u.id, Actual: uint32(n), Data: head[:n]})
		if n == len(head) {
			d.replies = d.replies[1:]
		} else {
			d.replies[0] = head[n:]
		}
	}
	return done
}

func (d *device) firstPending(ep uint8) int {
	for i, u := range d.pending {
		if u.ep == ep {
			return i
		}
	}
	return -1
}

// discard cancels an in-flight URB: it is handed back with -ENOENT, which
// libusb reports as a cancelled transfer.
func (d *device) discard(id uint32) reply {
	for i, u := range d.pending {
		if u.id == id {
			d.pending = append(d.pending[:i], d.pending[i+1:]...)
			return reply{Completions: []completion{{ID: id, Status: -errnoENOENT}}}
		}
	}
	return reply{Errno: errnoEINVAL}
}

// poll runs when the host reaps with nothing completed: after an unplug every
// in-flight URB ends with -ENODEV, which libusb reports as "no device".
func (d *device) poll() reply {
	if !d.fw.Unplugged() {
		return reply{}
	}
	var done []completion
	for _, u := range d.pending {
		done = append(done, completion{ID: u.id, Status: -errnoENODEV})
	}
	d.pending = nil
	return reply{Completions: done}
}

// ioctl answers the usbdevfs ioctls that carry no URB.
func (d *device) ioctl(nr uint32) reply {
	if d.fw.Unplugged() && nr != ioctlReleaseInterface {
		return reply{Errno: errnoENODEV}
	}
	switch nr {
	case ioctlGetCapabilities:
		return reply{Payload: binary.LittleEndian.AppendUint32(nil, usbfsCaps)}
	case ioctlConnectInfo:
		p := binary.LittleEndian.AppendUint32(nil, uint32(d.id.devnum))
		return reply{Payload: append(p, 0, 0, 0, 0)}
	case ioctlGetDriver, ioctlUSBFSIoctl:
		// no kernel driver is bound to the interface: nothing to detach
		return reply{Errno: errnoENODATA}
	case ioctlReset:
		d.out, d.replies = nil, nil
		return reply{}
	case ioctlClaimInterface, ioctlDisconnectClaim:
		if d.sess == nil {
			d.beginLocked()
			d.sess.Request()
		}
		return reply{}
	case ioctlReleaseInterface:
		d.endLocked()
		return reply{}
	case ioctlSetInterface, ioctlSetConfiguration, ioctlClearHalt:
		return reply{}
	}
	return reply{Errno: errnoENOTTY}
}

// control answers a control URB: the standard requests a host makes while
// enumerating and reading strings. Anything else stalls, like on a real probe.
func (d *device) control(r request) completion {
	stall := completion{ID: r.ID, Status: -errnoEPIPE}
	if len(r.Data) < setupPacketSize {
		return stall
	}
	bmRequestType, bRequest := r.Data[0], r.Data[1]
	wValue := binary.LittleEndian.Uint16(r.Data[2:])
	wLength := int(binary.LittleEndian.Uint16(r.Data[6:]))
	if bmRequestType&0x60 != 0 { // class or vendor request
		return stall
	}
	if bmRequestType&0x80 == 0 { // standard OUT request: accepted
		return completion{ID: r.ID, Actual: uint32(max(0, min(len(r.Data), int(r.Length))-setupPacketSize))}
	}
	var data []byte
	switch bRequest {
	case reqGetDescriptor:
		switch wValue >> 8 {
		case descDevice:
			data = d.id.deviceDescriptor()
		case descConfig:
			data = d.id.configDescriptor()
		case descString:
			s, ok := d.id.stringDescriptor(uint8(wValue))
			if !ok {
				return stall
			}
			data = s
		default:
			return stall
		}
	case reqGetStatus:
		data = []byte{0, 0}
	case reqGetConfig:
		data = []byte{1}
	case reqGetInterface:
		data = []byte{0}
	default:
		return stall
	}
	room := max(0, int(r.Length)-setupPacketSize) // the URB's data stage, whatever wLength says
	data = data[:min(len(data), wLength, room)]
	return completion{ID: r.ID, Actual: uint32(len(data)), Offset: setupPacketSize, Data: data}
}

// inFlight is the number of URBs the host has submitted and not got back,
// and a channel closed when that changes.
func (d *device) inFlight() (int, <-chan struct{}) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.pending), d.changed
}
