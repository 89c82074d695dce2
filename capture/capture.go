// Package capture is the capture file: one real (or simulated) board's state
// as stprobe read it, read-only — the probe, the target voltage, the chip's
// identification, every option-byte register, the product state and TZEN,
// the debug-authentication discovery word by word, every sweep cell's
// outcome and the readability of the memory regions. A user shares it with
// whoever helps; stprobe opens it as a simulated board (--twin).
//
// The format is versioned and documented in docs/capture-format.md. Decode
// validates a file and names the line of a mistake, so that a hand-edited
// file says where it went wrong.
package capture

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// Format is the value of every capture's "format" key.
const Format = "stprobe-capture"

// Version is the format version this package writes and reads.
const Version = 1

// MaxSize bounds a capture file (a capture with flash contents included
// stays well under it; without them a capture is a few kilobytes).
const MaxSize = 8 << 20

// File is one capture.
type File struct {
	Format  string `json:"format"`
	Version int    `json:"version"`
	Header  Header `json:"header"`
	Probe   Probe  `json:"probe"`
	Target  Target `json:"target"`
	// Chip is nil when nothing identified the chip.
	Chip *Chip `json:"chip,omitempty"`
	// State is nil when the product state could not be read.
	State *State `json:"state,omitempty"`
	// OptionBytes is nil when the core access port was closed.
	OptionBytes *OptionBytes `json:"option_bytes,omitempty"`
	// DA is the debug-authentication discovery, nil when none was run.
	DA *DA `json:"da,omitempty"`
	// Sweep is the connection matrix, nil when none was run.
	Sweep   *Sweep   `json:"sweep,omitempty"`
	Regions []Region `json:"regions,omitempty"`
	// Flash holds the non-erased blocks of the user flash, only when the
	// user asked for them (--with-flash); Header.WithFlash says so.
	Flash []Block `json:"flash,omitempty"`
}

// Header says what the capture holds, so that a user knows what they share.
type Header struct {
	// Taken is when the capture was taken (RFC 3339, UTC); Tool the
	// program and its version; Source what the capture was taken from
	// ("usb", "stlink-server HOST:PORT", "simulated NAME", "twin of FILE").
	Taken  string `json:"taken"`
	Tool   string `json:"tool"`
	Source string `json:"source"`
	// Holds names the sections present; Secrets says in words what secret
	// material the file holds (none, unless WithFlash).
	Holds     []string `json:"holds"`
	Secrets   string   `json:"secrets"`
	WithFlash bool     `json:"with_flash"`
	// Notes are what the capture job could not read, in words.
	Notes []string `json:"notes,omitempty"`
}

// Probe is the ST-LINK the capture was taken with.
type Probe struct {
	Model    string `json:"model"`
	Firmware string `json:"firmware"`
	VID      Hex16  `json:"vid"`
	PID      Hex16  `json:"pid"`
	Serial   string `json:"serial"`
	Backend  string `json:"backend"`
}

// Target is what the wire said before any chip was identified.
type Target struct {
	// Millivolts is the target voltage; HasVoltage false when the probe
	// cannot measure it.
	Millivolts int  `json:"millivolts"`
	HasVoltage bool `json:"has_voltage"`
	// DPIDR is the SW-DP identification (0: the debug port did not answer).
	DPIDR Hex32 `json:"dpidr"`
	// APs are the access ports' identification registers as the sweep saw
	// them.
	APs []AP `json:"aps,omitempty"`
}

// AP is one access port's identification.
type AP struct {
	AP  uint8 `json:"ap"`
	IDR Hex32 `json:"idr"`
}

// Chip is the chip's identification.
type Chip struct {
	IDCode   Hex32    `json:"idcode"`
	DevID    Hex16    `json:"dev_id"`
	RevID    Hex16    `json:"rev_id"`
	Name     string   `json:"name"`
	Revision string   `json:"revision,omitempty"`
	IDCodeAP uint8    `json:"idcode_ap"`
	UID      []Hex32  `json:"uid,omitempty"` // three words, when readable
	FlashKB  int      `json:"flash_kb,omitempty"`
	Package  Hex16    `json:"package,omitempty"`
	Notes    []string `json:"notes,omitempty"`
}

