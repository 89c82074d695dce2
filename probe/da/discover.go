package da

import (
	"encoding/binary"
	"fmt"
	"slices"
	"strings"

	"github.com/stprobe/stprobe/targets"
)

// Provisioning-integrity words of ST's discovery TLV 0x8000 (security
// reference §5.5).
const (
	IntegrityProvisioned    uint32 = 0xEAEAEAEA // DA data provisioned and valid
	IntegrityNotProvisioned uint32 = 0xF5F5F5F5 // nothing provisioned, or corrupt
)

// Cryptosystem identifiers (PSA-ADAC, and ST's password).
const (
	CryptoECDSAP256 uint8 = 0x01 // certificate method
	CryptoPassword  uint8 = 0x80 // ST password method
)

// CryptosystemName names a cryptosystem as ST tools print it.
func CryptosystemName(c uint8) string {
	switch c {
	case CryptoECDSAP256:
		return "ECDSA P-256 SHA-256"
	case CryptoPassword:
		return "ST password"
	case 0x02:
		return "ECDSA P-521 SHA-512"
	case 0x03:
		return "RSA-3072"
	case 0x04:
		return "RSA-4096"
	case 0x05:
		return "Ed25519"
	}
	return fmt.Sprintf("cryptosystem 0x%02X", c)
}

// Discovery is what the chip's DA agent answered to DISCOVERY, decoded.
// Fields whose TLV was absent are zero; TLVs keeps everything raw.
type Discovery struct {
	// RequestWord and ReplyWord are the session-start words used and seen.
	RequestWord uint32 `json:"request_word"`
	ReplyWord   uint32 `json:"reply_word"`
	// Drained are the stale device words emptied from DBG_AUTH_DEV before
	// the reply (a word left by an earlier session, ST's 0xBADF00D0).
	Drained []uint32 `json:"drained,omitempty"`
	// IDCode is DBGMCU_IDCODE read through the mailbox AP under reset
	// (0 when unreadable).
	IDCode uint32 `json:"idcode,omitempty"`
	// AuthVersion is the PSA-ADAC version, e.g. "1.0"; VendorID the JEP106
	// code (ST: 0x0020).
	AuthVersion string `json:"auth_version,omitempty"`
	VendorID    uint16 `json:"vendor_id,omitempty"`
	// SoCClass is the SoC class (STM32H5: DEV_ID, e.g. 0x478); SoCID the
	// 16-byte SoC ID and UID its first 96 bits as three words (the chip's
	// unique ID).
	SoCClass uint32    `json:"soc_class"`
	SoCID    []byte    `json:"soc_id,omitempty"`
	UID      [3]uint32 `json:"uid"`
	// Lifecycle is the raw PSA_LIFECYCLE value and State the product state
	// it maps to (0 when the value is not in the table).
	Lifecycle uint16               `json:"lifecycle"`
	State     targets.ProductState `json:"state,omitempty"`
	// Integrity is ST's provisioning-integrity word (IntegrityProvisioned
	// or IntegrityNotProvisioned); HasIntegrity says it was reported.
	Integrity    uint32 `json:"integrity"`
	HasIntegrity bool   `json:"has_integrity"`
	// Cryptosystems are the methods the chip offers (CryptoPassword,
	// CryptoECDSAP256).
	Cryptosystems []uint8 `json:"cryptosystems,omitempty"`
	// Permissions is HW_PERMISSIONS_MASK (16 bytes; the first word holds
	// ST's permission bits, e.g. 0x00005077).
	Permissions []byte `json:"permissions,omitempty"`
	// SDAVersion is the debug agent's version, e.g. "2.4.0".
	SDAVersion string `json:"sda_version,omitempty"`
	// TokenFormats and CertFormats are the formats the agent accepts.
	TokenFormats []uint16 `json:"token_formats,omitempty"`
	CertFormats  []uint16 `json:"cert_formats,omitempty"`
	// HDPLStatus are ST's HDPL1..3 status words (meaning unconfirmed).
	HDPLStatus []uint32 `json:"hdpl_status,omitempty"`
	// TLVs is the raw answer.
	TLVs []TLV `json:"tlvs"`
}

// Provisioned reports whether the chip says DA data is provisioned.
func (d *Discovery) Provisioned() bool {
	return d.HasIntegrity && d.Integrity == IntegrityProvisioned
}

// PermissionWord is the first 32 bits of the permission mask.
func (d *Discovery) PermissionWord() uint32 {
	if len(d.Permissions) < 4 {
		return 0
	}
	return binary.LittleEndian.Uint32(d.Permissions)
}

