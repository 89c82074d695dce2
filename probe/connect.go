package probe

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/stprobe/stprobe/enum"

	"github.com/stprobe/stprobe/adi"
	"github.com/stprobe/stprobe/probe/proto"
)

// ConnectMode is one of the three ways to attach that users know from
// STM32CubeProgrammer.
type ConnectMode int

// Connect modes.
const (
	// ModeNormal attaches and halts the core (DHCSR C_HALT), without reset.
	ModeNormal ConnectMode = iota
	// ModeHotPlug attaches without reset and without halting: nothing is
	// written to the core, only DHCSR and CPUID are read.
	ModeHotPlug
	// ModeUnderReset holds NRST low while attaching, arms reset vector catch,
	// releases NRST and expects the core halted at the reset vector.
	ModeUnderReset
)

// ConnectModes lists every mode in the order a UI shows them.
var ConnectModes = []ConnectMode{ModeNormal, ModeHotPlug, ModeUnderReset}

// modeWords are each mode's command-line name and the title
// STM32CubeProgrammer shows.
var modeWords = [...]enum.Words{
	ModeNormal:     {Name: "normal", Title: "Normal"},
	ModeHotPlug:    {Name: "hotplug", Title: "Hot Plug"},
	ModeUnderReset: {Name: "under-reset", Title: "Under Reset"},
}

// String is the mode's command-line name: "normal", "hotplug", "under-reset".
func (m ConnectMode) String() string {
	return enum.ShortName(modeWords[:], m, "mode")
}

// Title is the mode's name as STM32CubeProgrammer shows it.
func (m ConnectMode) Title() string {
	return enum.Title(modeWords[:], m, "mode")
}

// ParseConnectMode accepts the names String returns, case-insensitively,
// and the spellings "hot-plug", "hot plug", "underreset", "under reset".
func ParseConnectMode(s string) (ConnectMode, error) {
	k := strings.NewReplacer("-", "", "_", "", " ", "").Replace(strings.ToLower(strings.TrimSpace(s)))
	switch k {
	case "normal":
		return ModeNormal, nil
	case "hotplug":
		return ModeHotPlug, nil
	case "underreset":
		return ModeUnderReset, nil
	}
	return 0, fmt.Errorf("connect mode %q: want normal, hotplug or under-reset", s)
}

// CoreState is what the core was doing when the connect finished.
type CoreState int

// Core states.
const (
	CoreUnknown CoreState = iota // no core reached, or not read
	CoreRunning                  // executing (or sleeping)
	CoreHalted                   // in debug state (DHCSR S_HALT)
	CoreInReset                  // held in reset (NRST low, DHCSR S_RESET_ST)
	CoreLocked                   // locked up (DHCSR S_LOCKUP): a fault while handling a fault
)

// coreStateNames name each core state.
var coreStateNames = [...]string{
	CoreUnknown: "unknown", CoreRunning: "running", CoreHalted: "halted", CoreInReset: "in reset", CoreLocked: "locked up",
}

// String names the state.
func (s CoreState) String() string {
	return enum.Name(coreStateNames[:], s, "CoreState")
}

// haltPollBudget bounds the DHCSR reads while waiting for S_HALT.
const haltPollBudget = 32

// DHCSRHaltRequest is the DHCSR value that enables debug and halts the core
// (0xA05F0003).
const DHCSRHaltRequest = adi.DHCSRDebugKey | adi.DHCSRCDebugEn | adi.DHCSRCHalt

// Step names of a connect, in the order they can happen.
const (
	StepAssertNRST    = "assert NRST"
	StepSetFrequency  = "set SWD frequency"
	StepEnterSWD      = "enter SWD"
	StepReassertNRST  = "assert NRST again"
	StepReadDPIDR     = "read DPIDR"
	StepPowerUp       = "power up debug"
	StepOpenAP        = "open AP"
	StepReadAPIDR     = "read AP IDR"
	StepReadCSW       = "read AP CSW"
	StepReadCPUID     = "read CPUID"
	StepNoCore        = "no core on this AP"
	StepReadDHCSR     = "read DHCSR"
	StepHalt          = "halt core"
	StepWaitHalt      = "wait for halt"
	StepCatchReset    = "arm reset vector catch"
	StepReleaseNRST   = "release NRST"
	StepConfirmHalt   = "confirm halted at reset"
	StepRestoreDEMCR  = "restore DEMCR"
	connectEventOp    = "connect"
	connectEventTotal = 0
)

