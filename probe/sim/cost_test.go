package sim

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stprobe/stprobe/internal/peertest"
	"github.com/stprobe/stprobe/probe/proto"
	"github.com/stprobe/stprobe/probe/stlinkserver"
	"github.com/stprobe/stprobe/targets/chipsim"
)

// serveAccounted serves probes with acct until the returned stop is called.
func serveAccounted(t *testing.T, acct *Accountant, probes ...*Probe) (addr string, stop func()) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- serve(ctx, l, acct, probes) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("Serve: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return l.Addr().String(), stop
}

// decodeCostLog parses a cost log: one SessionCost per line.
func decodeCostLog(t *testing.T, log string) []SessionCost {
	t.Helper()
	var out []SessionCost
	sc := bufio.NewScanner(strings.NewReader(log))
	for sc.Scan() {
		var c SessionCost
		if err := json.Unmarshal(sc.Bytes(), &c); err != nil {
			t.Fatalf("cost log line %q: %v", sc.Text(), err)
		}
		out = append(out, c)
	}
	return out
}

// scripted is a known command sequence for an ST-LINK/V3 and what each
// command moves over USB: OUT data and reply bytes.
var scripted = []struct {
	cmd      [16]byte
	out      []byte
	replyLen int
}{
	{c(proto.CmdGetVersion), nil, 6},
	{c(proto.CmdGetVersionExt), nil, 12},
	{c(proto.CmdGetCurrentMode), nil, 2},
	{dbg(proto.DebugSetComFreq, []byte{0, 0}, u32(1000)), nil, 8}, // SWD at 1 MHz: 1 µs a bit
	{dbg(proto.DebugEnter, []byte{proto.EnterSWD}), nil, 2},
	{dbg(proto.DebugReadIDCodes), nil, 12},
	{memCmdBlock(proto.DebugWriteMem32, 0x20000000, 16, 0, 0), bytes.Repeat([]byte{0xA5}, 16), 0},
	{memCmdBlock(proto.DebugReadMem32, 0x20000000, 16, 0, 0), nil, 16},
	{dbg(proto.DebugGetLastRWStatus2), nil, 12},
}

// TestCostLogOfScriptedSession checks the cost log of a scripted client
// against the sequence it sent: commands and kinds, USB transfers (command,
// OUT data and IN reply each one), and modelled time = per exchange a
// 125 µs high-speed round trip plus 25 ns a byte, plus 1 µs per SWD bit
// at 1 MHz, plus the debug power-up wait of ENTER. A second client's
// session on the same probe counts only its own command.
func TestCostLogOfScriptedSession(t *testing.T) {
	p := newTestProbe(t, "V3J7M3", chipsim.NewGeneric(0))
	var costLog, summary peertest.Output
	addr, stop := serveAccounted(t, NewAccountant("stlink-server", CostOptions{CostLog: &costLog, Summary: &summary}), p)

	a := dial(t, addr)
	st, d := a.info(0)
	if st != stlinkserver.StatusOK {
		t.Fatalf("device info: %v", st)
	}
	_, conn := a.open(d.ID)
	b := dial(t, addr)
	_, connB := b.open(d.ID)

	var wantUSB time.Duration
	wantTransfers := 0
	for i, s := range scripted {
		req := stlinkserver.Request{Op: stlinkserver.OpSendUSBCmd, ConnectID: conn, USB: stlinkserver.USBCommand{
			Cmd: s.cmd, Type: stlinkserver.USBRead, Length: uint32(s.replyLen)}}
		if s.out != nil {
			req.USB.Type, req.USB.Length, req.USB.Data = stlinkserver.USBWrite, uint32(len(s.out)), s.out
		}
		reply := a.call(req)
		if st, _ := stlinkserver.DecodeStatus(reply); st != stlinkserver.StatusOK {
			t.Fatalf("command %d: status %v", i, st)
		}
		wantUSB += 125*time.Microsecond + time.Duration(proto.CommandSize+len(s.out)+s.replyLen)*25*time.Nanosecond
		wantTransfers += 2 // the command, then OUT data or the reply
		if i == 2 {
			b.usbRead(connB, c(proto.CmdGetVersion), 6) // the other client, in between
		}
	}
	if st, _ := stlinkserver.DecodeStatus(a.call(stlinkserver.Request{Op: stlinkserver.OpCloseDev, ConnectID: conn})); st != stlinkserver.StatusOK {
		t.Fatalf("close: %v", st)
	}
	a.c.Close()
	b.c.Close()
	stop()

	logged := decodeCostLog(t, costLog.String())
	if len(logged) != 2 {
		t.Fatalf("cost log has %d lines, want one per session:\n%s", len(logged), costLog.String())
	}
	var sa, sb SessionCost
	for _, l := range logged {
		switch l.Client {
		case a.c.LocalAddr().String():
			sa = l
		case b.c.LocalAddr().String():
			sb = l
		}
	}
	if sa.Server != "stlink-server" || sb.Server != "stlink-server" || sa.Session+sb.Session != 3 {
		t.Errorf("sessions %+v and %+v", sa, sb)
	}
	if len(sa.Probes) != 1 || sa.Probes[0] != p.Config().Serial {
		t.Errorf("probes %v", sa.Probes)
	}
	if sa.Requests != 2+len(scripted)+1 { // GET_DEV_INFO, OPEN_DEV, the commands, CLOSE_DEV
		t.Errorf("requests %d", sa.Requests)
	}
	if sa.Commands != len(scripted) || sa.USBTransfers != wantTransfers {
		t.Errorf("commands %d, USB transfers %d; want %d, %d", sa.Commands, sa.USBTransfers, len(scripted), wantTransfers)
	}
	wantKinds := map[string]int{"GET_VERSION": 1, "GET_VERSION_EXT": 1, "GET_CURRENT_MODE": 1, "SET_COM_FREQ": 1,
		"ENTER": 1, "READ_IDCODES": 1, "WRITEMEM_32BIT": 1, "READMEM_32BIT": 1, "GETLASTRWSTATUS2": 1}
	if len(sa.CommandsByKind) != len(wantKinds) {
		t.Errorf("kinds %v", sa.CommandsByKind)
	}
	for k, n := range wantKinds {
		if sa.CommandsByKind[k] != n {
			t.Errorf("kind %s: %d, want %d", k, sa.CommandsByKind[k], n)
		}
	}
	// ENTER alone: line reset (120 bits) and five DP transactions (48 each)
	if sa.SWDBits < 360 {
		t.Errorf("SWD bits %d, want at least ENTER's 360", sa.SWDBits)
	}
	want := wantUSB + time.Duration(sa.SWDBits)*time.Microsecond + PowerUpDelay
	if sa.Modelled != want {
		t.Errorf("modelled %v, want %v (USB %v, %d SWD bits at 1 MHz, power-up %v)", sa.Modelled, want, wantUSB, sa.SWDBits, PowerUpDelay)
	}
	// the clock the client set, and the one its SWD bits ran at
	if sa.SWDKHz != 1000 || len(sa.SWDKHzSet) != 1 || sa.SWDKHzSet[0] != 1000 {
		t.Errorf("SWD clock %d kHz, set %v; want 1000 and [1000]", sa.SWDKHz, sa.SWDKHzSet)
	}
	if sb.SWDKHz != 0 || len(sb.SWDKHzSet) != 0 {
		t.Errorf("second session: SWD clock %d kHz, set %v; want none", sb.SWDKHz, sb.SWDKHzSet)
	}
	if sb.Commands != 1 || sb.USBTransfers != 2 || sb.SWDBits != 0 || sb.Modelled != 125*time.Microsecond+22*25*time.Nanosecond {
		t.Errorf("second session %+v", sb)
	}
	// the probe's own counters are the sum of the sessions
	total := p.Stats()
	if total.Commands != sa.Commands+sb.Commands || total.USBTransfers != sa.USBTransfers+sb.USBTransfers ||
		total.SWDBits != sa.SWDBits+sb.SWDBits || total.Wire != sa.Modelled+sb.Modelled {
		t.Errorf("probe stats %+v, sessions %+v + %+v", total, sa, sb)
	}
	// the same sequence in process costs the same
	q := newTestProbe(t, "V3J7M3", chipsim.NewGeneric(0))
	for _, s := range scripted {
		q.Handle(s.cmd, s.out)
	}
	if qs := q.Stats(); qs.SWDBits != sa.SWDBits || qs.Wire != sa.Modelled {
		t.Errorf("in process: %+v; served: %d bits, %v", qs, sa.SWDBits, sa.Modelled)
	}
	lines := strings.Split(strings.TrimSpace(summary.String()), "\n")
	if len(lines) != 2 || !strings.Contains(summary.String(), "stlink-server session") ||
		!strings.Contains(summary.String(), "9 commands, 18 USB transfers") || !strings.Contains(summary.String(), " SWD bits at 1000 kHz") {
		t.Errorf("summary:\n%s", summary.String())
	}
}