// Method names the DA method the chip offers: "certificate", "password",
// or "" when it offers neither.
func (d *Discovery) Method() string {
	switch {
	case slices.Contains(d.Cryptosystems, CryptoECDSAP256):
		return "certificate"
	case slices.Contains(d.Cryptosystems, CryptoPassword):
		return "password"
	}
	return ""
}

// StateName is the product state's name, or the raw lifecycle value when
// it is not in the table.
func (d *Discovery) StateName() string {
	if d.State.Valid() {
		return d.State.String()
	}
	return fmt.Sprintf("unknown lifecycle 0x%04X", d.Lifecycle)
}

// String is a one-line summary, e.g. "TZ_CLOSED (lifecycle 0x20C6), DA not
// provisioned (integrity 0xF5F5F5F5), ECDSA P-256 SHA-256, SoC class 0x478,
// SDA 2.4.0".
func (d *Discovery) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s (lifecycle 0x%04X)", d.StateName(), d.Lifecycle)
	switch {
	case !d.HasIntegrity:
		b.WriteString(", provisioning integrity not reported")
	case d.Provisioned():
		fmt.Fprintf(&b, ", DA provisioned (integrity 0x%08X)", d.Integrity)
	default:
		fmt.Fprintf(&b, ", DA not provisioned (integrity 0x%08X)", d.Integrity)
	}
	var cs []string
	for _, c := range d.Cryptosystems {
		cs = append(cs, CryptosystemName(c))
	}
	if len(cs) > 0 {
		b.WriteString(", " + strings.Join(cs, " | "))
	}
	if w := d.PermissionWord(); w != 0 {
		fmt.Fprintf(&b, ", permissions 0x%08X", w)
	}
	fmt.Fprintf(&b, ", SoC class 0x%03X", d.SoCClass)
	if d.SDAVersion != "" {
		b.WriteString(", SDA " + d.SDAVersion)
	}
	return b.String()
}

// DecodeDiscovery decodes a DISCOVERY payload (a TLV list) into a
// Discovery. Unknown TLVs are kept in TLVs only; a known TLV of the wrong
// size is an error.
func DecodeDiscovery(payload []byte) (*Discovery, error) {
	tlvs, err := DecodeTLVs(payload)
	if err != nil {
		return nil, err
	}
	d := &Discovery{TLVs: tlvs}
	for _, t := range tlvs {
		v := t.Value
		short := func(n int) error {
			if len(v) < n {
				return fmt.Errorf("TLV 0x%04X: %d bytes, want at least %d: %w", t.Type, len(v), n, ErrMalformed)
			}
			return nil
		}
		switch t.Type {
		case TypeAuthVersion:
			if err := short(2); err != nil {
				return nil, err
			}
			d.AuthVersion = fmt.Sprintf("%d.%d", v[0], v[1])
		case TypeVendorID:
			if err := short(2); err != nil {
				return nil, err
			}
			d.VendorID = binary.LittleEndian.Uint16(v)
		case TypeSoCClass:
			if err := short(4); err != nil {
				return nil, err
			}
			d.SoCClass = binary.LittleEndian.Uint32(v)
		case TypeSoCID:
			if err := short(12); err != nil {
				return nil, err
			}
			d.SoCID = slices.Clone(v)
			for i := range d.UID {
				d.UID[i] = binary.LittleEndian.Uint32(v[4*i:])
			}
		case TypeHWPermMask:
			d.Permissions = slices.Clone(v)
		case TypePSALifecycle:
			if err := short(2); err != nil {
				return nil, err
			}
			d.Lifecycle = binary.LittleEndian.Uint16(v)
			d.State, _ = StateOfLifecycle(d.Lifecycle)
		case TypeSDAID, TypeSDAVersion:
			if err := short(3); err != nil {
				return nil, err
			}
			d.SDAVersion = fmt.Sprintf("%d.%d.%d", v[0], v[1], v[2])
		case TypeTokenFormats:
			d.TokenFormats = u16s(v)
		case TypeCertFormats:
			d.CertFormats = u16s(v)
		case TypeCryptosystems:
			d.Cryptosystems = slices.Clone(v)
		case TypeSTPassword:
			if err := short(4); err != nil {
				return nil, err
			}
			d.Integrity, d.HasIntegrity = binary.LittleEndian.Uint32(v), true
		}
		if t.Type >= TypeSTHDPL1Status && t.Type <= TypeSTHDPL3Status && len(v) >= 4 {
			d.HDPLStatus = append(d.HDPLStatus, binary.LittleEndian.Uint32(v))
		}
	}
	return d, nil
}

func u16s(v []byte) []uint16 {
	var out []uint16
	for i := 0; i+2 <= len(v); i += 2 {
		out = append(out, binary.LittleEndian.Uint16(v[i:]))
	}
	return out
}
