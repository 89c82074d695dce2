package sweep

import (
	"fmt"
	"time"

	"github.com/stprobe/stprobe/probe"
	"github.com/stprobe/stprobe/probe/proto"
	"github.com/stprobe/stprobe/targets"
)

// Cell is one connect attempt and what it found. Identification values are
// zero when they were not read (no valid DPIDR, AP IDR, IDCODE or product
// state is zero).
type Cell struct {
	Key
	// SetKHz is the SWD clock the probe really set (0 when not attempted).
	SetKHz int
	// Outcome classifies the attempt; Reason says why in one line (the
	// failed step, the firmware needed, why it was skipped).
	Outcome Outcome
	Reason  string

	// What the debug port and the access port said.
	DPIDR    uint32
	CtrlStat uint32
	APIDR    uint32
	CPUID    uint32 // Cortex-M CPUID when a core answered on this AP
	Core     probe.CoreState

	// What the target said about itself through this cell's AP.
	IDCode uint32 // DBGMCU_IDCODE
	Chip   string // the identified line and revision, e.g. "STM32H523/H533 rev A"
	// APPresent and APEnabled are DBGMCU_SR's bit masks (bit n = APn),
	// valid when HasAPStatus (read through AP0 on STM32H5).
	APPresent, APEnabled uint16
	HasAPStatus          bool
	// State and TZEN come from FLASH_OPTSR/OPTSR2 through the core AP.
	State targets.ProductState
	TZEN  targets.TZEN
	// Protection is the read-out protection level of a chip of an RDP
	// family (F1, F4, G0, G4, L4, U5, H7), read through the core AP; nil
	// when not read. FlashReadErr is the error of reading the first word of
	// flash through the same port ("" when it read, or was not tried).
	Protection   *targets.Protection
	FlashReadErr string
	// Firmware is what the same port read about the firmware's effect on
	// debug (inspect_firmware.go); nil when not read.
	Firmware *FirmwareFacts
	// DA is what the chip holds for debug authentication, read through the
	// core AP once per sweep (in the first cell that finds PROVISIONING);
	// nil when not read.
	DA *targets.DAStatus

	// The first failure: the connect step, the error text, the probe
	// status byte (0 when the failure was not a probe status) and the
	// layer it names.
	FailedStep string
	Err        string
	Status     proto.Status
	Layer      probe.Layer
	// TeardownErr is the error of the clean-up after the attempt, if any.
	TeardownErr string
	// ImpliedBy, when set, names the cell at a faster clock whose outcome
	// this one carries without being tried (see Options.Full).
	ImpliedBy *Key

	// Wall is the elapsed real time of the cell, connect to teardown; Wire
	// the modelled wire time (from the simulator's wire clock; 0 on real
	// hardware).
	Wall, Wire time.Duration
}

// Header says where a matrix comes from; the caller fills it.
type Header struct {
	Probe    string  // probe model, e.g. "ST-LINK/V2"
	Serial   string  // probe serial number
	Backend  string  // "usb", "stlink-server" or "sim"
	Firmware string  // e.g. "V2J46S7"
	Voltage  float64 // target voltage in volts, valid when HasVoltage
	// HasVoltage is true when the probe measured the target voltage.
	HasVoltage bool
	Target     string    // what is on the other end: a scenario, a board name, the identified chip
	Time       time.Time // when the sweep started
}

// Matrix is the result of a sweep: its plan, one cell per key in plan
// order, and the totals.
type Matrix struct {
	Header Header
	Plan   Plan
	Cells  []Cell
	// Cancelled is true when the sweep stopped early (context cancelled,
	// probe gone); the cells not tried are OutcomeSkipped.
	Cancelled bool
	// Wall and Wire are the sums of the cells' durations.
	Wall, Wire time.Duration
	// Discovery is the debug-authentication discovery the caller ran after
	// the cells (Matrix.Discover) because the core AP was closed in every
	// mode while the debug AP answered; nil when none was attached.
	Discovery *Discovery
	// OtherPaths are the ways in other than SWD the caller probed (the ROM
	// bootloader over USB DFU and UART), shown beside the cells;
	// PathFindings what the caller concluded from them, which Diagnose
	// merges into the matrix's own findings. Both are set by AddPaths.
	OtherPaths   []PathRow
	PathFindings []Finding
}

