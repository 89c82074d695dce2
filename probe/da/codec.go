// Package da is the host side of STM32H5 debug authentication (DA): the
// Arm PSA-ADAC packets and TLVs, the DBGMCU mailbox word transport through
// AP0, the session start under NRST (the driver's Under Reset steps), and
// on top of it:
//
//   - Discover: what the chip's ROM says it is (SoC class and ID, PSA
//     lifecycle, whether DA is provisioned, which method it takes, which
//     permissions it could grant);
//   - Regress and OpenDebug: authentication by ST password or by PSA
//     certificate chain and token signed with the leaf key, then the
//     reconnect and the check of what the chip became;
//   - Provision: the .obk file (or the H503's OTP hash) handed to the ROM
//     in PROVISIONING;
//   - CheckOBK, CheckOBKChip and ProveWayBack: every reason a closed chip
//     could not be regressed, in plain words with the fix.
//
// Everything goes through the narrow Port interface (LinkPort adapts a
// *probe.Link). The files (password, certificates, keys, .obk) live in
// package targets/stm32h5/dacred, which the simulated boards share.
//
// Several values the H5 ROM uses are not public (DA session notes §7): the
// request and reply words, the lifecycle codes, the ACK bit roles. They are
// Options with documented defaults, kept in one place (options.go), so they
// can be corrected against a real chip; the simulated chip's choices are
// in targets/stm32h5 chosen.go.
package da

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/stprobe/stprobe/targets/stm32h5/dacred"
)

// Command is a PSA-ADAC request command (security reference §5.4).
type Command uint16

// PSA-ADAC commands.
const (
	CmdDiscovery    Command = 0x0001
	CmdAuthStart    Command = 0x0002
	CmdAuthResponse Command = 0x0003
	CmdResumeBoot   Command = 0x0005
	CmdLockDebug    Command = 0x0006
	CmdLCSChange    Command = 0x0007
)

// Status is a PSA-ADAC response status.
type Status uint16

// PSA-ADAC statuses.
const (
	StatusSuccess        Status = 0x0000
	StatusFailure        Status = 0x0001
	StatusNeedMoreData   Status = 0x0002
	StatusUnsupported    Status = 0x0003
	StatusUnauthorized   Status = 0x0004
	StatusInvalidParams  Status = 0x0005
	StatusInvalidCommand Status = 0x7FFF
)

// String names the status, e.g. "UNSUPPORTED (0x0003)".
func (s Status) String() string {
	names := map[Status]string{
		StatusSuccess: "SUCCESS", StatusFailure: "FAILURE", StatusNeedMoreData: "NEED_MORE_DATA",
		StatusUnsupported: "UNSUPPORTED", StatusUnauthorized: "UNAUTHORIZED",
		StatusInvalidParams: "INVALID_PARAMETERS", StatusInvalidCommand: "INVALID_COMMAND",
	}
	if n, ok := names[s]; ok {
		return fmt.Sprintf("%s (0x%04X)", n, uint16(s))
	}
	return fmt.Sprintf("status 0x%04X", uint16(s))
}

// TLV types of a discovery answer (PSA-ADAC, and ST's 0x8000 range).
const (
	TypeAuthVersion    uint16 = 0x0001
	TypeVendorID       uint16 = 0x0002
	TypeSoCClass       uint16 = 0x0003
	TypeSoCID          uint16 = 0x0004
	TypeTargetIdentity uint16 = 0x0005
	TypeHWPermFixed    uint16 = 0x0006
	TypeHWPermMask     uint16 = 0x0007
	TypePSALifecycle   uint16 = 0x0008
	TypeSWPartitionID  uint16 = 0x0009
	TypeSDAID          uint16 = 0x000A
	TypeSDAVersion     uint16 = 0x000B
	TypeEffectivePerm  uint16 = 0x000C
	TypeTokenFormats   uint16 = 0x0100
	TypeCertFormats    uint16 = 0x0101
	TypeCryptosystems  uint16 = 0x0102
	TypeSTPassword     uint16 = 0x8000 // discovery: provisioning integrity word
	TypeSTHDPL1Status  uint16 = 0x8001
	TypeSTHDPL3Status  uint16 = 0x8003
	maxResponseWords          = 1024 // bound on a response payload
	maxTLVs                   = 256  // bound on TLVs decoded from one payload
	headerWords               = 2
)

