package usbrelay

import (
	"bytes"
	"encoding/binary"
	"strings"
	"testing"

	"github.com/stprobe/stprobe/probe/proto"
)

// echoFirmware answers GET_VERSION with a fixed reply, WRITEMEM_8 (with
// OUT data) with nothing, and READMEM_8 with the data last written; it
// never answers 0xF3 (to model a stalled probe).
type echoFirmware struct {
	mem       []byte
	commands  [][16]byte
	unplugged bool
}

func (f *echoFirmware) Handle(cmd [16]byte, out []byte) ([]byte, bool) {
	f.commands = append(f.commands, cmd)
	switch {
	case cmd[0] == proto.CmdGetVersion:
		return []byte{0x2B, 0x87, 0x83, 0x04, 0x48, 0x37}, true
	case cmd[0] == proto.CmdDebug && cmd[1] == proto.DebugWriteMem8:
		f.mem = append([]byte(nil), out...)
		return nil, false
	case cmd[0] == proto.CmdDebug && cmd[1] == proto.DebugReadMem8:
		return append([]byte(nil), f.mem...), true
	case cmd[0] == proto.CmdDFU:
		return nil, false
	}
	return []byte{0x80, 0x00}, true
}

func (f *echoFirmware) Unplugged() bool { return f.unplugged }

func echoOutDataLen(cmd [16]byte) int {
	if cmd[0] == proto.CmdDebug && cmd[1] == proto.DebugWriteMem8 {
		return int(binary.LittleEndian.Uint16(cmd[6:]))
	}
	return 0
}

func testIdentity(t *testing.T, pid uint16) identity {
	t.Helper()
	m, ok := proto.ModelByPID(pid)
	if !ok {
		t.Fatalf("no model for PID %#04x", pid)
	}
	return identity{model: m, manufacturer: "STMicroelectronics", product: productString(m),
		iface: "ST Link", serial: "0670FF485550755187121723", devnum: 2}
}

func newTestDevice(t *testing.T, pid uint16) (*device, *echoFirmware) {
	fw := &echoFirmware{}
	return newDevice(testIdentity(t, pid), fw, echoOutDataLen), fw
}

func bulkOut(id uint32, ep uint8, data []byte) request {
	return request{Kind: kindSubmit, ID: id, Ioctl: 0x8038550A, URBType: urbBulk, Endpoint: ep, Length: uint32(len(data)), Data: data}
}

func bulkIn(id uint32, ep uint8, n int) request {
	return request{Kind: kindSubmit, ID: id, Ioctl: 0x8038550A, URBType: urbBulk, Endpoint: ep, Length: uint32(n)}
}

func controlIn(id uint32, bmRequestType, bRequest uint8, wValue, wIndex, wLength uint16) request {
	setup := []byte{bmRequestType, bRequest, 0, 0, 0, 0, 0, 0}
	binary.LittleEndian.PutUint16(setup[2:], wValue)
	binary.LittleEndian.PutUint16(setup[4:], wIndex)
	binary.LittleEndian.PutUint16(setup[6:], wLength)
	data := append(setup, make([]byte, wLength)...)
	return request{Kind: kindSubmit, ID: id, URBType: urbControl, Length: uint32(len(data)), Data: data}
}

func command(b ...byte) []byte {
	c := make([]byte, 16)
	copy(c, b)
	return c
}

