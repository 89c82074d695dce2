package bench

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/stprobe/stprobe/probe"
	"github.com/stprobe/stprobe/probe/stlinkserver"
	"github.com/stprobe/stprobe/statefile"
	"github.com/stprobe/stprobe/targets"
)

// The bench shares its probe with the tools people already use (OpenOCD,
// STM32CubeProgrammer) by speaking the stlink-server protocol: each tool
// connection opens the bench's one probe, and every command it sends runs
// as bench work on the bench's goroutine, between the console's jobs, under
// the operator lease of whoever connected the tool. When the tool leaves,
// the bench leaves the probe clean, records the flash and option-byte
// writes it saw in the audit log and reads the option bytes again.

// ToolClient is who connected a tool to the shared probe, and how.
type ToolClient struct {
	// Holder is whose lease the tool's commands run under.
	Holder Holder
	// Via says how the tool came: "alice's SSH session", "TCP 127.0.0.1:40112".
	Via string
}

// ToolInfo is one tool using the shared probe, as the console shows it.
type ToolInfo struct {
	ID uint64
	// Tool is what the client looks like ("OpenOCD", or "stlink-server client").
	Tool   string
	Holder Holder
	Via    string
	// Open is true while the tool has the probe open.
	Open bool
	// Since is when it connected, LastUse its last command.
	Since, LastUse time.Time
	// Commands counts the ST-LINK commands it sent; Writes the writes to
	// flash or option-byte registers among them.
	Commands, Writes int
}

// String is the tool as one line of the console: "OpenOCD via alice's SSH
// session, 1200 commands".
func (t ToolInfo) String() string {
	return fmt.Sprintf("%s via %s, %d commands", t.Tool, t.Via, t.Commands)
}

// ToolChanged says a tool connected, opened the probe, left or was cut.
type ToolChanged struct {
	EventMeta
	Tool ToolInfo
	// Gone is true once the tool left; Reason says why ("disconnected",
	// "idle for 10m0s", "the lease moved to bob").
	Gone   bool
	Reason string
}

// ShareOptions tune the sharing of the probe.
type ShareOptions struct {
	// StateDir is where the audit log of the tools' writes goes (the
	// default state directory when empty).
	StateDir string
}

// Share limits.
const (
	// toolCommandLimit bounds one tool command on the probe.
	toolCommandLimit = 10 * time.Second
	// toolHandBackLimit bounds leaving the probe clean and reading the
	// option bytes again once a tool left.
	toolHandBackLimit = 30 * time.Second
	// toolPublishEvery is the least time between two StateChanged events
	// a busy tool causes (its counters change with every command).
	toolPublishEvery = 500 * time.Millisecond
	// shareDeviceID is the StLinkUsbId the bench's probe has for its tools.
	shareDeviceID = 0x5354_0001
	// maxAuditWrites bounds the writes one audit line lists.
	maxAuditWrites = 32
)

// shareServerVersion is what the bench says it is. API 3 lets OpenOCD batch
// memory accesses with RW_MISC (the simulated server says the same).
var shareServerVersion = stlinkserver.ServerVersion{API: 3, Major: 2, Minor: 1, Build: 0}

// openOCDClientAPI is the API version OpenOCD's stlink-server backend
// sends in GET_SERVER_VERSION (OPENOCD_STLINK_TCP_API_VERSION in
// openocd-org/openocd, src/jtag/drivers/stlink_usb.c): how a client is
// recognised as OpenOCD. Other clients are named "stlink-server client".
const openOCDClientAPI = 1

// ShareListener serves the bench's probe as an stlink-server on l until
// ctx ends (then it closes l and every tool connection): every connection
// is a tool of h. It returns nil once ctx ended, or the listener's error.
func (b *Bench) ShareListener(ctx context.Context, l net.Listener, h Holder, o ShareOptions) error {
	stop := b.watchTools(ctx)
	defer stop()
	err := stlinkserver.Serve(ctx, l, func(ctx context.Context, c net.Conn) {
		_ = b.ServeTool(ctx, c, ToolClient{Holder: h, Via: "TCP " + c.RemoteAddr().String()}, o)
	})
	if err != nil {
		return fmt.Errorf("bench: sharing the probe on %s: %w", l.Addr(), err)
	}
	return nil
}

