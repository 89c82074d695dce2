package cli

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/stprobe/stprobe/bench"
	"github.com/stprobe/stprobe/targets"
)

// infoJSON is the output of `stprobe info --json`.
type infoJSON struct {
	Probe        probeJSON   `json:"probe"`
	Voltage      *float64    `json:"target_voltage_v"`
	VoltageError string      `json:"target_voltage_error,omitempty"`
	Chip         *chipJSON   `json:"chip,omitempty"`
	ChipError    string      `json:"chip_error,omitempty"`
	Connect      connectJSON `json:"connect"`
}

// chipJSON is the identified target.
type chipJSON struct {
	Name     string `json:"name"`
	Family   string `json:"family"`
	DevID    string `json:"dev_id"`
	RevID    string `json:"rev_id"`
	IDCode   string `json:"idcode"`
	IDCodeAP uint8  `json:"idcode_ap"`
	CoreAP   uint8  `json:"core_ap"`
	FlashKB  int    `json:"flash_kb,omitempty"`
	Package  string `json:"package,omitempty"`
	UID      string `json:"uid,omitempty"`
	// ProductState and TZEN are read through the core port when it is open.
	ProductState *targets.ProductState `json:"product_state,omitempty"`
	TZEN         string                `json:"tzen,omitempty"`
	// OptionsUnlocked is set when FLASH_OPTCR.OPTLOCK reads 0.
	OptionsUnlocked bool `json:"option_registers_unlocked,omitempty"`
}

// connectJSON is a bench.ConnectReport.
type connectJSON struct {
	Mode         string     `json:"mode"`
	AP           uint8      `json:"ap"`
	RequestedKHz int        `json:"requested_khz"`
	FrequencyKHz int        `json:"frequency_khz"`
	OK           bool       `json:"ok"`
	DPOK         bool       `json:"dp_ok"`
	DPIDR        string     `json:"dpidr"`
	CtrlStat     string     `json:"ctrl_stat"`
	APOK         bool       `json:"ap_ok"`
	APIDR        string     `json:"ap_idr"`
	CoreFound    bool       `json:"core_found"`
	CPUID        string     `json:"cpuid"`
	CoreName     string     `json:"core_name,omitempty"`
	CoreState    string     `json:"core_state"`
	Steps        []stepJSON `json:"steps"`
	FailedStep   string     `json:"failed_step,omitempty"`
	Error        string     `json:"error,omitempty"`
	ErrorLayer   string     `json:"error_layer,omitempty"`
}

// stepJSON is one connect step.
type stepJSON struct {
	Name  string `json:"name"`
	OK    bool   `json:"ok"`
	Error string `json:"error,omitempty"`
}

func hex32(v uint32) string { return fmt.Sprintf("0x%08X", v) }

func toConnectJSON(r *bench.ConnectReport) connectJSON {
	c := connectJSON{
		Mode: r.Mode.String(), AP: r.AP, RequestedKHz: r.RequestedKHz, FrequencyKHz: r.FrequencyKHz,
		OK: r.OK(), DPOK: r.DPOK, DPIDR: hex32(r.DPIDR), CtrlStat: hex32(r.CtrlStat),
		APOK: r.APOK, APIDR: hex32(r.APIDR), CoreFound: r.CoreFound, CPUID: hex32(r.CPUID),
		CoreName: bench.CoreName(r.CPUID), CoreState: r.Core.String(), Steps: []stepJSON{},
		FailedStep: r.FailedStep,
	}
	if r.Err != nil {
		c.Error, c.ErrorLayer = r.Err.Error(), bench.LayerOf(r.Err)
	}
	for _, s := range r.Steps {
		j := stepJSON{Name: s.Name, OK: s.Err == nil}
		if s.Err != nil {
			j.Error = s.Err.Error()
		}
		c.Steps = append(c.Steps, j)
	}
	return c
}

func toChipJSON(c *targets.Chip) *chipJSON {
	j := &chipJSON{
		Name: c.Name(), Family: c.Family.Name, DevID: fmt.Sprintf("0x%03X", c.DevID), RevID: fmt.Sprintf("0x%04X", c.RevID),
		IDCode: hex32(c.IDCode), IDCodeAP: c.IDCodeAP, CoreAP: c.Family.CoreAP, UID: c.UIDString(),
	}
	if c.HasFlashSize {
		j.FlashKB = int(c.FlashKB)
	}
	if c.HasPackage {
		j.Package = c.Package
	}
	return j
}

