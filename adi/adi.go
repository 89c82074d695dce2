// Package adi holds the ADIv5/v6 DP and MEM-AP registers and the Armv8-M
// debug registers, as data. It is shared by the driver, the simulated probe
// and the chip models, and imports nothing of the project.
package adi

// SW-DP registers (addresses on the DP port). Bits [7:4] of an address
// select a DP bank on banked-DP firmware.
const (
	DPIDR      = 0x0 // read: identification
	DPAbort    = 0x0 // write: ABORT
	DPCtrlStat = 0x4 // CTRL/STAT (bank 0)
	DPResend   = 0x8 // read: RESEND (DPv1 and later)
	DPSelect   = 0x8 // write: SELECT
	DPRdBuff   = 0xC // read: RDBUFF
)

// DP ABORT bits.
const (
	AbortDAPAbort   = 1 << 0 // DAPABORT: abort the current AP transaction
	AbortStkCmpClr  = 1 << 1 // STKCMPCLR: clear STICKYCMP
	AbortStkErrClr  = 1 << 2 // STKERRCLR: clear STICKYERR
	AbortWDErrClr   = 1 << 3 // WDERRCLR: clear WDATAERR
	AbortOrunErrClr = 1 << 4 // ORUNERRCLR: clear STICKYORUN
	// AbortClearAll clears every sticky flag (0x1E).
	AbortClearAll = AbortStkCmpClr | AbortStkErrClr | AbortWDErrClr | AbortOrunErrClr
)

// DP CTRL/STAT bits.
const (
	CtrlOrunDetect   = 1 << 0  // ORUNDETECT: overrun detection enabled
	CtrlStickyOrun   = 1 << 1  // STICKYORUN: overrun
	CtrlStickyCmp    = 1 << 4  // STICKYCMP: match in pushed compare
	CtrlStickyErr    = 1 << 5  // STICKYERR: an AP transaction failed
	CtrlReadOK       = 1 << 6  // READOK: the last AP read succeeded
	CtrlWDataErr     = 1 << 7  // WDATAERR: write data parity or framing error
	CtrlCDbgRstReq   = 1 << 26 // CDBGRSTREQ: debug reset request
	CtrlCDbgRstAck   = 1 << 27 // CDBGRSTACK: debug reset acknowledge
	CtrlCDbgPwrUpReq = 1 << 28 // CDBGPWRUPREQ: debug power-up request
	CtrlCDbgPwrUpAck = 1 << 29 // CDBGPWRUPACK: debug power-up acknowledge
	CtrlCSysPwrUpReq = 1 << 30 // CSYSPWRUPREQ: system power-up request
	CtrlCSysPwrUpAck = 1 << 31 // CSYSPWRUPACK: system power-up acknowledge
	// CtrlPowerUpReqs are both power-up request bits.
	CtrlPowerUpReqs = CtrlCDbgPwrUpReq | CtrlCSysPwrUpReq
	// CtrlPowerUpAcks are both power-up acknowledge bits.
	CtrlPowerUpAcks = CtrlCDbgPwrUpAck | CtrlCSysPwrUpAck
)

// MEM-AP registers (addresses on an AP port).
const (
	APCSW   = 0x00 // Control/Status Word
	APTAR   = 0x04 // Transfer Address, bits [31:0]
	APTAR2  = 0x08 // Transfer Address, bits [63:32]
	APDRW   = 0x0C // Data Read/Write
	APBD0   = 0x10 // Banked Data 0
	APBD3   = 0x1C // Banked Data 3
	APBASE2 = 0xF0 // Debug Base Address, bits [63:32]
	APCFG   = 0xF4 // Configuration
	APBASE  = 0xF8 // Debug Base Address, bits [31:0]
	APIDR   = 0xFC // Identification
)

// MEM-AP CSW fields.
const (
	CSWSizeMask      = 0x7    // Size: access width (0 byte, 1 halfword, 2 word)
	CSWAddrIncMask   = 0x30   // AddrInc: address auto-increment mode
	CSWAddrIncSingle = 0x10   // AddrInc: increment by the access size
	CSWDeviceEn      = 1 << 6 // DeviceEn: transfers through the AP are permitted
	CSWTrInProg      = 1 << 7 // TrInProg: a transfer is in progress
)

