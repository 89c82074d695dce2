// Package sim is a simulated ST-LINK: the firmware (every command a host
// sends, with the reply lengths, statuses and firmware gates of the real
// probe), the SWD wire with its debug port and MEM-APs, and a chip model from
// package targets/chipsim behind it. It is served in-process (Xfer), as an
// stlink-server over TCP (Serve) and to a USB relay (Handle, OutDataLen).
//
// Time is modelled, not measured: every exchange costs USB latency plus
// payload at the bus rate plus SWD bits at the set clock, and the chip is
// advanced by that much. Nothing here sleeps, unless a server is asked to
// pace its replies (CostOptions.Pace); servers can account for that cost
// per client session (ServeWith, the USB relay's StartWith).
//
// Where public sources do not say what the real firmware does, the model
// makes one choice and keeps it in one place:
//
//   - Nothing answering on SWD (no chip, pins silent, or a link reset
//     since the last ENTER): ENTER still switches to debug mode but answers
//     0x09 GET_IDCODE_ERROR, as does READ_IDCODES; DP register commands get
//     0x16 SWD_DP_ERROR; AP register, memory and HLA commands 0x12
//     SWD_AP_ERROR.
//   - ENTER (SWD) does a line reset, reads DPIDR, clears sticky errors and
//     powers the debug domain up, waiting for the ACKs; a host that powers
//     down and up again through CTRL/STAT has to poll for PowerUpDelay.
//   - Debug commands other than ENTER, EXIT, DRIVE_NRST, the clock and
//     status commands answer 0x08 CMD_ERROR outside debug mode (with their
//     usual reply length).
//   - Unknown DEBUG sub-commands and sub-commands the firmware version lacks
//     answer 2 bytes with 0x42 UNKNOWN_CMD; unknown top-level commands (and
//     GET_VERSION_EXT on V2) get no reply at all.
//   - From V2J28, AP 0 works without INIT_AP (legacy hosts never send it)
//     but every other AP needs INIT_AP first, else 0x1D BAD_AP; an AP
//     number above the firmware's maximum is 0x1D BAD_AP. AP IDR reads are
//     allowed without INIT_AP.
//   - A memory command starts by clearing sticky errors a previous command
//     left, uses CSW[31:8] from the command (V2J32/V3J2) or DefaultCSW, and
//     rewrites TAR at every 1 KiB boundary, so transfers of up to 6144
//     bytes may cross them. A bus fault stops it with 0x11 SWD_AP_FAULT
//     and the faulting address in GETLASTRWSTATUS2, and leaves STICKYERR set
//     in CTRL/STAT. DAP register accesses follow ADI strictly: with
//     STICKYERR set, every AP access faults until ABORT clears it.
//   - JTAG is not modelled: ENTER with a JTAG parameter answers 0x04.
package sim

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/stprobe/stprobe/enum"

	"github.com/stprobe/stprobe/probe/proto"
	"github.com/stprobe/stprobe/targets/chipsim"
)

// Config describes a simulated probe and what is wired to it.
type Config struct {
	// Firmware is the version the probe reports, with VID/PID set
	// (e.g. ParseVersion("V2J46S7") with VID 0x0483, PID 0x3748).
	Firmware proto.Version
	// Serial is the 24-hex-character serial number.
	Serial string
	// TargetMillivolts is the target voltage the probe measures.
	TargetMillivolts int
	// Chip is the target; nil means nothing is wired (no ACK on SWD).
	Chip chipsim.Chip
	// StartInDFU starts the probe in DFU mode instead of mass-storage mode.
	StartInDFU bool
}

// Stats is the modelled cost of what the probe did.
type Stats struct {
	Commands     int           // command blocks handled
	USBTransfers int           // bulk transfers: command, OUT data and IN reply each count one
	SWDBits      int64         // SWD clock cycles driven
	Wire         time.Duration // modelled time: USB latency and payload plus SWD bits
	// SWDKHz is the SWD clock after the exchange (for one exchange; in a
	// sum, after the last one).
	SWDKHz int
}

