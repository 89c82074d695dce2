package probe

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/stprobe/stprobe/probe/proto"
)

// Link is the ST-LINK command layer over one Transport. It knows the
// firmware's version and limits and turns every reply into a value or a typed
// error. A Link is safe for concurrent use: one command sequence runs at a
// time. Once the transport reports ErrDisconnected, every method returns it.
type Link struct {
	mu  sync.Mutex
	t   Transport
	cfg linkConfig
	v   proto.Version

	freqs   []int // SWD kHz ladder, fastest first
	khz     int   // SWD clock last set (0: unknown)
	dead    error // set once the probe is gone
	inDebug bool  // ENTER SWD succeeded and no EXIT since
	nrstLow bool  // we drive NRST low
	opened  [256]bool
}

// linkConfig collects the Options.
type linkConfig struct {
	log       *logrus.Logger
	events    func(Event)
	waitTries int
	waitFirst time.Duration
	waitMax   time.Duration
}

// Option configures a Link.
type Option func(*linkConfig)

// WithLogger logs to l: every transfer (command, data, reply, status) at
// trace level, retries at debug level.
func WithLogger(l *logrus.Logger) Option { return func(c *linkConfig) { c.log = l } }

// WithEvents delivers progress events (long memory transfers, connect
// steps) to fn. fn runs on the caller's goroutine while the Link is busy; it
// must not call back into the Link.
func WithEvents(fn func(Event)) Option { return func(c *linkConfig) { c.events = fn } }

// WithWaitRetry sets how a WAIT status (the target asking for time) is
// retried: at most tries attempts in all, sleeping first, then twice as long
// each time up to max. The defaults are 8 attempts from 50 µs up to 10 ms.
func WithWaitRetry(tries int, first, max time.Duration) Option {
	return func(c *linkConfig) {
		c.waitTries, c.waitFirst, c.waitMax = max1(tries), first, max
	}
}

func max1(n int) int {
	if n < 1 {
		return 1
	}
	return n
}

// Default WAIT retry policy.
const (
	DefaultWaitTries = 8
	DefaultWaitFirst = 50 * time.Microsecond
	DefaultWaitMax   = 10 * time.Millisecond
)

// Event reports progress of a long operation, for a UI to render.
type Event struct {
	Time    time.Time
	Op      string // e.g. "read memory", "connect"
	Message string // one line for humans
	Done    int    // bytes (memory) or steps done
	Total   int    // bytes or steps in all; 0 when unknown
}

