package obytes

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"strings"
)

// Where the debug-authentication data lives (security reference §5.8).
const (
	// OBKDAAddr is the 96-byte DA record in the OBK HDPL1 area (secure
	// alias), on the TrustZone lines.
	OBKDAAddr = 0x0FFD0100
	// OBKDAAddrNS is the same record through the non-secure alias, where
	// it is reachable with TrustZone disabled.
	OBKDAAddrNS = 0x0BFD0100
	// OBKDASize is the record's size in bytes.
	OBKDASize = 96
	// OTPAddr is the OTP area; on STM32H503 its first 32 bytes hold the
	// SHA-256 of the DA password, locked by LOCKBL bit 0.
	OTPAddr = 0x08FFF000
)

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

// ReadDAStatus finds out whether DA data is provisioned, through AP1: the
// OBK record on TrustZone lines, the OTP hash and LOCKBL bit 0 on STM32H503.
// A read that faults leaves the status unchecked (the rules then assume no
// DA). snap is the chip's current option bytes (needed for TZEN and LOCKBL).
func ReadDAStatus(ctx context.Context, t Target, l *Layout, snap *Snapshot) DAStatus {
	if l.DevID == DevH503 {
		return readOTPDA(ctx, t, snap)
	}
	// TrustZone on: the record sits behind the secure alias; off: behind
	// the non-secure one. Try the likely one first, then the other.
	addrs := []uint32{OBKDAAddrNS, OBKDAAddr}
	if snap == nil {
		return DAStatus{Checked: false, Source: "no option-byte snapshot to read TZEN from"}
	}
	if tz, ok := get(l, snap.Cur, "TZEN"); ok && tz == tzenOn {
		addrs = []uint32{OBKDAAddr, OBKDAAddrNS}
	}
	var errs []string
	for _, base := range addrs {
		rec, err := readRecord(ctx, t, base)
		if err != nil {
			errs = append(errs, fmt.Sprintf("0x%08X: %v", base, err))
			continue
		}
		return DecodeOBKDA(rec)
	}
	return DAStatus{Checked: false, Source: fmt.Sprintf("OBK record unreadable through AP%d (%s)", CoreAP, strings.Join(errs, "; "))}
}

// readRecord reads the 96-byte DA record at base.
func readRecord(ctx context.Context, t Target, base uint32) ([]byte, error) {
	rec := make([]byte, OBKDASize)
	for i := 0; i < OBKDASize; i += 4 {
		v, err := t.Read32(ctx, CoreAP, base+uint32(i))
		if err != nil {
			return nil, err
		}
		binary.LittleEndian.PutUint32(rec[i:], v)
	}
	return rec, nil
}

// readOTPDA checks the STM32H503 password hash in OTP.
func readOTPDA(ctx context.Context, t Target, snap *Snapshot) DAStatus {
	src := fmt.Sprintf("OTP hash at 0x%08X", OTPAddr)
	blank := true
	for i := uint32(0); i < 32; i += 4 {
		v, err := t.Read32(ctx, CoreAP, OTPAddr+i)
		if err != nil {
			return DAStatus{Checked: false, Source: fmt.Sprintf("%s unreadable through AP%d: %v", src, CoreAP, err)}
		}
		if v != 0xFFFFFFFF {
			blank = false
		}
	}
	if blank {
		return DAStatus{Checked: true, Provisioned: false, Source: src + " is blank"}
	}
	st := DAStatus{Checked: true, Provisioned: true, Method: DAPassword, Source: src + " written"}
	if snap != nil && snap.Cur["OTPBLR"]&1 == 0 {
		st.Source += " but OTP block 0 not locked (LOCKBL bit 0 clear)"
	} else {
		st.Source += " and locked"
	}
	return st
}