// TestPaceWaitsModelledTime: with Pace every reply waits its exchange's
// modelled time (a fake sleep records it; nothing here depends on the
// host's speed), and without it nothing waits.
func TestPaceWaitsModelledTime(t *testing.T) {
	for _, pace := range []bool{true, false} {
		p := newTestProbe(t, "V2J40M27", chipsim.NewGeneric(0))
		var mu sync.Mutex
		var slept time.Duration
		var got SessionCost
		acct := NewAccountant("stlink-server", CostOptions{Pace: pace, OnSession: func(c SessionCost) { got = c }})
		acct.sleep = func(d time.Duration) {
			mu.Lock()
			slept += d
			mu.Unlock()
		}
		addr, stop := serveAccounted(t, acct, p)
		a := dial(t, addr)
		_, d := a.info(0)
		_, conn := a.open(d.ID)
		a.usbRead(conn, c(proto.CmdGetVersion), 6)
		a.usbRead(conn, dbg(proto.DebugEnter, []byte{proto.EnterSWD}), 2)
		a.usbRead(conn, dbg(proto.DebugReadIDCodes), 12)
		a.c.Close()
		stop()
		if got.Commands != 3 || got.Modelled == 0 {
			t.Fatalf("session %+v", got)
		}
		want := got.Modelled
		if !pace {
			want = 0
		}
		if slept != want {
			t.Errorf("pace %v: slept %v, want %v", pace, slept, want)
		}
	}
}

func TestCommandKind(t *testing.T) {
	tests := []struct {
		cmd  [16]byte
		want string
	}{
		{c(proto.CmdGetVersion), "GET_VERSION"},
		{c(proto.CmdGetTargetVoltage), "GET_TARGET_VOLTAGE"},
		{c(proto.CmdDFU, proto.DFUExit), "DFU_EXIT"},
		{c(proto.CmdDFU, 0x99), "DFU 0x99"},
		{c(proto.CmdSWIM, proto.SWIMExit), "SWIM_EXIT"},
		{dbg(proto.DebugRWMiscOut), "RW_MISC_OUT"},
		{dbg(proto.DebugReadMem32NoInc), "READMEM_32BIT_NO_ADDR_INC"},
		{dbg(0xEE), "DEBUG 0xEE"},
		{c(0x12), "0x12"},
	}
	for _, tc := range tests {
		if got := CommandKind(tc.cmd); got != tc.want {
			t.Errorf("CommandKind(% X) = %q, want %q", tc.cmd[:2], got, tc.want)
		}
	}
}