// State is the product state and TrustZone byte.
type State struct {
	ProductState Hex8   `json:"product_state"`
	Name         string `json:"name"`
	TZEN         Hex8   `json:"tzen"`
	// OptionsUnlocked is FLASH_OPTCR.OPTLOCK read 0.
	OptionsUnlocked bool `json:"options_unlocked,omitempty"`
}

// OptionBytes are the option registers, _CUR and _PRG, in the chip's table
// order.
type OptionBytes struct {
	Line      string     `json:"line"`
	Registers []Register `json:"registers"`
}

// Register is one option register.
type Register struct {
	Name string `json:"name"`
	Cur  Hex32  `json:"cur"`
	Prg  Hex32  `json:"prg"`
}

// DA is the debug-authentication discovery: the mailbox exchange as the
// words seen, and the answer decoded.
type DA struct {
	// Err says why the discovery failed (then nothing else is set).
	Err string `json:"error,omitempty"`
	// RequestWord and ReplyWord are the session-start words sent and
	// seen; Drained the stale words emptied first.
	RequestWord Hex32   `json:"request_word,omitempty"`
	ReplyWord   Hex32   `json:"reply_word,omitempty"`
	Drained     []Hex32 `json:"drained,omitempty"`
	// TLVs are the discovery answer's entries as they came.
	TLVs []TLV `json:"tlvs,omitempty"`
	// What the answer says.
	Lifecycle     Hex16   `json:"lifecycle,omitempty"`
	State         Hex8    `json:"product_state,omitempty"` // the lifecycle's product state
	UID           []Hex32 `json:"uid,omitempty"`           // the SoC ID's first 96 bits
	Integrity     Hex32   `json:"integrity,omitempty"`
	Method        string  `json:"method,omitempty"`
	Permissions   Hex32   `json:"permissions,omitempty"`
	SDAVersion    string  `json:"sda_version,omitempty"`
	Cryptosystems []int   `json:"cryptosystems,omitempty"`
}

// TLV is one discovery entry: its type and value in hex.
type TLV struct {
	Type  Hex16  `json:"type"`
	Value string `json:"value"` // lowercase hex, no separator
}

// Sweep is the connection matrix: every cell's outcome.
type Sweep struct {
	Cells []Cell `json:"cells"`
	// Findings are the diagnosis' titles, in order.
	Findings []string `json:"findings,omitempty"`
}

// Cell is one connect attempt.
type Cell struct {
	Mode    string `json:"mode"`
	AP      uint8  `json:"ap"`
	KHz     int    `json:"khz"`
	Outcome string `json:"outcome"`
	Reason  string `json:"reason,omitempty"`
	DPIDR   Hex32  `json:"dpidr,omitempty"`
	APIDR   Hex32  `json:"apidr,omitempty"`
	IDCode  Hex32  `json:"idcode,omitempty"`
	State   Hex8   `json:"state,omitempty"`
	TZEN    Hex8   `json:"tzen,omitempty"`
	// WallUS and WireUS are the cell's timings, in microseconds: the only
	// values two captures of the same board may differ in.
	WallUS int64 `json:"wall_us"`
	WireUS int64 `json:"wire_us"`
}

// Region is whether one memory region read through the core access port.
type Region struct {
	Name     string `json:"name"`
	Address  Hex32  `json:"address"`
	Readable bool   `json:"readable"`
	Err      string `json:"error,omitempty"`
}

// Block is a run of flash bytes.
type Block struct {
	Address Hex32  `json:"address"`
	Data    []byte `json:"data"` // base64
}

// Encode writes f as indented JSON with a final newline.
func Encode(f *File) ([]byte, error) {
	b, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("capture: encoding: %w", err)
	}
	return append(b, '\n'), nil
}

// Decode parses and validates a capture. Its errors name the line (and
// for values, the key) where the file is wrong.
func Decode(data []byte) (*File, error) {
	if len(data) > MaxSize {
		return nil, fmt.Errorf("capture: %d bytes is larger than a capture can be (%d)", len(data), MaxSize)
	}
	d := json.NewDecoder(bytes.NewReader(data))
	d.DisallowUnknownFields()
	var f File
	if err := d.Decode(&f); err != nil {
		return nil, decodeError(data, err)
	}
	if d.More() {
		return nil, fmt.Errorf("capture: line %d: more after the capture's closing brace", lineAt(data, int(d.InputOffset())))
	}
	if err := f.validate(data); err != nil {
		return nil, err
	}
	return &f, nil
}

