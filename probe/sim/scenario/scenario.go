// Package scenario is the registry of simulated benches: small named boards
// (an ST-LINK and an STM32H5 model in a given state) that reproduce what
// real users hit, the seed thread's stuck-in-PROVISIONING board among them.
// Each scenario also states what a connect should find on it (Expect), as
// fixed in the project's scenarios page.
package scenario

import (
	"fmt"
	"sort"
	"strings"

	"github.com/stprobe/stprobe/enum"

	"github.com/stprobe/stprobe/probe/proto"
	"github.com/stprobe/stprobe/probe/sim"
	"github.com/stprobe/stprobe/targets"
	"github.com/stprobe/stprobe/targets/chipsim"
	"github.com/stprobe/stprobe/targets/stm32h5"
	"github.com/stprobe/stprobe/targets/stm32rdp"
)

// DefaultName is the scenario used when none is given: the seed board.
const DefaultName = "h533-provisioning"

// ProbeKind selects the simulated ST-LINK.
type ProbeKind int

// Probe kinds.
const (
	ProbeV2  ProbeKind = iota // ST-LINK/V2, firmware V2J46S7, PID 0x3748 (the seed thread's probe)
	ProbeV21                  // ST-LINK/V2-1, firmware V2J40M27, PID 0x374B
	ProbeV3                   // STLINK-V3E, firmware V3J7M3, PID 0x374E
)

// probeIdentity is the firmware string, PID and serial of each kind.
var probeIdentity = map[ProbeKind]struct {
	firmware string
	pid      uint16
	serial   string
}{
	ProbeV2:  {"V2J46S7", 0x3748, "55FF6B065177495619420887"},
	ProbeV21: {"V2J40M27", 0x374B, "066DFF485550755187121723"},
	ProbeV3:  {"V3J7M3", 0x374E, "002F00283137510B33333639"},
}

// String is the probe's firmware and name, e.g. "V2J46S7 (ST-LINK/V2)".
func (k ProbeKind) String() string {
	id, ok := probeIdentity[k]
	if !ok {
		return fmt.Sprintf("ProbeKind(%d)", int(k))
	}
	name := "ST-LINK"
	if m, ok := proto.ModelByPID(id.pid); ok {
		name = m.Name
	}
	return fmt.Sprintf("%s (%s)", id.firmware, name)
}

// ParseProbeKind accepts "v2", "v2-1" or "v3" (any case).
func ParseProbeKind(s string) (ProbeKind, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "v2", "":
		return ProbeV2, nil
	case "v2-1", "v21":
		return ProbeV21, nil
	case "v3":
		return ProbeV3, nil
	}
	return 0, fmt.Errorf("probe kind %q: want v2, v2-1 or v3", s)
}

// Outcome is what a connect attempt should find.
type Outcome int

// Outcomes.
const (
	OK    Outcome = iota // the port answers as the mode intends
	Fails                // the DP answers but the mode does not succeed on this port
	NoACK                // nothing answers SWD
)

// outcomeNames names each outcome.
var outcomeNames = [...]string{OK: "ok", Fails: "fails", NoACK: "no ACK"}

// String names the outcome.
func (o Outcome) String() string {
	return enum.Name(outcomeNames[:], o, "Outcome")
}

// Expect is what scenarios.md says each connect mode finds, whatever the
// SWD clock. AP0 means: AP0 answers and DBGMCU is readable (it never reaches
// the core on STM32H5).
type Expect struct {
	NormalAP1, HotPlugAP1, UnderResetAP1 Outcome
	// AP0 is the outcome of reading DBGMCU through AP0 in any mode;
	// AP0UnderResetOnly marks boards where it only works under reset.
	AP0               Outcome
	AP0UnderResetOnly bool
}