// ConnectOptions choose how to connect.
type ConnectOptions struct {
	Mode         ConnectMode
	AP           uint8 // access port of the core (or the port to check)
	FrequencyKHz int   // SWD clock wanted; 0 keeps the probe's current clock
	// Known, when not nil, carries what earlier connects through the same
	// Link found and cannot have changed since; this connect takes it as
	// read instead of reading it again, and adds what it learns. A sweep
	// passes one from cell to cell. Nil reads everything.
	Known *Known
}

// Known is what connects through one Link learn about the debug port and
// the access ports that a later connect to the same target need not read
// again. Its zero value knows nothing; Connect fills it in.
type Known struct {
	// KHz is the SWD clock an earlier connect set. The probe keeps it
	// across EXIT and ENTER (OpenOCD's stlink_dap_reinit_interface, in
	// src/jtag/drivers/stlink_usb.c, leaves and enters the mode again
	// without setting it), so a connect at the same clock does not set it
	// again.
	KHz int
	// DPIDR is the debug port's DPIDR, set once a connect read it and
	// found that ENTER had left the debug domain powered up with no sticky
	// error. A later ENTER that succeeds has then reached the same debug
	// port (ENTER reads DPIDR itself and fails with JTAG_GET_IDCODE_ERROR
	// when no DP answers: OpenOCD src/jtag/drivers/stlink_usb.c,
	// stlink_usb_error_check) and powered it up the same way, so that
	// connect skips READ_IDCODES and the CTRL/STAT check.
	DPIDR uint32
	// APIDR holds the IDR each access port answered (never 0): an AP's
	// IDR is a constant of the chip's debug topology (ARM IHI 0031, the
	// IDR register), readable whatever the port's permissions.
	APIDR map[uint8]uint32
	// NoCore holds, for a port that permits transfers (CSW DeviceEn set)
	// but answered the CPUID read with an AP fault (not a WAIT, which a
	// later try may pass), that error: the port reaches no core. Which
	// port a core sits behind is a constant of the chip; a later connect
	// to such a port reads CSW alone, to see that it still permits
	// transfers.
	NoCore map[uint8]error
	// CPUID holds, per access port, the CPUID of the Cortex-M core an
	// earlier connect found there (a constant of the chip). A later connect
	// to that port lets the mode's first core access (the DHCSR read of Hot
	// Plug, the halt request of Normal and Under Reset) prove that the port
	// still reaches the core, instead of reading CPUID again; when that
	// access fails it goes the whole way, CPUID read first, so that the
	// failure is found and named as on a fresh link.
	CPUID map[uint8]uint32
}

// coreCPUID is the CPUID of the core an earlier connect found on ap (k may
// be nil).
func (k *Known) coreCPUID(ap uint8) (uint32, bool) {
	if k == nil {
		return 0, false
	}
	v, ok := k.CPUID[ap]
	return v, ok
}

// clockSet reports whether an earlier connect set the clock khz asks for
// and the Link still runs it (k may be nil).
func (k *Known) clockSet(l *Link, khz int) bool {
	return k != nil && k.KHz != 0 && k.KHz == l.SWDFrequency() && proto.NearestKHz(l.SWDFrequencies(), khz) == k.KHz
}

// noCore is the CPUID error of a port known to reach no core, nil when
// not known (k may be nil).
func (k *Known) noCore(ap uint8) error {
	if k == nil {
		return nil
	}
	return k.NoCore[ap]
}

// apIDR is the known IDR of ap, 0 when unknown (k may be nil).
func (k *Known) apIDR(ap uint8) uint32 {
	if k == nil {
		return 0
	}
	return k.APIDR[ap]
}

// Step is one action of a connect and its outcome.
type Step struct {
	Name string
	Err  error
}

// ConnectReport is everything a connect found out, including how far it got.
type ConnectReport struct {
	Mode         ConnectMode
	AP           uint8
	RequestedKHz int // what was asked
	FrequencyKHz int // what the probe runs at

	DPIDR    uint32
	CtrlStat uint32
	DPOK     bool // the debug port answered and powered up

	APIDR uint32
	APOK  bool // the AP answered (IDR non-zero) and permits memory access

	CPUID     uint32
	CoreFound bool // a Cortex-M core answered on this AP
	Core      CoreState

	Steps      []Step // what was done, in order, each with its error
	FailedStep string // name of the first failed step ("" on success)
	Err        error  // the first failure (nil when the mode succeeded)
}

