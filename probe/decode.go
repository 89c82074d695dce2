package probe

import (
	"encoding/binary"
	"fmt"
	"slices"

	"github.com/stprobe/stprobe/probe/proto"
)

// Reply sizes of the commands the driver sends.
const (
	replyStatus      = 2  // plain status commands
	replyMode        = 2  // GET_CURRENT_MODE
	replyVersion     = 6  // GET_VERSION
	replyVersionExt  = 12 // GET_VERSION_EXT
	replyVoltage     = 8  // GET_TARGET_VOLTAGE
	replyIDCodes     = 12 // READ_IDCODES
	replyDAPRead     = 8  // READ_DAP_REG
	replyLastRW      = 2  // GETLASTRWSTATUS
	replyLastRW2     = 12 // GETLASTRWSTATUS2
	replySetComFreq  = 8  // SET_COM_FREQ
	replyGetComFreq  = 52 // GET_COM_FREQ
	maxComFreqs      = 10 // entries a GET_COM_FREQ reply can hold
	minVoltageADCRef = 1  // adc_ref of 0 would divide by zero
)

// checkStatus checks the status byte at b[0]: nil for OK, a *StatusError for
// a known failure code, a *ReplyError for an empty reply or an unknown byte.
func checkStatus(op string, b []byte) error {
	if len(b) < 1 {
		return &ReplyError{Op: op, Reason: "empty reply"}
	}
	s := proto.Status(b[0])
	switch {
	case s == proto.StatusOK:
		return nil
	case KnownStatus(s):
		return &StatusError{Op: op, Status: s}
	}
	return &ReplyError{Op: op, Reason: fmt.Sprintf("unknown status byte 0x%02X", b[0])}
}

// needLen returns a ReplyError when b is shorter than n.
func needLen(op string, b []byte, n int) error {
	if len(b) < n {
		return &ReplyError{Op: op, Reason: fmt.Sprintf("short reply: %d bytes, want %d", len(b), n)}
	}
	return nil
}

// decodeMode decodes a GET_CURRENT_MODE reply.
func decodeMode(b []byte) (proto.Mode, error) {
	const op = "get current mode"
	if err := needLen(op, b, replyMode); err != nil {
		return 0, err
	}
	m := proto.Mode(b[0])
	if m > proto.ModeBootloader {
		return m, &ReplyError{Op: op, Reason: fmt.Sprintf("unknown mode 0x%02X", b[0])}
	}
	return m, nil
}

// decodeVersion decodes GET_VERSION and, for V3 and later, GET_VERSION_EXT
// (ext is ignored on V2).
func decodeVersion(b, ext []byte) (proto.Version, error) {
	const op = "get version"
	if err := needLen(op, b, replyVersion); err != nil {
		return proto.Version{}, err
	}
	v, err := proto.DecodeVersion(b)
	if err != nil {
		return v, &ReplyError{Op: op, Reason: err.Error()}
	}
	if v.Hardware < 3 {
		return v, nil
	}
	if err := needLen("get extended version", ext, replyVersionExt); err != nil {
		return v, err
	}
	x, err := proto.DecodeVersionExt(ext)
	if err != nil {
		return x, &ReplyError{Op: "get extended version", Reason: err.Error()}
	}
	return x, nil
}

// decodeVoltage decodes GET_TARGET_VOLTAGE: V = 2 × adc_vt × 1.2 / adc_ref.
func decodeVoltage(b []byte) (float64, error) {
	const op = "read target voltage"
	if err := needLen(op, b, replyVoltage); err != nil {
		return 0, err
	}
	ref := binary.LittleEndian.Uint32(b[0:4])
	vt := binary.LittleEndian.Uint32(b[4:8])
	if ref < minVoltageADCRef {
		return 0, &ReplyError{Op: op, Reason: "reference reading is zero"}
	}
	return 2 * float64(vt) * 1.2 / float64(ref), nil
}

// decodeStatusWord decodes the replies shaped "status, 3 bytes, u32 value":
// READ_IDCODES (12 bytes), READ_DAP_REG (8), SET_COM_FREQ (8).
func decodeStatusWord(op string, b []byte, n int) (uint32, error) {
	if err := needLen(op, b, n); err != nil {
		return 0, err
	}
	if err := checkStatus(op, b); err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint32(b[4:8]), nil
}

// decodeLastRW decodes GETLASTRWSTATUS (2 bytes) or GETLASTRWSTATUS2 (12
// bytes, with the fault address at [4..7]) into nil or a *StatusError.
func decodeLastRW(op string, b []byte, v2 bool) error {
	n := replyLastRW
	if v2 {
		n = replyLastRW2
	}
	if err := needLen(op, b, n); err != nil {
		return err
	}
	err := checkStatus(op, b)
	if se, ok := err.(*StatusError); ok && v2 {
		se.FaultAddr = binary.LittleEndian.Uint32(b[4:8])
		se.HasAddr = true
	}
	return err
}

// decodeComFreq decodes GET_COM_FREQ: the current frequency and the list the
// probe supports (kHz), returned fastest first.
func decodeComFreq(b []byte) (current int, list []int, err error) {
	const op = "get SWD frequencies"
	if err := needLen(op, b, replyGetComFreq); err != nil {
		return 0, nil, err
	}
	if err := checkStatus(op, b); err != nil {
		return 0, nil, err
	}
	current = int(binary.LittleEndian.Uint32(b[4:8]))
	n := binary.LittleEndian.Uint32(b[8:12])
	if n == 0 || n > maxComFreqs {
		return 0, nil, &ReplyError{Op: op, Reason: fmt.Sprintf("frequency count %d, want 1..%d", n, maxComFreqs)}
	}
	for i := 0; i < int(n); i++ {
		f := binary.LittleEndian.Uint32(b[12+4*i:])
		if f == 0 || f > 1_000_000 {
			return 0, nil, &ReplyError{Op: op, Reason: fmt.Sprintf("impossible frequency %d kHz", f)}
		}
		list = append(list, int(f))
	}
	slices.Sort(list)
	slices.Reverse(list)
	return current, list, nil
}
