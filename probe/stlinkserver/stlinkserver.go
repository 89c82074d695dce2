// Package stlinkserver encodes and decodes the TCP protocol of ST's
// stlink-server, the daemon that lets several programs share ST-LINK
// probes (default 127.0.0.1:7184). Requests start with an opcode byte and
// have a fixed size per opcode; SEND_USB_CMD carries one ST-LINK command
// block in a 32-byte header, followed by the OUT data for writes. Every
// reply but GET_NB_DEV and GET_SERVER_VERSION starts with a u32 status,
// 1 meaning OK. All integers are little-endian.
//
// Both sides use this package: the driver's TCP transport (client), and
// the servers (the simulator's, the bench's shared probe), which also
// share its accept loop (Serve).
package stlinkserver

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/stprobe/stprobe/enum"
)

// DefaultPort is the port stlink-server listens on.
const DefaultPort = 7184

// Opcodes (byte 0 of a request).
const (
	OpRefreshDeviceList = 0x00
	OpGetNbDev          = 0x01
	OpGetDevInfo        = 0x02
	OpOpenDev           = 0x03
	OpCloseDev          = 0x04
	OpSendUSBCmd        = 0x05
	OpGetServerVersion  = 0x06
	OpGetNbOfDevClients = 0x07
)

// Request sizes per opcode (SEND_USB_CMD: the header, without write data).
const (
	SizeRefreshDeviceList = 2
	SizeGetNbDev          = 1
	SizeGetDevInfo        = 8
	SizeOpenDev           = 8
	SizeCloseDev          = 8
	SizeUSBHeader         = 32
	SizeGetServerVersion  = 4
	SizeGetNbOfDevClients = 8
)

// DevInfoSize is the size of the device information record (TDeviceInfo2)
// a client asks for in GET_DEV_INFO.
const DevInfoSize = 41

// SerialSize is the size of the serial field of the device information.
const SerialSize = 32

// MaxUSBWrite and MaxUSBRead are the largest data phases a client's 10 KiB
// buffers allow (OpenOCD never exceeds 6144 bytes).
const (
	MaxUSBWrite = 10240 - SizeUSBHeader
	MaxUSBRead  = 10240 - 4
)

// Status is the u32 status word of a reply.
type Status uint32

// Statuses.
const (
	StatusOK              Status = 0x00000001
	StatusError           Status = 0x00000004
	StatusNoDevice        Status = 0x00000082
	StatusMemoryProblem   Status = 0x00001000
	StatusTimeout         Status = 0x00001001
	StatusBadParameter    Status = 0x00001002
	StatusOpenError       Status = 0x00001003
	StatusTransferError   Status = 0x00001004
	StatusTruncatedData   Status = 0x00001052
	StatusCmdNotAvailable Status = 0x00001053
	StatusPermissionError Status = 0x00001055
	StatusFailed          Status = 0x00002000
	StatusTCPError        Status = 0x00002001
	StatusTCPCantConnect  Status = 0x00002002
	StatusTCPCloseError   Status = 0x00002003
	StatusTCPBusy         Status = 0x00002004
)

// statusNames name the statuses.
var statusNames = map[Status]string{
	StatusOK:              "OK",
	StatusError:           "error",
	StatusNoDevice:        "no device",
	StatusMemoryProblem:   "memory problem",
	StatusTimeout:         "USB timeout",
	StatusBadParameter:    "bad parameter",
	StatusOpenError:       "open error",
	StatusTransferError:   "USB transfer error",
	StatusTruncatedData:   "truncated data",
	StatusCmdNotAvailable: "command not available",
	StatusPermissionError: "permission error",
	StatusFailed:          "failed",
	StatusTCPError:        "TCP error",
	StatusTCPCantConnect:  "TCP cannot connect",
	StatusTCPCloseError:   "TCP close error",
	StatusTCPBusy:         "TCP busy",
}

// String names the status.
func (s Status) String() string {
	return enum.Sparse(statusNames, s, "status 0x%08X")
}

// USB request types of SEND_USB_CMD.
const (
	USBWrite   = 0 // command plus OUT data, no reply data
	USBRead    = 1 // command, then Length bytes of reply
	USBReadSWO = 3 // Length bytes from the trace endpoint
)

// ErrShort means a buffer ends before the request or reply it should hold.
var ErrShort = errors.New("stlink-server message is truncated")

