package bench

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/stprobe/stprobe/capture"
	"github.com/stprobe/stprobe/obytes"
	"github.com/stprobe/stprobe/probe"
	"github.com/stprobe/stprobe/probe/sim/scenario"
	"github.com/stprobe/stprobe/safefile"
	"github.com/stprobe/stprobe/targets"
	"github.com/stprobe/stprobe/targets/stm32h5"
	"github.com/stprobe/stprobe/targets/stm32rdp"
)

// LoadCapture reads and validates the capture file at path.
func LoadCapture(path string) (*CaptureFile, error) {
	data, err := safefile.Read(path, "capture", capture.MaxSize)
	if err != nil {
		return nil, err
	}
	f, err := capture.Decode(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return f, nil
}

// EncodeCapture is a capture's file contents.
func EncodeCapture(f *CaptureFile) ([]byte, error) { return capture.Encode(f) }

// DiffCaptures lists where two captures of a board differ, header and
// timings aside (nil: they agree).
func DiffCaptures(a, b *CaptureFile) []string { return capture.Diff(a, b) }

// Twin is the simulated board a capture describes: the model of the chip's
// family set up with what the capture holds (identity, option registers,
// product state and TZEN, DA provisioning), and, among the board
// behaviours a capture cannot read directly (NRST wiring, firmware that
// turns SWD off, an application that opens debug, a core that will not
// halt in PROVISIONING), the ones whose capture matches.
type Twin struct {
	Scenario scenario.Scenario
	// Differs lists where the twin's own capture differs from the file:
	// there the family model answers, not the chip. Empty: the twin
	// reproduces everything the capture holds.
	Differs []string
	// Chosen says, in words, what was chosen that the capture cannot say.
	Chosen []string
}

// NewTwin builds the twin of f, named name (the file's base name for
// --twin). It captures each candidate board on the simulated bench and
// keeps the first whose capture equals f (header and timings aside), or
// the closest.
func NewTwin(ctx context.Context, f *CaptureFile, name string) (*Twin, error) {
	base, err := twinBase(f, name)
	if err != nil {
		return nil, err
	}
	var best *Twin
	for _, c := range twinCandidates(base) {
		got, err := captureScenario(ctx, c.sc, false)
		if err != nil {
			if ctx.Err() != nil {
				return nil, err
			}
			continue
		}
		d := capture.Diff(f, got)
		if best == nil || len(d) < len(best.Differs) {
			best = &Twin{Scenario: c.sc, Differs: d, Chosen: c.chosen}
		}
		if len(d) == 0 {
			break
		}
	}
	if best == nil {
		return nil, fmt.Errorf("twin of %s: no simulated board could be built from the capture", name)
	}
	return best, nil
}

// captureScenario opens a bench on sc, captures it, and closes it.
func captureScenario(ctx context.Context, sc scenario.Scenario, withFlash bool) (*CaptureFile, error) {
	b, err := openScenario(ctx, sc, Options{}, nil)
	if err != nil {
		return nil, err
	}
	defer b.Close()
	tok, err := b.Acquire(Holder{Name: "twin", Session: "twin"})
	if err != nil {
		return nil, err
	}
	defer b.Release(tok)
	return b.Capture(ctx, tok, CaptureRequest{WithFlash: withFlash})
}

// CaptureSimulated captures the simulated board name (stprobe sim capture).
func CaptureSimulated(ctx context.Context, name string, withFlash bool) (*CaptureFile, error) {
	sc, err := scenario.Lookup(name)
	if err != nil {
		return nil, err
	}
	return captureScenario(ctx, sc, withFlash)
}

// TwinScenario loads the capture at path and builds its twin.
func TwinScenario(ctx context.Context, path string) (*Twin, error) {
	f, err := LoadCapture(path)
	if err != nil {
		return nil, err
	}
	return NewTwin(ctx, f, filepath.Base(path))
}

// ErrNoTwinModel is a capture of a chip whose family has no model a twin
// can be built on yet.
var ErrNoTwinModel = errors.New("no twin model for this family")

// rdpModelled reports whether the simulator has a model of fam's chips
// (targets/stm32rdp: F1, F4, G0, G4, L4, U5, H7).
func rdpModelled(fam targets.Family) bool {
	for _, f := range []targets.Family{targets.STM32F1(), targets.STM32F4(), targets.STM32G0(), targets.STM32G4(), targets.STM32L4(), targets.STM32U5(), targets.STM32H7()} {
		if f.Name == fam.Name {
			return true
		}
	}
	return false
}

// rdpTwin is the chip of an RDP family a capture states: its identity
// and its RDP byte as the option registers read (level 0 when they could
// not be read); the firmware and NRST wiring are chosen among candidates.
func rdpTwin(f *capture.File, fam targets.Family, devID, revID uint16) *stm32rdp.Config {
	cfg := &stm32rdp.Config{Family: fam, DevID: devID, RevID: revID, NRSTWired: true, RDP: targets.RDPByteLevel0}
	if fam.RDP.Bit {
		cfg.RDP = targets.F1RDPKey
	}
	if c := f.Chip; c != nil {
		cfg.FlashKB, cfg.Package = uint16(c.FlashKB), uint16(c.Package)
		if len(c.UID) == 3 {
			cfg.UID = [3]uint32{uint32(c.UID[0]), uint32(c.UID[1]), uint32(c.UID[2])}
		}
	}
	if f.OptionBytes == nil {
		return cfg
	}
	l, err := obytes.ForDevID(devID)
	if err != nil {
		return cfg
	}
	for _, r := range l.Registers {
		for _, cr := range f.OptionBytes.Registers {
			if cr.Name != r.Name {
				continue
			}
			v := uint32(cr.Cur)
			switch {
			case r.Cur == fam.RDP.Reg:
				_, cfg.RDP = fam.RDP.Level(v)
				// The U5's TrustZone is FLASH_OPTR.TZEN.
				cfg.TZEN = fam.Name == targets.STM32U5().Name && v&targets.U5TZEN != 0
			case fam.Name == targets.STM32U5().Name && r.Cur == targets.U5FlashSECWM1R1:
				// The model's watermark starts at page 0 (u5h7.go).
				if start, end := v&0x7F, v>>16&0x7F; start == 0 && end >= start {
					cfg.SecurePages = int(end) + 1
				}
			}
		}
	}
	if !cfg.TZEN {
		cfg.SecurePages = 0
	}
	return cfg
}

// twinBase is the board a capture states outright.
func twinBase(f *capture.File, name string) (scenario.Scenario, error) {
	sc := scenario.Scenario{
		Name:        "twin:" + name,
		Description: "the twin of the capture " + name,
		Millivolts:  f.Target.Millivolts,
		Identity:    &scenario.ProbeIdentity{Firmware: f.Probe.Firmware, PID: uint16(f.Probe.PID), Serial: f.Probe.Serial},
	}
	if f.Probe.Firmware == "" {
		return sc, fmt.Errorf("twin of %s: the capture names no probe firmware (probe.firmware, e.g. V2J46S7)", name)
	}
	if f.Target.DPIDR == 0 {
		return sc, nil // nothing answered SWD: no target on the wire
	}
	devID, revID := uint16(0), uint16(0)
	if f.Chip != nil {
		devID, revID = uint16(f.Chip.DevID), uint16(f.Chip.RevID)
	} else {
		for _, c := range sweepCells(f) {
			if c.IDCode != 0 {
				devID, revID = uint16(c.IDCode&0xFFF), uint16(c.IDCode>>16)
				break
			}
		}
	}
	if fam, line, ok := targets.LookupDevID(devID); ok && fam.Name != targets.STM32H5().Name {
		if fam.RDP == nil || !rdpModelled(fam) {
			return sc, fmt.Errorf("twin of %s: the capture holds an %s (%s), a family without a simulated model yet: %w",
				name, line.Name, fam.Name, ErrNoTwinModel)
		}
		sc.RDPChip = rdpTwin(f, fam, devID, revID)
		return sc, nil
	}
	if _, ok := targets.STM32H5().Line(devID); !ok {
		// no known chip identified: the generic Cortex-M33 board
		sc.Generic = true
		return sc, nil
	}
	cfg := &stm32h5.Config{Line: devID, RevID: revID, NRSTWired: true}
	if f.Chip != nil {
		cfg.FlashKB, cfg.Package = uint16(f.Chip.FlashKB), uint16(f.Chip.Package)
		if len(f.Chip.UID) == 3 {
			cfg.UID = [3]uint32{uint32(f.Chip.UID[0]), uint32(f.Chip.UID[1]), uint32(f.Chip.UID[2])}
		}
	}
	if d := f.DA; d != nil && cfg.UID == [3]uint32{} && len(d.UID) == 3 {
		cfg.UID = [3]uint32{uint32(d.UID[0]), uint32(d.UID[1]), uint32(d.UID[2])}
	}
	switch {
	case f.State != nil:
		cfg.ProductState, cfg.TZEN = targets.ProductState(f.State.ProductState), targets.TZEN(f.State.TZEN)
	case f.DA != nil && targets.ProductState(f.DA.State).Valid():
		cfg.ProductState = targets.ProductState(f.DA.State)
	default:
		for _, c := range sweepCells(f) {
			if targets.ProductState(c.State).Valid() {
				cfg.ProductState, cfg.TZEN = targets.ProductState(c.State), targets.TZEN(c.TZEN)
				break
			}
		}
	}
	if d := f.DA; d != nil && d.Integrity == capture.Hex32(0xEAEAEAEA) {
		// provisioned (ST's integrity word, security reference §5.5); the
		// secret itself is never captured: the twin holds ST's sample
		// password or a placeholder key
		cfg.DA = stm32h5.DACertificate
		if d.Method == "password" || devID == stm32h5.LineH503 {
			cfg.DA = stm32h5.DAPassword
		}
	}
	if f.OptionBytes != nil {
		cfg.Captured = map[string][2]uint32{}
		for _, r := range f.OptionBytes.Registers {
			cfg.Captured[r.Name] = [2]uint32{uint32(r.Cur), uint32(r.Prg)}
		}
	}
	sc.Chip = cfg
	return sc, nil
}

// sweepCells are f's sweep cells (none without a sweep).
func sweepCells(f *capture.File) []capture.Cell {
	if f.Sweep == nil {
		return nil
	}
	return f.Sweep.Cells
}

type candidate struct {
	sc     scenario.Scenario
	chosen []string
}

// twinCandidates varies what a capture cannot read directly, the plainest
// board first.
func twinCandidates(base scenario.Scenario) []candidate {
	if base.RDPChip != nil {
		return rdpCandidates(base)
	}
	if base.Chip == nil {
		return []candidate{{sc: base}}
	}
	var out []candidate
	tzens := []targets.TZEN{base.Chip.TZEN}
	if base.Chip.Captured == nil && base.Chip.TZEN == 0 && base.Chip.Line != stm32h5.LineH503 {
		tzens = []targets.TZEN{targets.TZENEnabled, targets.TZENDisabled}
	}
	for _, tz := range tzens {
		for _, nrst := range []bool{true, false} {
			for _, sleepy := range []bool{false, true} {
				for _, app := range []bool{false, true} {
					for _, noHalt := range []bool{false, true} {
						cfg := *base.Chip
						cfg.TZEN, cfg.NRSTWired, cfg.NSDebugApp, cfg.NoHaltInProvisioning = tz, nrst, app, noHalt
						var chosen []string
						if !nrst {
							chosen = append(chosen, "NRST not wired to the probe")
						}
						if sleepy {
							cfg.Firmware = stm32h5.FirmwareSleepy
							chosen = append(chosen, "firmware that turns SWD off soon after reset")
						}
						if app {
							chosen = append(chosen, "a non-secure application that opens debug")
						}
						if noHalt {
							chosen = append(chosen, "a core that never halts in PROVISIONING")
						}
						sc := base
						sc.Chip = &cfg
						out = append(out, candidate{sc: sc, chosen: chosen})
					}
				}
			}
		}
	}
	return out
}

// openScenario opens a bench on a simulated board.
func openScenario(ctx context.Context, sc scenario.Scenario, o Options, opts []probe.Option) (*Bench, error) {
	p, err := sc.Build()
	if err != nil {
		return nil, err
	}
	cfg := p.Config()
	info := probe.Info{Backend: probe.BackendSim, Serial: cfg.Serial, VID: cfg.Firmware.VID, PID: cfg.Firmware.PID,
		Firmware: cfg.Firmware.String(), Address: "sim:" + sc.Name}
	b, err := start(ctx, p, info, p, o, opts)
	if err == nil {
		b.state.Scenario = sc.Name
	}
	return b, err
}

// openTwin opens the capture at path as a simulated board; the notice says
// what the model chose and where the twin differs from the capture.
func openTwin(ctx context.Context, path string, o Options, opts []probe.Option) (*Bench, string, error) {
	tw, err := TwinScenario(ctx, path)
	if err != nil {
		return nil, "", fmt.Errorf("--twin: %w", err)
	}
	b, err := openScenario(ctx, tw.Scenario, o, opts)
	if err != nil {
		return nil, "", fmt.Errorf("--twin %s: %w", path, err)
	}
	return b, tw.Notice(), nil
}

// Notice says what the twin is, in one paragraph: where the family model
// answers instead of the chip.
func (t *Twin) Notice() string {
	s := fmt.Sprintf("the twin of a capture (%s): the captured chip's identity, registers and answers; writes are answered by the model of its family, not by the chip", t.Scenario.Name)
	if len(t.Chosen) > 0 {
		s += fmt.Sprintf("; chosen to match its sweep: %s", strings.Join(t.Chosen, ", "))
	}
	if len(t.Differs) > 0 {
		s += fmt.Sprintf("; it differs from the capture at %d places, where the model answers: %s", len(t.Differs), strings.Join(t.Differs, "; "))
	}
	return s
}

// rdpCandidates are the boards of an RDP-family twin: what the user
// program does (with the debug pins, a watchdog, or nothing at all: an
// empty flash), whether BOOT0 is high and whether NRST is wired, which a
// capture shows only through its sweep.
func rdpCandidates(base scenario.Scenario) []candidate {
	var out []candidate
	boot0s := []bool{false}
	if d, ok := base.RDPChip.Family.Debug(); ok && d.BootAlias {
		boot0s = append(boot0s, true)
	}
	for _, nrst := range []bool{true, false} {
		for _, boot0 := range boot0s {
			for _, fw := range []struct {
				fw  stm32rdp.Firmware
				why string
			}{
				{stm32rdp.FirmwareIdle, ""},
				{stm32rdp.FirmwareSleepy, "firmware that enters Stop mode without DBG_STOP"},
				{stm32rdp.FirmwareSWDAsGPIO, "firmware that turns the SWD pins into GPIO"},
				{stm32rdp.FirmwareWatchdog, "firmware that runs the independent watchdog"},
				{stm32rdp.FirmwareEmpty, "an empty flash"},
			} {
				cfg := *base.RDPChip
				cfg.NRSTWired, cfg.Firmware, cfg.Boot0 = nrst, fw.fw, boot0
				var chosen []string
				if !nrst {
					chosen = append(chosen, "NRST not wired to the probe")
				}
				if boot0 {
					chosen = append(chosen, "BOOT0 held high")
				}
				if fw.why != "" {
					chosen = append(chosen, fw.why)
				}
				sc := base
				sc.RDPChip = &cfg
				out = append(out, candidate{sc: sc, chosen: chosen})
			}
		}
	}
	return out
}