// FaultKind selects what Inject breaks.
type FaultKind int

// Fault kinds.
const (
	// FaultTimeout: the next Count commands get no answer (the command is
	// not executed; Xfer returns an error wrapping ErrTimeout).
	FaultTimeout FaultKind = iota
	// FaultUnplug: the probe goes away; every later exchange fails with
	// ErrUnplugged.
	FaultUnplug
	// FaultShortReply: the next Count replies lose their second half.
	FaultShortReply
	// FaultGarbledReply: the next Count replies have every byte inverted.
	FaultGarbledReply
	// FaultWait: the next Count commands that use the SWD wire answer WAIT
	// (0x14 for DP accesses, 0x10 for AP and memory accesses) without
	// doing anything.
	FaultWait
)

// faultNames names each fault kind.
var faultNames = [...]string{
	FaultTimeout:      "timeout",
	FaultUnplug:       "unplug",
	FaultShortReply:   "short reply",
	FaultGarbledReply: "garbled reply",
	FaultWait:         "WAIT burst",
}

// String names the fault kind.
func (k FaultKind) String() string {
	return enum.Name(faultNames[:], k, "fault")
}

// Fault is one injected failure. Count is how many commands it affects
// (0 means 1; ignored for FaultUnplug).
type Fault struct {
	Kind  FaultKind
	Count int
}

// simError is the type of the package's transport errors. It offers
// Timeout() and Disconnected() so that hosts can classify it without
// importing this package.
type simError struct {
	msg          string
	timeout      bool
	disconnected bool
}

func (e *simError) Error() string { return e.msg }

// Timeout reports whether the error is a transfer timeout.
func (e *simError) Timeout() bool { return e.timeout }

// Disconnected reports whether the probe is gone.
func (e *simError) Disconnected() bool { return e.disconnected }

// Transport errors of the simulated probe. Xfer wraps them; test with
// errors.Is. ErrTimeout errors also match context.DeadlineExceeded.
var (
	ErrTimeout     error = &simError{msg: "simulated ST-LINK: USB transfer timed out", timeout: true}
	ErrUnplugged   error = &simError{msg: "simulated ST-LINK: unplugged", disconnected: true}
	ErrClosed      error = &simError{msg: "simulated ST-LINK: closed", disconnected: true}
	ErrReplyLength error = &simError{msg: "simulated ST-LINK: reply length differs from the read"}
)

// IsUnplugged reports whether err says the probe is gone (unplugged or closed).
func IsUnplugged(err error) bool {
	return errors.Is(err, ErrUnplugged) || errors.Is(err, ErrClosed)
}

// IsTimeout reports whether err is a simulated transfer timeout.
func IsTimeout(err error) bool { return errors.Is(err, ErrTimeout) }

// Probe is a simulated ST-LINK. It is safe for concurrent use; commands are
// handled one at a time.
type Probe struct {
	cfg   Config
	model proto.Model

	mu sync.Mutex
	fw firmware

	now   time.Duration
	stats Stats

	faults    []Fault
	unplugged bool
	closed    bool
}

// New returns a simulated probe in mass-storage mode (or DFU, see Config),
// SWD clock at the firmware's power-on default, NRST released.
func New(cfg Config) *Probe {
	m, ok := proto.ModelByPID(cfg.Firmware.PID)
	if !ok {
		m = proto.Model{PID: cfg.Firmware.PID, Name: "ST-LINK", Generation: proto.GenV2}
		if cfg.Firmware.Hardware >= 3 {
			m.Generation, m.HighSpeed = proto.GenV3, true
		}
	}
	p := &Probe{cfg: cfg, model: m}
	p.fw.init(p)
	return p
}

// Config returns the configuration the probe was made with.
func (p *Probe) Config() Config { return p.cfg }

// Chip returns the simulated target (nil when nothing is wired).
func (p *Probe) Chip() chipsim.Chip { return p.cfg.Chip }

