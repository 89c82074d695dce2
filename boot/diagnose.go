package boot

import (
	"fmt"
	"slices"
	"strings"

	"github.com/stprobe/stprobe/targets"
	"github.com/stprobe/stprobe/targets/stm32h5"
)

// AP1 is what the SWD connection matrix found about the core's access port.
type AP1 int

// AP1 findings.
const (
	AP1Unknown AP1 = iota // no SWD result (or no target answered SWD)
	AP1Open               // AP1 answered
	AP1Closed             // the DP and AP0 answered, AP1 did not
)

// SWD is what the SWD side found, as the matrix passes it in.
type SWD struct {
	AP1 AP1
	// ProductState is the state read over SWD (FLASH_OPTSR_CUR through AP1),
	// HasProductState whether it was read.
	ProductState    targets.ProductState
	HasProductState bool
	// DevID is DBGMCU's DEV_ID read through AP0 (0 when unknown); it picks
	// the bootloader UART pins listed in the checks.
	DevID uint16
}

// Level is the BOOT0 pin level as the user set it.
type Level int

// BOOT0 levels.
const (
	LevelUnknown Level = iota
	LevelHigh
	LevelLow
)

// String names the level.
func (l Level) String() string {
	switch l {
	case LevelHigh:
		return "high"
	case LevelLow:
		return "low"
	}
	return "unknown"
}

// ParseLevel accepts "high"/"1", "low"/"0" or ""/"unknown".
func ParseLevel(s string) (Level, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "unknown", "?":
		return LevelUnknown, nil
	case "high", "1", "h":
		return LevelHigh, nil
	case "low", "0", "l":
		return LevelLow, nil
	}
	return LevelUnknown, fmt.Errorf("boot: BOOT0 level %q: want high, low or unknown", s)
}

// Finding is one conclusion drawn from the bootloader paths and SWD.
type Finding struct {
	Title string `json:"title"`
	// Text explains the finding in plain language and says what to do next.
	Text string `json:"text"`
	// Consistent lists the product states the evidence allows (empty when
	// the finding says nothing about the state).
	Consistent []targets.ProductState `json:"-"`
	// States names Consistent, for JSON.
	States []string `json:"consistent_states,omitempty"`
	// Checks are what only a person at the bench can verify.
	Checks []string `json:"checks,omitempty"`
}

// StateNames renders Consistent, e.g. "TZ_CLOSED, CLOSED or LOCKED".
func (f Finding) StateNames() string {
	var n []string
	for _, s := range f.Consistent {
		n = append(n, s.String())
	}
	switch len(n) {
	case 0:
		return ""
	case 1:
		return n[0]
	}
	return strings.Join(n[:len(n)-1], ", ") + " or " + n[len(n)-1]
}

// Diagnose combines the bootloader results with the SWD facts and the
// BOOT0 level the user set into findings, most important first.
func Diagnose(swd SWD, boot0 Level, results []Result) []Finding {
	var answered, silent, failed []Result
	for _, r := range results {
		switch r.Outcome {
		case Answered:
			answered = append(answered, r)
		case Silent:
			silent = append(silent, r)
		default:
			failed = append(failed, r)
		}
	}
	devID := swd.DevID
	for _, r := range answered {
		if devID == 0 && r.HasPID {
			devID = r.PID
		}
	}
	var out []Finding
	switch {
	case len(answered) > 0:
		out = append(out, answeredFinding(swd, boot0, answered))
		for _, r := range silent {
			out = append(out, Finding{
				Title: fmt.Sprintf("%s silent while %s answered", r.Path, answered[0].Path),
				Text: fmt.Sprintf("The ROM bootloader runs (it answered on %s), so the silence on %s is this path's wiring or the bootloader's one-shot interface selection: the first interface that sees activity after reset wins until the next reset. Probe %s again after a reset, alone.",
					answered[0].Path, r.Path, r.Path),
				Checks: pathChecks(r.Path, devID),
			})
		}
	case len(silent) > 0:
		out = append(out, silentFinding(swd, boot0, silent, devID))
	}
	for _, r := range failed {
		if r.PortUnusable {
			out = append(out, unusableFinding(r))
			continue
		}
		out = append(out, Finding{
			Title:  fmt.Sprintf("%s: something answered, but not the ROM bootloader", r.Path),
			Text:   r.Detail + ". " + failedAdvice(r.Path),
			Checks: pathChecks(r.Path, devID),
		})
	}
	for i := range out {
		out[i].States = nil
		for _, s := range out[i].Consistent {
			out[i].States = append(out[i].States, s.String())
		}
	}
	return out
}

