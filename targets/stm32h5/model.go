// Package stm32h5 is an executable model of an STM32H5 as seen from the SWD
// wire, for the simulated bench: DBGMCU on both access ports, the FLASH
// option-byte registers with their real unlock keys and busy time, the
// forward-only product state, AP1 locking per state, the engineering area,
// OTP, the debug-authentication provisioning data, NRST wiring, firmware
// that turns SWD off, and a Cortex-M33 that boots from the vector table in
// flash (LoadFlash) and reports its Security Extension and debug
// authentication per TZEN and product state. It implements chipsim.Chip.
//
// The modelled firmware executes no code. Two things do: one ROM function,
// RSSLIB_DataProvisioning (obk_provision.go), run natively when a debugger
// resumes the core at its entry; and Thumb code a debugger downloads to
// SRAM and resumes the core at (a flash loader), which chipsim's
// interpreter executes instruction by instruction. An FPB breakpoint at
// the PC the core resumes or returns at, or that interpreted code reaches,
// fires; watchpoints are recorded and read back, but never fire.
//
// Behaviour that real silicon does not document is chosen in chosen.go
// (option bytes, access ports, debug authentication) and chosen_core.go
// (core debug view, DBGMCU identification) and only there.
package stm32h5

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"sync"
	"time"

	"github.com/stprobe/stprobe/enum"

	"github.com/stprobe/stprobe/targets"
	"github.com/stprobe/stprobe/targets/chipsim"
)

// DEV_IDs of the lines the model can be, for Config.Line.
const (
	LineH503 uint16 = 0x474 // STM32H503: no TrustZone, DA password hash in OTP
	LineH533 uint16 = 0x478 // STM32H523/H533
	LineH563 uint16 = 0x484 // STM32H562/H563/H573
)

// DA is what debug-authentication data the chip holds.
type DA int

// DA provisioning kinds.
const (
	DANone        DA = iota // nothing provisioned: discovery would report 0xF5F5F5F5
	DAPassword              // SHA-256 of a password (OBK; OTP on H503)
	DACertificate           // SHA-256 of the root public key (OBK)
)

// daNames names each DA kind.
var daNames = [...]string{DANone: "none", DAPassword: "password", DACertificate: "certificate"}

// String names the kind.
func (d DA) String() string {
	return enum.Name(daNames[:], d, "DA")
}

// Firmware is what the user program does to the debug port.
type Firmware int

// Firmware behaviours.
const (
	FirmwareNormal Firmware = iota // leaves SWD alone
	// FirmwareSleepy turns the SWD pins off (or sleeps) shortly after it
	// starts: SWD answers while NRST is low and while the core is halted,
	// and for Config.SleepAfter after the program starts running.
	FirmwareSleepy
)

// DefaultPassword is the ST sample DA password, used when Config.DASecret is
// empty for DAPassword.
const DefaultPassword = "0123456789012345"

// DefaultPermissions is ST's default DA permission word.
const DefaultPermissions = 0x00005077

// Config describes one simulated board. The zero value of a field picks the
// default named in its comment, except NRSTWired: false means NRST is not
// wired to the probe.
type Config struct {
	// Line is the DEV_ID: LineH503, LineH533 (default) or LineH563.
	Line uint16
	// RevID is DBGMCU REV_ID (default 0x1000, revision A).
	RevID uint16
	// ProductState is the lifecycle byte (default OPEN 0xED).
	ProductState targets.ProductState
	// TZEN is 0xB4 or 0xC3 (default 0xC3 on TrustZone lines; ignored on H503).
	TZEN targets.TZEN
	// DA is the provisioned debug-authentication kind, DASecret the password
	// or the 64-byte root public key X‖Y it hashes (default: DefaultPassword,
	// or a fixed placeholder key), DAPermissions the OBK permission word
	// (default DefaultPermissions).
	DA            DA
	DASecret      []byte
	DAPermissions uint32
	// NRSTWired is true when the probe's NRST reaches the chip.
	NRSTWired bool
	// Firmware is what the user program does to SWD.
	Firmware Firmware
	// NSDebugApp is true when the board's non-secure application opens
	// debug once it runs (matters in iROT_PROVISIONED and TZ_CLOSED).
	NSDebugApp bool
	// OpenOnlyToProvisioning refuses option writes that jump from OPEN
	// straight past PROVISIONING.
	OpenOnlyToProvisioning bool
	// NoHaltInProvisioning keeps the core from halting in PROVISIONING at
	// all, even after a reset with a debugger attached (chosen.go: the
	// public sources disagree; ST's OpenOCD flow, the default, halts).
	NoHaltInProvisioning bool
	// UID is the 96-bit unique ID (default derived from Line).
	UID [3]uint32
	// FlashKB is the flash size in KiB (default the line's largest).
	FlashKB uint16
	// Package is the package code read at 0x08FFF80E; 0 picks the line's
	// usual package (LQFP64 for H503 and H533, LQFP144 for H56x).
	Package uint16
	// OptionDelay is how long an option change keeps BSY set (default 20 ms).
	OptionDelay time.Duration
	// SleepAfter is how long sleepy firmware keeps SWD on (default 500 µs).
	SleepAfter time.Duration
	// Captured are option registers read from a real chip, by name without
	// suffix: {_CUR, _PRG}. They replace the factory values (twin.go).
	Captured map[string][2]uint32
}

