package probe

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/stprobe/stprobe/adi"
	"github.com/stprobe/stprobe/probe/proto"
)

// powerUpPollBudget is how many CTRL/STAT reads PowerUpDebug makes before
// giving up on the power-up ACKs.
const powerUpPollBudget = 16

// ReadDP reads a DP register (bank in bits [7:4], needs banked-DP firmware).
func (l *Link) ReadDP(ctx context.Context, reg uint16) (uint32, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.readDAP(ctx, fmt.Sprintf("read DP register 0x%02X", reg), proto.DAPPortDP, reg)
}

// WriteDP writes a DP register.
func (l *Link) WriteDP(ctx context.Context, reg uint16, v uint32) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.writeDAP(ctx, fmt.Sprintf("write DP register 0x%02X", reg), proto.DAPPortDP, reg, v)
}

// ReadAPReg reads a register of access port ap, opening the port first if
// the firmware needs it.
func (l *Link) ReadAPReg(ctx context.Context, ap uint8, reg uint16) (uint32, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	op := fmt.Sprintf("read AP%d register 0x%02X", ap, reg)
	if err := l.ensureAP(ctx, op, ap); err != nil {
		return 0, err
	}
	v, err := l.readDAP(ctx, op, uint16(ap), reg)
	l.afterFault(ctx, err)
	return v, err
}

// WriteAPReg writes a register of access port ap.
func (l *Link) WriteAPReg(ctx context.Context, ap uint8, reg uint16, v uint32) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	op := fmt.Sprintf("write AP%d register 0x%02X", ap, reg)
	if err := l.ensureAP(ctx, op, ap); err != nil {
		return err
	}
	err := l.writeDAP(ctx, op, uint16(ap), reg, v)
	l.afterFault(ctx, err)
	return err
}

func (l *Link) checkDAP(op string, port, reg uint16) error {
	if !l.v.HasDAPRegister() {
		return l.needV2(op, "DP/AP register access", proto.MinV2JDAPRegister)
	}
	if port == proto.DAPPortDP && reg&0xF0 != 0 && !l.v.HasBankedDP() {
		if l.v.Hardware >= 3 {
			return &FirmwareError{Op: op, Feature: "banked DP registers", Need: proto.Version{Hardware: 3, JTAG: proto.MinV3JBankedDP}, Have: l.v}
		}
		return l.needV2(op, "banked DP registers", proto.MinV2JBankedDP)
	}
	return nil
}

func (l *Link) readDAP(ctx context.Context, op string, port, reg uint16) (uint32, error) {
	if err := l.checkDAP(op, port, reg); err != nil {
		return 0, err
	}
	c := cmd(proto.CmdDebug, proto.DebugReadDAPReg)
	binary.LittleEndian.PutUint16(c[2:4], port)
	binary.LittleEndian.PutUint16(c[4:6], reg)
	return l.statusWord(ctx, op, c, replyDAPRead)
}

func (l *Link) writeDAP(ctx context.Context, op string, port, reg uint16, v uint32) error {
	if err := l.checkDAP(op, port, reg); err != nil {
		return err
	}
	c := cmd(proto.CmdDebug, proto.DebugWriteDAPReg)
	binary.LittleEndian.PutUint16(c[2:4], port)
	binary.LittleEndian.PutUint16(c[4:6], reg)
	binary.LittleEndian.PutUint32(c[6:10], v)
	_, err := l.statusCmd(ctx, op, c, replyStatus)
	return err
}

// OpenAP opens access port ap (INIT_AP). It checks the firmware first:
// ports other than 0 need V2J28, ports above 3 need V2J32, ports above 8 an
// STLINK-V3. On firmware without INIT_AP, opening AP0 does nothing.
func (l *Link) OpenAP(ctx context.Context, ap uint8) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.openAP(ctx, fmt.Sprintf("open AP%d", ap), ap)
}

// apGate returns a FirmwareError when the firmware cannot reach port ap.
func (l *Link) apGate(op string, ap uint8) error {
	if need, ok := l.v.APNeed(ap); !ok {
		return &FirmwareError{Op: op, Feature: fmt.Sprintf("AP%d", ap), Need: need, Have: l.v}
	}
	return nil
}

func (l *Link) openAP(ctx context.Context, op string, ap uint8) error {
	if err := l.apGate(op, ap); err != nil {
		return err
	}
	if !l.v.HasMultiAP() {
		return nil
	}
	if _, err := l.statusCmd(ctx, op, cmd(proto.CmdDebug, proto.DebugInitAP, ap, 0), replyStatus); err != nil {
		return err
	}
	l.opened[ap] = true
	return nil
}

// ensureAP opens ap unless it is already open.
func (l *Link) ensureAP(ctx context.Context, op string, ap uint8) error {
	if l.opened[ap] {
		return nil
	}
	return l.openAP(ctx, op, ap)
}

// CloseAP closes access port ap (CLOSE_AP). The status is ignored on firmware
// older than V2J29, which returns garbage there.
func (l *Link) CloseAP(ctx context.Context, ap uint8) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.closeAP(ctx, ap)
}