// NewLink takes over a probe: it reads the firmware version (GET_VERSION,
// and GET_VERSION_EXT on V3 and later), leaves DFU, mass-storage, SWIM or
// debug mode so the probe is idle, and on V3 reads the SWD clock list. On
// error the transport is left open for the caller to close.
func NewLink(ctx context.Context, t Transport, opts ...Option) (*Link, error) {
	l := &Link{t: t, cfg: linkConfig{
		waitTries: DefaultWaitTries, waitFirst: DefaultWaitFirst, waitMax: DefaultWaitMax,
	}}
	for _, o := range opts {
		o(&l.cfg)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.readVersion(ctx); err != nil {
		return nil, err
	}
	if err := l.leaveMode(ctx); err != nil {
		return nil, err
	}
	if l.v.HasComFreq() {
		cur, list, err := l.getComFreq(ctx)
		switch {
		case err != nil && isTransport(err):
			return nil, err
		case err != nil:
			// a probe that cannot list its clocks can still be used: assume
			// the usual V3 ladder and let SET_COM_FREQ report the truth
			if l.cfg.log != nil {
				l.cfg.log.WithError(err).Warn("reading the SWD clock list failed; assuming the usual STLINK-V3 list")
			}
			l.freqs = l.v.SWDLadder()
		default:
			l.freqs, l.khz = list, cur
		}
	} else {
		l.freqs = l.v.SWDLadder()
	}
	return l, nil
}

func (l *Link) readVersion(ctx context.Context) error {
	b := make([]byte, replyVersion)
	if err := l.xfer(ctx, "get version", cmd(proto.CmdGetVersion), nil, b); err != nil {
		return err
	}
	var ext []byte
	if b[0]>>4 >= 3 {
		ext = make([]byte, replyVersionExt)
		if err := l.xfer(ctx, "get extended version", cmd(proto.CmdGetVersionExt), nil, ext); err != nil {
			return err
		}
	}
	v, err := decodeVersion(b, ext)
	if err != nil {
		return err
	}
	l.v = v
	return nil
}

// Version is the probe's firmware version as read by NewLink.
func (l *Link) Version() proto.Version { return l.v }

// ErrClosed is returned by the methods of a Link after Close.
var ErrClosed = errors.New("probe link is closed")

// Close leaves debug mode (best effort, releasing NRST first if this Link
// drove it low) and closes the transport. Closing twice does nothing.
func (l *Link) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.dead == ErrClosed {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if l.dead == nil {
		if l.nrstLow {
			_ = l.driveNRST(ctx, proto.NRSTHigh)
		}
		if l.inDebug {
			_ = l.exitDebug(ctx)
		}
	}
	if l.dead == nil {
		l.dead = ErrClosed
	}
	return l.t.Close()
}

// Mode asks the probe which mode it is in.
func (l *Link) Mode(ctx context.Context) (proto.Mode, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.mode(ctx)
}

func (l *Link) mode(ctx context.Context) (proto.Mode, error) {
	b := make([]byte, replyMode)
	if err := l.xfer(ctx, "get current mode", cmd(proto.CmdGetCurrentMode), nil, b); err != nil {
		return 0, err
	}
	return decodeMode(b)
}

// LeaveMode brings the probe back to idle from DFU, SWIM or debug mode
// (mass-storage mode already is idle).
func (l *Link) LeaveMode(ctx context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.leaveMode(ctx)
}

func (l *Link) leaveMode(ctx context.Context) error {
	m, err := l.mode(ctx)
	if err != nil {
		return err
	}
	switch m {
	case proto.ModeDFU:
		return l.xfer(ctx, "leave DFU mode", cmd(proto.CmdDFU, proto.DFUExit), nil, nil)
	case proto.ModeSWIM:
		return l.xfer(ctx, "leave SWIM mode", cmd(proto.CmdSWIM, proto.SWIMExit), nil, nil)
	case proto.ModeDebug:
		return l.exitDebug(ctx)
	}
	return nil
}

// TargetVoltage reads the target supply seen on the probe's VAPP pin, in volts.
func (l *Link) TargetVoltage(ctx context.Context) (float64, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	const op = "read target voltage"
	if !l.v.HasTargetVoltage() {
		return 0, l.needV2(op, "reading the target voltage", proto.MinV2JTargetVoltage)
	}
	b := make([]byte, replyVoltage)
	if err := l.xfer(ctx, op, cmd(proto.CmdGetTargetVoltage), nil, b); err != nil {
		return 0, err
	}
	return decodeVoltage(b)
}

// SWDFrequencies is the SWD clock ladder the probe supports in kHz, fastest
// first (the V2 divider table, or the list a V3 reported).
func (l *Link) SWDFrequencies() []int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]int(nil), l.freqs...)
}

// SWDFrequency is the SWD clock last set in kHz (on V3 the one reported at
// open), or 0 when not known yet.
func (l *Link) SWDFrequency() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.khz
}

