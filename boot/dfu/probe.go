// Package dfu probes the STM32 ROM bootloader over USB DFU (AN3156, DfuSe),
// read-only: it finds 0483:DF11, reads the device, configuration and
// string descriptors (the DfuSe memory layouts and the DFU functional
// descriptor), GETSTATUS and CLRSTATUS, the chip ID and the first bytes of
// the option-byte area where the bootloader allows it. It never writes,
// erases, unprotects, detaches or leaves DFU: Session refuses every request
// not on the read-only allow-list (Check) before it reaches the bus.
package dfu

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/google/gousb"

	"github.com/stprobe/stprobe/boot"
	"github.com/stprobe/stprobe/targets/stm32h5"
)

// USB identity of every STM32 ROM DFU.
const (
	VendorST  = 0x0483
	ProductID = 0xDF11
)

// Options configure a probe.
type Options struct {
	// Timeout bounds each control transfer on a real bus (1 s when 0).
	Timeout time.Duration
	// Sleep waits out poll timeouts (time.Sleep when nil).
	Sleep func(time.Duration)
}

// ProbeUSB looks for 0483:DF11 on the USB buses and probes the first one
// found. No such device gives a Silent result (naming other ST devices
// present, which are applications rather than the ROM).
func ProbeUSB(ctx context.Context, opts Options) boot.Result {
	r := boot.Result{Path: boot.PathDFU}
	uctx := gousb.NewContext()
	defer uctx.Close()
	var others []string
	matched := 0
	devs, err := uctx.OpenDevices(func(d *gousb.DeviceDesc) bool {
		if d.Vendor == VendorST && d.Product == ProductID {
			matched++
			return true
		}
		if d.Vendor == VendorST {
			others = append(others, fmt.Sprintf("0483:%04x", uint16(d.Product)))
		}
		return false
	})
	defer func() {
		for _, d := range devs {
			d.Close()
		}
	}()
	if len(devs) == 0 && matched > 0 {
		r.Outcome = boot.Failed
		r.Detail = fmt.Sprintf("dfu: found 0483:DF11 but could not open it (check the udev rules or run with access to the USB device): %v", err)
		return r
	}
	if len(devs) == 0 {
		r.Outcome = boot.Silent
		r.Detail = "no 0483:DF11 (STM32 ROM DFU) on the USB bus"
		if len(others) > 0 {
			r.Detail += "; other ST devices present: " + strings.Join(others, ", ") + " (an application or an ST-LINK, not the ROM)"
		}
		if err != nil {
			r.Detail += fmt.Sprintf(" (some devices could not be opened: %v; check udev permissions)", err)
		}
		return r
	}
	dev := devs[0]
	dev.ControlTimeout = opts.Timeout
	if dev.ControlTimeout <= 0 {
		dev.ControlTimeout = time.Second
	}
	cfg, err := dev.Config(1)
	if err != nil {
		r.Outcome, r.Detail = boot.Failed, fmt.Sprintf("dfu: selecting configuration 1 of 0483:DF11: %v", err)
		return r
	}
	defer cfg.Close()
	intf, err := cfg.Interface(0, 0)
	if err != nil {
		r.Outcome, r.Detail = boot.Failed, fmt.Sprintf("dfu: claiming interface 0 of 0483:DF11 (another program using it?): %v", err)
		return r
	}
	defer intf.Close()
	return Probe(ctx, dev, opts)
}

// Probe reads a DFU device that is open with interface 0 claimed.
func Probe(ctx context.Context, dev Device, opts Options) boot.Result {
	s := NewSession(dev, 0, opts.Sleep)
	info := &boot.DFUInfo{}
	r := boot.Result{Path: boot.PathDFU, DFU: info}
	fail := func(err error) boot.Result {
		r.Outcome, r.Detail = boot.Failed, err.Error()
		return r
	}
	raw, err := s.descriptor(ctx, 0x01, 0, 0, 18)
	if err != nil {
		return fail(err)
	}
	dd, err := ParseDeviceDescriptor(raw)
	if err != nil {
		return fail(fmt.Errorf("dfu: %w", err))
	}
	if dd.VendorID != VendorST || dd.ProductID != ProductID {
		return fail(fmt.Errorf("dfu: the device is %04x:%04x, not the ROM DFU 0483:df11", dd.VendorID, dd.ProductID))
	}
	info.BCDDevice = dd.BCDDevice
	head, err := s.descriptor(ctx, 0x02, 0, 0, 9)
	if err != nil {
		return fail(err)
	}
	total := 9
	if len(head) >= 4 {
		total = max(9, int(head[2])|int(head[3])<<8)
	}
	raw, err = s.descriptor(ctx, 0x02, 0, 0, total)
	if err != nil {
		return fail(err)
	}
	cfg, err := ParseConfig(raw)
	if err != nil {
		return fail(fmt.Errorf("dfu: %w", err))
	}
	if len(cfg.Alts) == 0 {
		return fail(fmt.Errorf("dfu: 0483:df11 shows no DFU interface"))
	}
	if cfg.HasFunc {
		f := cfg.Functional
		info.Attributes, info.DetachMs, info.TransferSize, info.DFUVersion = f.Attributes, f.DetachMs, f.TransferSize, f.Version
	}
	lang := uint16(0x0409)
	str := func(i uint8) string {
		if i == 0 {
			return ""
		}
		b, err := s.descriptor(ctx, 0x03, i, lang, 255)
		if err != nil {
			return ""
		}
		v, _ := ParseString(b)
		return v
	}
	info.Manufacturer, info.Product, info.Serial = str(dd.Manufacturer), str(dd.Product), str(dd.Serial)
	for _, a := range cfg.Alts {
		if a.Interface != 0 {
			continue
		}
		m, err := ParseLayout(int(a.Alt), str(a.StringIndex))
		if err != nil {
			m = boot.Memory{Alt: int(a.Alt), Raw: str(a.StringIndex)}
		}
		info.Memories = append(info.Memories, m)
	}

	st, err := s.GetStatus(ctx)
	if err != nil {
		return fail(err)
	}
	info.State, info.Status = st.State, st.Status
	if st.State == StateError {
		if err := s.ClrStatus(ctx); err != nil {
			return fail(err)
		}
		if st, err = s.GetStatus(ctx); err != nil {
			return fail(err)
		}
		info.Cleared = st.State == StateIdle
	}
	if st.State != StateIdle {
		if err := s.Abort(ctx); err != nil {
			return fail(err)
		}
	}
	r.Outcome = boot.Answered
	if cmds, err := s.Commands(ctx); err == nil {
		info.Commands = cmds
	} else {
		s.recover(ctx)
	}
	if id, err := s.Read(ctx, boot.IDCodeAddr, 4); err == nil && len(id) == 4 {
		r.PID, r.HasPID = uint16(id[0])|uint16(id[1]&0x0F)<<8, true
		r.Line = boot.LineName(r.PID)
	} else {
		s.recover(ctx)
	}
	if bl, ok := stm32h5.Bootloader(r.PID); ok && r.HasPID {
		if b, err := s.Read(ctx, bl.IDAddr, 1); err == nil && len(b) == 1 {
			r.BootloaderID, r.HasBootloaderID = b[0], true
		} else {
			s.recover(ctx)
		}
	}
	if b, err := s.Read(ctx, boot.OPTSRAddr, 16); err == nil {
		r.SetOptionBytes(b)
	} else {
		r.Unreadable = fmt.Sprintf("reading 0x%08X: %v", boot.OPTSRAddr, err)
		s.recover(ctx)
	}
	return r
}

// A gousb device is a Device.
var _ Device = (*gousb.Device)(nil)
