package targets

import (
	"fmt"

	"github.com/stprobe/stprobe/enum"
)

// ProductState is the STM32H5 lifecycle byte, FLASH_OPTSR[15:8]. The six
// states are chosen far apart in Hamming distance; any other value is not a
// state (the two request codes only ask the ROM for a regression).
type ProductState uint8

// Product-state codes, in lifecycle order, and the two firmware request codes.
const (
	StateOpen            ProductState = 0xED // factory default: everything open
	StateProvisioning    ProductState = 0x17 // ROM loop, OBK provisioning
	StateIROTProvisioned ProductState = 0x2E // iRoT provisioned, secure debug closed
	StateTZClosed        ProductState = 0xC6 // secure side closed (TrustZone parts)
	StateClosed          ProductState = 0x72 // debug closed, DA can reopen or regress
	StateLocked          ProductState = 0x5C // closed for ever
	RequestRegression    ProductState = 0x9A // firmware request: full regression
	RequestNSRegression  ProductState = 0xA3 // firmware request: non-secure regression
)

// lifecycle is the forward order of the six states.
var lifecycle = [...]ProductState{StateOpen, StateProvisioning, StateIROTProvisioned, StateTZClosed, StateClosed, StateLocked}

// Rank is the position of s in the forward lifecycle order (OPEN = 0 …
// LOCKED = 5), or -1 when s is not one of the six states.
func (s ProductState) Rank() int {
	for i, v := range lifecycle {
		if v == s {
			return i
		}
	}
	return -1
}

// Valid reports whether s is one of the six lifecycle states.
func (s ProductState) Valid() bool { return s.Rank() >= 0 }

// productStateNames are the names ST tools print, by code.
var productStateNames = map[ProductState]string{
	StateOpen:            "OPEN",
	StateProvisioning:    "PROVISIONING",
	StateIROTProvisioned: "iROT_PROVISIONED",
	StateTZClosed:        "TZ_CLOSED",
	StateClosed:          "CLOSED",
	StateLocked:          "LOCKED",
	RequestRegression:    "REGRESSION",
	RequestNSRegression:  "NS_REGRESSION",
}

// String names the state as ST tools print it, e.g. "PROVISIONING".
func (s ProductState) String() string {
	return enum.Sparse(productStateNames, s, "INVALID(0x%02X)")
}

// ProductStateOf extracts PRODUCT_STATE from a FLASH_OPTSR_CUR/PRG value.
func ProductStateOf(optsr uint32) ProductState { return ProductState(optsr >> 8) }

// TZEN is the TrustZone enable byte, FLASH_OPTSR2[31:24].
type TZEN uint8

// TZEN values. TZENAbsent stands for a part without TrustZone (STM32H503),
// where the field does not exist.
const (
	TZENAbsent   TZEN = 0x00
	TZENEnabled  TZEN = 0xB4
	TZENDisabled TZEN = 0xC3
)

// TZENOf extracts TZEN from a FLASH_OPTSR2_CUR/PRG value.
func TZENOf(optsr2 uint32) TZEN { return TZEN(optsr2 >> 24) }

// Enabled reports whether TrustZone is on.
func (t TZEN) Enabled() bool { return t == TZENEnabled }

// String names the value: "enabled (0xB4)", "disabled (0xC3)", "absent" or
// "invalid (0xNN)".
func (t TZEN) String() string {
	switch t {
	case TZENEnabled:
		return "enabled (0xB4)"
	case TZENDisabled:
		return "disabled (0xC3)"
	case TZENAbsent:
		return "absent"
	}
	return fmt.Sprintf("invalid (0x%02X)", uint8(t))
}

// Reach says whether a debugger gets through a port in a given state.
type Reach int

// Reach values.
const (
	ReachNo        Reach = iota // closed
	ReachYes                    // open from reset
	ReachAfterBoot              // opens once boot reaches the level chosen by SBS_DBGCR (non-secure application)
	ReachWithDA                 // only after a debug-authentication "open debug"
)

// reachWords describes each Reach value in a few words.
var reachWords = [...]string{
	ReachNo:        "closed",
	ReachYes:       "open",
	ReachAfterBoot: "open once the application opens debug",
	ReachWithDA:    "closed; debug authentication can open it",
}

// String describes r in a few words.
func (r Reach) String() string {
	return enum.Name(reachWords[:], r, "Reach")
}

// StateInfo is what one product state means on a family: what the debugger
// reaches, how the chip boots, what may still be changed, and the way back.
type StateInfo struct {
	State ProductState
	Name  string
	// TrustZoneOnly is true for TZ_CLOSED, which parts without TrustZone lack.
	TrustZoneOnly bool
	// AP0 is the debug APB (DBGMCU and the DA mailbox); it answers in every state.
	AP0 Reach
	// AP1NonSecure and AP1Secure are the Cortex-M33 bus port, non-secure and
	// secure transfers.
	AP1NonSecure, AP1Secure Reach
	// UserCodeRuns is false when the chip boots the ROM whatever BOOT0 says.
	UserCodeRuns bool
	// Boot, Bootloader and Debug describe the state in a sentence each.
	Boot, Bootloader, Debug string
	// OptionBytesByDebugger is true when a debugger may still change ordinary
	// option bytes (WRP, HDP, watermarks); TZENChangeable likewise for TZEN;
	// OBKProvisioning for writing DA data into the OBK area.
	OptionBytesByDebugger, TZENChangeable, OBKProvisioning bool
	// WayBack says how to return to OPEN from this state.
	WayBack string
}

