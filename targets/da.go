package targets

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"strings"
)

// DAMethod is the debug-authentication method the provisioned data is for.
type DAMethod int

// DA methods. Which one the ROM accepts depends on TZEN: see Line.DAMethodFor.
const (
	DAMethodUnknown DAMethod = iota
	DAPassword
	DACertificate
)

// String names the method.
func (m DAMethod) String() string {
	switch m {
	case DAPassword:
		return "password"
	case DACertificate:
		return "certificate"
	}
	return "unknown"
}

// MarshalText encodes the method by name (for JSON).
func (m DAMethod) MarshalText() ([]byte, error) { return []byte(m.String()), nil }

// UnmarshalText decodes a method name.
func (m *DAMethod) UnmarshalText(b []byte) error {
	v, err := ParseDAMethod(string(b))
	if err != nil {
		return err
	}
	*m = v
	return nil
}

// ParseDAMethod reads "password", "certificate" or "unknown".
func ParseDAMethod(s string) (DAMethod, error) {
	switch strings.ToLower(s) {
	case "password":
		return DAPassword, nil
	case "certificate", "cert":
		return DACertificate, nil
	case "", "unknown":
		return DAMethodUnknown, nil
	}
	return DAMethodUnknown, fmt.Errorf("unknown DA method %q (valid: password, certificate)", s)
}

// DAMethodFor returns the one debug-authentication method the ROM of line l
// accepts with TrustZone setting tzen (security reference §1.4, §5.1): a
// password with TZEN=0xC3, and always on lines without TrustZone; a
// certificate with TZEN=0xB4. ok is false when tzen is no valid setting on a
// TrustZone line: then no method is known to work.
func (l Line) DAMethodFor(tzen TZEN) (m DAMethod, ok bool) {
	switch {
	case !l.TrustZone:
		return DAPassword, true
	case tzen == TZENDisabled:
		return DAPassword, true
	case tzen == TZENEnabled:
		return DACertificate, true
	}
	return DAMethodUnknown, false
}

// DAGrant is what a debug authentication asks the ROM for.
type DAGrant int

// What a debug authentication can ask for (ST's CubeProgrammer per=a, b, c).
const (
	DAGrantFull      DAGrant = iota // full regression: everything erased, back to OPEN
	DAGrantToTZ                     // regression to TZ_CLOSED: the non-secure side erased
	DAGrantOpenDebug                // debug open until the next power cycle, nothing erased
)

// Grants says whether method m can ask for g at all (before the provisioned
// permission word is looked at), and when not, why. This is the one place
// that knows it: the password method does a full regression only; the
// certificate method can ask for any of the three, as its permission word
// allows (AN6008; docs/da-sources.md).
func (m DAMethod) Grants(g DAGrant) (ok bool, why string) {
	switch m {
	case DAPassword:
		if g == DAGrantFull {
			return true, ""
		}
		return false, "the password method does only a full regression; a regression to TZ_CLOSED or a debug opening needs the certificate method (TrustZone on)"
	case DACertificate:
		return true, ""
	}
	return true, "" // not known: nothing ruled out before the chip says its method
}

// DAStatus is what is known about the chip's debug-authentication
// provisioning: whether the DA data (OBK on TrustZone lines, the OTP hash on
// STM32H503) is there, and for which method.
type DAStatus struct {
	// Checked is false when it could not be found out; callers then treat
	// the chip as not provisioned.
	Checked     bool     `json:"checked"`
	Provisioned bool     `json:"provisioned"`
	Method      DAMethod `json:"method"`
	// Source says how the status was found (or why not).
	Source string `json:"source"`
	// SamplePassword is true when the record holds the hash of one of ST's
	// published sample passwords: anyone can regress or open the chip.
	SamplePassword bool `json:"sample_password,omitempty"`
}

// String says it in one line, e.g. "provisioned, method password (OBK DA
// record valid)".
func (d DAStatus) String() string {
	switch {
	case !d.Checked:
		return "unknown (" + d.Source + ")"
	case !d.Provisioned:
		return "not provisioned (" + d.Source + ")"
	}
	return fmt.Sprintf("provisioned, method %s (%s)", d.Method, d.Source)
}

// OBKDASize is the size in bytes of the DA record in the OBK area.
const OBKDASize = 96

// samplePasswordHashes are SHA-256 hashes of ST's published sample DA
// passwords: a record holding one of them is known to be a password record.
func samplePasswordHashes() [][32]byte {
	h503 := make([]byte, 12)
	for i := range h503 {
		h503[i] = byte(i)
	}
	return [][32]byte{sha256.Sum256([]byte("0123456789012345")), sha256.Sum256(h503)}
}