func TestDescriptorsPerModel(t *testing.T) {
	for _, m := range proto.Models {
		t.Run(m.Name, func(t *testing.T) {
			id := testIdentity(t, m.PID)
			dd := id.deviceDescriptor()
			if len(dd) != 18 || dd[0] != 18 || dd[1] != descDevice {
				t.Fatalf("device descriptor % x", dd)
			}
			if vid, pid := binary.LittleEndian.Uint16(dd[8:]), binary.LittleEndian.Uint16(dd[10:]); vid != proto.VendorST || pid != m.PID {
				t.Errorf("VID:PID %04x:%04x, want %04x:%04x", vid, pid, proto.VendorST, m.PID)
			}
			cd := id.configDescriptor()
			if got := int(binary.LittleEndian.Uint16(cd[2:])); got != len(cd) || len(cd) != 9+9+3*7 {
				t.Fatalf("config descriptor total length %d, is %d bytes", got, len(cd))
			}
			wantPacket := uint16(64)
			if m.HighSpeed {
				wantPacket = 512
			}
			var eps []uint8
			for off := 18; off < len(cd); off += 7 {
				if cd[off+1] != descEndpoint || cd[off+3] != 0x02 {
					t.Fatalf("endpoint descriptor % x is not a bulk endpoint", cd[off:off+7])
				}
				eps = append(eps, cd[off+2])
				if p := binary.LittleEndian.Uint16(cd[off+4:]); p != wantPacket {
					t.Errorf("endpoint %#02x max packet %d, want %d", cd[off+2], p, wantPacket)
				}
			}
			if want := []uint8{m.EPIn, m.EPOut, m.EPTrace}; !bytes.Equal(eps, want) {
				t.Errorf("endpoints % x, want % x", eps, want)
			}
			desc := id.description()
			for _, want := range []string{
				"P: /devices/pci0000:00/0000:00:14.0/usb1/1-1\n",
				"N: bus/usb/001/002=",
				"E: ID_MODEL_ID=" + strings.ToLower(hexPID(m.PID)) + "\n",
				"E: ID_SERIAL_SHORT=0670FF485550755187121723\n",
				"H: descriptors=" + strings.ToUpper(hexOf(append(dd, cd...))) + "\n",
				`A: bConfigurationValue=1\n` + "\n",
			} {
				if !strings.Contains(desc, want) {
					t.Errorf("description lacks %q:\n%s", want, desc)
				}
			}
		})
	}
}

func hexPID(pid uint16) string { return hexOf([]byte{byte(pid >> 8), byte(pid)}) }

func hexOf(b []byte) string {
	const digits = "0123456789abcdef"
	var s strings.Builder
	for _, c := range b {
		s.WriteByte(digits[c>>4])
		s.WriteByte(digits[c&15])
	}
	return s.String()
}

func TestStringDescriptors(t *testing.T) {
	id := testIdentity(t, 0x3748)
	utf16le := func(s string) []byte {
		b := []byte{byte(2 + 2*len(s)), descString}
		for _, c := range s {
			b = append(b, byte(c), 0)
		}
		return b
	}
	tests := []struct {
		name  string
		raw   bool
		index uint8
		want  []byte
	}{
		{"languages", false, 0, []byte{4, 3, 0x09, 0x04}},
		{"manufacturer", false, strManufacturer, utf16le("STMicroelectronics")},
		{"product", false, strProduct, utf16le("STM32 STLink")},
		{"serial", false, strSerial, utf16le("0670FF485550755187121723")},
		{"raw serial", true, strSerial, []byte{26, 3, 0x06, 0, 0x70, 0, 0xFF, 0, 0x48, 0, 0x55, 0, 0x50, 0,
			0x75, 0, 0x51, 0, 0x87, 0, 0x12, 0, 0x17, 0, 0x23, 0}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			id.rawSerial = tc.raw
			got, ok := id.stringDescriptor(tc.index)
			if !ok || !bytes.Equal(got, tc.want) {
				t.Errorf("string %d = % x, %v; want % x", tc.index, got, ok, tc.want)
			}
		})
	}
	if _, ok := id.stringDescriptor(9); ok {
		t.Error("string 9 exists")
	}
}

func TestCommandAndReply(t *testing.T) {
	d, fw := newTestDevice(t, 0x3748)
	rep := d.serve(bulkOut(1, 0x02, command(proto.CmdGetVersion)))
	if rep.Errno != 0 || len(rep.Completions) != 1 || rep.Completions[0].ID != 1 || rep.Completions[0].Actual != 16 {
		t.Fatalf("OUT submit: %+v", rep)
	}
	rep = d.serve(bulkIn(2, 0x81, 6))
	if len(rep.Completions) != 1 || rep.Completions[0].ID != 2 || rep.Completions[0].Actual != 6 ||
		!bytes.Equal(rep.Completions[0].Data, []byte{0x2B, 0x87, 0x83, 0x04, 0x48, 0x37}) {
		t.Fatalf("IN submit: %+v", rep)
	}
	if len(fw.commands) != 1 {
		t.Errorf("firmware ran %d commands, want 1", len(fw.commands))
	}
}