// Model is a simulated STM32H5. It implements chipsim.Chip and is safe for
// concurrent use.
type Model struct {
	line    targets.Line
	family  targets.Family
	cfg     Config
	core    *chipsim.Core
	ap0     *chipsim.MemAP
	ap1     *chipsim.MemAP
	sram    *chipsim.RAM
	flashKB uint16
	pkg     uint16

	mu        sync.Mutex
	now       time.Duration // modelled time since power-on
	epoch     uint64
	nrst      chipsim.NRST
	runSince  time.Duration // when the user program last started running
	wasHalted bool
	daOpened  bool // a DA "open debug" in force (not reachable yet: no DA agent)

	// FLASH
	cur, prg      map[string]uint32
	plain         map[uint32]uint32 // registers without side effects, by offset
	optKey        keyLock           // FLASH_OPTKEYR; locked is OPTCR.OPTLOCK
	nsKey         keyLock           // FLASH_NSKEYR; locked is NSCR.LOCK
	nscr          uint32
	nssr          uint32
	busyUntil     time.Duration
	busy          bool
	lastRefusal   error // why the last option change was refused
	resetsApplied int

	// DBGMCU
	dbgCR, dbgAuthHost, dbgAuthDev, dbgAuthAck uint32
	dbgFreeze                                  [8]uint32
	da                                         daAgent // the ROM's DA agent (da.go)

	// OTP: 1024 16-bit words and whether each was programmed.
	otp        [targets.H5OTPSize / 2]uint16
	otpWritten [targets.H5OTPSize / 2]bool

	// OBK debug-authentication record (96 bytes) or nil, and the other
	// data RSSLIB_DataProvisioning stored, by destination.
	obkDA    []byte
	obkOther map[uint32][]byte

	// flash holds the programmed words of the user flash by physical word
	// offset (flashctl.go); a word not in it reads erased (0xFFFFFFFF).
	flash map[uint32]uint32
	// The main-flash controller (flashctl.go): write buffer, running
	// program or erase, bus stall not yet reported, last refusal.
	buf              wbuf
	op               *flashOp
	secKey           keyLock // FLASH_SECKEYR; locked is SECCR.LOCK
	seccr, secsr     uint32
	stall            time.Duration
	lastFlashRefusal error
}

