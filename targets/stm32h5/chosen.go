package stm32h5

import (
	"time"

	"github.com/stprobe/stprobe/targets"
	"github.com/stprobe/stprobe/targets/chipsim"
)

// This file is the ONE place for behaviour that real silicon does not
// document (security reference: marked UNCONFIRMED) and that the model
// therefore chooses, mostly to match the seed thread and scenarios.md.
// Correct it here when a real chip says otherwise.

// Access-port identification. Not found in public sources: AP0 is modelled
// as an Arm APB-AP, AP1 as an Arm AHB5-AP (the values Armv8-M STM32 parts are
// commonly reported with). BASE points at the ROM tables (AP0's at
// 0xE00E0000 per probe-rs' log; bit 0 = entry present, bit 1 = ADIv5 format).
const (
	ap0IDR  = 0x54770002
	ap0BASE = 0xE00E0003
	ap1IDR  = 0x84770001
	ap1BASE = 0xE00FF003
)

// dbgmcuAPPresent is DBGMCU_SR.AP_PRESENT: AP0 and AP1 (the security
// reference expects 0x0003 without a public source).
const dbgmcuAPPresent = 0x0003

// The DA mailbox (DBG_AUTH_HOST/DEV/ACK) follows security reference §5.2
// (inferred from ST device code, UNCONFIRMED on H5 silicon): writing
// DBG_AUTH_HOST sets HOST_ACK (bit 0), the ROM agent consuming the word
// clears it; the agent writing DBG_AUTH_DEV sets DEV_ACK (bit 1), a
// debugger read of DBG_AUTH_DEV clears it. Writes to DBG_AUTH_ACK store
// both bits (an explicit clear by the host). See da.go.

// cpuidM33 is the Cortex-M33 r0p4 CPUID.
const cpuidM33 = chipsim.CPUIDCortexM33r0p4

// Modelled durations.
const (
	// defaultOptionDelay is how long NSSR.BSY (and OPTCR.OPTSTRT) stay set
	// after OPTSTRT before the option change completes; a host must poll.
	defaultOptionDelay = 20 * time.Millisecond
	// defaultSleepAfter is how long sleepy firmware keeps SWD answering
	// after it starts running (reset release or resume from halt).
	defaultSleepAfter = 500 * time.Microsecond
)

// canHalt decides whether the Cortex-M33 can be halted (DHCSR.C_HALT, or
// a reset vector catch when vectorCatch is set). Chosen, to fit both public
// accounts of PROVISIONING: the seed thread's Normal and Under Reset
// connections fail on a board found in PROVISIONING (Hot Plug works and
// reads 0x17), while ST's OpenOCD (tcl/target/stm32h5x.cfg,
// enter_provisionning_pstate) resets the chip with the debugger attached
// and then halts it to call RSSLIB_DataProvisioning. So in PROVISIONING:
// the ROM boot is never caught at the reset vector; a halt request is
// honoured only when a debugger has held C_DEBUGEN since the last reset
// (it was attached while the ROM booted), and never on a board with
// Config.NoHaltInProvisioning (the public sources disagree on whether the
// core halts there at all: that board is the other reading).
func canHalt(state targets.ProductState, vectorCatch, attached, noHaltInProvisioning bool) bool {
	if state != targets.StateProvisioning {
		return true
	}
	return !vectorCatch && attached && !noHaltInProvisioning
}

// ap1Open decides whether AP1 (the core's bus) answers at all, per security
// reference §4.2 and scenarios.md. nsDebugApp says whether the board's
// non-secure application opens debug once it runs (iROT_PROVISIONED and
// TZ_CLOSED: chosen to need an application that really runs, i.e. the chip
// is out of reset and not running the ROM). daOpened is a debug-
// authentication "open debug" in force.
func ap1Open(state targets.ProductState, nsDebugApp, appRunning, daOpened bool) bool {
	switch state {
	case targets.StateOpen, targets.StateProvisioning:
		return true
	case targets.StateIROTProvisioned, targets.StateTZClosed:
		return daOpened || (nsDebugApp && appRunning)
	case targets.StateClosed:
		return daOpened
	}
	return false // LOCKED and anything invalid
}

