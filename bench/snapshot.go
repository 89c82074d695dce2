package bench

import (
	"fmt"
	"time"

	"github.com/stprobe/stprobe/probe/proto"

	bootjob "github.com/stprobe/stprobe/boot/job"
	"github.com/stprobe/stprobe/obytes"
	"github.com/stprobe/stprobe/probe"
	"github.com/stprobe/stprobe/probe/da"
	"github.com/stprobe/stprobe/probe/sweep"
	"github.com/stprobe/stprobe/targets"
)

// Snapshot is the whole state of the bench at one moment: what a subscriber
// that joins late draws before it follows the events. The values it points
// to are never changed once published; treat them as read-only.
type Snapshot struct {
	// Probe is the probe the bench owns; Simulated is true on the
	// simulated bench, Scenario then names its board.
	Probe     probe.Info
	Simulated bool
	Scenario  string
	// Notice is the last notice given (the fall-back to the simulator).
	Notice string
	// Fallback says why the bench fell back to the simulated seed board
	// ("no ST-LINK found on USB"), "" when the probe was chosen or found.
	// The fall-back board is for looking: the bench refuses writes to it.
	Fallback string
	// Voltage is the target voltage last measured, when HasVoltage.
	Voltage    float64
	HasVoltage bool
	// Chip is the chip last identified; nil before.
	Chip *targets.Chip
	// State and TZEN are the product state and TrustZone option last read,
	// when HasState.
	State    targets.ProductState
	TZEN     targets.TZEN
	HasState bool
	// StateFrom says how State was learned ("read through AP1", "DA
	// discovery through AP0", "written; AP1 closed as planned, checked
	// through AP0"), StateAt when. TZENAt is when TZEN was last learned: a
	// DA discovery tells the state but not TZEN, which then keeps its
	// earlier value and time.
	StateFrom string
	StateAt   time.Time
	TZENAt    time.Time
	// StateStale says why State may no longer be the chip's ("" when the
	// last look at the chip read it): the chip was looked at since and its
	// state could not be read ("AP1 does not answer: not read again").
	StateStale string
	// OptionsUnlocked is set when the last read found FLASH_OPTCR.OPTLOCK
	// clear: the option registers were left unlocked (ob lock locks them).
	OptionsUnlocked bool
	// Connection says how the bench last connected ("Hot Plug on AP1 at 4000 kHz").
	Connection string
	// DA is what the chip's option bytes say of debug authentication, when
	// they were read; Discovery the last DA discovery.
	DA        *targets.DAStatus
	Discovery *da.Discovery
	// DAPlan is the last DA write planned, DAResult the last one run.
	DAPlan   *DAPlan
	DAResult *DAResult
	// provisioned is the DA method of the data this bench last
	// provisioned, for the chip it names: the record does not tell it, so
	// that DA keeps it when the option bytes are read again.
	provisioned *provisionedDA
	// Matrix and Findings are the last sweep and its diagnosis.
	Matrix   *sweep.Matrix
	Findings []sweep.Finding
	// Boot is the last probe of the ROM bootloader paths (USB DFU, UART).
	Boot *bootjob.Report
	// OptionBytes is the last option-byte read, Plan the last plan made.
	OptionBytes *OptionBytes
	Plan        *obytes.Plan
	// Job is the job running now, nil when the probe is idle.
	Job *JobInfo
	// Lease is who holds the operator lease, nil when nobody does.
	Lease *LeaseInfo
	// Gone is set once the probe went away (unplugged, server gone).
	Gone string
	// Tools are the tools using the shared probe (stlink-server clients
	// such as OpenOCD), in the order they came.
	Tools []ToolInfo
}

// setState records a product state read or proved now: tzKnown is false
// when the source does not tell TZEN (a DA discovery).
func (s *Snapshot) setState(ps targets.ProductState, tz targets.TZEN, tzKnown bool, from string, at time.Time) {
	s.State, s.HasState = ps, true
	s.StateFrom, s.StateAt, s.StateStale = from, at, ""
	if tzKnown {
		s.TZEN, s.TZENAt = tz, at
	}
}

// markStale records that the chip was looked at and its state could not
// be read: the state kept is the one learned at StateAt.
func (s *Snapshot) markStale(why string) {
	if s.HasState {
		s.StateStale = why
	}
}

// JobInfo names a job and who started it.
type JobInfo struct {
	ID      uint64
	Kind    string // "info", "sweep", "ob read", ...
	Holder  Holder
	Started time.Time
}

// LeaseInfo is the operator lease as others see it.
type LeaseInfo struct {
	Holder  Holder
	Since   time.Time
	Expires time.Time // when it lapses if the holder stays idle
}

// APUnavailable says why access port ap cannot be used with the probe's
// firmware ("AP1 needs ST-LINK firmware V2J28 or later (this probe has
// V2J27S6)"), or "" when it can, or when the firmware is not known yet.
// The gate is the driver's own (proto.Version.APNeed).
func (s Snapshot) APUnavailable(ap uint8) string {
	if s.Probe.Firmware == "" {
		return ""
	}
	v, err := proto.ParseVersion(s.Probe.Firmware)
	if err != nil {
		return ""
	}
	need, ok := v.APNeed(ap)
	if ok {
		return ""
	}
	return fmt.Sprintf("AP%d needs ST-LINK firmware V%dJ%d or later (this probe has %s)", ap, need.Hardware, need.JTAG, s.Probe.Firmware)
}