func TestReadBeforeCommandCompletesOnCommand(t *testing.T) {
	d, _ := newTestDevice(t, 0x374B)
	if rep := d.serve(bulkIn(7, 0x81, 2)); len(rep.Completions) != 0 || inFlight(d) != 1 {
		t.Fatalf("IN with no reply queued completed: %+v", rep)
	}
	rep := d.serve(bulkOut(8, 0x01, command(proto.CmdGetCurrentMode)))
	if len(rep.Completions) != 2 || rep.Completions[0].ID != 8 || rep.Completions[1].ID != 7 ||
		!bytes.Equal(rep.Completions[1].Data, []byte{0x80, 0x00}) {
		t.Fatalf("completions %+v, want the OUT then the waiting IN", rep.Completions)
	}
	if inFlight(d) != 0 {
		t.Errorf("%d URBs still in flight", inFlight(d))
	}
}

func TestOutDataAcrossURBs(t *testing.T) {
	d, fw := newTestDevice(t, 0x374E)
	wr := command(proto.CmdDebug, proto.DebugWriteMem8, 0, 0, 0, 0x20, 5, 0)
	d.serve(bulkOut(1, 0x01, wr))
	if len(fw.commands) != 0 {
		t.Fatal("command ran before its OUT data arrived")
	}
	d.serve(bulkOut(2, 0x01, []byte{1, 2}))
	d.serve(bulkOut(3, 0x01, []byte{3, 4, 5}))
	if len(fw.commands) != 1 || !bytes.Equal(fw.mem, []byte{1, 2, 3, 4, 5}) {
		t.Fatalf("firmware got %d commands, data % x", len(fw.commands), fw.mem)
	}
	d.serve(bulkOut(4, 0x01, command(proto.CmdDebug, proto.DebugReadMem8)))
	// A reply longer than the read stays queued for the next read.
	first := d.serve(bulkIn(5, 0x81, 3))
	second := d.serve(bulkIn(6, 0x81, 64))
	if len(first.Completions) != 1 || !bytes.Equal(first.Completions[0].Data, []byte{1, 2, 3}) ||
		len(second.Completions) != 1 || !bytes.Equal(second.Completions[0].Data, []byte{4, 5}) {
		t.Fatalf("reads got %+v then %+v", first, second)
	}
}

func TestStalledReadIsDiscarded(t *testing.T) {
	d, _ := newTestDevice(t, 0x3748)
	d.serve(bulkOut(1, 0x02, command(proto.CmdDFU, 0x07)))
	if rep := d.serve(bulkIn(2, 0x81, 2)); len(rep.Completions) != 0 {
		t.Fatalf("unanswered read completed: %+v", rep)
	}
	if rep := d.serve(request{Kind: kindPoll}); len(rep.Completions) != 0 {
		t.Fatalf("poll completed a read: %+v", rep)
	}
	rep := d.serve(request{Kind: kindDiscard, ID: 2, Ioctl: ioctlDiscardURB})
	if rep.Errno != 0 || len(rep.Completions) != 1 || rep.Completions[0].Status != -errnoENOENT {
		t.Fatalf("discard: %+v", rep)
	}
	if rep := d.serve(request{Kind: kindDiscard, ID: 2, Ioctl: ioctlDiscardURB}); rep.Errno != errnoEINVAL {
		t.Errorf("second discard errno %d, want EINVAL", rep.Errno)
	}
	// The next command is answered normally.
	d.serve(bulkOut(3, 0x02, command(proto.CmdGetVersion)))
	if rep := d.serve(bulkIn(4, 0x81, 6)); len(rep.Completions) != 1 || rep.Completions[0].Actual != 6 {
		t.Fatalf("read after the stall: %+v", rep)
	}
}

