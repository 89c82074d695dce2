package targets

import "fmt"

// Family is a group of chips that share a debug architecture: where DBGMCU
// sits, which access port does what, the flash-register and engineering-area
// addresses, and the product-state lifecycle. Lines are its members, told
// apart by DBGMCU DEV_ID.
type Family struct {
	Name string // e.g. "STM32H5"
	// Core names the CPU, e.g. "Cortex-M4".
	Core string
	// RDP, on the families protected by read-out protection levels (F1,
	// F4, G0, G4, L4, U5, H7), says where the level is kept; nil on STM32H5,
	// which has product states instead.
	RDP *RDPScheme
	// DPIDRs are SW-DP identification values seen on this family.
	DPIDRs []uint32
	// APs describes each access port's role.
	APs []APRole
	// DebugAP is the port that always answers (DBGMCU, DA mailbox); CoreAP
	// the port that reaches the core, memory and flash registers.
	DebugAP, CoreAP uint8
	// FlashRegs and FlashRegsSecure are the FLASH register block, non-secure
	// and secure alias (0 when the family has no secure alias).
	FlashRegs, FlashRegsSecure uint32
	// UIDAddr, FlashSizeAddr and PackageAddr are the engineering area: the
	// 96-bit unique ID (three words), the flash size in KiB (u16) and the
	// package code (u16), read through CoreAP; PackageAddr is 0 on families
	// without a package register.
	UIDAddr, FlashSizeAddr, PackageAddr uint32
	// OTPAddr and OTPSize locate the one-time-programmable area.
	OTPAddr, OTPSize uint32
	// OBKDAAddr is where the debug-authentication data lives in the OBK area
	// (secure alias), OBKDAAddrNS the same record through the non-secure
	// alias (reachable with TrustZone disabled); 0 when the family keeps it
	// elsewhere.
	OBKDAAddr, OBKDAAddrNS uint32
	// Packages names the package codes read at PackageAddr.
	Packages map[uint16]string
	// States is the product-state lifecycle, in forward order.
	States []StateInfo
	// Lines are the members, by DEV_ID.
	Lines []Line
}

// APRole says what one access port is for.
type APRole struct {
	AP   uint8
	Kind string // "APB-AP", "AHB-AP"
	Role string // one sentence
	// DBGMCU is where the DBGMCU block appears through this port.
	DBGMCU uint32
	// ReachesCore is true when the Cortex-M core debug (SCS) is behind it.
	ReachesCore bool
}

// Line is one DEV_ID of a family: the chips that share a die.
type Line struct {
	DevID uint16
	Name  string   // e.g. "STM32H523/H533"
	Parts []string // e.g. "STM32H523", "STM32H533"
	// RefManual is ST's reference manual for the line.
	RefManual string
	// TrustZone is true when the line has TZEN and a secure alias.
	TrustZone bool
	// OBK is true when the line has the option-byte-key area (DA data there);
	// false means the DA password hash lives in OTP.
	OBK bool
	// MaxFlashKB is the largest flash of the line.
	MaxFlashKB int
	// SRAMKB is the contiguous SRAM from SRAMBase (SRAM1, SRAM2, SRAM3).
	SRAMKB int
	// Revisions names REV_ID values.
	Revisions []Revision
	// DefaultPackage is a package code this line is commonly sold in, for
	// simulated boards.
	DefaultPackage uint16
}

// Revision names one REV_ID.
type Revision struct {
	RevID     uint16
	Letter    string
	Confirmed bool // false when the value is inferred rather than published
}

// RevisionName returns the revision letter for revID, or "rev 0xNNNN" when
// the line does not list it.
func (l Line) RevisionName(revID uint16) string {
	for _, r := range l.Revisions {
		if r.RevID == revID {
			return r.Letter
		}
	}
	return fmt.Sprintf("rev 0x%04X", revID)
}

// HasState reports whether s exists on this line (TZ_CLOSED only exists on
// TrustZone parts).
func (f Family) HasState(l Line, s ProductState) bool {
	info, ok := f.State(s)
	return ok && (l.TrustZone || !info.TrustZoneOnly)
}

// State returns what s means on this family.
func (f Family) State(s ProductState) (StateInfo, bool) {
	for _, i := range f.States {
		if i.State == s {
			return i, true
		}
	}
	return StateInfo{}, false
}

// Line returns the member with the given DEV_ID.
func (f Family) Line(devID uint16) (Line, bool) {
	for _, l := range f.Lines {
		if l.DevID == devID {
			return l, true
		}
	}
	return Line{}, false
}

// PackageName names a package code, or "package 0xNN" when unknown.
func (f Family) PackageName(code uint16) string {
	if n, ok := f.Packages[code]; ok {
		return n
	}
	return fmt.Sprintf("package 0x%02X", code)
}