// Model returns the USB product the probe presents.
func (p *Probe) Model() proto.Model { return p.model }

// Stats returns the cost counters since New or the last ResetStats.
func (p *Probe) Stats() Stats {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stats
}

// ResetStats zeroes the cost counters (the modelled clock keeps running).
func (p *Probe) ResetStats() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.stats = Stats{}
}

// Now returns the modelled time since New.
func (p *Probe) Now() time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.now
}

// DebugCommandCount returns how many DEBUG (0xF2) commands with
// sub-command sub the probe has handled since New (for tests that check
// what a host sent, e.g. a GETLASTRWSTATUS2 after every memory command).
func (p *Probe) DebugCommandCount(sub byte) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.fw.debugCount[sub]
}

// Inject queues a fault; see FaultKind.
func (p *Probe) Inject(f Fault) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if f.Count <= 0 {
		f.Count = 1
	}
	if f.Kind == FaultUnplug {
		p.unplugged = true
		return
	}
	if f.Kind == FaultWait {
		p.fw.waitLeft += f.Count
		return
	}
	p.faults = append(p.faults, f)
}

// Unplugged reports whether the probe has been unplugged or closed.
func (p *Probe) Unplugged() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.unplugged || p.closed
}

// Close ends in-process use: later Xfer calls fail with ErrClosed. The
// probe's state (mode, NRST) is left as it is, as on a real probe.
func (p *Probe) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
	return nil
}

// takeFault consumes one queued reply fault, if any.
func (p *Probe) takeFault() (FaultKind, bool) {
	if len(p.faults) == 0 {
		return 0, false
	}
	f := &p.faults[0]
	kind := f.Kind
	f.Count--
	if f.Count <= 0 {
		p.faults = p.faults[1:]
	}
	return kind, true
}

// Handle runs one command block through the firmware, with out as its OUT
// data phase, and returns the reply bytes exactly as the real probe sends
// them; false means the command has no IN phase (or the probe did not
// answer: unplugged, injected timeout). Injected reply faults apply.
func (p *Probe) Handle(cmd [16]byte, out []byte) ([]byte, bool) {
	reply, hasIn, _, _ := p.exchange(cmd, out)
	return reply, hasIn
}

// HandleCost is Handle that also returns what the exchange cost on the
// modelled clock (zero when the probe did not answer), for servers that
// account per client (see Session).
func (p *Probe) HandleCost(cmd [16]byte, out []byte) ([]byte, bool, Stats) {
	reply, hasIn, cost, _ := p.exchange(cmd, out)
	return reply, hasIn, cost
}

// exchange is Handle with the exchange's cost and the reason a reply is
// missing.
func (p *Probe) exchange(cmd [16]byte, out []byte) ([]byte, bool, Stats, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.unplugged {
		return nil, false, Stats{}, ErrUnplugged
	}
	if len(p.faults) > 0 && p.faults[0].Kind == FaultTimeout {
		p.takeFault()
		return nil, false, Stats{}, fmt.Errorf("command %02X %02X: %w (%w)", cmd[0], cmd[1], ErrTimeout, context.DeadlineExceeded)
	}
	reply, hasIn := p.fw.handle(cmd, out)
	cost := p.account(len(out), len(reply), hasIn)
	if hasIn {
		if kind, ok := p.takeFault(); ok {
			switch kind {
			case FaultShortReply:
				reply = reply[:len(reply)/2]
			case FaultGarbledReply:
				g := make([]byte, len(reply))
				for i, b := range reply {
					g[i] = ^b
				}
				reply = g
			}
		}
	}
	return reply, hasIn, cost, nil
}