// SetSWDFrequency selects the fastest supported SWD clock not above khz (the
// slowest one when khz is below them all) and returns the frequency really
// set, as the probe reports it on V3.
func (l *Link) SetSWDFrequency(ctx context.Context, khz int) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	const op = "set SWD frequency"
	if khz <= 0 {
		return 0, fmt.Errorf("%s: %d kHz is not a frequency", op, khz)
	}
	want := proto.NearestKHz(l.freqs, khz)
	if l.v.HasComFreq() {
		c := cmd(proto.CmdDebug, proto.DebugSetComFreq, 0)
		binary.LittleEndian.PutUint32(c[4:8], uint32(want))
		got, err := l.statusWord(ctx, op, c, replySetComFreq)
		if err != nil {
			return 0, err
		}
		if got == 0 {
			got = uint32(want)
		}
		l.khz = int(got)
		return l.khz, nil
	}
	if !l.v.HasSWDSetFreq() {
		return 0, l.needV2(op, "setting the SWD clock", proto.MinV2JSWDSetFreq)
	}
	var div uint16
	for _, d := range proto.V2SWDTable {
		if d.KHz == want {
			div = d.Divisor
		}
	}
	c := cmd(proto.CmdDebug, proto.DebugSWDSetFreq)
	binary.LittleEndian.PutUint16(c[2:4], div)
	if _, err := l.statusCmd(ctx, op, c, replyStatus); err != nil {
		return 0, err
	}
	l.khz = want
	return want, nil
}

// getComFreq asks a V3 for its SWD clock list (GET_COM_FREQ).
func (l *Link) getComFreq(ctx context.Context) (int, []int, error) {
	const op = "get SWD frequencies"
	b := make([]byte, replyGetComFreq)
	if err := l.xfer(ctx, op, cmd(proto.CmdDebug, proto.DebugGetComFreq, 0), nil, b); err != nil {
		return 0, nil, err
	}
	return decodeComFreq(b)
}

// EnterSWD puts the probe in SWD debug mode (line reset, DPIDR read by the
// firmware). Access ports opened before are forgotten by the firmware.
func (l *Link) EnterSWD(ctx context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.opened = [256]bool{}
	if _, err := l.statusCmd(ctx, "enter SWD", cmd(proto.CmdDebug, proto.DebugEnter, proto.EnterSWD), replyStatus); err != nil {
		return err
	}
	l.inDebug = true
	return nil
}

// ExitDebug leaves debug mode; the firmware closes every access port.
func (l *Link) ExitDebug(ctx context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.exitDebug(ctx)
}

func (l *Link) exitDebug(ctx context.Context) error {
	err := l.xfer(ctx, "leave debug mode", cmd(proto.CmdDebug, proto.DebugExit), nil, nil)
	if err == nil {
		l.inDebug = false
		l.opened = [256]bool{}
	}
	return err
}

// DriveNRST drives the target's reset line: proto.NRSTLow holds the target
// in reset, proto.NRSTHigh releases it, proto.NRSTPulse pulses it.
func (l *Link) DriveNRST(ctx context.Context, action byte) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.driveNRST(ctx, action)
}

func (l *Link) driveNRST(ctx context.Context, action byte) error {
	names := map[byte]string{proto.NRSTLow: "assert NRST", proto.NRSTHigh: "release NRST", proto.NRSTPulse: "pulse NRST"}
	op, ok := names[action]
	if !ok {
		return fmt.Errorf("drive NRST: action %d is not NRSTLow, NRSTHigh or NRSTPulse", action)
	}
	if action == proto.NRSTLow {
		// pessimistic: if the reply is lost the line may be low anyway,
		// and Disconnect must release it
		l.nrstLow = true
	}
	if _, err := l.statusCmd(ctx, op, cmd(proto.CmdDebug, proto.DebugDriveNRST, action), replyStatus); err != nil {
		return err
	}
	l.nrstLow = action == proto.NRSTLow
	return nil
}

// NRSTAsserted reports whether this Link drove NRST low (or tried to) and
// has not released it since.
func (l *Link) NRSTAsserted() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.nrstLow
}

// ReadIDCode reads the SW-DP DPIDR through READ_IDCODES.
func (l *Link) ReadIDCode(ctx context.Context) (uint32, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.statusWord(ctx, "read DPIDR", cmd(proto.CmdDebug, proto.DebugReadIDCodes), replyIDCodes)
}

// cmd builds a 16-byte command block from its leading bytes.
func cmd(b ...byte) [16]byte {
	var c [16]byte
	copy(c[:], b)
	return c
}

