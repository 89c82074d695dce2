package obytes

import (
	"fmt"
	"math/bits"
	"strings"

	"github.com/stprobe/stprobe/enum"

	"github.com/stprobe/stprobe/targets"
)

// DEV_IDs of the STM32H5 lines, the keys of the layout tables (the values
// live in package targets).
const (
	DevH503 = targets.DevIDH503 // STM32H503
	DevH52x = targets.DevIDH52x // STM32H523/H533
	DevH56x = targets.DevIDH56x // STM32H562/H563/H573
)

// Lines groups DEV_IDs that have a register, field or value.
type Lines []uint16

// Has reports whether devID is in the set.
func (ls Lines) Has(devID uint16) bool {
	for _, l := range ls {
		if l == devID {
			return true
		}
	}
	return false
}

// Line sets used by the tables.
var (
	allLines = Lines{DevH503, DevH52x, DevH56x}
	tzLines  = Lines{DevH52x, DevH56x}
	h503Only = Lines{DevH503}
	h56xOnly = Lines{DevH56x}
)

// Kind says how a field's value is read.
type Kind int

// Field kinds.
const (
	// KindEnum fields take one of a listed set of values; others are invalid.
	KindEnum Kind = iota
	// KindNumber fields take any value that fits their width.
	KindNumber
	// KindMask fields are one bit per block, sector group or OTP block.
	KindMask
)

// String names the kind.
func (k Kind) String() string {
	names := [...]string{KindEnum: "enum", KindNumber: "number", KindMask: "mask"}
	return enum.Name(names[:], k, "Kind")
}

// Value is one named value of an enum field.
type Value struct {
	Raw     uint32
	Name    string
	Meaning string
	// Lines restricts the value to some lines (nil: every line with the field).
	Lines Lines
	// Refused, when set, says why a plan may not write the value: it is
	// named when read from a chip, but ST's HAL does not accept it (its
	// IS_OB_* check), so stprobe never writes it.
	Refused string
}

// Register is one option-byte register: its current (read-only) and
// to-program offsets from the FLASH register base.
type Register struct {
	Name string // e.g. "OPTSR"
	// Cur and Prg are the _CUR and _PRG offsets. Direct registers (PRIVCFGR)
	// have Cur == Prg and are written at once, outside the option-byte
	// programming sequence.
	Cur, Prg uint32
	Direct   bool
	Lines    Lines
	Meaning  string
	// Base is the flash register block the offsets count from (0: the
	// STM32H5's FlashBase).
	Base uint32
}

// CurAddr is the address of the register's _CUR word.
func (r Register) CurAddr() uint32 { return r.base() + r.Cur }

// PrgAddr is the address of the register's _PRG word.
func (r Register) PrgAddr() uint32 { return r.base() + r.Prg }

func (r Register) base() uint32 {
	if r.Base == 0 {
		return FlashBase
	}
	return r.Base
}

// Field is one option-byte field, named as STM32CubeProgrammer spells it.
type Field struct {
	Name     string
	Register string
	Shift    uint
	Width    uint
	Kind     Kind
	Lines    Lines
	Meaning  string
	Values   []Value
	// Describe renders the meaning of a number or mask value; reg is the
	// whole register, for fields whose meaning depends on a neighbour.
	Describe func(v, reg uint32) string
	// Aliases are other spellings ParseValue accepts for a value (the F1's
	// one-bit RDP takes the RDP bytes users know: 0xA5 and 0xAA for level
	// 0, 0xBB for level 1).
	Aliases map[string]uint32
}

// Mask is the field's bits in its register.
func (f *Field) Mask() uint32 {
	if f.Width >= 32 {
		return 0xFFFFFFFF
	}
	return ((1 << f.Width) - 1) << f.Shift
}

// Max is the largest raw value the field holds.
func (f *Field) Max() uint32 { return f.Mask() >> f.Shift }

// Get extracts the field from a register value.
func (f *Field) Get(reg uint32) uint32 { return (reg & f.Mask()) >> f.Shift }

// Set returns reg with the field replaced by v (v must fit).
func (f *Field) Set(reg, v uint32) uint32 { return reg&^f.Mask() | (v<<f.Shift)&f.Mask() }

// Bits renders the bit range, e.g. "[15:8]" or "[3]".
func (f *Field) Bits() string {
	if f.Width == 1 {
		return fmt.Sprintf("[%d]", f.Shift)
	}
	return fmt.Sprintf("[%d:%d]", f.Shift+f.Width-1, f.Shift)
}