// ErrMalformed is wrapped by every decoder error: the device sent bytes
// that are not a valid PSA-ADAC packet or TLV list.
var ErrMalformed = errors.New("malformed PSA-ADAC data")

// EncodeRequest returns the mailbox words of a request: {u16 0, u16
// command}, the payload length, then the payload padded with zeros to
// whole words. The length counts 32-bit words (PSA-ADAC core), or bytes
// when countInBytes is set (ST's STM32MP21 port reads a request's so;
// UNCONFIRMED on H5). A response may count otherwise: DecodeHeader takes
// its own flag.
func EncodeRequest(cmd Command, payload []byte, countInBytes bool) []uint32 {
	n := (len(payload) + 3) / 4
	count := uint32(n)
	if countInBytes {
		count = uint32(4 * n)
	}
	out := make([]uint32, 0, headerWords+n)
	out = append(out, uint32(cmd)<<16, count)
	padded := make([]byte, 4*n)
	copy(padded, payload)
	for i := 0; i < len(padded); i += 4 {
		out = append(out, binary.LittleEndian.Uint32(padded[i:]))
	}
	return out
}

// DecodeHeader decodes the two header words of a response: the status
// and the number of payload words to read next. It rejects a non-zero
// reserved field and a payload longer than maxResponseWords.
func DecodeHeader(w0, w1 uint32, countInBytes bool) (Status, int, error) {
	if w0&0xFFFF != 0 {
		return 0, 0, fmt.Errorf("response header 0x%08X: reserved half not zero: %w", w0, ErrMalformed)
	}
	n := w1
	if countInBytes {
		if n%4 != 0 {
			return 0, 0, fmt.Errorf("response length %d bytes is not whole words: %w", n, ErrMalformed)
		}
		n /= 4
	}
	if n > maxResponseWords {
		return 0, 0, fmt.Errorf("response announces %d words (more than %d): %w", n, maxResponseWords, ErrMalformed)
	}
	return Status(w0 >> 16), int(n), nil
}

// WordsToBytes turns mailbox payload words into their little-endian bytes.
func WordsToBytes(ws []uint32) []byte {
	b := make([]byte, 0, 4*len(ws))
	for _, w := range ws {
		b = binary.LittleEndian.AppendUint32(b, w)
	}
	return b
}

// DecodeResponse decodes a whole response given as mailbox words: the
// header, then exactly the announced payload.
func DecodeResponse(ws []uint32, countInBytes bool) (Status, []byte, error) {
	if len(ws) < headerWords {
		return 0, nil, fmt.Errorf("response of %d words, shorter than its header: %w", len(ws), ErrMalformed)
	}
	st, n, err := DecodeHeader(ws[0], ws[1], countInBytes)
	if err != nil {
		return 0, nil, err
	}
	if len(ws)-headerWords != n {
		return 0, nil, fmt.Errorf("response announces %d payload words, carries %d: %w", n, len(ws)-headerWords, ErrMalformed)
	}
	return st, WordsToBytes(ws[headerWords:]), nil
}

// TLV is one type-length-value item of a payload: {u16 reserved, u16 type,
// u32 length in bytes, value}. The format has one home, package dacred,
// which the credential files share.
type TLV = dacred.TLV

// EncodeTLV returns t's bytes, the value padded with zeros to a 4-byte
// multiple.
func EncodeTLV(t TLV) []byte { return dacred.AppendTLV(nil, t.Type, t.Value, true) }

// DecodeTLVs decodes a TLV list of at most maxTLVs items: values padded to
// a 4-byte multiple (ST's MP2 template) or packed (the N6 sample), and
// trailing zero bytes (word padding of the whole payload) accepted; see
// dacred.TLVList. Every error wraps ErrMalformed.
func DecodeTLVs(b []byte) ([]TLV, error) {
	return dacred.TLVList{Max: maxTLVs, WordPadded: true, Err: ErrMalformed}.Decode(b)
}