// ap1SecureOpen decides whether AP1 transfers to secure aliases (0x0C…,
// 0x0FFD…, 0x5002…) succeed. Chosen: the aliases only exist with TrustZone
// enabled (TZEN=0xB4; with 0xC3 they fault, and ST's tools use them only
// with 0xB4); secure debug is open in OPEN and PROVISIONING only, unless DA
// opened it.
func ap1SecureOpen(state targets.ProductState, tzen targets.TZEN, daOpened bool) bool {
	if tzen != targets.TZENEnabled {
		return false
	}
	return state == targets.StateOpen || state == targets.StateProvisioning || daOpened
}

// Factory option-byte values. The real factory values are not public
// (security reference §2.4 says: read them, do not assume them); these are
// plausible defaults: watchdogs in software mode, no reset on Stop/Standby,
// BOOT_UBE = OEM-iRoT, nothing write-protected, no secure or HDP area, boot
// from the start of flash.
func factoryOptions(line targets.Line, state targets.ProductState, tzen targets.TZEN) map[string]uint32 {
	o := map[string]uint32{
		"OPTSR":   0x003000D8 | uint32(state)<<8,
		"NSBOOTR": 0x080000C3,
		"OTPBLR":  0,
	}
	switch line.DevID {
	case 0x474: // H503: 8 WRP bits per bank, 3-bit HDP fields, no TrustZone
		o["OPTSR2"] = 0x00000658
		o["WRP1R"], o["WRP2R"] = 0x000000FF, 0x000000FF
		o["HDP1R"], o["HDP2R"] = 0x00000007, 0x00000007
	case 0x478: // H523/H533: 8 WRP bits, 5-bit sector fields
		o["OPTSR"] |= 0xB4 << 22
		o["OPTSR2"] = 0x0000015C | uint32(tzen)<<24
		o["WRP1R"], o["WRP2R"] = 0x000000FF, 0x000000FF
		o["HDP1R"], o["HDP2R"] = 0x0000001F, 0x0000001F
		o["SECWM1R"], o["SECWM2R"] = 0x0000001F, 0x0000001F
	default: // H562/H563/H573: 32 WRP bits, 7-bit sector fields
		o["OPTSR"] |= 0xB4 << 22
		o["OPTSR2"] = 0x0000017C | uint32(tzen)<<24
		o["WRP1R"], o["WRP2R"] = 0xFFFFFFFF, 0xFFFFFFFF
		o["HDP1R"], o["HDP2R"] = 0x0000007F, 0x0000007F
		o["SECWM1R"], o["SECWM2R"] = 0x0000007F, 0x0000007F
	}
	if line.TrustZone {
		o["SECBOOTR"] = 0x0C0000C3
		o["EDATA1R"], o["EDATA2R"] = 0, 0
		o["NSEPOCHR"], o["SECEPOCHR"] = 0, 0
	}
	return o
}

// Option-change rules beyond "product state forward only" (security
// reference §8 rule 2, several parts UNCONFIRMED):
//   - A refused change rejects the whole OPTSTRT: no _CUR register changes.
//   - Debugger writes of the request codes 0x9A/0xA3 are refused like any
//     invalid state.
//   - A direct jump from OPEN to a state beyond PROVISIONING is allowed
//     unless Config.OpenOnlyToProvisioning is set.
//   - TZEN may change only in OPEN and PROVISIONING, and only to 0xB4/0xC3.
//   - TZ_CLOSED is accepted with TrustZone disabled (TZEN=0xC3) as well; the
//     rule itself lives in targets.Line.Transition, shared with obytes.
//   - WRP, HDP and SECWM may change only in OPEN and PROVISIONING.
//   - OTPBLR bits only go from 0 to 1; clearing a lock bit is ignored.
//   - Other option changes take effect at once, without a reset; a
//     PRODUCT_STATE or TZEN change resets the chip and drops the debug link.
//   - A system reset (NRST, SYSRESETREQ) relocks OPTCR and NSCR, clears the
//     wrong-key lock and the NSSR flags, and reloads every _PRG from _CUR.
var protectedBeyondProvisioning = []string{"WRP1R", "WRP2R", "HDP1R", "HDP2R", "SECWM1R", "SECWM2R"}

