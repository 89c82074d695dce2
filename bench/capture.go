package bench

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/stprobe/stprobe/capture"
	"github.com/stprobe/stprobe/probe"
	"github.com/stprobe/stprobe/probe/da"
	"github.com/stprobe/stprobe/probe/sweep"
	"github.com/stprobe/stprobe/statefile"
	"github.com/stprobe/stprobe/targets"
)

// CaptureFile is a capture: one board's state as read (package capture).
type CaptureFile = capture.File

// CaptureRequest is what a capture job reads besides its fixed list.
type CaptureRequest struct {
	// WithFlash also reads the user flash (its non-erased blocks): the
	// firmware, which may hold secrets. Off by default.
	WithFlash bool
	// CellTimeout bounds each sweep cell (0: the sweep's default).
	CellTimeout time.Duration
}

// captureLimit bounds a capture: a default sweep, the option bytes, the
// regions, a DA discovery, and with flash a full read of the largest part.
const captureLimit = 4 * time.Minute

// Capture reads the board read-only — the probe, the voltage, a default
// sweep with every cell's outcome, the chip's identification, every option
// register (_CUR and _PRG), the product state and TZEN, the readability of
// the memory regions, and a debug-authentication discovery — and returns it
// as a capture. It never writes to the chip (the sweep and the discovery
// reset it through NRST, as they always do).
func (b *Bench) Capture(ctx context.Context, t Token, r CaptureRequest) (*CaptureFile, error) {
	return do(b, ctx, t, "capture", captureLimit, func(ctx context.Context) (*capture.File, error) {
		return b.capture(ctx, r)
	})
}

func (b *Bench) capture(ctx context.Context, r CaptureRequest) (*capture.File, error) {
	snap := b.Snapshot()
	f := &capture.File{Format: capture.Format, Version: capture.Version}
	f.Header = capture.Header{Taken: b.now().UTC().Format(time.RFC3339), Tool: "stprobe", Source: captureSource(snap, b.sel)}
	pi := snap.Probe
	f.Probe = capture.Probe{Model: pi.Model, Firmware: pi.Firmware, VID: capture.Hex16(pi.VID), PID: capture.Hex16(pi.PID), Serial: pi.Serial, Backend: pi.Backend}
	note := func(format string, a ...any) { f.Header.Notes = append(f.Header.Notes, fmt.Sprintf(format, a...)) }

	// the sweep: every cell, then (when the core port is closed) the DA
	// discovery it runs
	cell := r.CellTimeout
	if cell <= 0 {
		cell = sweep.DefaultCellTimeout
	}
	plan := sweep.DefaultPlan(b.link.SWDFrequencies())
	res, err := b.sweep(ctx, plan, cell, SweepRequest{})
	if res == nil || errors.Is(err, probe.ErrDisconnected) || ctx.Err() != nil {
		return nil, fmt.Errorf("capture: the sweep: %w", err)
	}
	if err != nil {
		note("the sweep stopped: %v", err)
	}
	m := res.Matrix
	f.Target.Millivolts, f.Target.HasVoltage = int(m.Header.Voltage*1000+0.5), m.Header.HasVoltage
	f.Sweep = captureSweep(res)
	for _, c := range m.Cells {
		if f.Target.DPIDR == 0 && c.DPIDR != 0 {
			f.Target.DPIDR = capture.Hex32(c.DPIDR)
		}
		if c.APIDR != 0 && !hasAP(f.Target.APs, c.AP) {
			f.Target.APs = append(f.Target.APs, capture.AP{AP: c.AP, IDR: capture.Hex32(c.APIDR)})
		}
	}

	// the chip and its option bytes, Hot Plug on AP1
	if f.Target.DPIDR != 0 {
		o, err := b.readOB(ctx, OBRequest{})
		switch {
		case err != nil && (errors.Is(err, probe.ErrDisconnected) || ctx.Err() != nil):
			return nil, fmt.Errorf("capture: reading the option bytes: %w", err)
		case err != nil:
			note("option bytes not read: %v", err)
		default:
			captureChip(f, o)
			if o.Closed != nil {
				note("option bytes not read: %v", o.Closed.Err)
			}
		}
		if err := b.captureRegions(ctx, f, r.WithFlash); err != nil {
			return nil, err
		}
		// the discovery last: it leaves the ROM in its DA loop until the
		// next reset
		d, err := da.Discover(ctx, b.link, da.Options{})
		if err != nil && (errors.Is(err, probe.ErrDisconnected) || ctx.Err() != nil) {
			return nil, fmt.Errorf("capture: the DA discovery: %w", err)
		}
		f.DA = captureDA(d, err)
		if d != nil {
			b.update(func(s *Snapshot) { s.Discovery = d })
		}
	} else {
		note("nothing answered SWD: no chip, option bytes, regions or DA discovery to read")
	}
	f.Header.Holds, f.Header.WithFlash = holds(f), r.WithFlash
	f.Header.Secrets = "none: no flash contents, keys, passwords or OBK data (the DA discovery holds the chip's public identity only)"
	if r.WithFlash {
		f.Header.Secrets = "the user flash contents (--with-flash): the firmware, and whatever it holds; share with care"
	}
	return f, nil
}