func TestUnplug(t *testing.T) {
	d, fw := newTestDevice(t, 0x3748)
	d.serve(bulkIn(1, 0x81, 2))
	fw.unplugged = true
	if rep := d.serve(bulkOut(2, 0x02, command(proto.CmdGetVersion))); rep.Errno != errnoENODEV {
		t.Errorf("submit after unplug: errno %d, want ENODEV", rep.Errno)
	}
	rep := d.serve(request{Kind: kindPoll})
	if len(rep.Completions) != 1 || rep.Completions[0].ID != 1 || rep.Completions[0].Status != -errnoENODEV {
		t.Errorf("poll after unplug: %+v, want the read back with -ENODEV", rep)
	}
	if rep := d.serve(request{Kind: kindIoctl, Ioctl: ioctlClaimInterface}); rep.Errno != errnoENODEV {
		t.Errorf("claim after unplug: errno %d, want ENODEV", rep.Errno)
	}
	if rep := d.serve(request{Kind: kindIoctl, Ioctl: ioctlReleaseInterface}); rep.Errno != 0 {
		t.Errorf("release after unplug: errno %d, want 0", rep.Errno)
	}
}

func TestControlRequests(t *testing.T) {
	d, _ := newTestDevice(t, 0x374F)
	tests := []struct {
		name       string
		req        request
		wantStatus int32
		want       []byte
	}{
		{"device descriptor", controlIn(1, 0x80, reqGetDescriptor, descDevice<<8, 0, 18), 0, d.id.deviceDescriptor()},
		{"config descriptor head", controlIn(2, 0x80, reqGetDescriptor, descConfig<<8, 0, 9), 0, d.id.configDescriptor()[:9]},
		{"serial", controlIn(3, 0x80, reqGetDescriptor, descString<<8|strSerial, langEnglishUS, 255), 0, mustString(t, d.id, strSerial)},
		{"product truncated", controlIn(4, 0x80, reqGetDescriptor, descString<<8|strProduct, langEnglishUS, 4), 0, mustString(t, d.id, strProduct)[:4]},
		{"missing string", controlIn(5, 0x80, reqGetDescriptor, descString<<8|9, langEnglishUS, 255), -errnoEPIPE, nil},
		{"configuration", controlIn(6, 0x80, reqGetConfig, 0, 0, 1), 0, []byte{1}},
		{"vendor request", controlIn(7, 0xC0, 0x01, 0, 0, 8), -errnoEPIPE, nil},
		{"short setup", request{Kind: kindSubmit, ID: 8, URBType: urbControl, Length: 4, Data: []byte{0x80, 6, 0, 1}}, -errnoEPIPE, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rep := d.serve(tc.req)
			if rep.Errno != 0 || len(rep.Completions) != 1 {
				t.Fatalf("reply %+v", rep)
			}
			c := rep.Completions[0]
			if c.ID != tc.req.ID || c.Status != tc.wantStatus || !bytes.Equal(c.Data, tc.want) {
				t.Errorf("completion %+v, want status %d data % x", c, tc.wantStatus, tc.want)
			}
			if c.Status == 0 && (c.Offset != 8 || int(c.Actual) != len(tc.want)) {
				t.Errorf("offset %d actual %d, want 8 and %d", c.Offset, c.Actual, len(tc.want))
			}
		})
	}
}

func mustString(t *testing.T, id identity, index uint8) []byte {
	t.Helper()
	b, ok := id.stringDescriptor(index)
	if !ok {
		t.Fatalf("no string %d", index)
	}
	return b
}

func TestIoctls(t *testing.T) {
	d, _ := newTestDevice(t, 0x3748)
	tests := []struct {
		nr      uint32
		errno   int32
		payload []byte
	}{
		{ioctlGetCapabilities, 0, []byte{usbfsCaps, 0, 0, 0}},
		{ioctlClaimInterface, 0, nil},
		{ioctlSetInterface, 0, nil},
		{ioctlGetDriver, errnoENODATA, nil},
		{ioctlUSBFSIoctl, errnoENODATA, nil},
		{0x1234, errnoENOTTY, nil},
	}
	for _, tc := range tests {
		rep := d.serve(request{Kind: kindIoctl, Ioctl: tc.nr})
		if rep.Errno != tc.errno || !bytes.Equal(rep.Payload, tc.payload) {
			t.Errorf("ioctl %#x: errno %d payload % x, want %d % x", tc.nr, rep.Errno, rep.Payload, tc.errno, tc.payload)
		}
	}
}