// ErrMalformed means a message violates the protocol.
var ErrMalformed = errors.New("malformed stlink-server message")

// Request is one client request. Which fields matter depends on Op.
type Request struct {
	Op byte
	// ClearList (REFRESH_DEVICE_LIST) asks the server to forget its list first.
	ClearList bool
	// Index (GET_DEV_INFO) is the device index.
	Index uint8
	// InfoSize (GET_DEV_INFO) is the record size the client expects (41).
	InfoSize uint32
	// Access (OPEN_DEV) is byte 1 of the request (an access-mode flag; 0 from OpenOCD).
	Access uint8
	// DeviceID (OPEN_DEV, GET_NB_OF_DEV_CLIENTS) is the StLinkUsbId of GET_DEV_INFO.
	DeviceID uint32
	// ConnectID (CLOSE_DEV, SEND_USB_CMD) is what OPEN_DEV returned.
	ConnectID uint32
	// ClientAPI (GET_SERVER_VERSION) is the client's API version (OpenOCD sends 1).
	ClientAPI uint8
	// USB is the SEND_USB_CMD payload.
	USB USBCommand
}

// USBCommand is the body of SEND_USB_CMD.
type USBCommand struct {
	Cmd    [16]byte
	Type   uint8  // USBWrite, USBRead or USBReadSWO
	Length uint32 // bytes written (USBWrite) or expected back
	Data   []byte // OUT data, USBWrite only (len == Length)
}

// headerSize returns the fixed part of a request with opcode op.
func headerSize(op byte) (int, error) {
	switch op {
	case OpRefreshDeviceList:
		return SizeRefreshDeviceList, nil
	case OpGetNbDev:
		return SizeGetNbDev, nil
	case OpGetDevInfo:
		return SizeGetDevInfo, nil
	case OpOpenDev:
		return SizeOpenDev, nil
	case OpCloseDev:
		return SizeCloseDev, nil
	case OpSendUSBCmd:
		return SizeUSBHeader, nil
	case OpGetServerVersion:
		return SizeGetServerVersion, nil
	case OpGetNbOfDevClients:
		return SizeGetNbOfDevClients, nil
	}
	return 0, fmt.Errorf("opcode 0x%02X: %w", op, ErrMalformed)
}

// Encode returns the wire bytes of r.
func (r Request) Encode() []byte {
	n, err := headerSize(r.Op)
	if err != nil {
		return []byte{r.Op}
	}
	b := make([]byte, n)
	b[0] = r.Op
	le := binary.LittleEndian
	switch r.Op {
	case OpRefreshDeviceList:
		if r.ClearList {
			b[1] = 1
		}
	case OpGetDevInfo:
		b[1] = r.Index
		le.PutUint32(b[4:], r.InfoSize)
	case OpOpenDev:
		b[1] = r.Access
		le.PutUint32(b[4:], r.DeviceID)
	case OpCloseDev:
		le.PutUint32(b[4:], r.ConnectID)
	case OpGetNbOfDevClients:
		le.PutUint32(b[4:], r.DeviceID)
	case OpGetServerVersion:
		b[1] = r.ClientAPI
	case OpSendUSBCmd:
		le.PutUint32(b[4:], r.ConnectID)
		copy(b[8:24], r.USB.Cmd[:])
		b[24] = r.USB.Type
		le.PutUint32(b[28:], r.USB.Length)
		if r.USB.Type == USBWrite {
			b = append(b, r.USB.Data...)
		}
	}
	return b
}

