// Package proto holds the ST-LINK USB protocol as data: command bytes, reply
// sizes, status codes, firmware version decoding, feature gates and the SWD
// clock tables. It is shared by the host driver (package probe) and the
// simulated probe (package probe/sim) so that both speak the same bytes.
package proto

// CommandSize is the length of every ST-LINK command block.
const CommandSize = 16

// Top-level command bytes (byte 0 of a command block).
const (
	CmdGetVersion       = 0xF1 // 6-byte reply: big-endian version word, LE VID, LE PID
	CmdDebug            = 0xF2 // debug sub-commands, byte 1
	CmdDFU              = 0xF3 // DFU sub-commands, byte 1
	CmdSWIM             = 0xF4 // SWIM sub-commands, byte 1
	CmdGetCurrentMode   = 0xF5 // 2-byte reply: mode
	CmdGetTargetVoltage = 0xF7 // 8-byte reply: adc_ref, adc_vt
	CmdGetVersionExt    = 0xFB // 12-byte reply (V3 and later)
)

// Sub-commands.
const (
	DFUExit  = 0x07 // F3 07: leave DFU, no reply
	SWIMExit = 0x01 // F4 01: leave SWIM, no reply
)

// Debug (0xF2) sub-commands.
const (
	DebugReadMem32               = 0x07
	DebugWriteMem32              = 0x08
	DebugReadMem8                = 0x0C
	DebugWriteMem8               = 0x0D
	DebugExit                    = 0x21 // no reply
	DebugEnter                   = 0x30 // byte 2: EnterSWD; 2-byte status reply
	DebugReadIDCodes             = 0x31 // 12-byte reply: status, DPIDR at [4..7]
	DebugResetSys                = 0x32
	DebugReadReg                 = 0x33
	DebugWriteReg                = 0x34
	DebugWriteDebugReg           = 0x35
	DebugReadDebugReg            = 0x36
	DebugGetLastRWStatus         = 0x3B // 2-byte reply
	DebugDriveNRST               = 0x3C // byte 2: NRSTLow/NRSTHigh/NRSTPulse
	DebugGetLastRWStatus2        = 0x3E // 12-byte reply: status, fault address at [4..7]
	DebugSWDSetFreq              = 0x43 // V2 only: byte 2..3 divisor
	DebugReadDAPReg              = 0x45 // [2..3] port, [4..5] address; 8-byte reply
	DebugWriteDAPReg             = 0x46 // [2..3] port, [4..5] address, [6..9] value; 2-byte reply
	DebugReadMem16               = 0x47
	DebugWriteMem16              = 0x48
	DebugInitAP                  = 0x4B // [2] apsel, [3] type; 2-byte reply
	DebugCloseAP                 = 0x4C // [2] apsel; 2-byte reply
	DebugWriteMem32NoInc         = 0x50
	DebugRWMiscOut               = 0x51
	DebugRWMiscIn                = 0x52
	DebugReadMem32NoInc          = 0x54
	DebugSetComFreq              = 0x61 // V3: [2] 0=SWD, [4..7] kHz; 8-byte reply with actual kHz
	DebugGetComFreq              = 0x62 // V3: [2] 0=SWD; 52-byte reply
	EnterSWD                     = 0xA3 // parameter of DebugEnter
	DAPPortDP             uint16 = 0xFFFF
)

// NRST actions carried by DebugDriveNRST.
const (
	NRSTLow   = 0x00
	NRSTHigh  = 0x01
	NRSTPulse = 0x02
)

// Mode is what GET_CURRENT_MODE reports.
type Mode uint8

// Probe modes.
const (
	ModeDFU        Mode = 0x00
	ModeMass       Mode = 0x01
	ModeDebug      Mode = 0x02
	ModeSWIM       Mode = 0x03
	ModeBootloader Mode = 0x04
)

// modeNames name the probe modes.
var modeNames = [...]string{
	ModeDFU: "DFU", ModeMass: "mass-storage", ModeDebug: "debug", ModeSWIM: "SWIM", ModeBootloader: "bootloader",
}

// String names the mode.
func (m Mode) String() string {
	if int(m) < len(modeNames) {
		return modeNames[m]
	}
	return "unknown"
}

// Status is the status byte of an ST-LINK reply (byte 0), 0x80 meaning OK.
type Status uint8