// New builds a powered-on model from cfg. An unknown Line or an invalid
// product state is an error.
func New(cfg Config) (*Model, error) {
	fam := targets.STM32H5()
	if cfg.Line == 0 {
		cfg.Line = LineH533
	}
	line, ok := fam.Line(cfg.Line)
	if !ok {
		return nil, fmt.Errorf("stm32h5: DEV_ID 0x%03X is not an STM32H5 line", cfg.Line)
	}
	if cfg.ProductState == 0 {
		cfg.ProductState = targets.StateOpen
	}
	if !fam.HasState(line, cfg.ProductState) {
		return nil, fmt.Errorf("stm32h5: %s cannot be in product state %v", line.Name, cfg.ProductState)
	}
	switch {
	case !line.TrustZone:
		cfg.TZEN = targets.TZENAbsent
	case cfg.TZEN == 0:
		cfg.TZEN = targets.TZENDisabled
	case cfg.TZEN != targets.TZENEnabled && cfg.TZEN != targets.TZENDisabled:
		return nil, fmt.Errorf("stm32h5: TZEN 0x%02X is neither 0xB4 nor 0xC3", uint8(cfg.TZEN))
	}
	if cfg.DA == DACertificate && !line.OBK {
		return nil, fmt.Errorf("stm32h5: %s only supports password debug authentication", line.Name)
	}
	if cfg.RevID == 0 {
		cfg.RevID = 0x1000
	}
	if cfg.DAPermissions == 0 {
		cfg.DAPermissions = DefaultPermissions
	}
	if len(cfg.DASecret) == 0 {
		switch cfg.DA {
		case DAPassword:
			cfg.DASecret = []byte(DefaultPassword)
		case DACertificate:
			cfg.DASecret = placeholderRootKey()
		}
	}
	if cfg.UID == [3]uint32{} {
		cfg.UID = [3]uint32{0x00450021 + uint32(cfg.Line), 0x3133510A, 0x36383530}
	}
	if cfg.OptionDelay == 0 {
		cfg.OptionDelay = defaultOptionDelay
	}
	if cfg.SleepAfter == 0 {
		cfg.SleepAfter = defaultSleepAfter
	}
	m := &Model{line: line, family: fam, cfg: cfg, nrst: chipsim.NRST{Wired: cfg.NRSTWired}, flashKB: cfg.FlashKB, pkg: line.DefaultPackage,
		optKey: newKeyLock("FLASH_OPTKEYR", targets.OptKey1, targets.OptKey2),
		nsKey:  newKeyLock("FLASH_NSKEYR", targets.FlashKey1, targets.FlashKey2),
		secKey: newKeyLock("FLASH_SECKEYR", targets.FlashKey1, targets.FlashKey2)}
	if m.flashKB == 0 {
		m.flashKB = uint16(line.MaxFlashKB)
	}
	if cfg.Package != 0 {
		m.pkg = cfg.Package
	}
	m.cur = factoryOptions(line, cfg.ProductState, cfg.TZEN)
	m.prg = map[string]uint32{}
	m.plain = map[uint32]uint32{}
	m.flash = map[uint32]uint32{}
	m.loadUserProgram()
	m.provision()
	m.resetFlashRegs()
	if err := m.applyCaptured(); err != nil {
		return nil, err
	}
	m.build()
	// The firmware has been running since long before the probe arrives.
	m.runSince = -time.Hour
	return m, nil
}

// provision writes the configured DA data: the OBK record on OBK lines, the
// password hash in OTP block 0 (locked) on H503.
func (m *Model) provision() {
	if m.cfg.DA == DANone {
		return
	}
	h := sha256.Sum256(m.cfg.DASecret)
	if !m.line.OBK {
		for i := 0; i < 16; i++ {
			m.otp[i] = binary.LittleEndian.Uint16(h[2*i:])
			m.otpWritten[i] = true
		}
		m.cur["OTPBLR"] |= 1
		return
	}
	m.obkDA = DARecord(h, m.cfg.DAPermissions)
}

// DARecord builds the 96-byte OBK debug-authentication record (security
// reference §5.8): SHA-256 of bytes 32..95, the key or password hash, the
// permission word, zero padding.
func DARecord(secretHash [32]byte, permissions uint32) []byte {
	b := make([]byte, 96)
	copy(b[32:64], secretHash[:])
	binary.LittleEndian.PutUint32(b[64:68], permissions)
	sum := sha256.Sum256(b[32:])
	copy(b[0:32], sum[:])
	return b
}

// placeholderRootKey is a fixed 64-byte stand-in for a root public key X‖Y;
// it is not a point on any curve.
func placeholderRootKey() []byte {
	k := make([]byte, 64)
	for i := range k {
		k[i] = byte(0xA0 + i)
	}
	return k
}