// Layout is the option-byte table of one line.
type Layout struct {
	DevID    uint16
	LineName string
	// Line is the chip line the layout is for.
	Line      targets.Line
	Registers []Register
	Fields    []Field
	// Family names the chip family ("STM32H5", "STM32F1" …); AP is the
	// access port that reaches the flash registers.
	Family string
	AP     uint8
	// RDP is set on the families protected by read-out protection levels
	// (F1, F4, G0, G4, L4, U5, H7): the layout's registers read the option
	// bytes in force (the H7's _CUR words), and each family has its own
	// programming sequence (apply_families.go, apply_u5h7.go).
	RDP *targets.RDPScheme
}

// Register returns the named register of the layout.
func (l *Layout) Register(name string) (*Register, bool) {
	for i := range l.Registers {
		if l.Registers[i].Name == name {
			return &l.Registers[i], true
		}
	}
	return nil, false
}

// Field returns the field with this name (case-insensitive).
func (l *Layout) Field(name string) (*Field, bool) {
	for i := range l.Fields {
		if strings.EqualFold(l.Fields[i].Name, name) {
			return &l.Fields[i], true
		}
	}
	return nil, false
}

// FieldsOf returns the fields of one register in table order.
func (l *Layout) FieldsOf(register string) []*Field {
	var out []*Field
	for i := range l.Fields {
		if l.Fields[i].Register == register {
			out = append(out, &l.Fields[i])
		}
	}
	return out
}

// FieldNames lists every field name of the layout in table order.
func (l *Layout) FieldNames() []string {
	out := make([]string, len(l.Fields))
	for i := range l.Fields {
		out[i] = l.Fields[i].Name
	}
	return out
}

// ValidValues lists the values a plan may write into a field on this line,
// for messages (values read but refused in a plan are not listed).
func (l *Layout) ValidValues(f *Field) []string {
	switch f.Kind {
	case KindEnum:
		var out []string
		for _, v := range f.Values {
			if (v.Lines == nil || v.Lines.Has(l.DevID)) && v.Refused == "" {
				out = append(out, fmt.Sprintf("%s (0x%X)", v.Name, v.Raw))
			}
		}
		return out
	default:
		return []string{fmt.Sprintf("0x0 … 0x%X", f.Max())}
	}
}

// ForLine returns the option-byte layout of a line, or an error for a line
// without a table.
func ForLine(line targets.Line) (*Layout, error) {
	return ForDevID(line.DevID)
}

// ForDevID returns the option-byte layout of the line with this DEV_ID.
func ForDevID(devID uint16) (*Layout, error) {
	fam, line, ok := targets.LookupDevID(devID)
	if ok && fam.RDP != nil {
		return familyLayout(fam, line)
	}
	if !ok || !allLines.Has(devID) {
		return nil, fmt.Errorf("target: no option-byte table for DEV_ID 0x%03X (known: STM32H503 0x474, STM32H523/H533 0x478, STM32H562/H563/H573 0x484, and the STM32F1, F4, G0, G4 and L4 lines)", devID)
	}
	l := &Layout{DevID: devID, LineName: line.Name, Line: line, Family: fam.Name, AP: CoreAP}
	for _, r := range registerTable() {
		if r.Lines.Has(devID) {
			l.Registers = append(l.Registers, r)
		}
	}
	for _, f := range fieldTable() {
		if f.Lines.Has(devID) {
			l.Fields = append(l.Fields, f)
		}
	}
	return l, nil
}

// Product-state codes as field values (security reference §1.1).
const (
	stateOpen         = uint32(targets.StateOpen)
	stateProvisioning = uint32(targets.StateProvisioning)
	stateIROT         = uint32(targets.StateIROTProvisioned)
	stateTZClosed     = uint32(targets.StateTZClosed)
	stateClosed       = uint32(targets.StateClosed)
	stateLocked       = uint32(targets.StateLocked)
	reqRegression     = uint32(targets.RequestRegression)
	reqNSRegression   = uint32(targets.RequestNSRegression)
	tzenOn            = uint32(targets.TZENEnabled)
	tzenOff           = uint32(targets.TZENDisabled)
)