// Status codes.
const (
	StatusOK                   Status = 0x80
	StatusFault                Status = 0x81
	StatusUnknownError         Status = 0x01
	StatusSPIError             Status = 0x02
	StatusDMAError             Status = 0x03
	StatusUnknownJTAGChain     Status = 0x04
	StatusNoDeviceConnected    Status = 0x05
	StatusInternalError        Status = 0x06
	StatusCmdWait              Status = 0x07
	StatusCmdError             Status = 0x08
	StatusGetIDCodeError       Status = 0x09
	StatusAlignmentError       Status = 0x0A
	StatusDbgPowerError        Status = 0x0B
	StatusWriteError           Status = 0x0C
	StatusWriteVerifError      Status = 0x0D
	StatusAlreadyOpenedOther   Status = 0x0E
	StatusSWDAPWait            Status = 0x10
	StatusSWDAPFault           Status = 0x11
	StatusSWDAPError           Status = 0x12
	StatusSWDAPParityError     Status = 0x13
	StatusSWDDPWait            Status = 0x14
	StatusSWDDPFault           Status = 0x15
	StatusSWDDPError           Status = 0x16
	StatusSWDDPParityError     Status = 0x17
	StatusSWDAPWDataError      Status = 0x18
	StatusSWDAPStickyError     Status = 0x19
	StatusSWDAPStickyOrunError Status = 0x1A
	StatusBadAP                Status = 0x1D
	StatusSWVNotAvailable      Status = 0x20
	StatusConfChanged          Status = 0x40
	StatusFreqNotSupported     Status = 0x41
	StatusUnknownCmd           Status = 0x42
)

// Generation is the ST-LINK hardware generation.
type Generation int

// Generations.
const (
	GenV2   Generation = 2 // ST-LINK/V2 and V2-1 (full-speed USB)
	GenV3   Generation = 3 // STLINK-V3 (high-speed USB)
	GenV3PW Generation = 4 // STLINK-V3PWR (reports hardware version 4)
)

// Version is the decoded firmware version of a probe.
type Version struct {
	Hardware int    // 2, 3 or 4
	JTAG     int    // the J number: the debug firmware level that gates features
	SWIM     int    // S number (V2), 0 if none
	MSD      int    // M number (V2-1, V3), 0 if none
	Bridge   int    // B number (V3), 0 if none
	VID, PID uint16 // USB identity reported by the firmware
}

// Firmware feature thresholds, named after what they unlock.
const (
	MinV2JTargetVoltage  = 13 // GET_TARGET_VOLTAGE and SWO trace
	MinV2JLastRWStatus2  = 15 // GETLASTRWSTATUS2 with fault address
	MinV2JSWDSetFreq     = 22 // SWD_SET_FREQ divider command
	MinV2JJTAGSetFreq    = 24 // JTAG_SET_FREQ (OpenOCD stlink_usb.c, stlink_usb_version: STLINK_F_HAS_JTAG_SET_FREQ)
	MinV2JDAPRegister    = 24 // READ/WRITE_DAP_REG (DAP-level access)
	MinV2JMem16          = 26 // 16-bit memory access
	MinV2JMultiAP        = 28 // INIT_AP / CLOSE_AP: access ports other than 0
	MinV2JCloseAPStatus  = 29 // CLOSE_AP returns a valid status
	MinV2JBankedDP       = 32 // banked DP registers, CSW in memory commands, RW_MISC
	MinV3JBankedDP       = 2  // the same on V3
	MinV3JRW8512         = 6  // 8-bit transfers up to 512 bytes on V3
	MaxAPV2J29           = 3  // highest AP number on V2J28..J31
	MaxAPV2J32           = 8  // highest AP number from V2J32
	MaxMem16Or32Transfer = 6144
	MaxMem8TransferFS    = 64
	MaxMem8TransferV3J6  = 512

	// MaxTARAutoIncrement is the MEM-AP's TAR auto-increment range that
	// every AP guarantees: past it the increment wraps to the block's start
	// (ARM IHI 0031 ADIv5 and IHI 0074 ADIv6, MEM-AP TAR: at least 10
	// bits, 1 KiB). 4 KiB is documented only for the Cortex-M3/M4 AHB-AP
	// (OpenOCD cortex_m.c CORTEX_M_F_TAR_AUTOINCR_BLOCK_4K; pyOCD
	// coresight/ap.py keeps 1 KiB for the Cortex-M33's AHB5-AP), so an
	// STM32H5 has 1 KiB. A memory command may still cross it: in SWD mode
	// the ST-LINK firmware does not rely on the increment across pages
	// ("according to ST they do single access in SWD mode", OpenOCD
	// src/jtag/drivers/stlink_usb.c, stlink_usb_read_ap_mem), and its
	// 16/32-bit limit is its internal buffer (STLINK_DATA_SIZE, 6144 bytes,
	// ibid.); probe-rs (probe-rs/src/probe/stlink/mod.rs) reads 6144-byte
	// blocks at any alignment. The simulator models the AP's wrap and the
	// firmware's TAR rewrite at each boundary (probe/sim memory.go).
	MaxTARAutoIncrement = 1024
)