// STM32H5 addresses, register offsets and values (security reference §2.1,
// §2.2, §2.3, §3.1, §3.3, §4.3).
const (
	H5DBGMCUAP0    = 0xE0044000 // DBGMCU through AP0 (debug APB)
	H5DBGMCUAP1    = 0x44024000 // DBGMCU through AP1 (system bus)
	H5FlashRegs    = 0x40022000 // FLASH registers, non-secure
	H5FlashRegsSec = 0x50022000 // FLASH registers, secure alias
	H5UID          = 0x08FFF800 // 96-bit unique ID, three words
	H5FlashSize    = 0x08FFF80C // flash size in KiB, u16
	H5Package      = 0x08FFF80E // package code, u16
	H5OTP          = 0x08FFF000 // one-time-programmable area
	H5OTPSize      = 2048       // bytes of OTP
	H5OBKDA        = 0x0FFD0100 // DA provisioning data (OBK HDPL1 area, secure alias)
	H5OBKDANS      = 0x0BFD0100 // the same record through the non-secure alias
	H5DPIDR        = 0x6BA02477 // SW-DP observed on H563
	H5DPIDRCfg     = 0x0BE12477 // SW-DP value ST's OpenOCD configuration expects

	DBGMCUIDCode   = 0x000 // DBGMCU_IDCODE offset: DEV_ID[11:0], REV_ID[31:16]
	DBGMCUCR       = 0x004 // DBGMCU_CR offset
	DBGMCUSR       = 0x0FC // DBGMCU_SR offset: AP_PRESENT[15:0], AP_ENABLED[31:16]
	DBGMCUAuthHost = 0x100 // DBG_AUTH_HOST offset: host → device mailbox
	DBGMCUAuthDev  = 0x104 // DBG_AUTH_DEV offset: device → host mailbox
	DBGMCUAuthAck  = 0x108 // DBG_AUTH_ACK offset: HOST_ACK b0, DEV_ACK b1

	FlashOPTKEYR   = 0x00C // FLASH_OPTKEYR offset: option-byte unlock keys
	FlashOPTCR     = 0x01C // FLASH_OPTCR offset: OPTLOCK b0, OPTSTRT b1
	FlashNSSR      = 0x020 // FLASH_NSSR offset: BSY b0, error flags b16..23
	FlashNSCCR     = 0x030 // FLASH_NSCCR offset: write 1 to clear NSSR flags
	FlashPRIVCFGR  = 0x03C // FLASH_PRIVCFGR offset: a plain register, not an option byte
	FlashOPTSRCur  = 0x050 // FLASH_OPTSR_CUR offset: PRODUCT_STATE[15:8]
	FlashOPTSRPrg  = 0x054 // FLASH_OPTSR_PRG offset
	FlashOPTSR2Cur = 0x070 // FLASH_OPTSR2_CUR offset: TZEN[31:24]
	FlashOPTSR2Prg = 0x074 // FLASH_OPTSR2_PRG offset
	FlashOTPBLRCur = 0x090 // FLASH_OTPBLR_CUR offset: LOCKBL, one bit per OTP block

	// The other option registers, by their _CUR offset; each _PRG half
	// sits FlashPrgOffset after its _CUR half.
	FlashNSEPOCHRCur  = 0x060
	FlashSECEPOCHRCur = 0x068
	FlashNSBOOTRCur   = 0x080
	FlashSECBOOTRCur  = 0x088
	FlashSECWM1RCur   = 0x0E0
	FlashWRP1RCur     = 0x0E8
	FlashEDATA1RCur   = 0x0F0
	FlashHDP1RCur     = 0x0F8
	FlashSECWM2RCur   = 0x1E0
	FlashWRP2RCur     = 0x1E8
	FlashEDATA2RCur   = 0x1F0
	FlashHDP2RCur     = 0x1F8
	FlashPrgOffset    = 4

	OptKey1 = 0x08192A3B // OPTKEYR unlock, first word
	OptKey2 = 0x4C5D6E7F // OPTKEYR unlock, second word

	OPTCROptLock     = 1 << 0     // OPTCR.OPTLOCK: option registers locked
	OPTCROptStart    = 1 << 1     // OPTCR.OPTSTRT: start the option change
	NSSRBusy         = 1 << 0     // NSSR.BSY: an operation is running
	NSSRWriteBuf     = 1 << 1     // NSSR.WBNE: write buffer not empty
	NSSRDataBuf      = 1 << 3     // NSSR.DBNE: data buffer not empty
	NSSREndOfOp      = 1 << 16    // NSSR.EOP: an operation ended (not an error)
	NSSRWRPErr       = 1 << 17    // NSSR.WRPERR: write-protection error
	NSSRPGSErr       = 1 << 18    // NSSR.PGSERR: programming-sequence error
	NSSROptChangeErr = 1 << 23    // NSSR.OPTCHANGEERR: refused option change
	NSSRErrors       = 0xFE << 16 // NSSR error flags WRPERR … OPTCHANGEERR, bits 17–23
)