func TestWrongEndpointsStall(t *testing.T) {
	d, _ := newTestDevice(t, 0x3748)
	for _, req := range []request{bulkOut(1, 0x01, command(proto.CmdGetVersion)), bulkIn(2, 0x82, 2)} {
		rep := d.serve(req)
		if len(rep.Completions) != 1 || rep.Completions[0].Status != -errnoEPIPE {
			t.Errorf("endpoint %#02x: %+v, want a stall", req.Endpoint, rep)
		}
	}
	// The trace endpoint accepts reads that stay pending.
	if rep := d.serve(bulkIn(3, 0x83, 64)); len(rep.Completions) != 0 || inFlight(d) != 1 {
		t.Errorf("trace read: %+v", rep)
	}
}

func TestWireRoundTrip(t *testing.T) {
	r := request{Kind: kindSubmit, Device: 1, ID: 0xDEADBEEF, Ioctl: 0x8038550A, URBType: urbBulk, Endpoint: 0x81, Length: 64, Data: []byte{1, 2, 3}}
	got, err := decodeRequest(encodeRequest(r))
	if err != nil {
		t.Fatal(err)
	}
	if got.Kind != r.Kind || got.Device != r.Device || got.ID != r.ID || got.Ioctl != r.Ioctl ||
		got.URBType != r.URBType || got.Endpoint != r.Endpoint || got.Length != r.Length || !bytes.Equal(got.Data, r.Data) {
		t.Errorf("round trip %+v, want %+v", got, r)
	}
	var buf bytes.Buffer
	if err := writeFrame(&buf, []byte("hello")); err != nil {
		t.Fatal(err)
	}
	if b, err := readFrame(&buf); err != nil || string(b) != "hello" {
		t.Errorf("frame %q, %v", b, err)
	}
	buf.Write([]byte{0xFF, 0xFF, 0xFF, 0x7F})
	if _, err := readFrame(&buf); err == nil {
		t.Error("an oversized frame was accepted")
	}
	for _, bad := range [][]byte{nil, {1, 2, 3}, encodeRequest(request{Kind: 9})} {
		if _, err := decodeRequest(bad); err == nil {
			t.Errorf("request % x was accepted", bad)
		}
	}
}

// FuzzServe feeds arbitrary relay requests to a device: it must never panic,
// and every completion must name a URB and fit its buffer.
func FuzzServe(f *testing.F) {
	f.Add(encodeRequest(bulkOut(1, 0x02, command(proto.CmdGetVersion))), encodeRequest(bulkIn(2, 0x81, 6)))
	f.Add(encodeRequest(controlIn(1, 0x80, reqGetDescriptor, descString<<8|strSerial, langEnglishUS, 255)), encodeRequest(request{Kind: kindPoll}))
	f.Add(encodeRequest(bulkIn(5, 0x81, 2)), encodeRequest(request{Kind: kindDiscard, ID: 5}))
	f.Add(encodeRequest(bulkOut(1, 0x02, command(proto.CmdDebug, proto.DebugWriteMem8, 0, 0, 0, 0, 0xFF, 0xFF))), []byte{3, 0, 0, 0, 0, 0, 0x1A, 0x55, 0x04, 0x80})
	f.Fuzz(func(t *testing.T, a, b []byte) {
		d, _ := newTestDevice(t, 0x3748)
		lengths := map[uint32]uint32{}
		for _, body := range [][]byte{a, b} {
			req, err := decodeRequest(body)
			if err != nil {
				continue
			}
			if req.Kind == kindSubmit {
				lengths[req.ID] = req.Length
			}
			rep := d.serve(req)
			for _, c := range rep.Completions {
				n, ok := lengths[c.ID]
				if !ok {
					t.Fatalf("completion of URB %d that was never submitted", c.ID)
				}
				if uint64(c.Offset)+uint64(len(c.Data)) > uint64(n) || c.Actual > n {
					t.Fatalf("completion %+v overflows the %d-byte URB", c, n)
				}
			}
			encodeReply(rep)
		}
	})
}

func inFlight(d *device) int {
	n, _ := d.inFlight()
	return n
}