// OK reports whether the mode succeeded.
func (r *ConnectReport) OK() bool { return r.Err == nil }

// connector runs one Connect and fills its report.
type connector struct {
	l *Link
	r *ConnectReport
	o ConnectOptions
	// reached says that reachCore made the mode's first core access, and
	// dhcsr is what its DHCSR read (Hot Plug) returned.
	reached bool
	dhcsr   uint32
}

// step runs fn as the named step and records it. It returns false when the
// step failed (the first failure is kept in the report).
func (c *connector) step(name string, fn func() error) bool {
	err := fn()
	c.record(name, err)
	if err != nil && c.r.Err == nil {
		c.r.FailedStep, c.r.Err = name, err
	}
	return err == nil
}

// record adds a step to the report and announces it, without judging it.
func (c *connector) record(name string, err error) {
	c.r.Steps = append(c.r.Steps, Step{Name: name, Err: err})
	msg := name + ": ok"
	if err != nil {
		msg = name + ": " + err.Error()
	}
	c.l.emit(connectEventOp, msg, len(c.r.Steps), connectEventTotal)
}

// fail records a failure found by the driver (not by a command).
func (c *connector) fail(name string, err error) {
	c.step(name, func() error { return err })
}

// Connect attaches to the target in the chosen mode on access port o.AP at
// o.FrequencyKHz and reports every step. Protocol failures (no ACK, fault,
// core not halting) are in the report; the error is non-nil only when the
// probe itself became unreachable or ctx ended. Call Disconnect afterwards,
// whatever happened, to leave the probe clean.
func Connect(ctx context.Context, l *Link, o ConnectOptions) (*ConnectReport, error) {
	c := &connector{l: l, o: o, r: &ConnectReport{Mode: o.Mode, AP: o.AP, RequestedKHz: o.FrequencyKHz}}
	c.run(ctx)
	if c.r.Err != nil && isTransport(c.r.Err) {
		return c.r, c.r.Err
	}
	return c.r, nil
}