// WatchTools cuts the tools that stall until ctx ends: every second it
// lets idle leases lapse and cuts the tools whose holder lost the lease
// (CutIdleTools). A server that calls ServeTool itself runs it once.
func (b *Bench) WatchTools(ctx context.Context) { <-b.watchToolsEvery(ctx, time.Second) }

// watchTools starts WatchTools and returns its stop.
func (b *Bench) watchTools(ctx context.Context) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := b.watchToolsEvery(ctx, time.Second)
	return func() { cancel(); <-done }
}

func (b *Bench) watchToolsEvery(ctx context.Context, every time.Duration) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				b.CutIdleTools()
			}
		}
	}()
	return done
}

// CutIdleTools lets an idle lease lapse (the bench's rule) and cuts every
// tool whose holder no longer holds the lease: a tool that stalled for the
// lease's idle time, or whose holder released or handed the probe over.
// Each cut tool's connection closes and the console is told why.
func (b *Bench) CutIdleTools() {
	b.mu.Lock()
	b.expireLocked()
	var cut []*toolConn
	for _, tc := range b.tools {
		if tc.token != "" && (b.lease == nil || b.lease.token != tc.token) {
			cut = append(cut, tc)
		}
	}
	b.mu.Unlock()
	for _, tc := range cut {
		tc.cut(fmt.Sprintf("%s lost the probe (the lease lapsed after %v idle, or was released or handed over)", tc.client.Holder.Name, b.idle))
	}
}

// Tools are the tools connected to the shared probe now.
func (b *Bench) Tools() []ToolInfo {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.toolsLocked()
}

// toolsLocked lists the tools in the order they came. The caller holds mu.
func (b *Bench) toolsLocked() []ToolInfo {
	out := make([]ToolInfo, 0, len(b.tools))
	for id := uint64(1); id <= b.toolSeq; id++ {
		if tc, ok := b.tools[id]; ok {
			out = append(out, tc.info)
		}
	}
	return out
}

// toolConn is one tool connection.
type toolConn struct {
	b      *Bench
	rw     io.ReadWriteCloser
	client ToolClient
	opts   ShareOptions

	// guarded by b.mu
	info      ToolInfo
	token     Token // the lease it works under, once it opened the probe
	published time.Time

	// owned by the connection's goroutine
	fresh     bool // it took the lease itself: it gives it back when it leaves
	connectID uint32
	tracker   probe.WriteTracker
	writes    []string // the flash and option-byte writes, for the audit line
	nWrites   int

	cutOnce sync.Once
	cutWhy  string
	cutC    chan struct{}
}

// ServeTool serves one tool connection rw with the stlink-server protocol
// on behalf of c.Holder, until the tool leaves, breaks the protocol, is cut
// or ctx ends; it closes rw. The tool gets the probe when it opens it
// (OPEN_DEV) and c.Holder holds or can take the operator lease; every
// command then runs as bench work. When it leaves the probe is left clean
// (out of debug, NRST released, the APs closed), its flash and option-byte
// writes go to the audit log with the holder's name, the option bytes are
// read again, and a lease it took is released.
func (b *Bench) ServeTool(ctx context.Context, rw io.ReadWriteCloser, c ToolClient, o ShareOptions) error {
	now := b.now()
	tc := &toolConn{b: b, rw: rw, client: c, opts: o, cutC: make(chan struct{})}
	b.mu.Lock()
	if b.done {
		b.mu.Unlock()
		rw.Close()
		return ErrClosed
	}
	if b.tools == nil {
		b.tools = map[uint64]*toolConn{}
	}
	b.toolSeq++
	tc.info = ToolInfo{ID: b.toolSeq, Tool: "stlink-server client", Holder: c.Holder, Via: c.Via, Since: now, LastUse: now}
	b.tools[tc.info.ID] = tc
	b.toolChangedLocked(tc, false, "connected")
	b.mu.Unlock()
	b.log.WithFields(logrus.Fields{"tool": tc.info.ID, "via": c.Via, "holder": c.Holder.String()}).Info("tool connected to the shared probe")

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-ctx.Done():
		case <-tc.cutC:
		}
		rw.Close()
	}()
	err := tc.serve(ctx)
	rw.Close()
	reason := "disconnected"
	switch {
	case tc.cutReason() != "":
		reason = tc.cutReason()
	case ctx.Err() != nil:
		reason = "the server stopped"
	case err != nil:
		reason = err.Error()
	}
	tc.handBack(reason)
	return err
}