// Discovery is the outcome of the DA discovery run (or skipped) after a
// sweep: exactly one of Result, Err and Skipped is set.
type Discovery struct {
	// Result is what the chip's DA agent reported.
	Result *DAReport `json:"result,omitempty"`
	// Err says why the discovery failed; Skipped why it was not run.
	Err     string `json:"error,omitempty"`
	Skipped string `json:"skipped,omitempty"`
	// FrequencyKHz is the SWD clock asked for; Wall and Wire its real and
	// modelled durations (not included in the matrix's sums).
	FrequencyKHz int           `json:"khz,omitempty"`
	Wall         time.Duration `json:"wall_ns,omitempty"`
	Wire         time.Duration `json:"wire_ns,omitempty"`
}

// DAReport is what a debug-authentication discovery through the debug AP
// reported, in the terms the diagnosis uses. Build it from probe/da's
// Discovery d:
//
//	method, _ := targets.ParseDAMethod(d.Method())
//	&sweep.DAReport{Summary: d.String(), Lifecycle: d.Lifecycle, State: d.State,
//		Integrity: d.Integrity, HasIntegrity: d.HasIntegrity, Provisioned: d.Provisioned(),
//		Method: method, Record: d}
type DAReport struct {
	// Summary is the discovery in one line.
	Summary string `json:"summary"`
	// Lifecycle is the raw PSA lifecycle value, State the product state it
	// maps to (0 when it maps to none).
	Lifecycle uint16               `json:"lifecycle"`
	State     targets.ProductState `json:"state,omitempty"`
	// Integrity is ST's provisioning-integrity word, valid when
	// HasIntegrity; Provisioned says DA data is in place.
	Integrity    uint32 `json:"integrity"`
	HasIntegrity bool   `json:"has_integrity"`
	Provisioned  bool   `json:"provisioned"`
	// Method is the method the chip offers (unknown when neither).
	Method targets.DAMethod `json:"method"`
	// Record is the whole discovery as the DA layer decoded it, kept for
	// the JSON export (it reads back as generic JSON).
	Record any `json:"record,omitempty"`
}

// StateName is the product state's name, or the raw lifecycle value when
// it maps to no state.
func (r *DAReport) StateName() string {
	if r.State.Valid() {
		return r.State.String()
	}
	return fmt.Sprintf("unknown lifecycle 0x%04X", r.Lifecycle)
}

// String is the one-line summary.
func (r *DAReport) String() string { return r.Summary }

// Summary is one line for reports: the result, the error or the reason it
// was skipped.
func (d *Discovery) Summary() string {
	switch {
	case d == nil:
		return ""
	case d.Result != nil:
		return d.Result.String()
	case d.Err != "":
		return "failed: " + d.Err
	}
	return "not run: " + d.Skipped
}

// Find returns the cell for k, or nil.
func (m *Matrix) Find(k Key) *Cell {
	if m == nil {
		return nil
	}
	for i := range m.Cells {
		if m.Cells[i].Key == k {
			return &m.Cells[i]
		}
	}
	return nil
}

// Count returns how many cells have outcome o.
func (m *Matrix) Count(o Outcome) int {
	n := 0
	if m == nil {
		return 0
	}
	for _, c := range m.Cells {
		if c.Outcome == o {
			n++
		}
	}
	return n
}

// Chip returns the first identified chip name in the matrix, or "".
func (m *Matrix) Chip() string {
	if m == nil {
		return ""
	}
	for _, c := range m.Cells {
		if c.Chip != "" {
			return c.Chip
		}
	}
	return ""
}