// Scenario is one simulated bench.
type Scenario struct {
	Name        string
	Description string
	// Chip is the STM32H5 model's configuration; nil for boards that are not
	// an STM32H5 (Generic) or have no target.
	Chip *stm32h5.Config
	// Generic puts chipsim's generic Cortex-M33 board (CPU on AP0) on the
	// wire instead.
	Generic bool
	// RDPChip puts a chip of a family protected by read-out protection
	// levels (F1, F4, G0, G4, L4, U5, H7) on the wire instead (its core on
	// AP0).
	RDPChip *stm32rdp.Config
	// Millivolts is the target voltage the probe reads.
	Millivolts int
	// Probe is the simulated ST-LINK.
	Probe ProbeKind
	// Expect is what each connect mode should find.
	Expect Expect
	// Boot0 is the BOOT0 pin level at reset (true: high), which with the
	// product state decides whether the ROM bootloader answers on UART and
	// USB DFU (see boot.go).
	Boot0 bool
	// Identity, when set, replaces the probe kind's firmware, PID and
	// serial: a twin's probe is the one its capture was taken with.
	Identity *ProbeIdentity
}

// WithProbe returns a copy of s on another ST-LINK.
func (s Scenario) WithProbe(k ProbeKind) Scenario {
	s.Probe = k
	return s
}

// NewChip builds a fresh target for s (nil when nothing is wired).
func (s Scenario) NewChip() (chipsim.Chip, error) {
	switch {
	case s.Generic:
		return chipsim.NewGenericM33(0), nil
	case s.RDPChip != nil:
		m, err := stm32rdp.New(*s.RDPChip)
		if err != nil {
			return nil, fmt.Errorf("scenario %s: %w", s.Name, err)
		}
		return m, nil
	case s.Chip == nil:
		return nil, nil
	}
	m, err := stm32h5.New(*s.Chip)
	if err != nil {
		return nil, fmt.Errorf("scenario %s: %w", s.Name, err)
	}
	return m, nil
}

// Build returns a fresh simulated ST-LINK hosting a fresh target.
func (s Scenario) Build() (*sim.Probe, error) {
	id, ok := probeIdentity[s.Probe]
	if !ok {
		return nil, fmt.Errorf("scenario %s: unknown probe kind %d", s.Name, int(s.Probe))
	}
	if c := s.Identity; c != nil {
		id.firmware, id.pid, id.serial = c.Firmware, c.PID, c.Serial
	}
	v, err := proto.ParseVersion(id.firmware)
	if err != nil {
		return nil, fmt.Errorf("scenario %s: %w", s.Name, err)
	}
	v.VID, v.PID = proto.VendorST, id.pid
	chip, err := s.NewChip()
	if err != nil {
		return nil, err
	}
	return sim.New(sim.Config{Firmware: v, Serial: id.serial, TargetMillivolts: s.Millivolts, Chip: chip}), nil
}

// NewProbe returns a fresh simulated ST-LINK hosting a fresh target. Every
// listed scenario builds (the package tests check it); should one not, the
// probe is returned with nothing wired rather than failing.
func (s Scenario) NewProbe() *sim.Probe {
	p, err := s.Build()
	if err != nil {
		id := probeIdentity[ProbeV2]
		v, _ := proto.ParseVersion(id.firmware)
		v.VID, v.PID = proto.VendorST, id.pid
		return sim.New(sim.Config{Firmware: v, Serial: id.serial, TargetMillivolts: s.Millivolts})
	}
	return p
}

// Family names the chip family a scenario puts on the wire ("STM32H5",
// "STM32F1", …), or "" for a generic board or none.
func (s Scenario) Family() string {
	switch {
	case s.RDPChip != nil:
		return s.RDPChip.Family.Name
	case s.Chip != nil:
		return "STM32H5"
	}
	return ""
}

// RDPModel returns the RDP-family model hosted by p, or nil.
func RDPModel(p *sim.Probe) *stm32rdp.Model {
	m, _ := p.Chip().(*stm32rdp.Model)
	return m
}

// Model returns the STM32H5 model hosted by p, or nil when p hosts another
// target or none.
func Model(p *sim.Probe) *stm32h5.Model {
	m, _ := p.Chip().(*stm32h5.Model)
	return m
}

// Lookup finds a scenario by name; the error lists the valid names.
func Lookup(name string) (Scenario, error) {
	for _, s := range List() {
		if s.Name == name {
			return s, nil
		}
	}
	return Scenario{}, fmt.Errorf("no simulated scenario %q; valid names: %s", name, strings.Join(Names(), ", "))
}

// Names lists the scenario names, sorted.
func Names() []string {
	var n []string
	for _, s := range List() {
		n = append(n, s.Name)
	}
	sort.Strings(n)
	return n
}

// thread is the seed thread's target voltage.
const thread = 3290