// OTP rules: programming needs NSCR unlocked with PG set, and is done one
// 16-bit half-word per write, as ST's HAL does it (HAL_FLASH_Program with
// FLASH_TYPEPROGRAM_HALFWORD_OTP calls FLASH_Program_HalfWord, a single
// 16-bit store, then waits on BSY/WBNE/DBNE: stm32h5xx-hal-driver
// Src/stm32h5xx_hal_flash.c, whose header says OTP is programmed "by 16
// bits"). A programmed half-word sets NSSR.EOP. Chosen where no public
// source settles it: a write of any other size (byte, word) sets PGSERR
// and programs nothing; each half-word can be written once (even with the
// same value); writing a programmed half-word or one in a locked block
// sets WRPERR and changes nothing. An unprogrammed half-word reads 0xFFFF
// (real parts may report an ECC error instead).
const otpErased = 0xFFFF

// Debug-authentication data as seen on the bus (chosen): the 96-byte OBK
// record at 0x0FFD0100 reads back in clear through a secure AP1 access
// while secure debug is open, although crypto parts store it encrypted.

// ---- Debug authentication (the ROM's DA agent, da.go) ----
//
// The H5 ROM's DA words and codes are not public (DA session notes §7);
// these are the model's choices. A host must use the same values, which
// probe/da takes as its documented defaults.

// The session-start words (UNCONFIRMED for H5): request "STDA", echoed
// back as ST's STM32MP21 device does (the DA session notes' recommended
// default), ASCII packed first character in the top byte. The request must
// reach DBG_AUTH_HOST while NRST is held low.
const (
	daRequestWord = 0x53544441 // "STDA"
	daReplyWord   = daRequestWord
)

// daBootDelay is the modelled ROM boot time between NRST release and the
// agent's reply word; a host must poll DBG_AUTH_ACK for it.
const daBootDelay = 2 * time.Millisecond

// daMaxRequestWords bounds the payload a request may announce; a longer one
// is answered INVALID_PARAMETERS at once.
const daMaxRequestWords = 256

// daLifecycle is the PSA_LIFECYCLE u16 the agent reports per product state
// (UNCONFIRMED: the ST codes are not public). Chosen: 0x20 in the high byte
// and the product-state byte in the low one, after the N6 sample's two
// lifecycle bytes {0x20, 0x17} (0x17 = PROVISIONING). probe/da keeps the
// same table.
var daLifecycle = map[targets.ProductState]uint16{
	targets.StateOpen:            0x20ED,
	targets.StateProvisioning:    0x2017,
	targets.StateIROTProvisioned: 0x202E,
	targets.StateTZClosed:        0x20C6,
	targets.StateClosed:          0x2072,
	targets.StateLocked:          0x205C,
}

// daVendorID is the VENDOR_ID TLV value: JEP106 ST (bank 0, code 0x20),
// byte order as the N6 sample sends it (UNCONFIRMED).
var daVendorID = []byte{0x20, 0x00}

// daSDAVersion is the SDA_ID TLV value, "2.4.0" as CubeProgrammer prints
// for H5 parts (encoding UNCONFIRMED).
var daSDAVersion = []byte{0x02, 0x04, 0x00, 0x00}

// daHDPLStatus is the HDPL1..3 status word reported (meaning UNCONFIRMED).
const daHDPLStatus = 0xFFFFFFFF

// daCryptosystem is the method the ROM offers: ECDSA P-256 with TrustZone
// enabled, the ST password otherwise (H503 and TZEN 0xC3), per security
// reference §5.1.
func daCryptosystem(tzen targets.TZEN) byte {
	if tzen.Enabled() {
		return 0x01
	}
	return 0x80
}

// daPermissionsMask is the HW_PERMISSIONS_MASK word reported: the
// provisioned permission word, none when nothing is provisioned or the chip
// is LOCKED (chosen).
func daPermissionsMask(state targets.ProductState, provisioned bool, perms uint32) uint32 {
	if !provisioned || state == targets.StateLocked {
		return 0
	}
	return perms
}

// ---- Debug authentication: authentication, regression, OBK provisioning ----
//
// Choices of the DA session beyond discovery (security reference §5.6–§5.8,
// DA session notes §4, §7), each UNCONFIRMED on silicon.