// infoCommand is `stprobe info`: the probe, its firmware and the target
// voltage, a connect in the chosen mode and the report of every step.
func (a *app) infoCommand() *cobra.Command {
	var (
		modeName string
		apFlag   optionalAP
		freq     int
	)
	c := newCommand("info", "info [--json] [--mode normal|hotplug|under-reset] [--ap N] [--freq KHZ]",
		"probe, firmware, voltage and a connect report",
		"Shows the probe, its firmware and the target voltage, connects in the chosen mode and reports every step.",
		a.noArgs)
	fs := c.Flags()
	asJSON := jsonFlag(c, "print JSON")
	fs.StringVar(&modeName, "mode", "hotplug", "connect MODE: normal (attach and halt), hotplug (attach only, nothing written to the core) or under-reset")
	fs.Var(&apFlag, "ap", "access port N to connect on, 0..255 (default: the identified chip's core port, else 0)")
	var modes []string
	for _, m := range bench.ConnectModes() {
		modes = append(modes, m.String())
	}
	complete(c, "mode", modes...)
	fs.IntVar(&freq, "freq", 0, "SWD clock in KHZ (default: the probe's current clock)")
	c.RunE = func(c *cobra.Command, _ []string) error {
		mode, err := bench.ParseConnectMode(modeName)
		if err == nil && freq < 0 {
			err = fmt.Errorf("frequency %d kHz: want a positive number of kHz (or 0 for the probe's current clock)", freq)
		}
		if err != nil {
			return usage(c, err)
		}
		req := bench.InfoRequest{Mode: mode, AP: apFlag.ap, AutoAP: !apFlag.set, FrequencyKHz: freq}
		return a.withBench(c.Context(), func(ctx context.Context, b *bench.Bench, tok bench.Token) error {
			res, err := b.Info(ctx, tok, req)
			if err != nil {
				return err
			}
			return a.printInfoResult(res, *asJSON)
		})
	}
	return c
}

// printInfoResult renders what the info job found; a connect that failed
// at some step is the command's error.
func (a *app) printInfoResult(res *bench.InfoResult, asJSON bool) error {
	rep := res.Connect
	out := infoJSON{Probe: toProbeJSON(res.Probe), Connect: toConnectJSON(rep)}
	if res.HasVoltage {
		v := res.Voltage
		out.Voltage = &v
	} else if res.VoltageErr != nil {
		out.VoltageError = res.VoltageErr.Error()
	}
	if res.ChipErr != nil {
		out.ChipError = res.ChipErr.Error()
	}
	if res.Chip != nil {
		out.Chip = toChipJSON(res.Chip)
		if res.StateErr == nil {
			st := res.State
			out.Chip.ProductState = &st
			if res.TZEN != targets.TZENAbsent {
				out.Chip.TZEN = res.TZEN.String()
			}
			out.Chip.OptionsUnlocked = res.OptionsUnlocked
		}
	}
	if asJSON {
		if err := writeJSON(a.stdout, out); err != nil {
			return fmt.Errorf("writing info: %w", err)
		}
	} else if err := printInfo(a.stdout, res.Probe, out, rep); err != nil {
		return fmt.Errorf("writing info: %w", err)
	}
	if rep.Err != nil {
		return fmt.Errorf("%s connect on AP%d failed at %q: %s (for a diagnosis, try every mode, AP and clock: stprobe sweep)",
			rep.Mode.Title(), rep.AP, rep.FailedStep, stepError(rep.FailedStep, rep.Err))
	}
	return nil
}

// stepError is err's text without the step name it often starts with
// (the step is already named next to it).
func stepError(step string, err error) string {
	return strings.TrimPrefix(err.Error(), step+": ")
}