// build wires the buses, ports and core.
func (m *Model) build() {
	m.sram = chipsim.NewRAM(targets.SRAMBase, uint32(m.line.SRAMKB)<<10)
	m.core = chipsim.NewCore(chipsim.CoreConfig{
		CPUID:             cpuidM33,
		HaltGate:          m.haltGate,
		Call:              m.rsslibCall,
		OnSysResetRequest: m.onSysResetRequest,
		SecureDebug:       m.secureDebug,
		Security:          coreHasSecurity(m.line),
		DAuthStatus:       m.dauthStatus,
		VectorTable:       m.vectorTable,
		BootSecure:        m.bootSecure,
		// Code a debugger downloads to SRAM and resumes at is executed
		// (a flash loader); the modelled firmware in flash is not.
		Memory:       coreMemory{m},
		NonSecureCSW: cswNonSecure,
		Interprets: func(pc uint32) bool {
			return pc >= targets.SRAMBase && pc-targets.SRAMBase < uint32(m.line.SRAMKB)<<10
		},
	})
	readDBGMCU := func(off uint32) (uint32, error) {
		if v, ok := dbgmcuID(off, m.line.DevID); ok {
			return v, nil
		}
		return m.readDBGMCU(off)
	}
	dbgmcu := func(base uint32) *chipsim.Registers {
		return &chipsim.Registers{Base: base, Size: 0x1000, ReadFn: readDBGMCU, WriteFn: m.writeDBGMCU}
	}
	bus0 := &chipsim.Bus{}
	bus0.Map(dbgmcu(targets.H5DBGMCUAP0))
	bus0.Map(romTable(0xE00E0000, targets.H5DBGMCUAP0, m.line.DevID))
	m.ap0 = &chipsim.MemAP{IDRValue: ap0IDR, BASEValue: ap0BASE, Bus: bus0, EnabledFn: func() bool { return true }}

	bus1 := &chipsim.Bus{}
	bus1.Map(m.core.PPB())
	bus1.Map(dbgmcu(targets.H5DBGMCUAP1))
	bus1.Map(&region{m: m, base: targets.H5FlashRegs, size: 0x400, read: m.readFlash, write: m.writeFlash})
	bus1.Map(&region{m: m, base: targets.H5OTP, size: 0x1000, read: m.readOTPArea, write: m.writeOTPArea})
	bus1.Map(&region{m: m, base: flashBase, size: uint32(m.flashKB) * 1024, read: m.readFlashMemory, write: m.writeFlashMemory})
	if m.line.TrustZone {
		bus1.Map(&region{m: m, base: targets.H5FlashRegsSec, size: 0x400, secure: true, read: m.readFlashSec, write: m.writeFlashSec})
		bus1.Map(&region{m: m, base: flashBaseSec, size: uint32(m.flashKB) * 1024, secure: true, read: m.readFlashMemory, write: m.writeFlashMemorySec})
	}
	if m.line.OBK {
		bus1.Map(&region{m: m, base: 0x0FFD0000, size: 0x2000, secure: true, read: m.readOBK})
		// Non-secure OBK alias (security reference §2.1); chosen: the DA
		// record reads there only with TrustZone disabled (added for the
		// option-byte planner's DA check).
		bus1.Map(&region{m: m, base: 0x0BFD0000, size: 0x2000, read: func(off uint32, size chipsim.Size) (uint32, error) {
			if targets.TZENOf(m.cur["OPTSR2"]).Enabled() {
				return 0, fmt.Errorf("non-secure OBK alias 0x%08X with TrustZone enabled: %w", 0x0BFD0000+off, chipsim.ErrBusFault)
			}
			return m.readOBK(off, size)
		}})
		// The ROM's RSSLIB function-pointer table (rsslib.go, chosen.go).
		bus1.Map(&region{m: m, base: RSSLIBPFuncBase &^ 0xFF, size: 0x100, read: func(off uint32, size chipsim.Size) (uint32, error) {
			v := uint32(0)
			if RSSLIBPFuncBase&^0xFF+off&^3 == RSSLIBDataProvisioningSlot {
				v = rsslibDataProvisioningEntry
			}
			return v >> (8 * (off & 3)) & (1<<(8*uint(size)) - 1), nil
		}})
	}
	bus1.Map(m.sram)
	m.ap1 = &chipsim.MemAP{IDRValue: ap1IDR, BASEValue: ap1BASE, Bus: bus1, EnabledFn: m.AP1Enabled}
}

// ---- chipsim.Chip ----