// daStateMask is what the ROM may grant per product state. Chosen after the
// CubeH5 DA README ("DA can be used from PROVISIONING up to CLOSED") and the
// permission lines discovery prints: full regression from PROVISIONING to
// CLOSED; regression to TZ_CLOSED only from TZ_CLOSED or CLOSED with
// TrustZone on; debug opening once the chip is beyond PROVISIONING. OPEN
// needs nothing and LOCKED gets nothing.
func daStateMask(state targets.ProductState, tzen targets.TZEN) uint32 {
	switch state {
	case targets.StateProvisioning:
		return PermFullRegression
	case targets.StateIROTProvisioned, targets.StateTZClosed, targets.StateClosed:
		mask := PermFullRegression | PermOpenDebug
		if tzen.Enabled() && state != targets.StateIROTProvisioned {
			mask |= PermTZRegression
		}
		return mask
	}
	return 0
}

// The debug-opening permission bit (PermOpenDebug, bit 6) stands for "open
// debug at HDPL3", the CubeProgrammer letter c the community reports; which
// of bits 0–2 and 4–6 means which level is not public. Chosen: one bit, and
// the opening lasts until the next power cycle (DBGMCU_CR.DCRT is not
// modelled).

// The password method grants full regression only (AN6008, ST wiki); the
// password AUTH_RESPONSE carries the 0x8000 TLV alone, no permission.

// h503DAPermissions is the permission word of an H503, which keeps only
// the password hash in OTP: full regression and debug opening (chosen).
const h503DAPermissions = PermFullRegression | PermOpenDebug

// Refusals (chosen statuses): AUTH_START and AUTH_RESPONSE on a LOCKED chip
// → UNAUTHORIZED; AUTH_RESPONSE without AUTH_START → FAILURE; nothing
// provisioned (or the record fails its integrity hash) → FAILURE; a wrong
// password, a chain not rooted in the provisioned key, a bad signature, a
// certificate for another SoC, or a permission outside the effective mask
// → UNAUTHORIZED; the method the TrustZone setting does not offer (password
// with TZEN 0xB4, certificates with 0xC3) → UNSUPPORTED; malformed TLVs →
// INVALID_PARAMETERS. Every final answer consumes the challenge.

// daRegressionTime is the modelled erase time between the SUCCESS answer
// being read and the reset that ends a regression (real parts take
// seconds). SWD keeps answering meanwhile; AP1 follows the old state.
const daRegressionTime = 30 * time.Millisecond

// userProgramWords is the size, in words, of each half of the modelled
// user program. A board built in any state but OPEN carries one (a secure
// boot image at the start of flash, a non-secure application at its
// middle); a fresh OPEN board is erased. A regression to TZ_CLOSED erases
// the upper half of flash, taken as the non-secure side (the real split
// follows the secure watermarks).
const userProgramWords = 256

// OBK provisioning (rsslib.go has the public facts). Chosen where the
// sources stop:
//   - rsslibDataProvisioningEntry is the entry point the word at
//     RSSLIBPFuncBase holds (the ROM's own addresses are not public; this
//     one is in the non-secure system memory, Thumb bit set). The other
//     words of the table read as zero.
//   - RSSLIB_DataProvisioning serves in PROVISIONING only (elsewhere, or
//     with a structure the core cannot read: RSSLIBError). It checks, in
//     this order: the size (0, not a multiple of 16, or larger than the
//     HDPL3 section: RSSLIBBadSize); the destination (outside the secure
//     OBK alias 0x0FFD0000-0x0FFD1FFF or in ST's HDPL0 section:
//     RSSLIBBadDestination); the source inside SRAM3, the destination
//     16-byte aligned and the data inside one section
//     (RSSLIBBadAddressRange); the DoEncryption magic word
//     (RSSLIBBadEncryption); the CRC (RSSLIBBadCRC); encryption asked of a
//     part without DHUK (RSSLIBEncryptionError). Then it stores the data.
//   - A crypto part stores data given with ProvNoEncrypt as they are, so
//     the ROM's DHUK decryption later reads noise: the DA record fails its
//     integrity hash and discovery reports 0xF5F5F5F5 (ST community: such a
//     chip closes and never regresses). The model's OBK area reads back as
//     the ROM sees it, after that decryption.
//   - The call takes no modelled time: the core is back at the return
//     address as soon as it resumes.
const rsslibDataProvisioningEntry = 0x0BF9A4C1

// The model's line 0x478 stands for the crypto STM32H533 and line 0x484 for
// the plain STM32H563 (Model.Part); the OBK encryption rule follows that.
