package main

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"net"
	"time"

	"github.com/stprobe/stprobe/probe/adi"
	"github.com/stprobe/stprobe/probe/proto"
	"github.com/stprobe/stprobe/probe/stlinkserver"
)

// cellKey is one cell of the connection matrix.
type cellKey struct {
	mode string // normal, hotplug, under-reset
	ap   int
	khz  int
}

// floorClient speaks the stlink-server protocol directly, to send a
// simulated probe the fewest ST-LINK commands that give a cell's outcome:
// set the clock, enter SWD, open the AP (INIT_AP; AP0 needs none), the
// halt or reset the mode needs, one ID read (DBGMCU_IDCODE through AP0,
// CPUID through a core's AP) and its status, and exit. The server's cost
// log then says what that floor costs on the same modelled clock as the
// tools. It borrows the protocol's framing (probe/stlinkserver) and
// command bytes (probe/proto, probe/adi) from the project, nothing else.
type floorClient struct {
	c    net.Conn
	conn uint32
	hw3  bool
}

// dialFloor opens the first probe of the server at addr.
func dialFloor(ctx context.Context, addr string) (*floorClient, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	f := &floorClient{c: c}
	if _, err := f.call(stlinkserver.Request{Op: stlinkserver.OpRefreshDeviceList}, 4); err != nil {
		c.Close()
		return nil, err
	}
	b, err := f.call(stlinkserver.Request{Op: stlinkserver.OpGetDevInfo, InfoSize: stlinkserver.DevInfoSize}, 4+stlinkserver.DevInfoSize)
	if err != nil {
		c.Close()
		return nil, err
	}
	st, info, err := stlinkserver.DecodeDeviceInfo(b)
	if err == nil && st != stlinkserver.StatusOK {
		err = fmt.Errorf("device info: %v", st)
	}
	if err != nil {
		c.Close()
		return nil, err
	}
	f.hw3 = info.PID != 0x3748 && info.PID != 0x374B
	if b, err = f.call(stlinkserver.Request{Op: stlinkserver.OpOpenDev, DeviceID: info.ID}, 8); err != nil {
		c.Close()
		return nil, err
	}
	if st, f.conn, err = stlinkserver.DecodeOpen(b); err == nil && st != stlinkserver.StatusOK {
		err = fmt.Errorf("open: %v", st)
	}
	if err != nil {
		c.Close()
		return nil, err
	}
	return f, nil
}