// DecodeOBKDA checks a 96-byte DA record read from the OBK area: its first
// 32 bytes must be the SHA-256 of the other 64. It reports whether the
// record is valid and, when its key hash is one of ST's sample passwords,
// that it is a password record.
func DecodeOBKDA(rec []byte) DAStatus {
	src := "OBK DA record"
	if len(rec) != OBKDASize {
		return DAStatus{Checked: false, Source: fmt.Sprintf("%s: %d bytes read, want %d", src, len(rec), OBKDASize)}
	}
	if bytes.Equal(rec, bytes.Repeat([]byte{0xFF}, OBKDASize)) || bytes.Equal(rec, make([]byte, OBKDASize)) {
		return DAStatus{Checked: true, Provisioned: false, Source: src + " is blank"}
	}
	sum := sha256.Sum256(rec[32:])
	if !bytes.Equal(sum[:], rec[:32]) {
		return DAStatus{Checked: true, Provisioned: false, Source: src + " fails its integrity hash (the ROM reports 0xF5F5F5F5)"}
	}
	st := DAStatus{Checked: true, Provisioned: true, Method: DAMethodUnknown, Source: src + " valid"}
	for _, h := range samplePasswordHashes() {
		if bytes.Equal(rec[32:64], h[:]) {
			st.Method = DAPassword
			st.SamplePassword = true
			st.Source = src + " valid; it holds the hash of ST's sample password"
		}
	}
	return st
}

// ReadDAStatus finds out whether DA data is provisioned, through the chip's
// core AP: the OBK record on lines with an OBK area, the OTP password hash
// and its lock (FLASH_OTPBLR_CUR bit 0) otherwise. tzen is the chip's
// TZEN: with TrustZone on the record sits behind the secure alias, off
// behind the non-secure one; the likely one is read first. A read that
// faults leaves the status unchecked.
func ReadDAStatus(ctx context.Context, r MemReader, chip *Chip, tzen TZEN) DAStatus {
	f, ap := chip.Family, chip.Family.CoreAP
	if !chip.Line.OBK {
		return readOTPDA(ctx, r, f)
	}
	addrs := []uint32{f.OBKDAAddrNS, f.OBKDAAddr}
	if tzen == TZENEnabled {
		addrs = []uint32{f.OBKDAAddr, f.OBKDAAddrNS}
	}
	var errs []string
	for _, base := range addrs {
		rec, err := readOBKRecord(ctx, r, ap, base)
		if err != nil {
			errs = append(errs, fmt.Sprintf("0x%08X: %v", base, err))
			continue
		}
		return DecodeOBKDA(rec)
	}
	return DAStatus{Checked: false, Source: fmt.Sprintf("OBK record unreadable through AP%d (%s)", ap, strings.Join(errs, "; "))}
}

// readOBKRecord reads the 96-byte DA record at base.
func readOBKRecord(ctx context.Context, r MemReader, ap uint8, base uint32) ([]byte, error) {
	rec := make([]byte, OBKDASize)
	for i := 0; i < OBKDASize; i += 4 {
		v, err := r.Read32(ctx, ap, base+uint32(i))
		if err != nil {
			return nil, err
		}
		binary.LittleEndian.PutUint32(rec[i:], v)
	}
	return rec, nil
}

// readOTPDA checks the password hash in the first 32 bytes of OTP and
// whether OTP block 0 is locked.
func readOTPDA(ctx context.Context, r MemReader, f Family) DAStatus {
	ap := f.CoreAP
	src := fmt.Sprintf("OTP hash at 0x%08X", f.OTPAddr)
	blank := true
	for i := uint32(0); i < 32; i += 4 {
		v, err := r.Read32(ctx, ap, f.OTPAddr+i)
		if err != nil {
			return DAStatus{Checked: false, Source: fmt.Sprintf("%s unreadable through AP%d: %v", src, ap, err)}
		}
		if v != 0xFFFFFFFF {
			blank = false
		}
	}
	if blank {
		return DAStatus{Checked: true, Provisioned: false, Source: src + " is blank"}
	}
	st := DAStatus{Checked: true, Provisioned: true, Method: DAPassword, Source: src + " written"}
	locks, err := r.Read32(ctx, ap, f.FlashRegs+FlashOTPBLRCur)
	switch {
	case err != nil:
		st.Source += fmt.Sprintf("; its lock (FLASH_OTPBLR_CUR) unreadable: %v", err)
	case locks&1 == 0:
		st.Source += " but OTP block 0 not locked (LOCKBL bit 0 clear)"
	default:
		st.Source += " and locked"
	}
	return st
}