func (c *connector) run(ctx context.Context) {
	l, r, o := c.l, c.r, c.o
	switch o.Mode {
	case ModeNormal, ModeHotPlug, ModeUnderReset:
	default:
		c.fail("check options", fmt.Errorf("unknown connect mode %d", int(o.Mode)))
		return
	}
	under := o.Mode == ModeUnderReset
	if under && !c.step(StepAssertNRST, func() error { return l.DriveNRST(ctx, proto.NRSTLow) }) {
		return
	}
	r.FrequencyKHz = l.SWDFrequency()
	known := o.Known
	if o.FrequencyKHz > 0 && !known.clockSet(l, o.FrequencyKHz) {
		if !c.step(StepSetFrequency, func() error {
			khz, err := l.SetSWDFrequency(ctx, o.FrequencyKHz)
			if err == nil {
				r.FrequencyKHz = khz
			}
			return err
		}) {
			return
		}
		if known != nil {
			known.KHz = r.FrequencyKHz
		}
	}
	if !c.step(StepEnterSWD, func() error { return l.EnterSWD(ctx) }) {
		return
	}
	if under && !c.step(StepReassertNRST, func() error { return l.DriveNRST(ctx, proto.NRSTLow) }) {
		return
	}
	if known != nil && known.DPIDR != 0 {
		r.DPIDR = known.DPIDR
	} else if !c.readDP(ctx) {
		return
	}
	r.DPOK = true
	if !c.step(StepOpenAP, func() error { return l.OpenAP(ctx, o.AP) }) {
		return
	}
	if idr := known.apIDR(o.AP); idr != 0 {
		r.APIDR = idr
	} else if !c.step(StepReadAPIDR, func() error {
		idr, err := l.ReadAPReg(ctx, o.AP, adi.APIDR)
		r.APIDR = idr
		if err == nil && idr == 0 {
			err = &OpError{Where: LayerAP, What: fmt.Sprintf("no access port %d (IDR reads 0)", o.AP), Next: "choose another AP"}
		}
		return err
	}) {
		return
	} else if known != nil {
		if known.APIDR == nil {
			known.APIDR = map[uint8]uint32{}
		}
		known.APIDR[o.AP] = r.APIDR
	}
	if cpuid, ok := known.coreCPUID(o.AP); ok && c.reachCore(ctx) {
		if r.Err == nil {
			r.APOK, r.CPUID, r.CoreFound = true, cpuid, true
			c.modeSteps(ctx)
		}
		return
	}
	// The CPUID read decides whether a core is there. A fault is not the end
	// when the port permits transfers (CSW DeviceEn, read only then): the
	// port simply reaches no core. A port an earlier connect found without
	// a core is not asked again.
	var cpuid uint32
	cpuErr := known.noCore(o.AP)
	readCPUID := cpuErr == nil
	if readCPUID {
		cpuid, cpuErr = l.Read32(ctx, o.AP, adi.RegCPUID)
		if cpuErr != nil && isTransport(cpuErr) {
			c.fail(StepReadCPUID, cpuErr)
			return
		}
	}
	var csw uint32
	if cpuErr != nil && !c.step(StepReadCSW, func() error {
		var err error
		csw, err = l.ReadAPReg(ctx, o.AP, adi.APCSW)
		return err
	}) {
		return
	}
	r.APOK = csw&adi.CSWDeviceEn != 0 || cpuErr == nil
	if r.APOK && errors.Is(cpuErr, ErrSWDAPFault) && known != nil {
		if known.NoCore == nil {
			known.NoCore = map[uint8]error{}
		}
		known.NoCore[o.AP] = cpuErr
	}
	if !r.APOK {
		c.fail(StepReadCPUID, &OpError{Where: LayerAP,
			What: fmt.Sprintf("AP%d refuses memory access (CSW 0x%08X, DeviceEn clear)", o.AP, csw), Err: cpuErr,
			Next: "the port is disabled or locked (product state, security); try another AP or debug authentication"})
		return
	}
	c.identified(ctx, cpuid, cpuErr, readCPUID)
}

// readDP reads DPIDR and checks the debug power-up after ENTER, and
// records in o.Known what a later connect may skip. It returns false when
// a step failed.
func (c *connector) readDP(ctx context.Context) bool {
	l, r := c.l, c.r
	if !c.step(StepReadDPIDR, func() error {
		id, err := l.ReadIDCode(ctx)
		r.DPIDR = id
		if err == nil && (id == 0 || id == 0xFFFFFFFF) {
			err = &OpError{Where: LayerDP, What: fmt.Sprintf("DPIDR reads 0x%08X", id), Next: hintWiring}
		}
		return err
	}) {
		return false
	}
	wasUp := false
	if !c.step(StepPowerUp, func() error {
		cs, up, err := l.powerUpDebug(ctx)
		r.CtrlStat, wasUp = cs, up
		return err
	}) {
		return false
	}
	if c.o.Known != nil && wasUp {
		c.o.Known.DPIDR = r.DPIDR
	}
	return true
}

// identified judges the CPUID read of a port that permits transfers (read
// now, or known to fail) and runs the mode's own steps.
func (c *connector) identified(ctx context.Context, cpuid uint32, cpuErr error, read bool) {
	r, o := c.r, c.o
	r.CPUID = cpuid
	r.CoreFound = cpuErr == nil && IsCortexM(cpuid)
	if read {
		c.record(StepReadCPUID, cpuErr) // a fault here is a finding, judged below
	}
	if r.CoreFound && o.Known != nil {
		if o.Known.CPUID == nil {
			o.Known.CPUID = map[uint8]uint32{}
		}
		o.Known.CPUID[o.AP] = cpuid
	}
	if !r.CoreFound {
		if o.Mode == ModeHotPlug {
			r.Core = CoreUnknown
			return
		}
		what := fmt.Sprintf("no Cortex-M core on AP%d (CPUID 0x%08X)", o.AP, cpuid)
		if cpuErr != nil {
			what = fmt.Sprintf("no Cortex-M core readable on AP%d", o.AP)
		}
		c.fail(StepNoCore, &OpError{Where: LayerAP, What: what, Err: cpuErr,
			Next: "this port does not reach a core; try another AP, or Hot Plug to inspect it"})
		return
	}
	c.modeSteps(ctx)
}