// captureSource names what the capture was taken from.
func captureSource(s Snapshot, sel Selector) string {
	switch {
	case sel.Twin != "":
		return "twin of " + sel.Twin
	case s.Scenario != "":
		return "simulated " + s.Scenario
	case sel.Server != "":
		return "stlink-server " + sel.Server
	}
	return s.Probe.Backend
}

func hasAP(aps []capture.AP, n uint8) bool {
	for _, a := range aps {
		if a.AP == n {
			return true
		}
	}
	return false
}

// holds names the sections f holds.
func holds(f *capture.File) []string {
	h := []string{"probe", "target"}
	add := func(ok bool, name string) {
		if ok {
			h = append(h, name)
		}
	}
	add(f.Chip != nil, "chip")
	add(f.State != nil, "state")
	add(f.OptionBytes != nil, "option_bytes")
	add(f.DA != nil, "da")
	add(f.Sweep != nil, "sweep")
	add(len(f.Regions) > 0, "regions")
	add(len(f.Flash) > 0, "flash")
	return h
}

// captureSweep turns the matrix into the capture's cells.
func captureSweep(res *SweepResult) *capture.Sweep {
	s := &capture.Sweep{}
	for _, c := range res.Matrix.Cells {
		s.Cells = append(s.Cells, capture.Cell{
			Mode: c.Mode.String(), AP: c.AP, KHz: c.KHz, Outcome: string(c.Outcome), Reason: c.Reason,
			DPIDR: capture.Hex32(c.DPIDR), APIDR: capture.Hex32(c.APIDR), IDCode: capture.Hex32(c.IDCode),
			State: capture.Hex8(c.State), TZEN: capture.Hex8(c.TZEN),
			WallUS: c.Wall.Microseconds(), WireUS: c.Wire.Microseconds(),
		})
	}
	for _, fd := range res.Findings {
		s.Findings = append(s.Findings, fd.Title)
	}
	return s
}

// captureChip fills the chip, the state and the option bytes from a read.
func captureChip(f *capture.File, o *OptionBytes) {
	if c := o.Chip; c != nil {
		cc := &capture.Chip{IDCode: capture.Hex32(c.IDCode), DevID: capture.Hex16(c.DevID), RevID: capture.Hex16(c.RevID),
			Name: c.Line.Name, Revision: c.Revision, IDCodeAP: c.IDCodeAP}
		if c.HasUID {
			cc.UID = []capture.Hex32{capture.Hex32(c.UID[0]), capture.Hex32(c.UID[1]), capture.Hex32(c.UID[2])}
		}
		if c.HasFlashSize {
			cc.FlashKB = int(c.FlashKB)
		}
		if c.HasPackage {
			cc.Package = capture.Hex16(c.PackageCode)
		}
		if c.EngineeringAreaErr != nil {
			cc.Notes = append(cc.Notes, fmt.Sprintf("engineering area unreadable: %v", c.EngineeringAreaErr))
		}
		f.Chip = cc
	}
	if o.Snap == nil || o.Layout == nil {
		return
	}
	ob := &capture.OptionBytes{Line: o.Layout.LineName}
	for _, r := range o.Layout.Registers {
		ob.Registers = append(ob.Registers, capture.Register{Name: r.Name, Cur: capture.Hex32(o.Snap.Cur[r.Name]), Prg: capture.Hex32(o.Snap.Prg[r.Name])})
	}
	f.OptionBytes = ob
	if o.RDPFamily() {
		return // no product state: the RDP level is in the chip's registers
	}
	st := &capture.State{ProductState: capture.Hex8(targets.ProductStateOf(o.Snap.Cur["OPTSR"])), OptionsUnlocked: o.Snap.Unlocked}
	st.Name = targets.ProductState(st.ProductState).String()
	if v, ok := o.Snap.Cur["OPTSR2"]; ok && o.Chip != nil && o.Chip.Line.TrustZone {
		st.TZEN = capture.Hex8(targets.TZENOf(v))
	}
	f.State = st
}