// Armv8-M debug and system registers, as addresses on the core's bus.
const (
	RegCPUID       = 0xE000ED00 // CPUID Base Register
	RegAIRCR       = 0xE000ED0C // Application Interrupt and Reset Control
	RegDFSR        = 0xE000ED30 // Debug Fault Status
	RegDHCSR       = 0xE000EDF0 // Debug Halting Control and Status
	RegDCRSR       = 0xE000EDF4 // Debug Core Register Select
	RegDCRDR       = 0xE000EDF8 // Debug Core Register Data
	RegDEMCR       = 0xE000EDFC // Debug Exception and Monitor Control
	RegDSCSR       = 0xE000EE08 // Debug Security Control and Status
	RegMVFR0       = 0xE000EF40 // Media and VFP Feature 0
	RegMVFR1       = 0xE000EF44 // Media and VFP Feature 1
	RegDAUTHSTATUS = 0xE000EFB8 // Debug Authentication Status
	RegDWTCtrl     = 0xE0001000 // DWT Control
	RegFPCtrl      = 0xE0002000 // FPB Control
	ROMTableBase   = 0xE00FF000 // the PPB ROM table
)

// DHCSR bits: C_ bits are written (with DHCSRDebugKey), S_ bits are read.
const (
	DHCSRDebugKey  = 0xA05F << 16 // DBGKEY, required in [31:16] of every DHCSR write
	DHCSRCDebugEn  = 1 << 0       // C_DEBUGEN
	DHCSRCHalt     = 1 << 1       // C_HALT
	DHCSRCStep     = 1 << 2       // C_STEP
	DHCSRCMaskInts = 1 << 3       // C_MASKINTS
	DHCSRSRegRdy   = 1 << 16      // S_REGRDY
	DHCSRSHalt     = 1 << 17      // S_HALT
	DHCSRSSleep    = 1 << 18      // S_SLEEP
	DHCSRSLockup   = 1 << 19      // S_LOCKUP
	DHCSRSSDE      = 1 << 20      // S_SDE: secure debug enabled
	DHCSRSRetireSt = 1 << 24      // S_RETIRE_ST, sticky until DHCSR is read
	DHCSRSResetSt  = 1 << 25      // S_RESET_ST, sticky until DHCSR is read
)

// DCRSR bits and core register selectors (DCRSR.REGSEL numbering).
const (
	DCRSRRegWnR = 1 << 16 // REGWnR: 1 = write DCRDR into the register

	RegSelSP      = 13 // current stack pointer
	RegSelLR      = 14 // link register
	RegSelPC      = 15 // debug return address
	RegSelXPSR    = 16 // xPSR
	RegSelMSP     = 17 // main stack pointer
	RegSelPSP     = 18 // process stack pointer
	RegSelControl = 20 // CONTROL, FAULTMASK, BASEPRI, PRIMASK
)

// DEMCR bits.
const (
	DEMCRVCCoreReset = 1 << 0  // VC_CORERESET: halt at the reset vector
	DEMCRTrcEna      = 1 << 24 // TRCENA: enable DWT and ITM
)

// AIRCR fields.
const (
	AIRCRVectKey     = 0x05FA << 16 // VECTKEY, required in [31:16] of AIRCR writes
	AIRCRVectKeyStat = 0xFA05 << 16 // what AIRCR[31:16] reads
	AIRCRSysResetReq = 1 << 2       // SYSRESETREQ
)

// DFSR bits: why the core entered debug state.
const (
	DFSRHalted   = 1 << 0 // HALTED: halt request or step
	DFSRBkpt     = 1 << 1 // BKPT: breakpoint
	DFSRVCatch   = 1 << 3 // VCATCH: vector catch
	DFSRExternal = 1 << 4 // EXTERNAL: external debug request
)

// DSCSR bits.
const (
	DSCSRCDS = 1 << 16 // CDS: the core is in the secure state
)