// reachCore makes the mode's first core access on a port known to reach a
// core: Hot Plug reads DHCSR, Normal and Under Reset request the halt. On
// success c.reached is set, so that the mode's step takes it instead of
// repeating it; a failure of the target records nothing (the caller then
// connects the whole way), a transport failure ends the connect.
func (c *connector) reachCore(ctx context.Context) bool {
	var err error
	step := StepHalt
	if c.o.Mode == ModeHotPlug {
		step = StepReadDHCSR
		c.dhcsr, err = c.readDHCSR(ctx)
	} else {
		err = c.l.Write32(ctx, c.o.AP, adi.RegDHCSR, DHCSRHaltRequest)
	}
	switch {
	case err == nil:
		c.reached = true
	case isTransport(err):
		c.fail(step, err) // the probe is gone: nothing more to try
	default:
		return false
	}
	return true
}

// modeSteps runs the steps of the chosen mode on a port with a core.
func (c *connector) modeSteps(ctx context.Context) {
	switch c.o.Mode {
	case ModeHotPlug:
		c.hotPlug(ctx)
	case ModeNormal:
		c.normal(ctx)
	case ModeUnderReset:
		c.underReset(ctx)
	}
}

func (c *connector) readDHCSR(ctx context.Context) (uint32, error) {
	return c.l.Read32(ctx, c.o.AP, adi.RegDHCSR)
}

// haltRequest requests the halt, unless reachCore already did.
func (c *connector) haltRequest(ctx context.Context) error {
	if c.reached {
		return nil
	}
	return c.l.Write32(ctx, c.o.AP, adi.RegDHCSR, DHCSRHaltRequest)
}

func (c *connector) hotPlug(ctx context.Context) {
	c.step(StepReadDHCSR, func() error {
		d, err := c.dhcsr, error(nil)
		if !c.reached {
			d, err = c.readDHCSR(ctx)
		}
		if err == nil {
			c.r.Core = coreStateOf(d, c.l.NRSTAsserted())
		}
		return err
	})
}

func (c *connector) normal(ctx context.Context) {
	if !c.step(StepHalt, func() error { return c.haltRequest(ctx) }) {
		return
	}
	c.step(StepWaitHalt, func() error {
		d, _, err := c.pollHalt(ctx)
		if err != nil || d&adi.DHCSRSHalt != 0 {
			return err
		}
		return &OpError{Where: LayerTarget, What: fmt.Sprintf("core did not halt (DHCSR 0x%08X)", d),
			Next: "the core may sleep deeply, or the product state keeps it from halting; try Hot Plug or Under Reset"}
	})
}

func (c *connector) underReset(ctx context.Context) {
	l, ap := c.l, c.o.AP
	if !c.step(StepHalt, func() error {
		if err := c.haltRequest(ctx); err != nil {
			return err
		}
		// S_RESET_ST is sticky: this read clears a stale one (power-on), so
		// that seeing it later means a reset really happened now.
		_, err := c.readDHCSR(ctx)
		return err
	}) {
		return
	}
	var demcr uint32
	armed := c.step(StepCatchReset, func() error {
		var err error
		if demcr, err = l.Read32(ctx, ap, adi.RegDEMCR); err != nil {
			return err
		}
		return l.Write32(ctx, ap, adi.RegDEMCR, demcr|adi.DEMCRVCCoreReset)
	})
	if armed && c.step(StepReleaseNRST, func() error { return l.DriveNRST(ctx, proto.NRSTHigh) }) {
		c.step(StepConfirmHalt, func() error {
			// S_RESET_ST stays set until DHCSR is read (Armv8-M ARM, DHCSR):
			// the read above cleared a stale one, so seeing it now means the
			// core was held in reset or reset since, by this NRST.
			d, seenReset, err := c.pollHalt(ctx)
			if err != nil {
				return err
			}
			switch {
			case d&adi.DHCSRSHalt == 0:
				return &OpError{Where: LayerTarget, What: fmt.Sprintf("core did not halt after reset (DHCSR 0x%08X)", d),
					Next: "debug may be closed while the chip boots (product state); try Hot Plug"}
			case !seenReset:
				return &OpError{Where: LayerTarget, What: "core halted but never went through reset (DHCSR S_RESET_ST not seen)",
					Next: "NRST does not reach the chip: check that the probe's NRST pin is wired"}
			}
			return nil
		})
	}
	if armed && demcr&adi.DEMCRVCCoreReset == 0 {
		c.step(StepRestoreDEMCR, func() error { return l.Write32(ctx, ap, adi.RegDEMCR, demcr) })
	}
}

