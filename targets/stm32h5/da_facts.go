package stm32h5

import (
	"fmt"
	"strings"

	"github.com/stprobe/stprobe/targets"
)

// Debug-authentication facts of the STM32H5 parts (security reference §5.7,
// §5.8; DA session notes §1.3). Host code (probe/da) and the model share
// them from here.

// Part is one STM32H5 part as `ob read` names its line members.
type Part struct {
	// Name is the short part name: "H503", "H523", "H533", "H562", "H563"
	// or "H573".
	Name string
	// DevID is the DBGMCU DEV_ID of its line.
	DevID uint16
	// TrustZone is true when the part has TZEN (all but the H503).
	TrustZone bool
	// Crypto is true on the parts with SAES and the DHUK (H533, H573): the
	// ROM stores OBK data encrypted, so a DA .obk file must ask for
	// encryption (DoEncryption = 1); on the others it must not.
	Crypto bool
	// OBK is true when the DA data lives in the OBK area; false means the
	// password hash lives in OTP (H503).
	OBK bool
	// Unsettled, when set, says which fact of the part's DA no public
	// source settles: closing such a part is never planned as more than
	// brick, whatever the proof of the way back (docs/da-sources.md).
	Unsettled string
}

// h523Unsettled is why closing an H523 stays brick: whether its ROM
// encrypts OBK data is not settled. ST's DA configuration template lists
// the H523 with DoEncryption 1, while ST's CMSIS header for it
// (cmsis-device-h5 Include/stm32h523xx.h) defines no SAES, the engine that
// encryption would need; stprobe makes DoEncryption 0 files for it. A file
// with the wrong flag provisions without complaint, and the chip, once
// closed, never regresses.
const h523Unsettled = "whether the H523's ROM encrypts OBK data is not settled by any public source (ST's DA template lists the H523 with DoEncryption 1, ST's CMSIS header for it defines no SAES); a .obk file with the wrong flag provisions without complaint and the closed chip never regresses"

// Parts lists every STM32H5 part debug authentication knows.
func Parts() []Part {
	return []Part{
		{Name: "H503", DevID: LineH503},
		{Name: "H523", DevID: LineH533, TrustZone: true, OBK: true, Unsettled: h523Unsettled},
		{Name: "H533", DevID: LineH533, TrustZone: true, OBK: true, Crypto: true},
		{Name: "H562", DevID: LineH563, TrustZone: true, OBK: true},
		{Name: "H563", DevID: LineH563, TrustZone: true, OBK: true},
		{Name: "H573", DevID: LineH563, TrustZone: true, OBK: true, Crypto: true},
	}
}

// PartNames lists the part names Parts gives, in order.
func PartNames() []string {
	var out []string
	for _, p := range Parts() {
		out = append(out, p.Name)
	}
	return out
}

// LookupPart finds a part by name: "H533", "h533" or "STM32H533".
func LookupPart(name string) (Part, error) {
	k := strings.TrimPrefix(strings.ToUpper(strings.TrimSpace(name)), "STM32")
	for _, p := range Parts() {
		if p.Name == k {
			return p, nil
		}
	}
	return Part{}, fmt.Errorf("part %q: want one of %s", name, strings.Join(PartNames(), ", "))
}

// Where the DA data lives and the shape of ST's .obk file (security
// reference §5.8).
const (
	// OBKDAAddr is the DA record in the OBK HDPL1 area (secure alias), the
	// destination an .obk file for DA names.
	OBKDAAddr = targets.H5OBKDA
	// OBKDAAddrNS is the same record through the non-secure alias (readable
	// with TrustZone disabled; chosen.go).
	OBKDAAddrNS = 0x0BFD0100
	// OBKDASize is the record's size: SHA-256 of bytes 32..95, the key or
	// password hash, the permission word, zero padding.
	OBKDASize = 96
	// OBKHeaderSize is the .obk file header: destination, size, DoEncryption
	// (three little-endian words).
	OBKHeaderSize = 12
	// OBKFileSize is a DA .obk file's size (an 80-byte file is refused by the
	// ROM with RSSLIB_SETOBKEY_BAD_SIZE).
	OBKFileSize = OBKHeaderSize + OBKDASize
	// OTPDAAddr is where the H503 keeps the SHA-256 of its DA password: OTP
	// block 0, locked by OTPBLR bit 0 (LOCKBL) once written.
	OTPDAAddr = 0x08FFF000
	// DAHashSize is the size of the provisioned hash.
	DAHashSize = 32
)

// DA permission bits of the OBK permission word, the certificates' masks
// and the token's requested permissions (first 32 bits of the 128-bit
// masks). Bits 14 and 12 are confirmed by CubeProgrammer logs; the debug-
// opening bits are chosen (chosen.go).
const (
	PermFullRegression uint32 = 1 << 14 // 'a': erase everything, back to OPEN, TZEN 0xC3
	PermTZRegression   uint32 = 1 << 12 // 'b': erase the non-secure side, back to TZ_CLOSED
	PermOpenDebug      uint32 = 1 << 6  // 'c': open debug (secure and non-secure) until power-off
)

// DefaultDAPermissions is ST's default permission word (DA_Config.xml).
const DefaultDAPermissions = DefaultPermissions

// PartsOf lists the parts of a line (DEV_ID): the H523/H533 line cannot
// tell its two members apart by DEV_ID, so a caller must pick.
func PartsOf(devID uint16) []Part {
	var out []Part
	for _, p := range Parts() {
		if p.DevID == devID {
			out = append(out, p)
		}
	}
	return out
}

// FLASH registers and keys for programming the H503's OTP hash (RM0492;
// the same sequence the model implements in flash.go).
const (
	FlashNSKEYR    = 0x004      // FLASH_NSKEYR offset: flash/OTP unlock keys
	FlashNSCR      = 0x028      // FLASH_NSCR offset: LOCK b0, PG b1
	FlashOTPBLRCur = 0x090      // FLASH_OTPBLR_CUR offset: LOCKBL, one bit per 64-byte OTP block
	FlashOTPBLRPrg = 0x094      // FLASH_OTPBLR_PRG offset
	NSKey1         = 0x45670123 // NSKEYR unlock, first word
	NSKey2         = 0xCDEF89AB // NSKEYR unlock, second word
	NSCRLock       = 1 << 0
	NSCRPG         = 1 << 1
	OPTCROptLock   = 1 << 0
	OPTCROptStart  = 1 << 1
	NSSRBusy       = 1 << 0
	// NSSRWait are the flags ST's HAL polls until clear after each
	// programming step (FLASH_WaitForLastOperation in
	// STMicroelectronics/stm32h5xx-hal-driver Src/stm32h5xx_hal_flash.c:
	// BSY, WBNE, DBNE).
	NSSRWait = targets.NSSRBusy | targets.NSSRWriteBuf | targets.NSSRDataBuf
	// NSSRErrors are the error flags the HAL checks after a programming
	// step (FLASH_FLAG_SR_ERRORS in Inc/stm32h5xx_hal_flash.h: WRPERR,
	// PGSERR, STRBERR, INCERR, OBKERR, OBKWERR, OPTCHANGEERR; the H503 has
	// no OBK flags, bits 21-22 read 0 there). EOP, bit 16, is no error: it
	// says an operation ended.
	NSSRErrors = targets.NSSRErrors
	// NSSREndOfOp is NSSR.EOP, cleared through NSCCR like the errors.
	NSSREndOfOp = targets.NSSREndOfOp
)