// Xfer is the in-process transport: it sends cmd and out, then reads
// exactly len(in) bytes of reply into in. A reply of another length than
// len(in) (or a reply nobody reads) fails with ErrReplyLength; a command
// without an IN phase while len(in) > 0 fails with ErrTimeout, as a real
// read would.
func (p *Probe) Xfer(ctx context.Context, cmd [16]byte, out, in []byte) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("simulated ST-LINK: %w", err)
	}
	p.mu.Lock()
	closed := p.closed
	p.mu.Unlock()
	if closed {
		return ErrClosed
	}
	reply, hasIn, _, err := p.exchange(cmd, out)
	if err != nil {
		return err
	}
	switch {
	case !hasIn && len(in) > 0:
		return fmt.Errorf("command %02X %02X has no reply, read of %d bytes: %w (%w)", cmd[0], cmd[1], len(in), ErrTimeout, context.DeadlineExceeded)
	case len(reply) != len(in):
		n := copy(in, reply)
		return fmt.Errorf("command %02X %02X: reply is %d bytes, read of %d (got %d): %w", cmd[0], cmd[1], len(reply), len(in), n, ErrReplyLength)
	}
	copy(in, reply)
	return nil
}

// USB timing: a full-speed probe answers once per 1 ms frame, a high-speed
// one within a 125 µs micro-frame; payload moves at roughly 1 MB/s and
// 40 MB/s.
const (
	fsRoundTrip = time.Millisecond
	hsRoundTrip = 125 * time.Microsecond
	fsBytesPerS = 1_000_000
	hsBytesPerS = 40_000_000
)

// account adds the cost of one exchange (the firmware has added its SWD
// bits to fw.bits), advances the chip by it and returns it.
func (p *Probe) account(outLen, replyLen int, hasIn bool) Stats {
	transfers := 1
	if outLen > 0 {
		transfers++
	}
	if hasIn {
		transfers++
	}
	rt, rate := fsRoundTrip, int64(fsBytesPerS)
	if p.model.HighSpeed {
		rt, rate = hsRoundTrip, hsBytesPerS
	}
	bytes := int64(proto.CommandSize + outLen + replyLen)
	d := rt + time.Duration(bytes*int64(time.Second)/rate)
	bits := p.fw.bits
	p.fw.bits = 0
	if khz := int64(p.fw.khz); khz > 0 {
		d += time.Duration(bits * int64(time.Millisecond) / khz)
	}
	d += p.fw.extra
	p.fw.extra = 0
	if s, ok := p.cfg.Chip.(chipsim.Staller); ok {
		d += s.TakeStall() // the chip's bus held an access (a flash write)
	}
	cost := Stats{Commands: 1, USBTransfers: transfers, SWDBits: bits, Wire: d, SWDKHz: p.fw.khz}
	p.stats.add(cost)
	p.now += d
	if p.cfg.Chip != nil {
		p.cfg.Chip.Advance(d)
	}
	return cost
}

// add adds o to s.
func (s *Stats) add(o Stats) {
	s.Commands += o.Commands
	s.USBTransfers += o.USBTransfers
	s.SWDBits += o.SWDBits
	s.Wire += o.Wire
	s.SWDKHz = o.SWDKHz
}

// OutDataLen returns the number of OUT data bytes the firmware expects
// after cmd (memory writes and RW_MISC_OUT); 0 for other commands.
func OutDataLen(cmd [16]byte) int {
	if cmd[0] != proto.CmdDebug {
		return 0
	}
	switch cmd[1] {
	case proto.DebugWriteMem32, proto.DebugWriteMem8, proto.DebugWriteMem16, proto.DebugWriteMem32NoInc:
		return int(le16(cmd[6:]))
	case proto.DebugRWMiscOut:
		n := int(le32(cmd[2:]))
		if n < 0 || n > 1<<16 {
			return 0
		}
		return (n+3)&^3 + 4*n
	}
	return 0
}

func le16(b []byte) uint16 { return uint16(b[0]) | uint16(b[1])<<8 }
func le32(b []byte) uint32 {
	return uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 | uint32(b[3])<<24
}
func put32(b []byte, v uint32) {
	b[0], b[1], b[2], b[3] = byte(v), byte(v>>8), byte(v>>16), byte(v>>24)
}
