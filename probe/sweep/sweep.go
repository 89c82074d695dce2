// Package sweep is the connection matrix: it tries every way into a target
// (connect mode × access port × SWD frequency), records what each attempt
// found, and explains the pattern in plain language.
//
// A sweep has four steps: a Plan says which cells to try; Run
// makes one real connect attempt per cell, with a bounded time and a clean
// teardown, and fills a Matrix; Diagnose reads the whole Matrix and returns
// Findings, most important first; the export functions write the Matrix as
// JSON, CSV or a Markdown table for a forum post.
//
// Ways in other than SWD (the ROM bootloader over USB DFU or UART) are
// probed by the caller and handed to Matrix.AddPaths as rows shown beside
// the cells and findings merged into the diagnosis; this package only
// shows them.
package sweep

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/stprobe/stprobe/probe"
)

// Outcome is the class of one cell: what the connect attempt reached.
type Outcome string

// Outcomes, from best to worst reach.
const (
	// OutcomeOK: the debug port and the access port answered and the mode
	// did what it promises (attach, halt, or catch at the reset vector).
	OutcomeOK Outcome = "ok"
	// OutcomeModeFailed: the access port works but the mode's promise was
	// not kept (for example Under Reset did not catch the core at the reset
	// vector because NRST is not wired).
	OutcomeModeFailed Outcome = "mode-failed"
	// OutcomeAPClosed: the access port exists (its IDR reads) but refuses
	// memory access: locked by the product state or by security.
	OutcomeAPClosed Outcome = "ap-closed"
	// OutcomeDPOnly: the debug port answered, but nothing answered at this
	// access port index.
	OutcomeDPOnly Outcome = "dp-only"
	// OutcomeWaitTimeout: the target kept answering WAIT, or nothing came
	// back within the cell's time bound.
	OutcomeWaitTimeout Outcome = "wait-timeout"
	// OutcomeNoAck: the debug port did not answer at all.
	OutcomeNoAck Outcome = "no-ack"
	// OutcomeFault: any other failure (probe, USB, unexpected target error).
	OutcomeFault Outcome = "fault"
	// OutcomeUnsupported: the probe's firmware cannot do this cell; it was
	// not attempted. The cell's Reason says which firmware is needed.
	OutcomeUnsupported Outcome = "unsupported-by-firmware"
	// OutcomeSkipped: the cell was not attempted (sweep cancelled, probe
	// gone).
	OutcomeSkipped Outcome = "skipped"
)

// Outcomes lists every outcome class, best reach first.
func Outcomes() []Outcome {
	return []Outcome{OutcomeOK, OutcomeModeFailed, OutcomeAPClosed, OutcomeDPOnly,
		OutcomeWaitTimeout, OutcomeNoAck, OutcomeFault, OutcomeUnsupported, OutcomeSkipped}
}

// Attempted reports whether the outcome comes from a real connect attempt
// (not skipped, not refused for the firmware).
func (o Outcome) Attempted() bool {
	return o != OutcomeSkipped && o != OutcomeUnsupported && o != ""
}

// DPAnswered reports whether the outcome implies the debug port answered.
func (o Outcome) DPAnswered() bool {
	switch o {
	case OutcomeOK, OutcomeModeFailed, OutcomeAPClosed, OutcomeDPOnly:
		return true
	}
	return false
}

// Valid reports whether o is one of the known outcome classes.
func (o Outcome) Valid() bool { return slices.Contains(Outcomes(), o) }

// Key names one cell of the matrix.
type Key struct {
	Mode probe.ConnectMode
	AP   uint8
	KHz  int // the requested SWD frequency
}

// String renders the key as "hotplug/AP1/4000kHz".
func (k Key) String() string {
	return fmt.Sprintf("%v/AP%d/%dkHz", k.Mode, k.AP, k.KHz)
}

// ParseKey parses a key as Key.String writes it, e.g. "hotplug/AP1/4000kHz".
func ParseKey(s string) (Key, error) {
	parts := strings.Split(s, "/")
	if len(parts) != 3 || !strings.HasPrefix(parts[1], "AP") || !strings.HasSuffix(parts[2], "kHz") {
		return Key{}, fmt.Errorf("cell %q: want MODE/APn/FkHz, e.g. hotplug/AP1/4000kHz", s)
	}
	m, err := probe.ParseConnectMode(parts[0])
	if err != nil {
		return Key{}, fmt.Errorf("cell %q: %w", s, err)
	}
	ap, err := strconv.ParseUint(strings.TrimPrefix(parts[1], "AP"), 10, 8)
	if err != nil {
		return Key{}, fmt.Errorf("cell %q: access port: want 0 to 255", s)
	}
	khz, err := strconv.Atoi(strings.TrimSuffix(parts[2], "kHz"))
	if err != nil || khz <= 0 {
		return Key{}, fmt.Errorf("cell %q: SWD frequency: want a positive number of kHz", s)
	}
	return Key{Mode: m, AP: uint8(ap), KHz: khz}, nil
}

// Plan is the set of cells to try: every mode × access port × frequency.
type Plan struct {
	Modes          []probe.ConnectMode
	APs            []uint8
	FrequenciesKHz []int // requested SWD clocks, in the order to try them
}

// DefaultModes is every connect mode, in the order a sweep tries them.
func DefaultModes() []probe.ConnectMode {
	return []probe.ConnectMode{probe.ModeNormal, probe.ModeHotPlug, probe.ModeUnderReset}
}