// call sends req and reads an n-byte reply.
func (f *floorClient) call(req stlinkserver.Request, n int) ([]byte, error) {
	f.c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := f.c.Write(req.Encode()); err != nil {
		return nil, err
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(f.c, b); err != nil {
		return nil, err
	}
	return b, nil
}

// cmd sends one ST-LINK command with out data (a write) or reading n reply
// bytes, and returns the reply.
func (f *floorClient) cmd(c [16]byte, out []byte, n int) ([]byte, error) {
	u := stlinkserver.USBCommand{Cmd: c, Type: stlinkserver.USBRead, Length: uint32(n)}
	if out != nil {
		u = stlinkserver.USBCommand{Cmd: c, Type: stlinkserver.USBWrite, Length: uint32(len(out)), Data: out}
	}
	b, err := f.call(stlinkserver.Request{Op: stlinkserver.OpSendUSBCmd, ConnectID: f.conn, USB: u}, 4+n)
	if err != nil {
		return nil, err
	}
	st, data, err := stlinkserver.DecodeUSBReply(b, n)
	if err == nil && st != stlinkserver.StatusOK {
		err = fmt.Errorf("command % X: %v", c[:2], st)
	}
	return data, err
}

func block(b ...byte) [16]byte {
	var c [16]byte
	copy(c[:], b)
	return c
}

func memBlock(sub byte, addr uint32, n, ap int) [16]byte {
	c := block(proto.CmdDebug, sub)
	binary.LittleEndian.PutUint32(c[2:], addr)
	binary.LittleEndian.PutUint16(c[6:], uint16(n))
	c[8] = byte(ap)
	return c
}

// write32 writes one word and fetches its status.
func (f *floorClient) write32(ap int, addr, v uint32) error {
	if _, err := f.cmd(memBlock(proto.DebugWriteMem32, addr, 4, ap), binary.LittleEndian.AppendUint32(nil, v), 0); err != nil {
		return err
	}
	_, err := f.cmd(block(proto.CmdDebug, proto.DebugGetLastRWStatus2), nil, 12)
	return err
}

// setClock is SWD_SET_FREQ (V2, by divisor) or SET_COM_FREQ (V3).
func (f *floorClient) setClock(khz int) error {
	if f.hw3 {
		c := block(proto.CmdDebug, proto.DebugSetComFreq, 0)
		binary.LittleEndian.PutUint32(c[4:], uint32(khz))
		_, err := f.cmd(c, nil, 8)
		return err
	}
	div := proto.V2SWDTable[len(proto.V2SWDTable)-1].Divisor
	for _, d := range proto.V2SWDTable {
		if d.KHz <= khz {
			div = d.Divisor
			break
		}
	}
	c := block(proto.CmdDebug, proto.DebugSWDSetFreq)
	binary.LittleEndian.PutUint16(c[2:], div)
	_, err := f.cmd(c, nil, 2)
	return err
}

// cell runs the fewest commands of one cell. The replies' statuses are not
// judged: the floor is what the commands cost, whatever they find.
func (f *floorClient) cell(k cellKey) error {
	nrst := func(a byte) error {
		_, err := f.cmd(block(proto.CmdDebug, proto.DebugDriveNRST, a), nil, 2)
		return err
	}
	if err := f.setClock(k.khz); err != nil {
		return err
	}
	if k.mode == "under-reset" {
		if err := nrst(proto.NRSTLow); err != nil {
			return err
		}
	}
	if _, err := f.cmd(block(proto.CmdDebug, proto.DebugEnter, proto.EnterSWD), nil, 2); err != nil {
		return err
	}
	if k.ap != 0 {
		if _, err := f.cmd(block(proto.CmdDebug, proto.DebugInitAP, byte(k.ap)), nil, 2); err != nil {
			return err
		}
	}
	id := uint32(0xE0044000) // DBGMCU_IDCODE of an STM32H5, through AP0
	if k.ap != 0 {
		id = adi.RegCPUID
		if k.mode != "hotplug" { // Normal halts the core; Under Reset catches it halted
			if err := f.write32(k.ap, adi.RegDHCSR, adi.DHCSRDebugKey|adi.DHCSRCHalt|adi.DHCSRCDebugEn); err != nil {
				return err
			}
		}
	}
	if k.mode == "under-reset" {
		if err := nrst(proto.NRSTHigh); err != nil {
			return err
		}
	}
	if _, err := f.cmd(memBlock(proto.DebugReadMem32, id, 4, k.ap), nil, 4); err != nil {
		return err
	}
	if _, err := f.cmd(block(proto.CmdDebug, proto.DebugGetLastRWStatus2), nil, 12); err != nil {
		return err
	}
	return f.exit()
}

// exit leaves debug mode (no reply): the server answers a write of no data.
func (f *floorClient) exit() error {
	_, err := f.cmd(block(proto.CmdDebug, proto.DebugExit), []byte{}, 0)
	return err
}

// close ends the session.
func (f *floorClient) close() error {
	f.call(stlinkserver.Request{Op: stlinkserver.OpCloseDev, ConnectID: f.conn}, 4)
	return f.c.Close()
}

// floorSession runs the floor of cells as one session of the server and
// returns its cost.
func (s *server) floorSession(ctx context.Context, cells []cellKey) (result, error) {
	before, err := s.log.sessions()
	if err != nil {
		return result{}, err
	}
	start := time.Now()
	f, err := dialFloor(ctx, s.addr)
	if err != nil {
		return result{}, fmt.Errorf("floor client: %w", err)
	}
	for _, k := range cells {
		if err := f.cell(k); err != nil {
			f.close()
			return result{}, fmt.Errorf("floor client, %s AP%d %d kHz: %w", k.mode, k.ap, k.khz, err)
		}
	}
	f.close()
	got, err := s.log.settle(ctx, len(before))
	if err != nil {
		return result{}, fmt.Errorf("floor client: %w", err)
	}
	r := result{tool: "floor", sessions: len(got), wall: time.Since(start)}
	for _, c := range got {
		r.cost = r.cost.add(c)
	}
	return r, nil
}

// Modelled USB timing of the simulated probe (probe/sim, sim.go: a
// full-speed probe answers once per 1 ms frame at about 1 MB/s, a
// high-speed one within a 125 µs micro-frame at about 40 MB/s), and the
// firmware's largest 16/32-bit block (6144 bytes, OpenOCD stlink_usb.c
// STLINK_DATA_SIZE).
const (
	fsRoundTrip = time.Millisecond
	hsRoundTrip = 125 * time.Microsecond
	fsBytesPerS = 1_000_000
	hsBytesPerS = 40_000_000
	maxBlock    = 6144
	// swdBitsPerWord is one SWD data transaction: 8 request bits,
	// turnaround, 3 ACK bits, turnaround, 32 data bits and parity.
	swdBitsPerWord = 46
)

// memFloor is the probe's floor for moving n bytes with 32-bit accesses at
// khz: the SWD bits at the clock, the payload over USB, and one round trip
// per largest block the firmware takes; swdOnly is the first term alone.
func memFloor(n, khz int, highSpeed bool) (floor, swdOnly time.Duration) {
	rt, rate := fsRoundTrip, float64(fsBytesPerS)
	if highSpeed {
		rt, rate = hsRoundTrip, hsBytesPerS
	}
	swdOnly = time.Duration(float64(n/4*swdBitsPerWord) / float64(khz) * float64(time.Millisecond))
	usb := time.Duration(float64(n) / rate * float64(time.Second))
	blocks := int(math.Ceil(float64(n) / maxBlock))
	return swdOnly + usb + time.Duration(blocks)*rt, swdOnly
}