// h533 is an STM32H533RE (512 KiB, LQFP64) like the seed thread's board.
func h533(state targets.ProductState, tzen targets.TZEN, da stm32h5.DA) *stm32h5.Config {
	return &stm32h5.Config{Line: stm32h5.LineH533, ProductState: state, TZEN: tzen, DA: da, NRSTWired: true}
}

// allOK is what a fully open board shows.
func allOK() Expect { return Expect{NormalAP1: OK, HotPlugAP1: OK, UnderResetAP1: OK, AP0: OK} }

// ap0Only is what a board shows whose AP1 is closed (an STM32H5) or holds
// no core (an RDP family's board, its core on AP0): only AP0 answers.
func ap0Only() Expect {
	return Expect{NormalAP1: Fails, HotPlugAP1: Fails, UnderResetAP1: Fails, AP0: OK}
}

// hotPlugOnly is what a board shows whose AP1 only a connect that does not
// halt reaches: an STM32H5 in PROVISIONING, an STM32H7's core-less AP1.
func hotPlugOnly() Expect {
	return Expect{NormalAP1: Fails, HotPlugAP1: OK, UnderResetAP1: Fails, AP0: OK}
}

// silent is a board on which nothing answers SWD.
func silent() Expect {
	return Expect{NormalAP1: NoACK, HotPlugAP1: NoACK, UnderResetAP1: NoACK, AP0: NoACK}
}