// printInfo renders the info as aligned text.
func printInfo(w io.Writer, info bench.ProbeInfo, out infoJSON, rep *bench.ConnectReport) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	row := func(k, format string, a ...any) { fmt.Fprintf(tw, "%s\t"+format+"\n", append([]any{k}, a...)...) }
	where := info.Backend
	switch {
	case strings.HasPrefix(info.Address, info.Backend+":"):
		where = info.Address
	case info.Address != "":
		where += " " + info.Address
	}
	row("Probe", "%s (%s)", dash(info.Model), where)
	row("Serial", "%s", dash(info.Serial))
	row("Firmware", "%s", dash(info.Firmware))
	row("USB ID", "%04X:%04X", info.VID, info.PID)
	if out.Voltage != nil {
		note := ""
		if *out.Voltage < 1.5 {
			note = "  (low: is the target powered?)"
		}
		row("Target voltage", "%.2f V%s", *out.Voltage, note)
	} else {
		row("Target voltage", "unavailable: %s", out.VoltageError)
	}
	switch {
	case out.Chip != nil:
		row("Chip", "%s (DEV_ID %s via AP%d)", out.Chip.Name, out.Chip.DevID, out.Chip.IDCodeAP)
		if ps := out.Chip.ProductState; ps != nil {
			tz := ""
			if out.Chip.TZEN != "" {
				tz = ", TrustZone " + out.Chip.TZEN
			}
			row("Product state", "%v (0x%02X)%s", *ps, uint8(*ps), tz)
		}
		if out.Chip.OptionsUnlocked {
			row("Option regs", "UNLOCKED: %s", unlockedText)
		}
	case out.ChipError != "":
		row("Chip", "not identified: %s", out.ChipError)
	}
	result := "ok"
	if rep.Err != nil {
		result = fmt.Sprintf("FAILED at %q", rep.FailedStep)
	}
	clock := khz(rep.FrequencyKHz)
	if rep.RequestedKHz != 0 && rep.FrequencyKHz != 0 && rep.RequestedKHz != rep.FrequencyKHz {
		clock += fmt.Sprintf(" (asked %s; the nearest the probe supports)", khz(rep.RequestedKHz))
	}
	row("Connect", "%s on AP%d at %s: %s", rep.Mode.Title(), rep.AP, clock, result)
	if rep.DPOK {
		row("  DPIDR", "0x%08X", rep.DPIDR)
		row("  CTRL/STAT", "0x%08X", rep.CtrlStat)
	}
	if rep.APIDR != 0 {
		row("  AP IDR", "0x%08X (%s)", rep.APIDR, okWord(rep.APOK, "memory access ok", "no memory access"))
	}
	if rep.CoreFound {
		row("  CPUID", "0x%08X (%s)", rep.CPUID, bench.CoreName(rep.CPUID))
	} else if rep.APOK {
		row("  CPUID", "no Cortex-M core on this AP")
	}
	row("  Core", "%s", rep.Core)
	if rep.Err != nil {
		row("  Error", "[%s] %s", dash(bench.LayerOf(rep.Err)), stepError(rep.FailedStep, rep.Err))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w, "Steps:")
	for _, s := range rep.Steps {
		mark := "ok  "
		if s.Err != nil {
			mark = "FAIL"
		}
		line := fmt.Sprintf("  %s  %s", mark, s.Name)
		if s.Err != nil && s.Name != rep.FailedStep {
			line += ": " + strings.TrimPrefix(s.Err.Error(), s.Name+": ")
		}
		if _, err := fmt.Fprintln(w, line); err != nil {
			return err
		}
	}
	return nil
}

// optionalAP is the --ap flag: an access port number, or unset.
type optionalAP struct {
	ap  uint8
	set bool
}

// String is the access port, or "" when unset.
func (a *optionalAP) String() string {
	if a == nil || !a.set {
		return ""
	}
	return strconv.Itoa(int(a.ap))
}

// Type names the flag's value in the help.
func (a *optionalAP) Type() string { return "N" }

// Set parses an access port number.
func (a *optionalAP) Set(s string) error {
	n, err := strconv.ParseUint(s, 0, 8)
	if err != nil {
		return fmt.Errorf("want an access port number from 0 to 255")
	}
	a.ap, a.set = uint8(n), true
	return nil
}

func khz(k int) string {
	switch {
	case k == 0:
		return "the probe's current SWD clock"
	case k >= 1000 && k%1000 == 0:
		return fmt.Sprintf("%d MHz", k/1000)
	}
	return fmt.Sprintf("%d kHz", k)
}

func okWord(ok bool, yes, no string) string {
	if ok {
		return yes
	}
	return no
}