// DefaultAPs is access ports 0 and 1 (STM32H5: debug APB and the core).
func DefaultAPs() []uint8 { return []uint8{0, 1} }

// DefaultPlan tries every mode on AP0 and AP1 at about five frequencies
// spread over ladder, the probe's supported SWD clocks (fastest first, as
// probe.Link.SWDFrequencies returns them).
func DefaultPlan(ladder []int) Plan {
	return Plan{Modes: DefaultModes(), APs: DefaultAPs(), FrequenciesKHz: SpreadRungs(ladder)}
}

// spreadTargets are the clocks SpreadRungs looks for between the fastest
// and the slowest rung: a common default, a safe middle, a slow one.
var spreadTargets = []float64{2000, 500, 100}

// SpreadRungs picks about five rungs of a fastest-first frequency ladder:
// the fastest, the rungs nearest (on a log scale) to 2 MHz, 500 kHz and
// 100 kHz, and the slowest. A ladder of five rungs or fewer is returned as
// is. On an ST-LINK/V2 this gives 4000, 1800, 480, 100 and 5 kHz.
func SpreadRungs(ladder []int) []int {
	var l []int
	for _, f := range ladder {
		if f > 0 && !slices.Contains(l, f) {
			l = append(l, f)
		}
	}
	slices.SortFunc(l, func(a, b int) int { return b - a })
	if len(l) <= 5 {
		return l
	}
	picked := []int{l[0]}
	for _, t := range spreadTargets {
		best, bestDist := 0, math.Inf(1)
		for _, f := range l[1 : len(l)-1] {
			d := math.Abs(math.Log(float64(f) / t))
			if d < bestDist-1e-9 {
				best, bestDist = f, d
			}
		}
		if best != 0 && !slices.Contains(picked, best) {
			picked = append(picked, best)
		}
	}
	picked = append(picked, l[len(l)-1])
	slices.SortFunc(picked, func(a, b int) int { return b - a })
	return picked
}

// Keys lists the plan's cells in the order Run tries them: frequencies
// outermost, then modes, then access ports, so that a cancelled sweep has
// covered every mode and port at the first frequencies.
func (p Plan) Keys() []Key {
	keys := make([]Key, 0, len(p.Modes)*len(p.APs)*len(p.FrequenciesKHz))
	for _, f := range p.FrequenciesKHz {
		for _, m := range p.Modes {
			for _, ap := range p.APs {
				keys = append(keys, Key{Mode: m, AP: ap, KHz: f})
			}
		}
	}
	return keys
}

// Validate checks that the plan has at least one cell, no repeated entries,
// known modes and positive frequencies.
func (p Plan) Validate() error {
	switch {
	case len(p.Modes) == 0:
		return fmt.Errorf("sweep plan: no connect mode")
	case len(p.APs) == 0:
		return fmt.Errorf("sweep plan: no access port")
	case len(p.FrequenciesKHz) == 0:
		return fmt.Errorf("sweep plan: no SWD frequency")
	}
	for i, m := range p.Modes {
		if _, err := probe.ParseConnectMode(m.String()); err != nil {
			return fmt.Errorf("sweep plan: connect mode %d is unknown", int(m))
		}
		if slices.Contains(p.Modes[:i], m) {
			return fmt.Errorf("sweep plan: mode %v given twice", m)
		}
	}
	for i, ap := range p.APs {
		if slices.Contains(p.APs[:i], ap) {
			return fmt.Errorf("sweep plan: AP%d given twice", ap)
		}
	}
	for i, f := range p.FrequenciesKHz {
		if f <= 0 {
			return fmt.Errorf("sweep plan: SWD frequency %d kHz is not positive", f)
		}
		if slices.Contains(p.FrequenciesKHz[:i], f) {
			return fmt.Errorf("sweep plan: %d kHz given twice", f)
		}
	}
	return nil
}

// ParseModes parses a comma-separated list of connect modes, e.g.
// "normal,hotplug,under-reset".
func ParseModes(s string) ([]probe.ConnectMode, error) {
	return parseList(s, "connect mode", "normal, hotplug or under-reset", probe.ParseConnectMode)
}

// ParseAPs parses a comma-separated list of access port numbers, e.g. "0,1".
func ParseAPs(s string) ([]uint8, error) {
	return parseList(s, "access port", "", func(f string) (uint8, error) {
		n, err := strconv.ParseUint(f, 0, 8)
		if err != nil {
			return 0, fmt.Errorf("access port %q: want a number from 0 to 255", f)
		}
		return uint8(n), nil
	})
}

// ParseFrequencies parses a comma-separated list of SWD clocks in kHz, e.g.
// "4000,100".
func ParseFrequencies(s string) ([]int, error) {
	return parseList(s, "SWD frequency", "", func(f string) (int, error) {
		n, err := strconv.Atoi(strings.TrimSuffix(strings.ToLower(f), "khz"))
		if err != nil || n <= 0 {
			return 0, fmt.Errorf("SWD frequency %q: want a positive number of kHz", f)
		}
		return n, nil
	})
}

// parseList parses each item of a comma-separated list with parse; an
// empty list is an error naming what was wanted (want, when not empty, says
// which values).
func parseList[T any](s, what, want string, parse func(string) (T, error)) ([]T, error) {
	var out []T
	for _, f := range splitList(s) {
		v, err := parse(f)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	if len(out) == 0 {
		if want != "" {
			return nil, fmt.Errorf("no %s in %q: want %s", what, s, want)
		}
		return nil, fmt.Errorf("no %s in %q", what, s)
	}
	return out, nil
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}
