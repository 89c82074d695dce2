package dacred

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"fmt"

	"github.com/stprobe/stprobe/targets/stm32h5"
)

// OBK is an ST .obk file: a 12-byte header (destination address, payload
// size, DoEncryption) and the payload the ROM stores there (security
// reference §5.8).
type OBK struct {
	Dest    uint32 `json:"dest"`
	Size    uint32 `json:"size"`    // as the header says
	Encrypt uint32 `json:"encrypt"` // DoEncryption: 1 asks the ROM to encrypt with the DHUK
	Payload []byte `json:"payload"`
}

// maxOBKFile bounds what DecodeOBK reads.
const maxOBKFile = 8192

// DecodeOBK decodes an .obk file. It checks only the shape (a header, and
// a payload as long as the header says); CheckOBK judges the content.
func DecodeOBK(b []byte) (*OBK, error) {
	if len(b) < stm32h5.OBKHeaderSize {
		return nil, fmt.Errorf("OBK file of %d bytes is shorter than its 12-byte header: %w", len(b), ErrFormat)
	}
	if len(b) > maxOBKFile {
		return nil, fmt.Errorf("OBK file of %d bytes is larger than the OBK area: %w", len(b), ErrFormat)
	}
	f := &OBK{
		Dest:    binary.LittleEndian.Uint32(b),
		Size:    binary.LittleEndian.Uint32(b[4:]),
		Encrypt: binary.LittleEndian.Uint32(b[8:]),
		Payload: bytes.Clone(b[stm32h5.OBKHeaderSize:]),
	}
	if uint64(f.Size) != uint64(len(f.Payload)) {
		return f, fmt.Errorf("OBK header announces %d payload bytes, the file carries %d: %w", f.Size, len(f.Payload), ErrFormat)
	}
	return f, nil
}

// Encode returns the file's bytes.
func (f *OBK) Encode() []byte {
	b := binary.LittleEndian.AppendUint32(nil, f.Dest)
	b = binary.LittleEndian.AppendUint32(b, f.Size)
	b = binary.LittleEndian.AppendUint32(b, f.Encrypt)
	return append(b, f.Payload...)
}

// NewDAOBK returns the DA .obk file for part: the record holding
// secretHash (of the password or of the root public key X‖Y) and the
// permission word, encrypted by the ROM on crypto parts.
func NewDAOBK(part stm32h5.Part, secretHash [32]byte, permissions uint32) *OBK {
	f := &OBK{Dest: stm32h5.OBKDAAddr, Size: stm32h5.OBKDASize, Payload: stm32h5.DARecord(secretHash, permissions)}
	if part.Crypto {
		f.Encrypt = 1
	}
	return f
}

// Record is the DA record of a payload, decoded.
type Record struct {
	Integrity   [32]byte // SHA-256 of payload bytes 32..95, as stored
	SecretHash  [32]byte // SHA-256 of the password or of the root key X‖Y
	Permissions uint32
	IntegrityOK bool // Integrity matches the rest
}

// DecodeRecord decodes a 96-byte DA record.
func DecodeRecord(p []byte) (*Record, error) {
	if len(p) != stm32h5.OBKDASize {
		return nil, fmt.Errorf("DA record of %d bytes, want %d: %w", len(p), stm32h5.OBKDASize, ErrFormat)
	}
	r := &Record{Permissions: binary.LittleEndian.Uint32(p[64:])}
	copy(r.Integrity[:], p[:32])
	copy(r.SecretHash[:], p[32:64])
	r.IntegrityOK = r.Integrity == sha256.Sum256(p[32:])
	return r, nil
}