// registerTable lists every option-byte register of the STM32H5 lines
// (security reference §2.2).
func registerTable() []Register {
	return []Register{
		{Name: "OPTSR", Cur: targets.FlashOPTSRCur, Prg: targets.FlashOPTSRPrg, Lines: allLines, Meaning: "product state, watchdogs, reset and brown-out options, bank swap"},
		{Name: "OPTSR2", Cur: targets.FlashOPTSR2Cur, Prg: targets.FlashOPTSR2Prg, Lines: allLines, Meaning: "TrustZone, SRAM erase-on-reset and ECC options"},
		{Name: "NSBOOTR", Cur: targets.FlashNSBOOTRCur, Prg: targets.FlashNSBOOTRCur + targets.FlashPrgOffset, Lines: allLines, Meaning: "non-secure boot address and its lock"},
		{Name: "SECBOOTR", Cur: targets.FlashSECBOOTRCur, Prg: targets.FlashSECBOOTRCur + targets.FlashPrgOffset, Lines: tzLines, Meaning: "secure boot address and its lock"},
		{Name: "PRIVCFGR", Cur: targets.FlashPRIVCFGR, Prg: targets.FlashPRIVCFGR, Direct: true, Lines: allLines, Meaning: "privileged-only access to the flash registers (plain register, not an option byte: applies at once, lost at reset)"},
		{Name: "OTPBLR", Cur: targets.FlashOTPBLRCur, Prg: targets.FlashOTPBLRCur + targets.FlashPrgOffset, Lines: allLines, Meaning: "OTP block locks (one bit per 64-byte block, permanent)"},
		{Name: "SECWM1R", Cur: targets.FlashSECWM1RCur, Prg: targets.FlashSECWM1RCur + targets.FlashPrgOffset, Lines: tzLines, Meaning: "bank 1 secure watermark"},
		{Name: "WRP1R", Cur: targets.FlashWRP1RCur, Prg: targets.FlashWRP1RCur + targets.FlashPrgOffset, Lines: allLines, Meaning: "bank 1 write protection"},
		{Name: "EDATA1R", Cur: targets.FlashEDATA1RCur, Prg: targets.FlashEDATA1RCur + targets.FlashPrgOffset, Lines: tzLines, Meaning: "bank 1 high-cycle data area"},
		{Name: "HDP1R", Cur: targets.FlashHDP1RCur, Prg: targets.FlashHDP1RCur + targets.FlashPrgOffset, Lines: allLines, Meaning: "bank 1 hide-protection area"},
		{Name: "SECWM2R", Cur: targets.FlashSECWM2RCur, Prg: targets.FlashSECWM2RCur + targets.FlashPrgOffset, Lines: tzLines, Meaning: "bank 2 secure watermark"},
		{Name: "WRP2R", Cur: targets.FlashWRP2RCur, Prg: targets.FlashWRP2RCur + targets.FlashPrgOffset, Lines: allLines, Meaning: "bank 2 write protection"},
		{Name: "EDATA2R", Cur: targets.FlashEDATA2RCur, Prg: targets.FlashEDATA2RCur + targets.FlashPrgOffset, Lines: tzLines, Meaning: "bank 2 high-cycle data area"},
		{Name: "HDP2R", Cur: targets.FlashHDP2RCur, Prg: targets.FlashHDP2RCur + targets.FlashPrgOffset, Lines: allLines, Meaning: "bank 2 hide-protection area"},
	}
}

// bit builds a one-bit enum field with a meaning for 0 and for 1.
func bit(name, reg string, shift uint, lines Lines, meaning, name0, mean0, name1, mean1 string) Field {
	return Field{
		Name: name, Register: reg, Shift: shift, Width: 1, Kind: KindEnum, Lines: lines, Meaning: meaning,
		Values: []Value{{Raw: 0, Name: name0, Meaning: mean0}, {Raw: 1, Name: name1, Meaning: mean1}},
	}
}

// lockValues are the 0xC3/0xB4 lock encodings of the boot-address locks.
func lockValues(unlocked, locked string) []Value {
	return []Value{
		{Raw: 0xC3, Name: "UNLOCKED", Meaning: unlocked},
		{Raw: 0xB4, Name: "LOCKED", Meaning: locked},
	}
}

// bootAddress describes a boot-address field (address bits [31:8]).
func bootAddress(v, _ uint32) string { return fmt.Sprintf("boots at 0x%08X", v<<8) }