// cut ends the tool's connection for why.
func (tc *toolConn) cut(why string) {
	tc.cutOnce.Do(func() {
		tc.cutWhy = why
		close(tc.cutC)
	})
}

// cutReason is why the tool was cut, "" while it was not.
func (tc *toolConn) cutReason() string {
	select {
	case <-tc.cutC:
		return tc.cutWhy
	default:
		return ""
	}
}

// serve answers the tool's requests.
func (tc *toolConn) serve(ctx context.Context) error {
	r := bufio.NewReaderSize(tc.rw, 16<<10)
	w := bufio.NewWriterSize(tc.rw, 16<<10)
	for {
		req, err := stlinkserver.ReadRequest(r)
		if err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) || ctx.Err() != nil {
				return nil
			}
			select {
			case <-tc.cutC:
				return nil
			default:
			}
			return fmt.Errorf("the tool broke the stlink-server protocol: %w", err)
		}
		if _, err := w.Write(tc.reply(ctx, req)); err != nil {
			return nil
		}
		if err := w.Flush(); err != nil {
			return nil
		}
	}
}

// reply answers one request.
func (tc *toolConn) reply(ctx context.Context, req stlinkserver.Request) []byte {
	b := tc.b
	switch req.Op {
	case stlinkserver.OpRefreshDeviceList:
		return stlinkserver.EncodeStatus(stlinkserver.StatusOK)
	case stlinkserver.OpGetNbDev:
		if b.Snapshot().Gone != "" {
			return stlinkserver.EncodeCount(0)
		}
		return stlinkserver.EncodeCount(1)
	case stlinkserver.OpGetServerVersion:
		if req.ClientAPI == openOCDClientAPI {
			b.mu.Lock()
			tc.info.Tool = "OpenOCD"
			b.mu.Unlock()
		}
		return stlinkserver.EncodeServerVersion(shareServerVersion)
	case stlinkserver.OpGetDevInfo:
		size := int(req.InfoSize)
		if size > 1024 {
			size = stlinkserver.DevInfoSize
		}
		s := b.Snapshot()
		if req.Index != 0 || s.Gone != "" {
			return stlinkserver.EncodeDeviceInfo(stlinkserver.StatusNoDevice, stlinkserver.DeviceInfo{}, size)
		}
		return stlinkserver.EncodeDeviceInfo(stlinkserver.StatusOK, stlinkserver.DeviceInfo{
			ID: shareDeviceID, Serial: s.Probe.Serial, VID: s.Probe.VID, PID: s.Probe.PID, Used: b.toolsOpen() > 0,
		}, size)
	case stlinkserver.OpOpenDev:
		if req.DeviceID != shareDeviceID || tc.connectID != 0 {
			return stlinkserver.EncodeOpen(stlinkserver.StatusOpenError, 0)
		}
		if err := tc.open(); err != nil {
			b.Notify(fmt.Sprintf("%s via %s was refused the probe: %v", tc.name(), tc.client.Via, err))
			return stlinkserver.EncodeOpen(stlinkserver.StatusPermissionError, 0)
		}
		return stlinkserver.EncodeOpen(stlinkserver.StatusOK, tc.connectID)
	case stlinkserver.OpCloseDev:
		if tc.connectID == 0 || req.ConnectID != tc.connectID {
			return stlinkserver.EncodeStatus(stlinkserver.StatusBadParameter)
		}
		tc.handBack("closed the probe")
		return stlinkserver.EncodeStatus(stlinkserver.StatusOK)
	case stlinkserver.OpGetNbOfDevClients:
		return stlinkserver.EncodeClients(stlinkserver.StatusOK, uint32(b.toolsOpen()))
	case stlinkserver.OpSendUSBCmd:
		return tc.usb(ctx, req)
	}
	return stlinkserver.EncodeStatus(stlinkserver.StatusCmdNotAvailable)
}

// name is the tool's name now.
func (tc *toolConn) name() string {
	tc.b.mu.Lock()
	defer tc.b.mu.Unlock()
	return tc.info.Tool
}

// toolsOpen counts the tools that have the probe open.
func (b *Bench) toolsOpen() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := 0
	for _, tc := range b.tools {
		if tc.info.Open {
			n++
		}
	}
	return n
}