// SWDResponds reports whether the debug port answers: always, except for
// sleepy firmware once it has been running for SleepAfter.
func (m *Model) SWDResponds() bool {
	halted := m.core.Halted()
	m.mu.Lock()
	defer m.mu.Unlock()
	m.observeLocked(halted)
	if m.cfg.Firmware != FirmwareSleepy || m.nrst.Low() || halted {
		return true
	}
	if !m.userCodeRunsLocked() || m.da.active {
		return true // the ROM runs (or its DA loop), not the sleepy program
	}
	return m.now-m.runSince < m.cfg.SleepAfter
}

// observeLocked notes a resume from halt: the program starts running again.
func (m *Model) observeLocked(halted bool) {
	if m.wasHalted && !halted {
		m.runSince = m.now
	}
	m.wasHalted = halted
}

// userCodeRunsLocked is false in PROVISIONING (the ROM runs).
func (m *Model) userCodeRunsLocked() bool {
	info, _ := m.family.State(m.stateLocked())
	return info.UserCodeRuns
}

// DPIDR is the SW-DP identification register.
func (m *Model) DPIDR() uint32 { return targets.H5DPIDR }

// AP returns AP0 (debug APB) or AP1 (Cortex-M33 bus); nil above.
func (m *Model) AP(n uint8) chipsim.AP {
	switch n {
	case 0:
		return m.ap0
	case 1:
		return m.ap1
	}
	return nil
}

// SetNRST drives the reset pin; ignored when NRST is not wired. Releasing
// it resets the system (the core is caught at the reset vector when vector
// catch is armed and the state lets it halt).
func (m *Model) SetNRST(low bool) {
	m.mu.Lock()
	fell, rose := m.nrst.Drive(low)
	if fell {
		m.resetFlashRegs()
		m.daResetLocked()
	}
	if rose {
		m.runSince = m.now
		m.daReleaseLocked()
	}
	m.mu.Unlock()
	if fell || rose {
		m.core.SetHeldInReset(low)
	}
}

// coreSlice is the step of modelled time while the core executes code:
// the flash controller's state (BSY, a program or erase ending) moves
// between slices, so code polling FLASH_NSSR sees an operation end within
// one slice (chosen: 1 µs, 32 cycles at the reset clock).
const coreSlice = time.Microsecond

// Advance lets modelled time pass: a pending option change completes once
// its busy time is over. While the core executes code (a loader in SRAM)
// time passes in slices of coreSlice so that the code and the flash
// controller take turns.
func (m *Model) Advance(d time.Duration) {
	sliced := false
	for d > 0 && m.core.Executing() {
		s := min(d, coreSlice)
		m.advance(s)
		d -= s
		sliced = true
	}
	if d > 0 || !sliced {
		m.advance(d)
	}
}

func (m *Model) advance(d time.Duration) {
	halted := m.core.Halted()
	m.mu.Lock()
	m.observeLocked(halted)
	m.now += d
	m.tickFlashLocked()
	reset := m.daTickLocked()
	if m.busy && m.now >= m.busyUntil {
		reset = m.completeOptionChangeLocked() || reset
	}
	m.mu.Unlock()
	if reset {
		m.systemReset(true)
	}
	m.core.Advance(d)
}

// coreMemory is the bus as the core's own instructions reach it: AP1's
// bus (the Cortex-M33's system bus), built after the core.
type coreMemory struct{ m *Model }

func (c coreMemory) Read(addr uint32, size chipsim.Size, csw uint32) (uint32, error) {
	return c.m.ap1.Bus.Read(addr, size, csw)
}

func (c coreMemory) Write(addr uint32, size chipsim.Size, v, csw uint32) error {
	return c.m.ap1.Bus.Write(addr, size, v, csw)
}

// LinkEpoch counts resets that dropped the debug link.
func (m *Model) LinkEpoch() uint64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.epoch
}

// ---- resets ----

// onSysResetRequest is the core's AIRCR.SYSRESETREQ.
func (m *Model) onSysResetRequest() { m.systemReset(false) }

// systemReset resets the chip; dropLink also drops the debug link (option
// reload), bumping LinkEpoch.
func (m *Model) systemReset(dropLink bool) {
	m.mu.Lock()
	if dropLink {
		m.epoch++
	}
	m.resetFlashRegs()
	m.daResetLocked()
	m.runSince = m.now
	m.resetsApplied++
	m.mu.Unlock()
	m.core.Reset()
}