// answeredFinding says what a bootloader answer means.
func answeredFinding(swd SWD, boot0 Level, answered []Result) Finding {
	var paths []string
	var state targets.ProductState
	hasState := false
	for _, r := range answered {
		paths = append(paths, string(r.Path))
		if r.HasProductState && !hasState {
			state, hasState = r.ProductState, true
		}
	}
	f := Finding{Title: "the ROM bootloader answers on " + strings.Join(paths, " and ")}
	var text []string
	switch {
	case hasState:
		f.Consistent = []targets.ProductState{state}
		text = append(text, fmt.Sprintf("The bootloader let us read FLASH_OPTSR_CUR: the product state is %v.", state))
	case boot0 == LevelLow:
		f.Consistent = []targets.ProductState{targets.StateProvisioning}
		text = append(text, "It answers with BOOT0 low, which only PROVISIONING does (in OPEN the ROM runs only with BOOT0 high).")
	default:
		f.Consistent = stm32h5.BootloaderStates()
		text = append(text, "The ROM bootloader runs only in OPEN with BOOT0 high, or in PROVISIONING whatever BOOT0 says; the chip is in one of these.")
	}
	if hasState && state == targets.StateProvisioning || len(f.Consistent) == 1 && f.Consistent[0] == targets.StateProvisioning {
		if info, ok := targets.STM32H5().State(targets.StateProvisioning); ok {
			text = append(text, "In PROVISIONING user code never runs: the board looks dead but its ROM is alive. Way back: "+info.WayBack+".")
		}
	}
	if swd.HasProductState && len(f.Consistent) > 0 && !slices.Contains(f.Consistent, swd.ProductState) {
		text = append(text, fmt.Sprintf("SWD read %v, which does not fit: the chip was reset or changed between the two probes; probe both again.", swd.ProductState))
	}
	if swd.AP1 == AP1Closed {
		text = append(text, "SWD found AP1 closed although AP1 is open in OPEN and PROVISIONING: in PROVISIONING only Hot Plug reaches AP1 while the ROM runs; retry SWD with Hot Plug.")
	}
	f.Text = strings.Join(text, " ")
	return f
}

// closedStates are the states where no BOOT0 level starts the bootloader.
func closedStates() []targets.ProductState {
	var out []targets.ProductState
	for _, s := range targets.STM32H5().States {
		if !stm32h5.ROMBootloaderRuns(s.State, true) && !stm32h5.ROMBootloaderRuns(s.State, false) {
			out = append(out, s.State)
		}
	}
	return out
}