// open gives the tool the probe: it takes the holder's lease (or shares
// the one the holder's console already has).
func (tc *toolConn) open() error {
	b := tc.b
	if err := b.checkWritable("sharing the probe with " + tc.info.Tool); err != nil {
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.done {
		return ErrClosed
	}
	b.expireLocked()
	switch {
	case b.lease == nil:
		tc.token = b.grantLocked(tc.client.Holder, "acquired for "+tc.info.Tool+" via "+tc.client.Via)
		tc.fresh = true
	case b.lease.holder == tc.client.Holder:
		tc.token = b.lease.token
		b.lease.lastUse = b.now()
	default:
		h := b.lease.holder
		return &LeaseError{Holder: &h, Reason: "the probe is taken"}
	}
	b.connSeq++
	tc.connectID = 0xB0000000 | b.connSeq
	tc.info.Open = true
	tc.info.LastUse = b.now()
	b.toolChangedLocked(tc, false, "opened the probe")
	b.log.WithFields(logrus.Fields{"tool": tc.info.Tool, "via": tc.client.Via, "holder": tc.client.Holder.String()}).Info("tool opened the shared probe")
	return nil
}

// usb runs one SEND_USB_CMD as bench work.
func (tc *toolConn) usb(ctx context.Context, req stlinkserver.Request) []byte {
	u := req.USB
	want := 0
	if u.Type != stlinkserver.USBWrite {
		want = int(u.Length)
	}
	if tc.connectID == 0 || req.ConnectID != tc.connectID {
		return stlinkserver.EncodeUSBReply(stlinkserver.StatusBadParameter, nil, want)
	}
	if u.Type == stlinkserver.USBReadSWO {
		return stlinkserver.EncodeUSBReply(stlinkserver.StatusOK, nil, want) // no trace data is shared
	}
	in := make([]byte, want)
	op := tc.name() + " command"
	err := tc.b.runTool(ctx, tc.token, func(ctx context.Context) error {
		return tc.b.link.Raw(ctx, op, u.Cmd, u.Data, in)
	})
	tc.count(u.Cmd, u.Data)
	var le *LeaseError
	switch {
	case errors.As(err, &le):
		tc.cut(fmt.Sprintf("%s no longer holds the probe", tc.client.Holder.Name))
		return stlinkserver.EncodeUSBReply(stlinkserver.StatusPermissionError, nil, want)
	case errors.Is(err, probe.ErrDisconnected):
		return stlinkserver.EncodeUSBReply(stlinkserver.StatusTransferError, nil, want)
	case err != nil:
		return stlinkserver.EncodeUSBReply(stlinkserver.StatusTimeout, nil, want)
	case u.Type == stlinkserver.USBWrite:
		return stlinkserver.EncodeStatus(stlinkserver.StatusOK)
	}
	return stlinkserver.EncodeUSBReply(stlinkserver.StatusOK, in, want)
}

// count notes one command: its count, and the flash and option-byte
// writes in it (logged, and kept for the audit line).
func (tc *toolConn) count(c [16]byte, out []byte) {
	b := tc.b
	var noted []string
	s := b.Snapshot()
	for _, w := range tc.tracker.Writes(c, out) {
		if what := sensitiveWrite(s.Chip, w); what != "" {
			tc.nWrites++
			line := fmt.Sprintf("wrote %d bytes at 0x%08X (%s) through AP%d: % X", w.Len, w.Addr, what, w.AP, w.Data)
			if len(tc.writes) < maxAuditWrites {
				tc.writes = append(tc.writes, line)
			}
			noted = append(noted, line)
		}
	}
	b.mu.Lock()
	tc.info.Commands++
	tc.info.Writes = tc.nWrites
	tc.info.LastUse = b.now()
	if b.now().Sub(tc.published) >= toolPublishEvery {
		tc.published = b.now()
		b.stateChangedLocked()
	}
	b.mu.Unlock()
	for _, line := range noted {
		b.log.WithFields(logrus.Fields{"tool": tc.info.Tool, "holder": tc.client.Holder.String()}).Warn("shared probe: " + line)
	}
}

// flashRegsSize is the size of the FLASH register block: 0x40022000 to
// 0x400223FF on the STM32H5 (RM0481 §2.3, memory map and peripheral
// register boundaries).
const flashRegsSize = 0x400

// sensitiveWrite names what write w touches when it is flash or a flash
// (option-byte) register of chip, "" otherwise. With the chip unknown, the
// STM32 flash window and the STM32H5 FLASH registers count.
func sensitiveWrite(chip *targets.Chip, w probe.MemWrite) string {
	regs := []uint32{targets.H5FlashRegs, targets.H5FlashRegsSec}
	if chip != nil {
		regs = []uint32{chip.Family.FlashRegs, chip.Family.FlashRegsSecure}
	}
	for _, base := range regs {
		if base != 0 && w.Addr >= base && w.Addr < base+flashRegsSize {
			return fmt.Sprintf("FLASH register +0x%03X", w.Addr-base)
		}
	}
	if chip != nil {
		if r, _ := chip.Line.RegionOf(w.Addr, max(w.Len, 1)); r.Kind == targets.RegionFlash {
			return "flash memory"
		}
		return ""
	}
	if w.Addr >= targets.FlashMemBase && w.Addr < 0x10000000 {
		return "flash memory"
	}
	return ""
}

// runTool runs one tool command as bench work: on the bench's goroutine,
// between other jobs, under t's lease. It publishes no job events (a tool
// sends thousands of commands) and does not clean up after a failure: the
// tool keeps the probe's mode between its commands.
func (b *Bench) runTool(ctx context.Context, t Token, fn func(ctx context.Context) error) error {
	if _, _, err := b.admit(t, false); err != nil {
		return err
	}
	jctx, cancel := context.WithTimeout(ctx, toolCommandLimit)
	defer cancel()
	j := &job{info: JobInfo{Kind: "tool command"}, ctx: jctx, cancel: cancel, token: t, fn: fn, result: make(chan error, 1), quiet: true}
	return b.submit(j, "a tool command")
}

// runQuiet runs a tool command on the owner goroutine.
func (b *Bench) runQuiet(j *job) error {
	b.mu.Lock()
	if err := b.checkLocked(j.token); err != nil {
		b.mu.Unlock()
		return err
	}
	gone := b.state.Gone
	b.mu.Unlock()
	if gone != "" {
		return fmt.Errorf("bench: tool command: %w", probe.ErrDisconnected)
	}
	err := j.ctx.Err()
	if err == nil {
		err = j.fn(j.ctx)
	}
	b.mu.Lock()
	if b.lease != nil && b.lease.token == j.token {
		b.lease.lastUse = b.now()
	}
	if errors.Is(err, probe.ErrDisconnected) && b.state.Gone == "" {
		b.state.Gone = probeGoneNotice
		b.state.Notice = probeGoneNotice
		b.publishLocked(func(m EventMeta) Event { return Notice{EventMeta: m, Text: probeGoneNotice} })
		b.stateChangedLocked()
	}
	b.mu.Unlock()
	return err
}

// handBack ends the tool's hold on the probe once: the probe is left clean,
// its writes are audited, the option bytes read again, a lease it took
// given back, and the tool leaves the bench's list when its connection is
// gone.
func (tc *toolConn) handBack(reason string) {
	b := tc.b
	b.mu.Lock()
	tok, opened := tc.token, tc.info.Open
	tc.token = ""
	tc.info.Open = false
	connGone := reason != "closed the probe"
	if connGone {
		delete(b.tools, tc.info.ID)
	}
	info := tc.info
	b.toolChangedLocked(tc, connGone, reason)
	b.mu.Unlock()
	tc.connectID = 0
	entry := b.log.WithFields(logrus.Fields{"tool": info.Tool, "via": info.Via, "holder": info.Holder.String(), "commands": info.Commands, "writes": info.Writes})
	if !opened || tok == "" {
		if connGone {
			entry.Info("tool left the shared probe: " + reason)
		}
		return
	}
	if why := tc.cutReason(); why != "" {
		b.Notify(fmt.Sprintf("%s via %s was cut: %s", info.Tool, info.Via, why))
	}
	ctx, cancel := context.WithTimeout(context.Background(), toolHandBackLimit)
	defer cancel()
	var before map[string]uint32
	if ob := b.Snapshot().OptionBytes; ob != nil && ob.Snap != nil {
		before = ob.Snap.Cur
	}
	stillHeld := b.Holds(tok)
	var after *OptionBytes
	var rerr error
	if stillHeld {
		// one job: leave the probe clean after the tool, read the option
		// bytes again (the state re-checked), and leave it clean again
		err := b.run(ctx, tok, "tool hand-back", toolHandBackLimit, func(ctx context.Context) error {
			if err := probe.Disconnect(ctx, b.link); err != nil {
				return err
			}
			after, rerr = b.readOB(ctx, OBRequest{StateDir: tc.opts.StateDir})
			return probe.Disconnect(ctx, b.link)
		})
		if err != nil {
			entry.WithError(err).Warn("leaving the probe clean after the tool")
		}
		if rerr != nil {
			entry.WithError(rerr).Warn("reading the option bytes again after the tool left")
		}
	} else {
		// the lease moved on: the probe is cleaned by the next holder's
		// first job; say so rather than run without the lease
		entry.Info("the tool's lease moved on before it left; the probe is left as the tool left it until the next job")
	}
	tc.audit(info, before, after, rerr)
	if tc.fresh && stillHeld {
		_ = b.Release(tok)
	}
	entry.Info("tool left the shared probe: " + reason)
}

// audit records the tool's flash and option-byte writes with the holder's
// name, with the option bytes before the tool and as read after it.
func (tc *toolConn) audit(info ToolInfo, before map[string]uint32, o *OptionBytes, rerr error) {
	b := tc.b
	var after map[string]uint32
	if o != nil && o.Snap != nil {
		after = o.Snap.Cur
	}
	if tc.nWrites == 0 {
		return
	}
	s := b.Snapshot() // the chip as the read identified it
	dir := tc.opts.StateDir
	if dir == "" {
		d, err := DefaultStateDir()
		if err != nil {
			b.log.WithError(err).Error("the tool's writes are not in the audit log: no state directory")
			return
		}
		dir = d
	}
	changes := append([]string{fmt.Sprintf("%s via %s: %d writes to flash or option-byte registers in %d commands", info.Tool, info.Via, tc.nWrites, info.Commands)}, tc.writes...)
	if tc.nWrites > len(tc.writes) {
		changes = append(changes, fmt.Sprintf("... and %d more", tc.nWrites-len(tc.writes)))
	}
	if o != nil && o.Snap != nil && o.Snap.Unlocked {
		changes = append(changes, UnlockedAfterTool)
	}
	rec := statefile.AuditRecord{
		Time: b.now().UTC(), User: info.Holder.String(), ProbeSerial: s.Probe.Serial,
		Changes: changes, Before: before, After: after, Result: "ok",
		Note: "written by a tool through the shared probe, not by stprobe's guarded write",
	}
	if s.Chip != nil {
		rec.ChipUID, rec.Line = s.Chip.UIDString(), s.Chip.Line.Name
	}
	if rerr != nil {
		rec.Error = "reading the option bytes after the tool: " + rerr.Error()
	}
	if err := statefile.AppendAudit(dir, rec); err != nil {
		b.log.WithError(err).Error("the tool's writes are not in the audit log")
		return
	}
	b.log.WithFields(logrus.Fields{"tool": info.Tool, "holder": info.Holder.String(), "writes": tc.nWrites}).Warn("the tool's flash and option-byte writes are recorded in the audit log")
	b.Notify(fmt.Sprintf("%s via %s wrote flash or option-byte registers %d times: recorded in the audit log; option bytes read again", info.Tool, info.Via, tc.nWrites))
}

// UnlockedAfterTool is the audit line's note that a tool left the option
// registers unlocked.
const UnlockedAfterTool = "after the tool: the option registers are left unlocked (FLASH_OPTCR.OPTLOCK clear); stprobe ob lock locks them"

// toolChangedLocked publishes a tool's change and the state. The caller
// holds mu.
func (b *Bench) toolChangedLocked(tc *toolConn, gone bool, reason string) {
	info := tc.info
	tc.published = b.now()
	b.publishLocked(func(m EventMeta) Event { return ToolChanged{EventMeta: m, Tool: info, Gone: gone, Reason: reason} })
	b.stateChangedLocked()
}

// ToolLine is the console's one line about the tools using the shared
// probe ("OpenOCD via alice's SSH session, 1200 commands, 3s ago"), "" when
// none is connected. now is the time to measure "ago" from.
func (s Snapshot) ToolLine(now time.Time) string {
	var parts []string
	for _, t := range s.Tools {
		ago := now.Sub(t.LastUse).Round(time.Second)
		if ago < 0 {
			ago = 0
		}
		p := fmt.Sprintf("%s, %s ago", t, ago)
		if t.Writes > 0 {
			p += fmt.Sprintf(", %d flash/option writes", t.Writes)
		}
		parts = append(parts, p)
	}
	return strings.Join(parts, "; ")
}