// captureRegions reads one word at the start of each memory region through
// the core port (Hot Plug), and with withFlash the non-erased flash blocks.
func (b *Bench) captureRegions(ctx context.Context, f *capture.File, withFlash bool) error {
	if f.Chip == nil {
		return nil
	}
	fam := targets.STM32H5()
	line, ok := fam.Line(uint16(f.Chip.DevID))
	if !ok {
		return nil
	}
	type reg struct {
		name string
		addr uint32
	}
	regs := []reg{{"flash", targets.FlashMemBase}, {"sram", targets.SRAMBase}, {"otp", targets.H5OTP}, {"engineering area", fam.UIDAddr}}
	if line.TrustZone {
		regs = append(regs, reg{"flash (secure alias)", targets.FlashMemBaseSecure}, reg{"sram (secure alias)", targets.SRAMBaseSecure})
	}
	l := b.link
	rep, err := probe.Connect(ctx, l, HotPlugAP1)
	if err != nil {
		return fmt.Errorf("capture: connecting Hot Plug on AP1 for the regions: %w", err)
	}
	defer func() { _ = probe.Disconnect(ctx, l) }()
	for _, g := range regs {
		rg := capture.Region{Name: g.name, Address: capture.Hex32(g.addr)}
		if !rep.OK() {
			rg.Err = "the core access port (AP1) does not answer"
		} else if _, err := l.Read32(ctx, 1, g.addr); err != nil {
			if errors.Is(err, probe.ErrDisconnected) || ctx.Err() != nil {
				return fmt.Errorf("capture: reading 0x%08X: %w", g.addr, err)
			}
			rg.Err = err.Error()
		} else {
			rg.Readable = true
		}
		f.Regions = append(f.Regions, rg)
	}
	if !withFlash || !rep.OK() {
		return nil
	}
	kb := f.Chip.FlashKB
	if kb == 0 {
		kb = line.MaxFlashKB
	}
	const block = 2048
	erased := bytes.Repeat([]byte{0xFF}, block)
	for a := uint32(0); a < uint32(kb)<<10; a += block {
		buf := make([]byte, block)
		if err := l.ReadMem(ctx, 1, targets.FlashMemBase+a, 4, buf); err != nil {
			return fmt.Errorf("capture: reading the flash at 0x%08X (--with-flash): %w", targets.FlashMemBase+a, err)
		}
		if !bytes.Equal(buf, erased) {
			f.Flash = append(f.Flash, capture.Block{Address: capture.Hex32(targets.FlashMemBase + a), Data: buf})
		}
	}
	return nil
}

// captureDA turns a discovery (or its error) into the capture's words.
func captureDA(d *da.Discovery, err error) *capture.DA {
	if err != nil {
		return &capture.DA{Err: err.Error()}
	}
	out := &capture.DA{RequestWord: capture.Hex32(d.RequestWord), ReplyWord: capture.Hex32(d.ReplyWord),
		Lifecycle: capture.Hex16(d.Lifecycle), Method: d.Method(), Permissions: capture.Hex32(d.PermissionWord()), SDAVersion: d.SDAVersion}
	out.State = capture.Hex8(d.State)
	if d.UID != [3]uint32{} {
		out.UID = []capture.Hex32{capture.Hex32(d.UID[0]), capture.Hex32(d.UID[1]), capture.Hex32(d.UID[2])}
	}
	if d.HasIntegrity {
		out.Integrity = capture.Hex32(d.Integrity)
	}
	for _, w := range d.Drained {
		out.Drained = append(out.Drained, capture.Hex32(w))
	}
	for _, c := range d.Cryptosystems {
		out.Cryptosystems = append(out.Cryptosystems, int(c))
	}
	for _, t := range d.TLVs {
		out.TLVs = append(out.TLVs, capture.TLV{Type: capture.Hex16(t.Type), Value: hex.EncodeToString(t.Value)})
	}
	return out
}

// SaveCapture writes the capture f into the captures folder of the state
// directory dir, named by when it was taken, and returns its path; the
// file appears whole or not at all.
func SaveCapture(dir string, f *CaptureFile, now time.Time) (string, error) {
	data, err := EncodeCapture(f)
	if err != nil {
		return "", err
	}
	if err := statefile.EnsureDir(dir); err != nil {
		return "", err
	}
	cdir := filepath.Join(dir, "captures")
	if err := os.MkdirAll(cdir, 0o700); err != nil {
		return "", fmt.Errorf("file: creating %s: %w", cdir, err)
	}
	path := filepath.Join(cdir, "capture-"+now.UTC().Format("20060102T150405Z")+".json")
	if err := statefile.WriteAtomic(path, data); err != nil {
		return "", err
	}
	return path, nil
}