// DecodeRequest decodes the request at the start of b and returns it with
// the number of bytes it used. ErrShort means b holds only part of it.
func DecodeRequest(b []byte) (Request, int, error) {
	if len(b) == 0 {
		return Request{}, 0, ErrShort
	}
	op := b[0]
	n, err := headerSize(op)
	if err != nil {
		return Request{}, 0, err
	}
	if len(b) < n {
		return Request{}, 0, ErrShort
	}
	le := binary.LittleEndian
	r := Request{Op: op}
	switch op {
	case OpRefreshDeviceList:
		r.ClearList = b[1] != 0
	case OpGetDevInfo:
		r.Index = b[1]
		r.InfoSize = le.Uint32(b[4:])
	case OpOpenDev:
		r.Access = b[1]
		r.DeviceID = le.Uint32(b[4:])
	case OpCloseDev:
		r.ConnectID = le.Uint32(b[4:])
	case OpGetNbOfDevClients:
		r.DeviceID = le.Uint32(b[4:])
	case OpGetServerVersion:
		r.ClientAPI = b[1]
	case OpSendUSBCmd:
		r.ConnectID = le.Uint32(b[4:])
		copy(r.USB.Cmd[:], b[8:24])
		r.USB.Type = b[24]
		r.USB.Length = le.Uint32(b[28:])
		switch r.USB.Type {
		case USBWrite:
			if r.USB.Length > MaxUSBWrite {
				return Request{}, 0, fmt.Errorf("USB write of %d bytes exceeds %d: %w", r.USB.Length, MaxUSBWrite, ErrMalformed)
			}
			end := n + int(r.USB.Length)
			if len(b) < end {
				return Request{}, 0, ErrShort
			}
			r.USB.Data = append([]byte(nil), b[n:end]...)
			n = end
		case USBRead, USBReadSWO:
			if r.USB.Length > MaxUSBRead {
				return Request{}, 0, fmt.Errorf("USB read of %d bytes exceeds %d: %w", r.USB.Length, MaxUSBRead, ErrMalformed)
			}
		default:
			return Request{}, 0, fmt.Errorf("USB request type %d: %w", r.USB.Type, ErrMalformed)
		}
	}
	return r, n, nil
}

// ReadRequest reads one request from r.
func ReadRequest(r io.Reader) (Request, error) {
	var op [1]byte
	if _, err := io.ReadFull(r, op[:]); err != nil {
		return Request{}, err
	}
	n, err := headerSize(op[0])
	if err != nil {
		return Request{}, err
	}
	b := make([]byte, n)
	b[0] = op[0]
	if _, err := io.ReadFull(r, b[1:]); err != nil {
		return Request{}, fmt.Errorf("reading request 0x%02X: %w", op[0], noEOF(err))
	}
	if op[0] == OpSendUSBCmd && b[24] == USBWrite {
		length := binary.LittleEndian.Uint32(b[28:])
		if length > MaxUSBWrite {
			return Request{}, fmt.Errorf("USB write of %d bytes exceeds %d: %w", length, MaxUSBWrite, ErrMalformed)
		}
		data := make([]byte, length)
		if _, err := io.ReadFull(r, data); err != nil {
			return Request{}, fmt.Errorf("reading USB write data: %w", noEOF(err))
		}
		b = append(b, data...)
	}
	req, _, err := DecodeRequest(b)
	return req, err
}