// pollHalt reads DHCSR until the core reports S_HALT, at most
// haltPollBudget times, keeping the report's core state current. It returns
// the last DHCSR read and whether any read showed S_RESET_ST.
func (c *connector) pollHalt(ctx context.Context) (dhcsr uint32, sawReset bool, err error) {
	for range haltPollBudget {
		if dhcsr, err = c.readDHCSR(ctx); err != nil {
			return dhcsr, sawReset, err
		}
		sawReset = sawReset || dhcsr&adi.DHCSRSResetSt != 0
		c.r.Core = coreStateOf(dhcsr, false)
		if dhcsr&adi.DHCSRSHalt != 0 {
			break
		}
	}
	return dhcsr, sawReset, nil
}

// coreStateOf reads a core state from DHCSR; inReset says NRST is held low.
func coreStateOf(dhcsr uint32, inReset bool) CoreState {
	switch {
	case dhcsr&adi.DHCSRSLockup != 0:
		return CoreLocked
	case dhcsr&adi.DHCSRSHalt != 0:
		return CoreHalted
	case inReset && dhcsr&adi.DHCSRSResetSt != 0:
		return CoreInReset
	}
	return CoreRunning
}

// cortexM names the Cortex-M part numbers (CPUID[15:4]).
var cortexM = map[uint32]string{
	0xC20: "Cortex-M0", 0xC60: "Cortex-M0+", 0xC21: "Cortex-M1", 0xC23: "Cortex-M3",
	0xC24: "Cortex-M4", 0xC27: "Cortex-M7", 0xD20: "Cortex-M23", 0xD21: "Cortex-M33",
	0xD22: "Cortex-M55", 0xD23: "Cortex-M85", 0xD24: "Cortex-M52", 0xD31: "Cortex-M35P",
}

// IsCortexM reports whether cpuid is the CPUID of an Arm Cortex-M core
// (implementer Arm, M-profile architecture field).
func IsCortexM(cpuid uint32) bool {
	arch := (cpuid >> 16) & 0xF
	return cpuid>>24 == 0x41 && (arch == 0xC || arch == 0xF) && (cpuid>>4)&0xF00 != 0
}

// CoreName renders a CPUID as "Cortex-M33 r0p4", or "" when it is not a Cortex-M.
func CoreName(cpuid uint32) string {
	if !IsCortexM(cpuid) {
		return ""
	}
	name, ok := cortexM[(cpuid>>4)&0xFFF]
	if !ok {
		name = fmt.Sprintf("Cortex-M (part 0x%03X)", (cpuid>>4)&0xFFF)
	}
	return fmt.Sprintf("%s r%dp%d", name, (cpuid>>20)&0xF, cpuid&0xF)
}

// Disconnect leaves the probe clean after a connect, whatever happened:
// NRST released if this Link drove it low, debug mode left (which closes
// every opened AP; CLOSE_AP only when leaving fails). It carries on past failures and returns them joined; it stops
// early only when the probe is gone.
func Disconnect(ctx context.Context, l *Link) error {
	var errs []error
	keep := func(err error) bool {
		if err != nil {
			errs = append(errs, err)
		}
		return err == nil || !isTransport(err)
	}
	if l.NRSTAsserted() && !keep(l.DriveNRST(ctx, proto.NRSTHigh)) {
		return errors.Join(errs...)
	}
	// Leaving debug mode closes every access port the firmware opened
	// (INIT_AP firmware, V2J28 and later: "on new FW, calling mode-leave
	// closes all the opened AP", OpenOCD src/jtag/drivers/stlink_usb.c,
	// stlink_reconnect), so CLOSE_AP is sent only if EXIT fails.
	if keep(l.ExitDebug(ctx)) && len(errs) == 0 {
		return nil
	}
	for _, ap := range l.OpenedAPs() {
		if !keep(l.CloseAP(ctx, ap)) {
			break
		}
	}
	return errors.Join(errs...)
}