// has reports whether the firmware's J level reaches v2 (on V2) or v3 (on V3 and later).
func (v Version) has(v2, v3 int) bool {
	if v.Hardware >= 3 {
		return v.JTAG >= v3
	}
	return v.JTAG >= v2
}

// HasTargetVoltage reports GET_TARGET_VOLTAGE support.
func (v Version) HasTargetVoltage() bool { return v.has(MinV2JTargetVoltage, 0) }

// HasLastRWStatus2 reports GETLASTRWSTATUS2 support.
func (v Version) HasLastRWStatus2() bool { return v.has(MinV2JLastRWStatus2, 0) }

// HasDAPRegister reports READ/WRITE_DAP_REG support.
func (v Version) HasDAPRegister() bool { return v.has(MinV2JDAPRegister, 0) }

// HasMem16 reports 16-bit memory access support.
func (v Version) HasMem16() bool { return v.has(MinV2JMem16, 0) }

// HasMultiAP reports INIT_AP/CLOSE_AP support (access ports other than 0).
func (v Version) HasMultiAP() bool { return v.has(MinV2JMultiAP, 0) }

// HasCloseAPStatus reports whether CLOSE_AP returns a meaningful status.
func (v Version) HasCloseAPStatus() bool { return v.has(MinV2JCloseAPStatus, 0) }

// HasBankedDP reports banked DP registers, CSW in memory commands and RW_MISC.
func (v Version) HasBankedDP() bool { return v.has(MinV2JBankedDP, MinV3JBankedDP) }

// HasComFreq reports GET_COM_FREQ and SET_COM_FREQ: the probe lists its
// clocks and says which one runs (every STLINK-V3; OpenOCD stlink_usb.c,
// stlink_usb_version, sets STLINK_F_HAS_SWD_SET_FREQ only below V3, whose
// clocks go through SET_COM_FREQ).
func (v Version) HasComFreq() bool { return v.Hardware >= 3 }

// HasSWDSetFreq reports the V2 SWD_SET_FREQ divider command (from V2J22;
// never on a V3, which sets its clock with SET_COM_FREQ).
func (v Version) HasSWDSetFreq() bool { return v.Hardware < 3 && v.JTAG >= MinV2JSWDSetFreq }

// HasJTAGSetFreq reports the V2 JTAG_SET_FREQ command (from V2J24).
func (v Version) HasJTAGSetFreq() bool { return v.Hardware < 3 && v.JTAG >= MinV2JJTAGSetFreq }

// SWDLadder is the SWD clock ladder, fastest first, a probe of this
// version works with when it does not list its own: the V2 divider table,
// or on a V3 the list STLINK-V3s report (a V3 that answers GET_COM_FREQ
// gives its own list, which wins).
func (v Version) SWDLadder() []int {
	if v.HasComFreq() {
		return append([]int(nil), V3SWDTable...)
	}
	return V2KHzList()
}

// StartKHz is the SWD clock to ask for when the user named none and the
// probe cannot say which one runs (a V2: another tool may have changed it
// since power-on): the fastest rung of ladder at or below the V2 power-on
// default.
func StartKHz(ladder []int) int { return NearestKHz(ladder, V2DefaultKHz) }

// MaxAP returns the highest access port number the firmware accepts.
func (v Version) MaxAP() int {
	switch {
	case v.Hardware >= 3:
		return 255
	case v.JTAG >= MinV2JBankedDP:
		return MaxAPV2J32
	case v.JTAG >= MinV2JMultiAP:
		return MaxAPV2J29
	}
	return 0
}

// MaxMem8 returns the largest 8-bit transfer in bytes.
func (v Version) MaxMem8() int {
	if v.Hardware >= 3 && v.JTAG >= MinV3JRW8512 {
		return MaxMem8TransferV3J6
	}
	return MaxMem8TransferFS
}

// APNeed reports whether the firmware can reach access port ap and, when it
// cannot, the lowest firmware that can: INIT_AP (V2J28) for any port but 0,
// V2J32 for ports 4 to 8, an STLINK-V3 above 8.
func (v Version) APNeed(ap uint8) (need Version, ok bool) {
	switch {
	case ap == 0 || int(ap) <= v.MaxAP():
		return Version{}, true
	case v.Hardware >= 3:
		return Version{Hardware: 3, JTAG: MinV3JBankedDP}, false
	case !v.HasMultiAP():
		return Version{Hardware: 2, JTAG: MinV2JMultiAP}, false
	case ap <= MaxAPV2J32:
		return Version{Hardware: 2, JTAG: MinV2JBankedDP}, false
	}
	return Version{Hardware: 3, JTAG: 1}, false
}