// silentFinding explains silence on every path that was tried.
func silentFinding(swd SWD, boot0 Level, silent []Result, devID uint16) Finding {
	var paths []string
	for _, r := range silent {
		paths = append(paths, string(r.Path))
	}
	f := Finding{Title: "the ROM bootloader is silent on " + strings.Join(paths, " and ")}
	f.Checks = []string{boot0Check}
	for _, r := range silent {
		for _, c := range pathChecks(r.Path, devID) {
			if !slices.Contains(f.Checks, c) {
				f.Checks = append(f.Checks, c)
			}
		}
	}
	closed := closedStates()
	swdClosedState := swd.HasProductState && slices.Contains(closed, swd.ProductState)
	switch {
	case swdClosedState || swd.AP1 == AP1Closed:
		f.Consistent = closed
		if swdClosedState {
			f.Consistent = []targets.ProductState{swd.ProductState}
		}
		f.Text = fmt.Sprintf("Silence on every bootloader path together with a closed AP1 on SWD is what a chip in %s looks like: in those states the chip boots its flash whatever BOOT0 says, so the ROM bootloader never starts and neither USB DFU nor UART can answer. Rewiring will not change that; the way in is debug authentication over AP0 (if DA data was provisioned). Check the points below only to rule out the rest.",
			Finding{Consistent: f.Consistent}.StateNames())
	case swd.HasProductState && swd.ProductState == targets.StateOpen && boot0 == LevelLow:
		f.Consistent = []targets.ProductState{targets.StateOpen}
		f.Text = "Expected: SWD reads OPEN and BOOT0 is low, so the chip boots its flash. Set BOOT0 high and reset to reach the ROM bootloader."
	case swd.HasProductState && swd.ProductState == targets.StateOpen:
		f.Consistent = []targets.ProductState{targets.StateOpen}
		f.Text = "SWD reads OPEN, where the ROM bootloader runs after a reset with BOOT0 high; it did not, so BOOT0 was not high at the reset or the paths are not wired as the bootloader expects."
	case swd.HasProductState && swd.ProductState == targets.StateProvisioning:
		f.Consistent = []targets.ProductState{targets.StateProvisioning}
		f.Text = "SWD reads PROVISIONING, where the ROM bootloader always runs: the silence comes from the wiring, the pins or another interface capturing the bootloader first."
	default:
		f.Consistent = append([]targets.ProductState{targets.StateOpen}, closed...)
		f.Text = fmt.Sprintf("Nothing answered. Either the chip is in a state where the ROM bootloader never runs (%s: it boots its flash whatever BOOT0 says), or it is OPEN and BOOT0 was not high at the reset, or the paths are not wired as the bootloader expects. The SWD matrix tells these apart: a closed AP1 points to the closed states.",
			Finding{Consistent: closed}.StateNames())
	}
	return f
}

// boot0Check is the first hand-check of every silent finding.
const boot0Check = "BOOT0 really high at the moment NRST is released: measure it on the chip's pin (not the jumper or switch), then reset the board - BOOT0 is only sampled at reset"

// pathChecks lists the hand-checks of one path for the chip with DEV_ID
// devID (0: unknown, the STM32H523/H533 pins are listed).
func pathChecks(p Path, devID uint16) []string {
	info, ok := stm32h5.Bootloader(devID)
	if !ok {
		info, _ = stm32h5.Bootloader(stm32h5.LineH533)
	}
	switch p {
	case PathDFU:
		return []string{
			fmt.Sprintf("USB: D+ on %s and D- on %s reach the connector the right way round, VDDUSB has 3.3 V and the cable carries data", info.USBDP, info.USBDM),
			"USB D+ pull-up: the ROM switches on the chip's own; nothing on the board may hold D+ low, and the cable must be plugged in before the reset",
		}
	case PathUART:
		var pins []string
		for _, u := range info.UARTs {
			pins = append(pins, u.String())
		}
		line := LineName(info.PID)
		return []string{
			fmt.Sprintf("UART pins of this package (%s): %s (if bonded out); adapter TX to the chip's RX, adapter RX to the chip's TX, common ground", line, strings.Join(pins, ", ")),
			"UART: 8 data bits, even parity, 1 stop bit; unplug the target's USB while probing UART (a USB host at reset can capture the bootloader)",
		}
	}
	return nil
}

// unusableFinding says that a path's port could not be used: the host's
// problem, not the chip's.
func unusableFinding(r Result) Finding {
	f := Finding{
		Title:  fmt.Sprintf("%s: the port could not be used", r.Path),
		Text:   r.Detail + ". Nothing was sent, so this says nothing about the chip.",
		Checks: []string{"give the USB-serial adapter's port, e.g. /dev/ttyUSB0 or /dev/ttyACM0 (ls -l /dev/serial/by-id/ lists the plugged-in adapters)"},
	}
	if strings.Contains(r.Detail, "permission denied") {
		f.Checks = append(f.Checks, "this user may not open the port: add it to the port's group (dialout on Debian and Ubuntu) and log in again")
	}
	return f
}

// failedAdvice says what to try when a path answered garbage.
func failedAdvice(p Path) string {
	if p == PathUART {
		return "Echoed bytes mean TX looped to RX (half-duplex wiring or an echoing adapter); other bytes mean the application runs (BOOT0 not high at reset) or the baud rate or parity is wrong (the ROM wants 8E1)."
	}
	return "A device other than 0483:DF11 means the application runs, not the ROM (BOOT0 not high at reset); a transfer error means the USB link or the host's permissions (udev rules) need a look."
}