// decodeError adds the line to what encoding/json said.
func decodeError(data []byte, err error) error {
	var off int64 = -1
	switch e := err.(type) {
	case *json.SyntaxError:
		off = e.Offset
	case *json.UnmarshalTypeError:
		off = e.Offset
	case *hexError:
		if i := bytes.Index(data, []byte(e.text)); i >= 0 {
			off = int64(i)
		}
	}
	msg := err.Error()
	if off < 0 {
		// unknown keys: find the key in the text
		if k, ok := quoted(msg); ok {
			if i := bytes.Index(data, []byte(`"`+k+`"`)); i >= 0 {
				off = int64(i)
			}
		}
	}
	if off < 0 {
		return fmt.Errorf("capture: %s (is it a capture file? see docs/capture-format.md)", strings.TrimPrefix(msg, "json: "))
	}
	return fmt.Errorf("capture: line %d: %s", lineAt(data, int(off)), strings.TrimPrefix(msg, "json: "))
}

// quoted returns the first "..." in s.
func quoted(s string) (string, bool) {
	i := strings.IndexByte(s, '"')
	if i < 0 {
		return "", false
	}
	j := strings.IndexByte(s[i+1:], '"')
	if j < 0 {
		return "", false
	}
	return s[i+1 : i+1+j], true
}

// lineAt is the 1-based line of byte offset off.
func lineAt(data []byte, off int) int {
	if off > len(data) {
		off = len(data)
	}
	if off < 0 {
		off = 0
	}
	return bytes.Count(data[:off], []byte{'\n'}) + 1
}

// keyLine is the line of the first occurrence of "key" (0 when absent).
func keyLine(data []byte, key string) int {
	i := bytes.Index(data, []byte(`"`+key+`"`))
	if i < 0 {
		return 0
	}
	return lineAt(data, i)
}

// Hex32 is a 32-bit register value written "0x0000ABCD".
type Hex32 uint32

// Hex16 is a 16-bit value written "0xABCD".
type Hex16 uint16

// Hex8 is a byte written "0xAB".
type Hex8 uint8

// MarshalJSON writes the value as a hex string.
func (h Hex32) MarshalJSON() ([]byte, error) { return []byte(fmt.Sprintf(`"0x%08X"`, uint32(h))), nil }

// MarshalJSON writes the value as a hex string.
func (h Hex16) MarshalJSON() ([]byte, error) { return []byte(fmt.Sprintf(`"0x%04X"`, uint16(h))), nil }

// MarshalJSON writes the value as a hex string.
func (h Hex8) MarshalJSON() ([]byte, error) { return []byte(fmt.Sprintf(`"0x%02X"`, uint8(h))), nil }

// UnmarshalJSON reads "0x…" (or a plain number).
func (h *Hex32) UnmarshalJSON(b []byte) error {
	v, err := parseHex(b, 32)
	*h = Hex32(v)
	return err
}

// UnmarshalJSON reads "0x…" (or a plain number).
func (h *Hex16) UnmarshalJSON(b []byte) error {
	v, err := parseHex(b, 16)
	*h = Hex16(v)
	return err
}

// UnmarshalJSON reads "0x…" (or a plain number).
func (h *Hex8) UnmarshalJSON(b []byte) error {
	v, err := parseHex(b, 8)
	*h = Hex8(v)
	return err
}

// hexError is a value that is not a hex number of the width wanted.
type hexError struct {
	text string
	bits int
}

func (e *hexError) Error() string {
	return fmt.Sprintf("value %s is not a %d-bit number written 0x…", e.text, e.bits)
}

func parseHex(b []byte, bits int) (uint64, error) {
	s := string(b)
	if uq, err := strconv.Unquote(s); err == nil {
		s = uq
	}
	s = strings.TrimSpace(s)
	base := 10
	if strings.HasPrefix(s, "0x") || strings.HasPrefix(s, "0X") {
		s, base = s[2:], 16
	}
	v, err := strconv.ParseUint(s, base, bits)
	if err != nil {
		return 0, &hexError{text: string(b), bits: bits}
	}
	return v, nil
}