// needV2 is the FirmwareError for a feature that needs V2 firmware level j
// (every V3 has it).
func (l *Link) needV2(op, feature string, j int) error {
	return &FirmwareError{Op: op, Feature: feature, Need: proto.Version{Hardware: 2, JTAG: j}, Have: l.v}
}

// xfer runs one transfer with logging and error mapping. The caller holds mu.
func (l *Link) xfer(ctx context.Context, op string, c [16]byte, out, in []byte) error {
	if l.dead != nil {
		return fmt.Errorf("%s: %w", op, l.dead)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	err := l.t.Xfer(ctx, c, out, in)
	if err != nil {
		err = mapTransportError(ctx, err)
		if errors.Is(err, ErrDisconnected) {
			l.dead = err
		}
		if LayerOf(err) == "" && ctx.Err() == nil {
			err = &TransferError{Err: err}
		}
	}
	l.logXfer(op, c, out, in, err)
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	return nil
}

// logXfer logs one transfer at trace level: the full 16-byte command, the
// OUT data and the IN reply in hex, and its status (ok, or the error).
func (l *Link) logXfer(op string, c [16]byte, out, in []byte, err error) {
	lg := l.cfg.log
	if lg == nil || !lg.IsLevelEnabled(logrus.TraceLevel) {
		return
	}
	f := logrus.Fields{"cmd": fmt.Sprintf("% x", c[:]), "status": "ok"}
	if len(out) > 0 {
		f["out"] = fmt.Sprintf("% x", out)
	}
	if len(in) > 0 && err == nil {
		f["reply"] = fmt.Sprintf("% x", in)
	}
	if err != nil {
		f["status"] = "error"
		f["err"] = err.Error()
	}
	lg.WithFields(f).Trace(op)
}

// emit delivers a progress event.
func (l *Link) emit(op, msg string, done, total int) {
	if l.cfg.events == nil {
		return
	}
	l.cfg.events(Event{Time: time.Now(), Op: op, Message: msg, Done: done, Total: total})
}

// statusCmd sends c, reads an n-byte reply whose first byte is a status and
// retries WAIT. The caller holds mu.
func (l *Link) statusCmd(ctx context.Context, op string, c [16]byte, n int) ([]byte, error) {
	var b []byte
	err := l.retryWait(ctx, op, func() error {
		b = make([]byte, n)
		if err := l.xfer(ctx, op, c, nil, b); err != nil {
			return err
		}
		return checkStatus(op, b)
	})
	return b, err
}

// statusWord sends c and decodes its n-byte reply of a status and a word
// (decodeStatusWord), retrying WAIT. The caller holds mu.
func (l *Link) statusWord(ctx context.Context, op string, c [16]byte, n int) (uint32, error) {
	b, err := l.statusCmd(ctx, op, c, n)
	if err != nil {
		return 0, err
	}
	return decodeStatusWord(op, b, n)
}

// retryWait runs fn until it returns something other than a WAIT status, at
// most waitTries times, with capped exponential backoff that honours ctx.
func (l *Link) retryWait(ctx context.Context, op string, fn func() error) error {
	delay := l.cfg.waitFirst
	for try := 1; ; try++ {
		err := fn()
		var se *StatusError
		if err == nil || !errors.As(err, &se) || !se.IsWait() || try >= l.cfg.waitTries {
			return err
		}
		if lg := l.cfg.log; lg != nil {
			lg.WithFields(logrus.Fields{"try": try, "status": fmt.Sprintf("0x%02X", uint8(se.Status))}).Debugf("%s: WAIT, retrying in %v", op, delay)
		}
		if delay > 0 {
			t := time.NewTimer(delay)
			select {
			case <-ctx.Done():
				t.Stop()
				return fmt.Errorf("%s: %w (after WAIT)", op, ctx.Err())
			case <-t.C:
			}
		} else if ctx.Err() != nil {
			return fmt.Errorf("%s: %w (after WAIT)", op, ctx.Err())
		}
		delay *= 2
		if delay > l.cfg.waitMax {
			delay = l.cfg.waitMax
		}
	}
}