// PowerCycle switches the board off and on: a full reset that drops the
// debug link and forgets every unlock and DA session.
func (m *Model) PowerCycle() {
	m.mu.Lock()
	m.daOpened = false
	m.dbgCR = 0
	m.daResetLocked()
	m.dbgFreeze = [8]uint32{}
	m.mu.Unlock()
	m.core.PowerOn()
	m.systemReset(true)
}

// resetFlashRegs puts the FLASH interface in its reset state.
func (m *Model) resetFlashRegs() {
	for k, v := range m.cur {
		m.prg[k] = v
	}
	m.optKey.reset()
	m.nsKey.reset()
	m.nscr = 1 // LOCK
	m.nssr = 0
	m.secKey.reset()
	m.seccr, m.secsr = 1, 0 // LOCK
	m.busy = false
	m.abortFlashLocked()
}

// haltGate is the core's hook: see canHalt in chosen.go.
func (m *Model) haltGate(vectorCatch, attached bool) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return canHalt(m.stateLocked(), vectorCatch, attached, m.cfg.NoHaltInProvisioning)
}

// dauthStatus is the core's DAUTHSTATUS hook: see chosen_core.go.
func (m *Model) dauthStatus() uint32 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return dauthStatus(coreHasSecurity(m.line), m.ap1EnabledLocked(), m.secureOpenLocked())
}

// vectorTable is the core's reset hook: the vector table at the boot
// address (chosen_core.go) and its first two words.
func (m *Model) vectorTable() (addr, sp, pc uint32) {
	m.mu.Lock()
	defer m.mu.Unlock()
	tzen := targets.TZENAbsent
	if m.line.TrustZone {
		tzen = targets.TZENOf(m.cur["OPTSR2"])
	}
	addr = bootAddress(tzen, m.cur["NSBOOTR"], m.cur["SECBOOTR"])
	return addr, m.bootWordLocked(addr), m.bootWordLocked(addr + 4)
}

// bootSecure is the core's reset hook: with TrustZone enabled the core
// starts Secure at SECBOOTADD, otherwise Non-secure.
func (m *Model) bootSecure() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.line.TrustZone && targets.TZENOf(m.cur["OPTSR2"]).Enabled()
}

// bootWordLocked reads a vector-table word at addr: from the user flash
// (either alias), from SRAM, or erased anywhere else.
func (m *Model) bootWordLocked(addr uint32) uint32 {
	size := uint32(m.flashKB) * 1024
	for _, base := range []uint32{flashBase, flashBaseSec} {
		if addr >= base && addr-base < size {
			v, _ := m.readFlashMemory(addr-base, chipsim.Word)
			return v
		}
	}
	if m.sram.Contains(addr) {
		v, _ := m.sram.Read(addr, chipsim.Word, 0)
		return v
	}
	return 0xFFFFFFFF
}

// LoadFlash programs b into the user flash at addr (0x08000000 or the
// secure alias 0x0C000000 onwards), as a production programmer would
// before the board reaches the bench (a scenario and test helper; a
// debugger programs through the FLASH registers, flashctl.go). Reset then
// boots from it.
func (m *Model) LoadFlash(addr uint32, b []byte) error {
	size := uint32(m.flashKB) * 1024
	var off uint32
	switch {
	case addr >= flashBase && addr-flashBase < size:
		off = addr - flashBase
	case m.line.TrustZone && addr >= flashBaseSec && addr-flashBaseSec < size:
		off = addr - flashBaseSec
	default:
		return fmt.Errorf("stm32h5: loading flash at 0x%08X: not in the %d KiB user flash", addr, m.flashKB)
	}
	if uint64(off)+uint64(len(b)) > uint64(size) {
		return fmt.Errorf("stm32h5: loading %d bytes at 0x%08X: runs past the end of flash", len(b), addr)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for i, c := range b {
		p := m.physLocked(off + uint32(i))
		q := p &^ (targets.H5QuadWord - 1)
		for w := q; w < q+targets.H5QuadWord; w += 4 {
			if _, ok := m.flash[w]; !ok {
				m.flash[w] = 0xFFFFFFFF // the whole quad-word is programmed
			}
		}
		shift := 8 * (p & 3)
		m.flash[p&^3] = m.flash[p&^3]&^(0xFF<<shift) | uint32(c)<<shift
	}
	return nil
}

// secureDebug is the core's DHCSR.S_SDE hook.
func (m *Model) secureDebug() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.secureOpenLocked()
}

