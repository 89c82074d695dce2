package usbrelay

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Request kinds sent by the relay script.
const (
	kindSubmit  = 1 // USBDEVFS_SUBMITURB: a new URB (OUT data included)
	kindDiscard = 2 // USBDEVFS_DISCARDURB of an in-flight URB
	kindIoctl   = 3 // any other usbdevfs ioctl
	kindPoll    = 4 // the host reaps with nothing completed while URBs are in flight
)

// URB types of struct usbdevfs_urb the relay handles (isochronous and
// interrupt URBs are refused: an ST-LINK's debug interface has none).
const (
	urbControl = 2
	urbBulk    = 3
)

// usbdevfs ioctl numbers the Go side answers (x86-64 and arm64 values).
const (
	ioctlClaimInterface   = 0x8004550F
	ioctlReleaseInterface = 0x80045510
	ioctlSetInterface     = 0x80085504
	ioctlSetConfiguration = 0x80045505
	ioctlGetDriver        = 0x41045508
	ioctlConnectInfo      = 0x40085511
	ioctlClearHalt        = 0x80045515
	ioctlReset            = 0x5514
	ioctlGetCapabilities  = 0x8004551A
	ioctlDisconnectClaim  = 0x8108551B
	ioctlDiscardURB       = 0x550B
	ioctlUSBFSIoctl       = 0xC0105512 // USBDEVFS_IOCTL: DISCONNECT/CONNECT of an interface driver
)

// Linux errno values used in replies and URB status.
const (
	errnoENOENT  = 2
	errnoENODEV  = 19
	errnoEINVAL  = 22
	errnoENOTTY  = 25
	errnoENODATA = 61
	errnoEPIPE   = 32
)

// maxFrame bounds one frame so that a corrupt length cannot make the relay
// allocate without limit (the largest ST-LINK transfer is a few KiB; libusb
// may submit up to 16 KiB per URB, control transfers up to 64 KiB).
const maxFrame = 1 << 20

// request is one ioctl forwarded by the relay script.
type request struct {
	Kind     uint8
	Device   uint8
	ID       uint32 // URB id (submit, discard)
	Ioctl    uint32
	URBType  uint8
	Endpoint uint8
	Length   uint32 // URB buffer length
	Data     []byte // OUT bytes (control: the setup packet and data stage); at most Length
}

// completion hands one URB back to the host: it becomes reapable with this
// status and actual length, data written at offset in its buffer.
type completion struct {
	ID     uint32
	Status int32 // 0 or a negative errno
	Actual uint32
	Offset uint32
	Data   []byte
}

// reply answers one request.
type reply struct {
	Errno       int32  // 0: the ioctl succeeds
	Payload     []byte // written into the ioctl argument (GET_CAPABILITIES)
	Completions []completion
}

const requestHeader = 1 + 1 + 4 + 4 + 1 + 1 + 4

// decodeRequest parses a request body (without its length prefix).
func decodeRequest(b []byte) (request, error) {
	if len(b) < requestHeader {
		return request{}, fmt.Errorf("relay request is %d bytes, want at least %d", len(b), requestHeader)
	}
	r := request{
		Kind:     b[0],
		Device:   b[1],
		ID:       binary.LittleEndian.Uint32(b[2:]),
		Ioctl:    binary.LittleEndian.Uint32(b[6:]),
		URBType:  b[10],
		Endpoint: b[11],
		Length:   binary.LittleEndian.Uint32(b[12:]),
		Data:     b[requestHeader:],
	}
	if r.Kind < kindSubmit || r.Kind > kindPoll {
		return request{}, fmt.Errorf("relay request kind %d unknown", r.Kind)
	}
	// The OUT bytes are read from the URB's buffer, so they never outnumber
	// it; more would let a completion land past the buffer's end.
	if uint64(len(r.Data)) > uint64(r.Length) {
		return request{}, fmt.Errorf("relay request carries %d data bytes for a %d-byte URB", len(r.Data), r.Length)
	}
	return r, nil
}

// encodeRequest is the inverse of decodeRequest (used by tests).
func encodeRequest(r request) []byte {
	b := make([]byte, requestHeader, requestHeader+len(r.Data))
	b[0], b[1] = r.Kind, r.Device
	binary.LittleEndian.PutUint32(b[2:], r.ID)
	binary.LittleEndian.PutUint32(b[6:], r.Ioctl)
	b[10], b[11] = r.URBType, r.Endpoint
	binary.LittleEndian.PutUint32(b[12:], r.Length)
	return append(b, r.Data...)
}

// encodeReply renders a reply body in the layout the relay script reads.
func encodeReply(r reply) []byte {
	var b []byte
	b = binary.LittleEndian.AppendUint32(b, uint32(r.Errno))
	b = binary.LittleEndian.AppendUint32(b, uint32(len(r.Payload)))
	b = append(b, r.Payload...)
	b = binary.LittleEndian.AppendUint16(b, uint16(len(r.Completions)))
	for _, c := range r.Completions {
		b = binary.LittleEndian.AppendUint32(b, c.ID)
		b = binary.LittleEndian.AppendUint32(b, uint32(c.Status))
		b = binary.LittleEndian.AppendUint32(b, c.Actual)
		b = binary.LittleEndian.AppendUint32(b, c.Offset)
		b = binary.LittleEndian.AppendUint32(b, uint32(len(c.Data)))
		b = append(b, c.Data...)
	}
	return b
}

// readFrame reads one length-prefixed frame.
func readFrame(r io.Reader) ([]byte, error) {
	var n [4]byte
	if _, err := io.ReadFull(r, n[:]); err != nil {
		return nil, err
	}
	size := binary.LittleEndian.Uint32(n[:])
	if size > maxFrame {
		return nil, fmt.Errorf("relay frame of %d bytes exceeds the %d-byte limit", size, maxFrame)
	}
	b := make([]byte, size)
	if _, err := io.ReadFull(r, b); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	return b, nil
}

// writeFrame writes body with its length prefix.
func writeFrame(w io.Writer, body []byte) error {
	b := binary.LittleEndian.AppendUint32(make([]byte, 0, 4+len(body)), uint32(len(body)))
	_, err := w.Write(append(b, body...))
	return err
}