// productStates is the STM32H5 lifecycle table (security reference §1.2,
// §1.3, §4.2, §7).
func productStates() []StateInfo {
	return []StateInfo{
		{
			State: StateOpen, Name: "OPEN", AP0: ReachYes, AP1NonSecure: ReachYes, AP1Secure: ReachYes,
			UserCodeRuns:          true,
			Boot:                  "per BOOT0, NSBOOTADD and (TrustZone) SECBOOTADD",
			Bootloader:            "available",
			Debug:                 "fully open, secure and non-secure",
			OptionBytesByDebugger: true, TZENChangeable: true,
			WayBack: "already OPEN",
		},
		{
			State: StateProvisioning, Name: "PROVISIONING", AP0: ReachYes, AP1NonSecure: ReachYes, AP1Secure: ReachYes,
			UserCodeRuns:          false,
			Boot:                  "the ROM (RSS and bootloader) whatever BOOT0 says; user code never runs",
			Bootloader:            "available (SFI and OBK provisioning)",
			Debug:                 "open, reached with Hot Plug on AP1 while the ROM runs",
			OptionBytesByDebugger: true, TZENChangeable: true, OBKProvisioning: true,
			WayBack: "provision DA (password with TZEN=0xC3), then a DA full regression",
		},
		{
			State: StateIROTProvisioned, Name: "iROT_PROVISIONED", AP0: ReachYes, AP1NonSecure: ReachAfterBoot, AP1Secure: ReachWithDA,
			UserCodeRuns: true,
			Boot:         "the selected iRoT (OEM-iRoT in user flash or ST-iRoT)",
			Bootloader:   "only through the iRoT",
			Debug:        "non-secure open once boot opens it; secure needs DA",
			WayBack:      "DA full regression if DA is provisioned",
		},
		{
			State: StateTZClosed, Name: "TZ_CLOSED", TrustZoneOnly: true, AP0: ReachYes, AP1NonSecure: ReachAfterBoot, AP1Secure: ReachWithDA,
			UserCodeRuns: true,
			Boot:         "secure boot entry",
			Bootloader:   "only by a jump from the application",
			Debug:        "secure closed; non-secure opens when the non-secure application runs",
			WayBack:      "DA full regression (certificate) if DA is provisioned; without DA none is known",
		},
		{
			State: StateClosed, Name: "CLOSED", AP0: ReachYes, AP1NonSecure: ReachWithDA, AP1Secure: ReachWithDA,
			UserCodeRuns: true,
			Boot:         "user flash or unique boot entry; BOOT0 ignored",
			Bootloader:   "not available",
			Debug:        "closed; only AP0 (DBGMCU and DA mailbox) answers",
			WayBack:      "DA full regression if DA is provisioned; without DA none is known",
		},
		{
			State: StateLocked, Name: "LOCKED", AP0: ReachYes, AP1NonSecure: ReachNo, AP1Secure: ReachNo,
			UserCodeRuns: true,
			Boot:         "user flash or unique boot entry; BOOT0 ignored",
			Bootloader:   "not available",
			Debug:        "closed for ever; AP0 gives identification only",
			WayBack:      "none: LOCKED is permanent",
		},
	}
}

// Transition checks whether a debugger's option-byte write may move the
// product state from → to on line l. It
// returns nil for an allowed (forward or unchanged) transition and an error
// saying why otherwise. The model follows security reference §1.3: writes
// only move forward; TZ_CLOSED exists only on TrustZone lines; LOCKED is
// final. TZ_CLOSED with TrustZone disabled (TZEN=0xC3) is accepted: the
// reference calls it meaningful only with TZEN=0xB4 but no public source says
// the flash controller refuses it (chosen, unconfirmed on silicon).
func (l Line) Transition(from, to ProductState) error {
	switch {
	case !to.Valid():
		return fmt.Errorf("product state 0x%02X is not a lifecycle state", uint8(to))
	case !from.Valid():
		return fmt.Errorf("current product state 0x%02X is not a lifecycle state", uint8(from))
	case to == from:
		return nil
	case to.Rank() < from.Rank():
		return fmt.Errorf("%v → %v goes backwards: only a regression (debug authentication) returns to an earlier state", from, to)
	case to == StateTZClosed && !l.TrustZone:
		return fmt.Errorf("%s has no TrustZone, so no TZ_CLOSED state", l.Name)
	}
	return nil
}