func noEOF(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

// DeviceInfo is one probe as GET_DEV_INFO describes it.
type DeviceInfo struct {
	ID     uint32 // StLinkUsbId: identifies the probe to OPEN_DEV
	Serial string // 24 hex characters
	VID    uint16
	PID    uint16
	Used   bool // another client has it open
}

// ServerVersion is the GET_SERVER_VERSION reply.
type ServerVersion struct {
	API, Major, Minor, Build uint32
}

// ResponseSize returns the size of the reply to req.
func ResponseSize(req Request) int {
	switch req.Op {
	case OpGetDevInfo:
		return 4 + int(req.InfoSize)
	case OpOpenDev, OpGetNbOfDevClients:
		return 8
	case OpGetServerVersion:
		return 16
	case OpSendUSBCmd:
		if req.USB.Type == USBWrite {
			return 4
		}
		return 4 + int(req.USB.Length)
	}
	return 4
}

// EncodeStatus is the 4-byte reply of REFRESH_DEVICE_LIST, CLOSE_DEV and
// USB writes.
func EncodeStatus(s Status) []byte {
	return binary.LittleEndian.AppendUint32(nil, uint32(s))
}

// EncodeCount is the GET_NB_DEV reply (a bare count, no status).
func EncodeCount(n uint32) []byte {
	return binary.LittleEndian.AppendUint32(nil, n)
}

// EncodeDeviceInfo is the GET_DEV_INFO reply: status, then the record
// sized to infoSize (41 for TDeviceInfo2; a smaller size truncates, a
// larger one pads with zeros).
func EncodeDeviceInfo(s Status, d DeviceInfo, infoSize int) []byte {
	rec := make([]byte, DevInfoSize)
	le := binary.LittleEndian
	le.PutUint32(rec[0:], d.ID)
	copy(rec[4:4+SerialSize], d.Serial)
	le.PutUint16(rec[36:], d.VID)
	le.PutUint16(rec[38:], d.PID)
	if d.Used {
		rec[40] = 1
	}
	if infoSize < 0 {
		infoSize = 0
	}
	out := make([]byte, 4+infoSize)
	le.PutUint32(out, uint32(s))
	copy(out[4:], rec)
	return out
}

// DecodeDeviceInfo decodes a GET_DEV_INFO reply.
func DecodeDeviceInfo(b []byte) (Status, DeviceInfo, error) {
	if len(b) < 4+DevInfoSize {
		return 0, DeviceInfo{}, ErrShort
	}
	le := binary.LittleEndian
	s := Status(le.Uint32(b))
	rec := b[4:]
	serial := string(rec[4 : 4+SerialSize])
	if i := strings.IndexByte(serial, 0); i >= 0 {
		serial = serial[:i]
	}
	d := DeviceInfo{
		ID:     le.Uint32(rec[0:]),
		Serial: serial,
		VID:    le.Uint16(rec[36:]),
		PID:    le.Uint16(rec[38:]),
		Used:   rec[40] != 0,
	}
	return s, d, nil
}

// EncodeOpen is the OPEN_DEV reply: status and connect id.
func EncodeOpen(s Status, connectID uint32) []byte {
	b := binary.LittleEndian.AppendUint32(nil, uint32(s))
	return binary.LittleEndian.AppendUint32(b, connectID)
}

// DecodeOpen decodes an OPEN_DEV reply.
func DecodeOpen(b []byte) (Status, uint32, error) {
	if len(b) < 8 {
		return 0, 0, ErrShort
	}
	le := binary.LittleEndian
	return Status(le.Uint32(b)), le.Uint32(b[4:]), nil
}

// EncodeServerVersion is the GET_SERVER_VERSION reply (no status).
func EncodeServerVersion(v ServerVersion) []byte {
	b := make([]byte, 16)
	le := binary.LittleEndian
	le.PutUint32(b[0:], v.API)
	le.PutUint32(b[4:], v.Major)
	le.PutUint32(b[8:], v.Minor)
	le.PutUint32(b[12:], v.Build)
	return b
}

// DecodeServerVersion decodes a GET_SERVER_VERSION reply.
func DecodeServerVersion(b []byte) (ServerVersion, error) {
	if len(b) < 16 {
		return ServerVersion{}, ErrShort
	}
	le := binary.LittleEndian
	return ServerVersion{le.Uint32(b[0:]), le.Uint32(b[4:]), le.Uint32(b[8:]), le.Uint32(b[12:])}, nil
}

// EncodeUSBReply is the SEND_USB_CMD reply: status, then for reads exactly
// length bytes of data (truncated or zero-padded to length).
func EncodeUSBReply(s Status, data []byte, length int) []byte {
	if length < 0 {
		length = 0
	}
	b := make([]byte, 4+length)
	binary.LittleEndian.PutUint32(b, uint32(s))
	copy(b[4:], data)
	return b
}

// DecodeStatus decodes the u32 status that starts most replies.
func DecodeStatus(b []byte) (Status, error) {
	if len(b) < 4 {
		return 0, ErrShort
	}
	return Status(binary.LittleEndian.Uint32(b)), nil
}

// DecodeUSBReply splits a SEND_USB_CMD reply of a read of length bytes.
// A negative length, or one the reply cannot hold, gives ErrShort.
func DecodeUSBReply(b []byte, length int) (Status, []byte, error) {
	// length > len(b)-4, not len(b) < 4+length: the sum overflows for a
	// length near the largest int.
	if length < 0 || len(b) < 4 || length > len(b)-4 {
		return 0, nil, ErrShort
	}
	return Status(binary.LittleEndian.Uint32(b)), b[4 : 4+length], nil
}

// DecodeCount decodes the GET_NB_DEV reply.
func DecodeCount(b []byte) (uint32, error) {
	if len(b) < 4 {
		return 0, ErrShort
	}
	return binary.LittleEndian.Uint32(b), nil
}

// EncodeClients is the GET_NB_OF_DEV_CLIENTS reply: status and client count.
// (The layout is not confirmed against ST's server; OpenOCD never sends it.)
func EncodeClients(s Status, n uint32) []byte {
	return EncodeOpen(s, n)
}
