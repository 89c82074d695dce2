package usbrelay

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/stprobe/stprobe/probe/sim"
)

// Device is one simulated probe on the relay's bus. Its USB identity comes
// from the probe: VID:PID, endpoints and packet size from the model its
// firmware version names, the serial number from its configuration.
type Device struct {
	Probe *sim.Probe
	// RawSerial presents the serial number the way early ST-LINK/V2
	// firmware does: its 12 bytes themselves instead of 24 hex characters.
	RawSerial bool
}

// Start puts devs on a simulated USB bus (bus 1, device numbers 2, 3, ...
// in order) and returns the running relay. Faults injected into a probe
// (sim.FaultTimeout, sim.FaultUnplug, ...) show on the bus: a command the
// probe does not answer leaves the host's read pending until its deadline,
// an unplugged probe fails every transfer with "no device". Close the relay
// when done.
func Start(ctx context.Context, devs ...Device) (*Relay, error) {
	return StartWith(ctx, sim.CostOptions{}, devs...)
}

// StartWith is Start that accounts for each client session as opts asks:
// a session runs from the host claiming a probe's interface to releasing it
// (or the relay closing); it counts the commands the host sent, their USB
// transfers, SWD bits and modelled time as the probe models them, and the
// URBs and ioctls the host made. Pace delays each reply by its modelled
// time.
func StartWith(ctx context.Context, opts sim.CostOptions, devs ...Device) (*Relay, error) {
	acct := sim.NewAccountant("usb-relay", opts)
	var ds []busDevice
	for i, d := range devs {
		if d.Probe == nil {
			return nil, fmt.Errorf("usbrelay: device %d has no probe", i)
		}
		id, err := identityOf(d, 2+i)
		if err != nil {
			return nil, fmt.Errorf("usbrelay: device %d: %w", i, err)
		}
		dev := newDevice(id, d.Probe, sim.OutDataLen)
		dev.acct = acct
		ds = append(ds, dev)
	}
	return start(ctx, ds)
}

// Run puts p on a simulated USB bus, runs argv (a libusb program such as
// st-info or openocd) against it and returns the program's combined output.
// The error is the program's (an *exec.ExitError when it fails) or the
// relay's.
func Run(ctx context.Context, p *sim.Probe, argv []string) ([]byte, error) {
	if len(argv) == 0 {
		return nil, errors.New("usbrelay: no program to run")
	}
	r, err := Start(ctx, Device{Probe: p})
	if err != nil {
		return nil, err
	}
	out, err := r.Command(ctx, argv[0], argv[1:]...).CombinedOutput()
	if cerr := r.Close(); cerr != nil && err == nil {
		err = cerr
	}
	return out, err
}

// identityOf derives what the probe shows on the bus.
func identityOf(d Device, devnum int) (identity, error) {
	cfg := d.Probe.Config()
	raw, err := hex.DecodeString(cfg.Serial)
	if err != nil || len(raw) != 12 {
		return identity{}, fmt.Errorf("serial %q is not 24 hex characters", cfg.Serial)
	}
	m := d.Probe.Model()
	if m.EPIn == 0 || m.EPOut == 0 {
		return identity{}, fmt.Errorf("firmware %s names PID %#04x, which is not an ST-LINK model", cfg.Firmware, m.PID)
	}
	return identity{
		model:        m,
		manufacturer: "STMicroelectronics",
		product:      productString(m),
		iface:        "ST Link",
		serial:       cfg.Serial,
		rawSerial:    d.RawSerial,
		devnum:       devnum,
	}, nil
}