func (l *Link) closeAP(ctx context.Context, ap uint8) error {
	op := fmt.Sprintf("close AP%d", ap)
	if !l.v.HasMultiAP() {
		return nil
	}
	c := cmd(proto.CmdDebug, proto.DebugCloseAP, ap)
	if !l.v.HasCloseAPStatus() {
		err := l.xfer(ctx, op, c, nil, make([]byte, replyStatus))
		if err == nil {
			l.opened[ap] = false
		}
		return err
	}
	if _, err := l.statusCmd(ctx, op, c, replyStatus); err != nil {
		return err
	}
	l.opened[ap] = false
	return nil
}

// OpenedAPs lists the access ports this Link opened and has not closed.
func (l *Link) OpenedAPs() []uint8 {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []uint8
	for i, o := range l.opened {
		if o {
			out = append(out, uint8(i))
		}
	}
	return out
}

// PowerUpDebug clears sticky errors, requests debug and system power-up in
// CTRL/STAT and polls (a bounded number of reads) until both are
// acknowledged. It reads CTRL/STAT first: when both requests are already
// acknowledged and no sticky flag is set, it writes nothing. It returns the
// last CTRL/STAT read.
func (l *Link) PowerUpDebug(ctx context.Context) (uint32, error) {
	cs, _, err := l.powerUpDebug(ctx)
	return cs, err
}

// powerUpDebug is PowerUpDebug that also reports whether the first read
// found the debug domain powered up with no sticky error, so that nothing
// was written: what the firmware's ENTER left.
func (l *Link) powerUpDebug(ctx context.Context) (cs uint32, wasUp bool, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	const op = "power up debug"
	// ENTER already powers the debug domain up and clears the sticky
	// errors (the firmware's connect sequence): one read shows it, and the
	// writes are then skipped.
	cs, err = l.readDAP(ctx, op, proto.DAPPortDP, adi.DPCtrlStat)
	if err != nil {
		return cs, false, err
	}
	const sticky = adi.CtrlStickyOrun | adi.CtrlStickyCmp | adi.CtrlStickyErr | adi.CtrlWDataErr
	if cs&(adi.CtrlPowerUpReqs|adi.CtrlPowerUpAcks) == adi.CtrlPowerUpReqs|adi.CtrlPowerUpAcks && cs&sticky == 0 {
		return cs, true, nil
	}
	if err := l.writeDAP(ctx, op, proto.DAPPortDP, adi.DPAbort, adi.AbortClearAll); err != nil {
		return 0, false, err
	}
	if err := l.writeDAP(ctx, op, proto.DAPPortDP, adi.DPCtrlStat, adi.CtrlPowerUpReqs); err != nil {
		return 0, false, err
	}
	for range powerUpPollBudget {
		cs, err = l.readDAP(ctx, op, proto.DAPPortDP, adi.DPCtrlStat)
		if err != nil {
			return cs, false, err
		}
		if cs&adi.CtrlPowerUpAcks == adi.CtrlPowerUpAcks {
			return cs, false, nil
		}
	}
	return cs, false, &OpError{Op: op, Where: LayerDP,
		What: fmt.Sprintf("debug power-up not acknowledged (CTRL/STAT 0x%08X)", cs),
		Next: "check target power; the chip may be in a low-power mode: try Under Reset"}
}

// ClearErrors clears the DP sticky error flags (ABORT = 0x1E).
func (l *Link) ClearErrors(ctx context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.writeDAP(ctx, "clear sticky errors", proto.DAPPortDP, adi.DPAbort, adi.AbortClearAll)
}

// afterFault clears sticky errors after an AP or DP fault so the next access
// is not refused; failures here are logged, not returned.
func (l *Link) afterFault(ctx context.Context, err error) {
	var se *StatusError
	if err == nil || !errors.As(err, &se) || !needsStickyClear(se.Status) || !l.v.HasDAPRegister() {
		return
	}
	abort := uint32(adi.AbortClearAll)
	if se.IsWait() {
		abort |= adi.AbortDAPAbort // give up the transfer the target kept waiting
	}
	cerr := l.writeDAP(ctx, "clear sticky errors", proto.DAPPortDP, adi.DPAbort, abort)
	if cerr != nil && l.cfg.log != nil {
		l.cfg.log.WithError(cerr).Debug("clearing sticky errors after a fault failed")
	}
}

// needsStickyClear reports statuses after which the DP holds a sticky error.
func needsStickyClear(s proto.Status) bool {
	switch s {
	case proto.StatusUnknownError,
		proto.StatusSWDAPWait, proto.StatusSWDAPFault, proto.StatusSWDAPError, proto.StatusSWDAPParityError,
		proto.StatusSWDDPWait, proto.StatusSWDDPFault, proto.StatusSWDDPParityError,
		proto.StatusSWDAPWDataError, proto.StatusSWDAPStickyError, proto.StatusSWDAPStickyOrunError:
		return true
	}
	return false
}