// List returns every scenario, the default first. Each call builds fresh
// values.
func List() []Scenario {
	sleepy := h533(targets.StateOpen, targets.TZENDisabled, stm32h5.DANone)
	sleepy.Firmware = stm32h5.FirmwareSleepy
	noNRST := h533(targets.StateOpen, targets.TZENDisabled, stm32h5.DANone)
	// The other reading of PROVISIONING (targets/stm32h5 chosen.go canHalt).
	noHalt := h533(targets.StateProvisioning, targets.TZENDisabled, stm32h5.DANone)
	noHalt.NoHaltInProvisioning = true
	noNRST.NRSTWired = false
	tzApp := &stm32h5.Config{Line: stm32h5.LineH563, ProductState: targets.StateTZClosed, TZEN: targets.TZENEnabled,
		DA: stm32h5.DACertificate, NSDebugApp: true, NRSTWired: true}
	list := []Scenario{
		{
			Name:        "h533-provisioning",
			Description: "the seed board: H533 stuck in PROVISIONING (0x17), TZEN 0xB4, no DA; only Hot Plug on AP1 connects",
			Chip:        h533(targets.StateProvisioning, targets.TZENEnabled, stm32h5.DANone),
			Millivolts:  thread,
			Expect:      hotPlugOnly(),
			Boot0:       true, // the seed thread's user set BOOT0 high
		},
		{
			Name:        "h533-open",
			Description: "a fresh H533: OPEN (0xED), TZEN 0xC3, no DA; everything connects",
			Chip:        h533(targets.StateOpen, targets.TZENDisabled, stm32h5.DANone),
			Millivolts:  thread, Expect: allOK(),
		},
		{
			Name:        "h533-provisioning-da",
			Description: "the seed board done right: PROVISIONING (0x17), TZEN 0xC3, password DA provisioned; recoverable by regression",
			Chip:        h533(targets.StateProvisioning, targets.TZENDisabled, stm32h5.DAPassword),
			Millivolts:  thread,
			Expect:      hotPlugOnly(),
		},
		{
			Name:        "h533-provisioning-no-halt",
			Description: "the seed board whose core never halts in PROVISIONING, even after a reset under debug: the ROM's provisioning function cannot be called",
			Chip:        noHalt,
			Millivolts:  thread,
			Expect:      hotPlugOnly(),
		},
		{
			Name:        "h533-tz-closed-no-da",
			Description: "what the seed board became: TZ_CLOSED (0xC6), TZEN 0xB4, no DA, no application opening debug; AP1 closed, only AP0 answers",
			Chip:        h533(targets.StateTZClosed, targets.TZENEnabled, stm32h5.DANone),
			Millivolts:  thread, Expect: ap0Only(),
			Boot0: true, // BOOT0 high and still silent: the seed thread's end
		},
		{
			Name:        "h533-closed-da",
			Description: "a production H533: CLOSED (0x72), TZEN 0xB4, certificate DA provisioned; AP1 closed until DA reopens it",
			Chip:        h533(targets.StateClosed, targets.TZENEnabled, stm32h5.DACertificate),
			Millivolts:  thread, Expect: ap0Only(),
		},
		{
			Name:        "h533-locked",
			Description: "an H533 LOCKED (0x5C) for ever: AP0 identifies it, AP1 is closed, DA refuses",
			Chip:        h533(targets.StateLocked, targets.TZENEnabled, stm32h5.DACertificate),
			Millivolts:  thread, Expect: ap0Only(),
		},
		{
			Name:        "h503-open",
			Description: "the small part: H503 OPEN (0xED), no TrustZone, DEV_ID 0x474",
			Chip:        &stm32h5.Config{Line: stm32h5.LineH503, ProductState: targets.StateOpen, NRSTWired: true},
			Millivolts:  thread, Expect: allOK(),
		},
		{
			Name:        "h503-provisioning-da",
			Description: "H503 in PROVISIONING (0x17) with its DA password hash in OTP block 0 (locked); only Hot Plug on AP1 connects",
			Chip:        &stm32h5.Config{Line: stm32h5.LineH503, ProductState: targets.StateProvisioning, DA: stm32h5.DAPassword, NRSTWired: true},
			Millivolts:  thread,
			Expect:      hotPlugOnly(),
		},
		{
			Name:        "h563-open",
			Description: "the large part: H563 OPEN (0xED), TZEN 0xC3, DEV_ID 0x484, 2 MiB",
			Chip:        &stm32h5.Config{Line: stm32h5.LineH563, ProductState: targets.StateOpen, TZEN: targets.TZENDisabled, NRSTWired: true},
			Millivolts:  thread, Expect: allOK(),
		},
		{
			Name:        "h563-tz-closed-app",
			Description: "H563 TZ_CLOSED (0xC6) whose non-secure application opens debug: AP1 non-secure answers, secure addresses fault",
			Chip:        tzApp,
			Millivolts:  thread,
			// Non-secure debug is open while the application runs: a halt is
			// allowed; under reset the application has not opened it yet.
			Expect: Expect{NormalAP1: OK, HotPlugAP1: OK, UnderResetAP1: Fails, AP0: OK},
		},
		{
			Name:        "sleepy",
			Description: "H533 OPEN whose firmware turns the SWD pins off soon after reset; only Under Reset connects",
			Chip:        sleepy,
			Millivolts:  thread,
			Expect:      Expect{NormalAP1: NoACK, HotPlugAP1: NoACK, UnderResetAP1: OK, AP0: OK, AP0UnderResetOnly: true},
		},
		{
			Name:        "no-nrst",
			Description: "H533 OPEN with NRST not wired to the probe (4-wire cable); Under Reset cannot catch the core, DA would fail",
			Chip:        noNRST,
			Millivolts:  thread,
			Expect:      Expect{NormalAP1: OK, HotPlugAP1: OK, UnderResetAP1: Fails, AP0: OK},
		},
		{
			Name:        "no-target",
			Description: "board powered (the probe reads 3.29 V) but nothing answers SWD: wrong pins or wiring",
			Millivolts:  thread,
			Expect:      silent(),
		},
		{
			Name:        "no-power",
			Description: "board not powered: the probe reads about 0 V and nothing answers SWD",
			Millivolts:  0,
			Expect:      silent(),
		},
		{
			Name:        "generic-m33",
			Description: "a generic Cortex-M33 board (not an STM32H5): the core on AP0, 64 KiB RAM; no DBGMCU to identify",
			Generic:     true,
			Millivolts:  thread,
			// AP1 does not exist on this board; AP0 is the core's port.
			Expect: Expect{NormalAP1: Fails, HotPlugAP1: Fails, UnderResetAP1: Fails, AP0: Fails},
		},
	}
	list = append(list, familyBoards()...)
	list = append(list, u5h7Boards()...)
	list = append(list, diagnosisBoards()...)
	// Boards with DA provisioned hold the hash of the credentials
	// Credentials hands out (credentials.go).
	for _, sc := range list {
		if sc.Chip != nil && sc.Chip.DA != stm32h5.DANone {
			sc.Chip.DASecret = daSecret(sc.Name, sc.Chip)
		}
	}
	return list
}