// sectorRange builds a pair of start/end sector fields (secure watermark,
// hide protection) of a given width; the end field's description says what
// the pair means together.
func sectorRange(prefix, reg string, width uint, lines Lines, what string) []Field {
	startF := Field{Name: prefix + "_STRT", Register: reg, Shift: 0, Width: width, Kind: KindNumber, Lines: lines,
		Meaning: "first sector of the " + what + " area (STRT > END: no area)"}
	endF := Field{Name: prefix + "_END", Register: reg, Shift: 16, Width: width, Kind: KindNumber, Lines: lines,
		Meaning: "last sector of the " + what + " area"}
	mask := uint32(1)<<width - 1
	startF.Describe = func(v, reg uint32) string {
		end := reg >> 16 & mask
		if v > end {
			return fmt.Sprintf("sector %d; after END (%d): no %s area", v, end, what)
		}
		return fmt.Sprintf("%s area starts at sector %d", what, v)
	}
	endF.Describe = func(v, reg uint32) string {
		start := reg & mask
		if start > v {
			return fmt.Sprintf("sector %d; STRT (%d) is after it: no %s area", v, start, what)
		}
		return fmt.Sprintf("%s area is sectors %d…%d", what, start, v)
	}
	return []Field{startF, endF}
}

// wrpField is a bank's write-protection group mask.
func wrpField(name, reg string, width uint, lines Lines, sectorsPerBit int) Field {
	return Field{
		Name: name, Register: reg, Shift: 0, Width: width, Kind: KindMask, Lines: lines,
		Meaning: fmt.Sprintf("write protection, one bit per group of %d sector(s); 0 = protected", sectorsPerBit),
		Describe: func(v, _ uint32) string {
			return describeProtected(v, width, "no group write-protected", "group(s)")
		},
	}
}

// edataFields are a bank's high-cycle data enable and size.
func edataFields(bank string) []Field {
	reg := "EDATA" + bank + "R"
	return []Field{
		{Name: "EDATA" + bank + "_STRT", Register: reg, Shift: 0, Width: 3, Kind: KindNumber, Lines: tzLines,
			Meaning: "how many of the bank's last sectors hold high-cycle data, minus one (bookkeeping for tools)",
			Describe: func(v, reg uint32) string {
				return fmt.Sprintf("last %d sector(s) of bank %s", v+1, bank)
			}},
		bit("EDATA"+bank+"_EN", reg, 15, tzLines, "high-cycle data area of bank "+bank,
			"DISABLED", "no high-cycle data area", "ENABLED", "the last EDATA"+bank+"_STRT+1 sectors are high-cycle data"),
	}
}