func (m *Model) ap1EnabledLocked() bool {
	running := !m.nrst.Low() && m.userCodeRunsLocked() && !m.da.active
	return ap1Open(m.stateLocked(), m.cfg.NSDebugApp, running, m.daOpened)
}

// secureOpenLocked reports whether secure-alias transfers through AP1 work.
func (m *Model) secureOpenLocked() bool {
	return m.line.TrustZone && ap1SecureOpen(m.stateLocked(), targets.TZENOf(m.cur["OPTSR2"]), m.daOpened)
}

func (m *Model) stateLocked() targets.ProductState {
	return targets.ProductStateOf(m.cur["OPTSR"])
}

// ---- accessors for tests and the UI ----

// Line is the modelled line.
func (m *Model) Line() targets.Line { return m.line }

// Config returns the configuration the model was built with, defaults filled.
func (m *Model) Config() Config { return m.cfg }

// Core is the Cortex-M33 core debug model.
func (m *Model) Core() *chipsim.Core { return m.core }

// ProductState is the applied product state (OPTSR_CUR[15:8]).
func (m *Model) ProductState() targets.ProductState {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.stateLocked()
}

// TZEN is the applied TrustZone byte (TZENAbsent on H503).
func (m *Model) TZEN() targets.TZEN {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.line.TrustZone {
		return targets.TZENAbsent
	}
	return targets.TZENOf(m.cur["OPTSR2"])
}

// OptionRegister returns the _CUR and _PRG values of an option register by
// name without suffix ("OPTSR", "OPTSR2", "NSBOOTR", "SECBOOTR", "OTPBLR",
// "SECWM1R", "WRP1R", "EDATA1R", "HDP1R", the bank-2 ones, "NSEPOCHR",
// "SECEPOCHR"); for "PRIVCFGR" both are the register. ok is false when the
// line has no such register.
func (m *Model) OptionRegister(name string) (cur, prg uint32, ok bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if name == "PRIVCFGR" {
		v := m.plain[0x03C]
		return v, v, true
	}
	cur, ok = m.cur[name]
	return cur, m.prg[name], ok
}

// Status is what an observer (a test, a scenario) reads of the model's
// FLASH interface and history at one instant.
type Status struct {
	// NSSR is the FLASH non-secure status register.
	NSSR uint32
	// LastRefusal says why the last option change raised OPTCHANGEERR
	// (nil when the last one succeeded or none ran).
	LastRefusal error
	// LastFlashRefusal says why the last program or erase raised WRPERR
	// or PGSERR for a protection or an unerased quad-word (nil when none
	// did).
	LastFlashRefusal error
	// Now is the modelled time since power-on.
	Now time.Duration
	// Resets counts system resets since power-on (NRST release not
	// included).
	Resets int
}

// Status returns the model's status, read under one lock so that its
// fields agree with each other.
func (m *Model) Status() Status {
	m.mu.Lock()
	defer m.mu.Unlock()
	return Status{
		NSSR:             m.nssrLocked(),
		LastRefusal:      m.lastRefusal,
		LastFlashRefusal: m.lastFlashRefusal,
		Now:              m.now,
		Resets:           m.resetsApplied,
	}
}

// DAProvisioned reports what DA data the chip holds.
func (m *Model) DAProvisioned() DA {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.obkDA == nil && !(m.line.DevID == LineH503 && m.otpWritten[0]) {
		return DANone
	}
	if !m.line.OBK {
		return DAPassword // the H503 knows only passwords
	}
	return m.cfg.DA
}

// OBKDARecord returns a copy of the 96-byte OBK DA record, nil when absent.
func (m *Model) OBKDARecord() []byte {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]byte(nil), m.obkDA...)
}

// OTPWord returns OTP 16-bit word i and whether it was programmed.
func (m *Model) OTPWord(i int) (uint16, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if i < 0 || i >= len(m.otp) {
		return 0, false
	}
	if !m.otpWritten[i] {
		return otpErased, false
	}
	return m.otp[i], true
}

// AP1Enabled reports whether AP1 answers right now; it is AP1's enable
// hook (see chosen.go).
func (m *Model) AP1Enabled() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.ap1EnabledLocked()
}

var _ chipsim.Chip = (*Model)(nil)