// STM32H5 access ports: AP0 is the debug APB (DBGMCU, DA mailbox), AP1 the
// Cortex-M33 system bus.
const (
	H5DebugAP = 0
	H5CoreAP  = 1
)

// DEV_IDs of the STM32H5 lines (DBGMCU_IDCODE[11:0]).
const (
	DevIDH503 uint16 = 0x474 // STM32H503
	DevIDH52x uint16 = 0x478 // STM32H523/H533
	DevIDH56x uint16 = 0x484 // STM32H562/H563/H573
)

// STM32H5 returns the STM32H5 family table (security reference §1–§4).
func STM32H5() Family {
	return Family{
		Name:   "STM32H5",
		Core:   "Cortex-M33",
		DPIDRs: []uint32{H5DPIDR, H5DPIDRCfg},
		APs: []APRole{
			{AP: 0, Kind: "APB-AP", Role: "debug APB: DBGMCU and the debug-authentication mailbox; answers in every product state", DBGMCU: H5DBGMCUAP0},
			{AP: 1, Kind: "AHB-AP", Role: "Cortex-M33 system bus: core debug, memory, flash and option bytes; closed in CLOSED and LOCKED", DBGMCU: H5DBGMCUAP1, ReachesCore: true},
		},
		DebugAP: H5DebugAP, CoreAP: H5CoreAP,
		FlashRegs: H5FlashRegs, FlashRegsSecure: H5FlashRegsSec,
		UIDAddr: H5UID, FlashSizeAddr: H5FlashSize, PackageAddr: H5Package,
		OTPAddr: H5OTP, OTPSize: H5OTPSize,
		OBKDAAddr: H5OBKDA, OBKDAAddrNS: H5OBKDANS,
		Packages: map[uint16]string{
			0x00: "LQFP64", 0x01: "VFQFPN68", 0x02: "LQFP100", 0x03: "UFBGA176+25", 0x04: "LQFP144",
			0x05: "LQFP48", 0x06: "UFBGA169", 0x07: "LQFP176", 0x09: "UFQFPN32", 0x0A: "LQFP100-SMPS",
			0x0B: "UFBGA176-SMPS", 0x0C: "LQFP144-SMPS", 0x0D: "LQFP176-SMPS", 0x0E: "UFBGA169-SMPS",
			0x0F: "WLCSP25", 0x10: "UFQFPN48", 0x11: "WLCSP39", 0x14: "UFBGA100", 0x15: "UFBGA144",
		},
		States: productStates(),
		Lines: []Line{
			{
				DevID: DevIDH503, Name: "STM32H503", Parts: []string{"STM32H503"}, RefManual: "RM0492",
				TrustZone: false, OBK: false, MaxFlashKB: 128, SRAMKB: 32, DefaultPackage: 0x00,
				Revisions: []Revision{{0x1000, "A", true}, {0x1001, "Z", true}, {0x1003, "Y", true}},
			},
			{
				DevID: DevIDH52x, Name: "STM32H523/H533", Parts: []string{"STM32H523", "STM32H533"}, RefManual: "RM0481",
				TrustZone: true, OBK: true, MaxFlashKB: 512, SRAMKB: 272, DefaultPackage: 0x00,
				Revisions: []Revision{{0x1000, "A", false}},
			},
			{
				DevID: DevIDH56x, Name: "STM32H562/H563/H573", Parts: []string{"STM32H562", "STM32H563", "STM32H573"}, RefManual: "RM0481",
				TrustZone: true, OBK: true, MaxFlashKB: 2048, SRAMKB: 640, DefaultPackage: 0x04,
				Revisions: []Revision{{0x1000, "A", true}, {0x1001, "Z", true}, {0x1007, "X", true}, {0x100F, "W", true}},
			},
		},
	}
}

// Families returns every family the tool knows, each a fresh copy,
// STM32H5 first.
func Families() []Family {
	return []Family{STM32H5(), STM32F1(), STM32F4(), STM32G0(), STM32G4(), STM32L4(), STM32U5(), STM32H7()}
}

// DecodeIDCode splits a DBGMCU_IDCODE value into DEV_ID[11:0] and REV_ID[31:16].
func DecodeIDCode(idcode uint32) (devID, revID uint16) {
	return uint16(idcode & 0xFFF), uint16(idcode >> 16)
}

// EncodeIDCode is the DBGMCU_IDCODE value of a chip: DEV_ID[11:0] and
// REV_ID[31:16], the inverse of DecodeIDCode.
func EncodeIDCode(devID, revID uint16) uint32 {
	return uint32(revID)<<16 | uint32(devID&0xFFF)
}

// LookupDevID finds the family and line of a DEV_ID.
func LookupDevID(devID uint16) (Family, Line, bool) {
	for _, f := range Families() {
		if l, ok := f.Line(devID); ok {
			return f, l, true
		}
	}
	return Family{}, Line{}, false
}