// fieldTable lists every option-byte field of the STM32H5 lines, with the
// lines that have it (security reference §2.4, §2.5, §2.7, §2.9).
func fieldTable() []Field {
	f := []Field{
		{
			Name: "PRODUCT_STATE", Register: "OPTSR", Shift: 8, Width: 8, Kind: KindEnum, Lines: allLines,
			Meaning: "lifecycle state: what debug reaches and what boots",
			Values: []Value{
				{Raw: stateOpen, Name: "OPEN", Meaning: "everything open; boot per BOOT0 and boot addresses"},
				{Raw: stateProvisioning, Name: "PROVISIONING", Meaning: "ROM runs, user code never does; debug open with Hot Plug; DA data can be provisioned"},
				{Raw: stateIROT, Name: "iROT_PROVISIONED", Meaning: "boots the iRoT; secure debug closed (DA reopens it)"},
				{Raw: stateTZClosed, Name: "TZ_CLOSED", Meaning: "secure side closed; non-secure debug opens with the non-secure application", Lines: tzLines},
				{Raw: stateClosed, Name: "CLOSED", Meaning: "debug closed; only AP0 (DBGMCU, DA mailbox) answers"},
				{Raw: stateLocked, Name: "LOCKED", Meaning: "debug closed for ever; no regression possible"},
				{Raw: reqRegression, Name: "REGRESSION", Meaning: "request code: secure firmware asks the ROM for a full regression"},
				{Raw: reqNSRegression, Name: "NS_REGRESSION", Meaning: "request code: secure firmware asks the ROM for a non-secure regression"},
			},
		},
		{
			Name: "BOR_LEV", Register: "OPTSR", Shift: 0, Width: 2, Kind: KindEnum, Lines: allLines,
			Meaning: "brown-out reset threshold",
			Values: []Value{
				borLevel(0, 1, "2.1"),
				borLevel(1, 2, "2.4"),
				borLevel(2, 3, "2.7"),
				{Raw: 3, Name: "LEVEL1_ALT", Meaning: "BOR level 1 (about 2.1 V), second encoding; never written by ST's HAL",
					Refused: "ST's HAL accepts BOR levels 0-2 only (IS_OB_USER_BOR_LEVEL, stm32h5xx_hal_flash_ex.h)"},
			},
		},
		bit("BORH_EN", "OPTSR", 2, allLines, "brown-out high threshold", "DISABLED", "BOR high disabled", "ENABLED", "BOR high enabled"),
		bit("IWDG_SW", "OPTSR", 3, allLines, "independent watchdog start", "HARDWARE", "IWDG starts by itself at every reset; firmware must refresh it", "SOFTWARE", "IWDG starts only when firmware enables it"),
		bit("WWDG_SW", "OPTSR", 4, allLines, "window watchdog start", "HARDWARE", "WWDG starts by itself at every reset", "SOFTWARE", "WWDG starts only when firmware enables it"),
		resetOn("NRST_STOP", "OPTSR", 6, allLines, "Stop"),
		resetOn("NRST_STDBY", "OPTSR", 7, allLines, "Standby"),
		bit("IO_VDD_HSLV", "OPTSR", 16, allLines, "high-speed low-voltage I/Os on VDD (only if VDD < 2.7 V)", "DISABLED", "normal I/O speed configuration", "ENABLED", "high speed at low voltage; never set it with VDD above 2.7 V"),
		bit("IO_VDDIO2_HSLV", "OPTSR", 17, allLines, "high-speed low-voltage I/Os on VDDIO2 (only if VDDIO2 < 2.7 V)", "DISABLED", "normal I/O speed configuration", "ENABLED", "high speed at low voltage; never set it with VDDIO2 above 2.7 V"),
		bit("IWDG_STOP", "OPTSR", 20, allLines, "independent watchdog in Stop mode", "FROZEN", "IWDG frozen in Stop mode", "RUNNING", "IWDG keeps running in Stop mode"),
		bit("IWDG_STDBY", "OPTSR", 21, allLines, "independent watchdog in Standby mode", "FROZEN", "IWDG frozen in Standby mode", "RUNNING", "IWDG keeps running in Standby mode"),
		{
			Name: "BOOT_UBE", Register: "OPTSR", Shift: 22, Width: 8, Kind: KindEnum, Lines: tzLines,
			Meaning: "unique boot entry (used on the crypto parts H533/H573)",
			Values: []Value{
				{Raw: 0xB4, Name: "OEM_IROT", Meaning: "boot the OEM-iRoT in user flash (in OPEN: the bootloader); factory default"},
				{Raw: 0xC3, Name: "ST_IROT", Meaning: "boot the ST-iRoT in system flash"},
			},
		},
		bit("SWAP_BANK", "OPTSR", 31, allLines, "bank swap (applies at the next reset)", "NOT_SWAPPED", "bank 1 at 0x08000000", "SWAPPED", "bank 2 mapped at 0x08000000"),

		bit("SRAM1_3_RST", "OPTSR2", 2, tzLines, "SRAM1/SRAM3 erase on system reset", "ERASED", "SRAM1 and SRAM3 erased on every system reset", "KEPT", "SRAM1 and SRAM3 kept across system reset"),
		sramReset("SRAM2_RST", "OPTSR2", 3, allLines, "SRAM2"),
		ramECC("BKPRAM_ECC", "OPTSR2", 4, allLines, "backup RAM"),
		ramECC("SRAM3_ECC", "OPTSR2", 5, h56xOnly, "SRAM3"),
		ramECC("SRAM2_ECC", "OPTSR2", 6, allLines, "SRAM2"),
		bit("USBPD_DIS", "OPTSR2", 8, tzLines, "USB Type-C dead-battery pull-downs", "ENABLED", "dead-battery pull-downs on CC lines enabled", "DISABLED", "dead-battery pull-downs disabled"),
		sramReset("SRAM1_RST", "OPTSR2", 9, h503Only, "SRAM1"),
		ramECC("SRAM1_ECC", "OPTSR2", 10, h503Only, "SRAM1"),
		{
			Name: "TZEN", Register: "OPTSR2", Shift: 24, Width: 8, Kind: KindEnum, Lines: tzLines,
			Meaning: "TrustZone; decides the DA method (password needs 0xC3, certificate 0xB4)",
			Values: []Value{
				{Raw: tzenOn, Name: "ENABLED", Meaning: "TrustZone on; debug authentication by certificate"},
				{Raw: tzenOff, Name: "DISABLED", Meaning: "TrustZone off (factory default); debug authentication by password"},
			},
		},

		{Name: "NSBOOT_LOCK", Register: "NSBOOTR", Shift: 0, Width: 8, Kind: KindEnum, Lines: allLines,
			Meaning: "freezes NSBOOTADD (and SWAP_BANK unless TrustZone is on)",
			Values:  lockValues("NSBOOTADD and SWAP_BANK can be changed", "NSBOOTADD frozen; SWAP_BANK only with TZEN=0xB4")},
		{Name: "NSBOOTADD", Register: "NSBOOTR", Shift: 8, Width: 24, Kind: KindNumber, Lines: allLines,
			Meaning: "non-secure boot address bits [31:8] (give address >> 8, e.g. 0x80000 for 0x08000000)", Describe: bootAddress},
		{Name: "SECBOOT_LOCK", Register: "SECBOOTR", Shift: 0, Width: 8, Kind: KindEnum, Lines: tzLines,
			Meaning: "freezes SECBOOTADD and BOOT_UBE (and SWAP_BANK unless TrustZone is off)",
			Values:  lockValues("BOOT_UBE, SWAP_BANK and SECBOOTADD can be changed", "BOOT_UBE and SECBOOTADD frozen; SWAP_BANK only with TZEN=0xC3")},
		{Name: "SECBOOTADD", Register: "SECBOOTR", Shift: 8, Width: 24, Kind: KindNumber, Lines: tzLines,
			Meaning: "secure boot address bits [31:8] (give address >> 8, e.g. 0xC0000 for 0x0C000000)", Describe: bootAddress},

		bit("SPRIV", "PRIVCFGR", 0, tzLines, "secure flash registers privileged-only", "ANY", "secure flash registers open to unprivileged code", "PRIVILEGED", "secure flash registers privileged-only"),
		bit("NSPRIV", "PRIVCFGR", 1, allLines, "non-secure flash registers privileged-only", "ANY", "non-secure flash registers open to unprivileged code", "PRIVILEGED", "non-secure flash registers privileged-only"),

		{Name: "LOCKBL", Register: "OTPBLR", Shift: 0, Width: 32, Kind: KindMask, Lines: allLines,
			Meaning: "OTP block locks: bit n locks 64-byte block n for ever (never unlocked, not even by regression)",
			Describe: func(v, _ uint32) string {
				if v == 0 {
					return "no OTP block locked"
				}
				return fmt.Sprintf("%d OTP block(s) locked: %s", bits.OnesCount32(v), setBits(v))
			}},
	}
	// Secure watermarks: 7-bit sector indexes on H56x, 5-bit on H52x.
	f = append(f, sectorRange("SECWM1", "SECWM1R", 7, h56xOnly, "secure")...)
	f = append(f, sectorRange("SECWM1", "SECWM1R", 5, Lines{DevH52x}, "secure")...)
	f = append(f, sectorRange("SECWM2", "SECWM2R", 7, h56xOnly, "secure")...)
	f = append(f, sectorRange("SECWM2", "SECWM2R", 5, Lines{DevH52x}, "secure")...)
	// Write protection: 32 groups of 4 sectors on H56x, 8 groups on H52x
	// (4 sectors each, inferred) and H503 (1 sector each).
	f = append(f,
		wrpField("WRPSGn1", "WRP1R", 32, h56xOnly, 4), wrpField("WRPSGn2", "WRP2R", 32, h56xOnly, 4),
		wrpField("WRPSGn1", "WRP1R", 8, Lines{DevH52x}, 4), wrpField("WRPSGn2", "WRP2R", 8, Lines{DevH52x}, 4),
		wrpField("WRPSGn1", "WRP1R", 8, h503Only, 1), wrpField("WRPSGn2", "WRP2R", 8, h503Only, 1),
	)
	// Hide protection: 7 bits H56x, 5 bits H52x, 3 bits H503.
	f = append(f, sectorRange("HDP1", "HDP1R", 7, h56xOnly, "hidden")...)
	f = append(f, sectorRange("HDP1", "HDP1R", 5, Lines{DevH52x}, "hidden")...)
	f = append(f, sectorRange("HDP1", "HDP1R", 3, h503Only, "hidden")...)
	f = append(f, sectorRange("HDP2", "HDP2R", 7, h56xOnly, "hidden")...)
	f = append(f, sectorRange("HDP2", "HDP2R", 5, Lines{DevH52x}, "hidden")...)
	f = append(f, sectorRange("HDP2", "HDP2R", 3, h503Only, "hidden")...)
	f = append(f, edataFields("1")...)
	f = append(f, edataFields("2")...)
	return f
}
