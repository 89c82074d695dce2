package main

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"net"
	"time"
)

// The few protocol facts the floor client needs, written out here so that
// the measuring program imports nothing of the project (the layering test
// holds it to that). ST-LINK command bytes as ST's sources and OpenOCD's
// src/jtag/drivers/stlink_usb.c name them; the stlink-server framing as
// OpenOCD's stlink_tcp_* functions send it; Armv8-M debug registers from
// the Armv8-M Architecture Reference Manual (DHCSR, CPUID); DBGMCU_IDCODE
// of the STM32H5 from RM0481.
const (
	cmdDebug         = 0xF2
	dbgReadMem32     = 0x07
	dbgWriteMem32    = 0x08
	dbgExit          = 0x21
	dbgEnter         = 0x30
	enterSWD         = 0xA3
	dbgDriveNRST     = 0x3C
	nrstLow, nrstHi  = 0x00, 0x01
	dbgLastRWStatus2 = 0x3E
	dbgSWDSetFreq    = 0x43
	dbgInitAP        = 0x4B
	dbgSetComFreq    = 0x61

	tcpRefresh    = 0x00
	tcpGetDevInfo = 0x02
	tcpOpenDev    = 0x03
	tcpCloseDev   = 0x04
	tcpSendUSB    = 0x05
	tcpStatusOK   = 1
	tcpDevInfo    = 41 // TDeviceInfo2: id, serial[32], VID, PID, used
	usbWrite      = 0
	usbRead       = 1

	regCPUID      = 0xE000ED00
	regDHCSR      = 0xE000EDF0
	regDEMCR      = 0xE000EDFC
	dhcsrHalt     = 0xA05F<<16 | 1<<1 | 1<<0 // DBGKEY, C_HALT, C_DEBUGEN
	dhcsrSHalt    = 1 << 17
	demcrVCReset  = 1 << 0 // DEMCR.VC_CORERESET
	regH5IDCODE   = 0xE0044000
	pidV2, pidV21 = 0x3748, 0x374B
)

// v2Divisors is the ST-LINK/V2 SWD_SET_FREQ table (kHz, divisor), fastest
// first, as OpenOCD's stlink_khz_to_speed_map_swd has it.
var v2Divisors = []struct{ khz, div int }{
	{4000, 0}, {1800, 1}, {1200, 2}, {950, 3}, {480, 7}, {240, 15},
	{125, 31}, {100, 40}, {50, 79}, {25, 158}, {15, 265}, {5, 798},
}

// cellKey is one cell of the connection matrix.
type cellKey struct {
	mode string // normal, hotplug, under-reset
	ap   int
	khz  int
}

// floorCell is a cell for the floor client: its key, and in a proving floor
// the outcome the sweep gave it, which the floor client must find too.
type floorCell struct {
	cellKey
	outcome string
}

// floorClient speaks the stlink-server protocol directly, to send a
// simulated probe the fewest ST-LINK commands that give a cell's outcome:
// set the clock, enter SWD, open the AP (INIT_AP; AP0 needs none), the
// halt or reset the mode needs, one ID read (DBGMCU_IDCODE through AP0,
// CPUID through a core's AP) and its status, and exit. The server's cost
// log then says what that floor costs on the same modelled clock as the
// tools.
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
	fail := func(err error) (*floorClient, error) {
		c.Close()
		return nil, fmt.Errorf("stlink-server: %w", err)
	}
	if _, err := f.call([]byte{tcpRefresh, 0}, 4); err != nil {
		return fail(err)
	}
	req := make([]byte, 8)
	req[0] = tcpGetDevInfo
	binary.LittleEndian.PutUint32(req[4:], tcpDevInfo)
	info, err := f.call(req, 4+tcpDevInfo)
	if err != nil {
		return fail(err)
	}
	id := binary.LittleEndian.Uint32(info[4:])
	pid := binary.LittleEndian.Uint16(info[4+38:])
	f.hw3 = pid != pidV2 && pid != pidV21
	req = make([]byte, 8)
	req[0] = tcpOpenDev
	binary.LittleEndian.PutUint32(req[4:], id)
	open, err := f.call(req, 8)
	if err != nil {
		return fail(err)
	}
	f.conn = binary.LittleEndian.Uint32(open[4:])
	return f, nil
}

// call sends req and reads an n-byte reply whose first word is the status.
func (f *floorClient) call(req []byte, n int) ([]byte, error) {
	f.c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := f.c.Write(req); err != nil {
		return nil, err
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(f.c, b); err != nil {
		return nil, err
	}
	if st := binary.LittleEndian.Uint32(b); st != tcpStatusOK {
		return b, fmt.Errorf("request 0x%02X: status 0x%X", req[0], st)
	}
	return b, nil
}

// cmd sends one ST-LINK command with out data (a write) or reading n reply
// bytes, and returns the reply.
func (f *floorClient) cmd(c [16]byte, out []byte, n int) ([]byte, error) {
	h := make([]byte, 32)
	h[0] = tcpSendUSB
	binary.LittleEndian.PutUint32(h[4:], f.conn)
	copy(h[8:24], c[:])
	h[24] = usbRead
	binary.LittleEndian.PutUint32(h[28:], uint32(n))
	if out != nil {
		h[24] = usbWrite
		binary.LittleEndian.PutUint32(h[28:], uint32(len(out)))
		h = append(h, out...)
		n = 0
	}
	b, err := f.call(h, 4+n)
	if err != nil {
		return nil, fmt.Errorf("command % X: %w", c[:2], err)
	}
	return b[4:], nil
}

func block(b ...byte) [16]byte {
	var c [16]byte
	copy(c[:], b)
	return c
}

func memBlock(sub byte, addr uint32, n, ap int) [16]byte {
	c := block(cmdDebug, sub)
	binary.LittleEndian.PutUint32(c[2:], addr)
	binary.LittleEndian.PutUint16(c[6:], uint16(n))
	c[8] = byte(ap)
	return c
}

// write32 writes one word and fetches its status.
func (f *floorClient) write32(ap int, addr, v uint32) error {
	if _, err := f.cmd(memBlock(dbgWriteMem32, addr, 4, ap), binary.LittleEndian.AppendUint32(nil, v), 0); err != nil {
		return err
	}
	_, err := f.cmd(block(cmdDebug, dbgLastRWStatus2), nil, 12)
	return err
}

// setClock is SWD_SET_FREQ (V2, by divisor) or SET_COM_FREQ (V3).
func (f *floorClient) setClock(khz int) error {
	if f.hw3 {
		c := block(cmdDebug, dbgSetComFreq, 0)
		binary.LittleEndian.PutUint32(c[4:], uint32(khz))
		_, err := f.cmd(c, nil, 8)
		return err
	}
	div := v2Divisors[len(v2Divisors)-1].div
	for _, d := range v2Divisors {
		if d.khz <= khz {
			div = d.div
			break
		}
	}
	c := block(cmdDebug, dbgSWDSetFreq)
	binary.LittleEndian.PutUint16(c[2:], uint16(div))
	_, err := f.cmd(c, nil, 2)
	return err
}

// cell runs the fewest commands of one cell. The replies' statuses are not
// judged: the floor is what the commands cost, whatever they find.
//
// With prove, the cell also sends what it takes to know its outcome rather
// than to attempt it: Normal reads DHCSR after the halt request (S_HALT:
// did the core stop?) instead of CPUID; Under Reset arms the reset vector
// catch (DEMCR.VC_CORERESET, Armv8-M ARM) before releasing NRST and then
// reads DHCSR (halted at the reset vector?). It returns the outcome it
// found: "ok", or "mode-failed" when the core did not halt.
func (f *floorClient) cell(k cellKey, prove bool) (string, error) {
	nrst := func(a byte) error {
		_, err := f.cmd(block(cmdDebug, dbgDriveNRST, a), nil, 2)
		return err
	}
	if err := f.setClock(k.khz); err != nil {
		return "", err
	}
	if k.mode == "under-reset" {
		if err := nrst(nrstLow); err != nil {
			return "", err
		}
	}
	if _, err := f.cmd(block(cmdDebug, dbgEnter, enterSWD), nil, 2); err != nil {
		return "", err
	}
	if k.ap != 0 {
		if _, err := f.cmd(block(cmdDebug, dbgInitAP, byte(k.ap)), nil, 2); err != nil {
			return "", err
		}
	}
	id := uint32(regH5IDCODE)                 // DBGMCU_IDCODE of an STM32H5, through AP0
	halts := k.ap != 0 && k.mode != "hotplug" // Normal halts the core; Under Reset catches it halted
	if k.ap != 0 {
		id = regCPUID
		if halts {
			if err := f.write32(k.ap, regDHCSR, dhcsrHalt); err != nil {
				return "", err
			}
			if prove {
				id = regDHCSR
			}
		}
		if prove && k.mode == "under-reset" {
			if err := f.write32(k.ap, regDEMCR, demcrVCReset); err != nil {
				return "", err
			}
		}
	}
	if k.mode == "under-reset" {
		if err := nrst(nrstHi); err != nil {
			return "", err
		}
	}
	v, err := f.cmd(memBlock(dbgReadMem32, id, 4, k.ap), nil, 4)
	if err != nil {
		return "", err
	}
	if _, err := f.cmd(block(cmdDebug, dbgLastRWStatus2), nil, 12); err != nil {
		return "", err
	}
	outcome := "ok"
	if prove && halts && binary.LittleEndian.Uint32(v)&dhcsrSHalt == 0 {
		outcome = "mode-failed"
	}
	return outcome, f.exit()
}

// exit leaves debug mode (no reply): the server answers a write of no data.
func (f *floorClient) exit() error {
	_, err := f.cmd(block(cmdDebug, dbgExit), []byte{}, 0)
	return err
}

// close ends the session.
func (f *floorClient) close() error {
	req := make([]byte, 8)
	req[0] = tcpCloseDev
	binary.LittleEndian.PutUint32(req[4:], f.conn)
	f.call(req, 4)
	return f.c.Close()
}

// floorSession runs the floor of cells as one session of the server and
// returns its cost.
//
// With prove, each cell also proves its outcome (see cell), which must be
// the one the sweep found: a floor that cannot tell the outcomes apart is
// not a floor of the sweep.
func (s *server) floorSession(ctx context.Context, cells []floorCell, prove bool) (result, error) {
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
		got, err := f.cell(k.cellKey, prove)
		if err == nil && prove && got != k.outcome {
			err = fmt.Errorf("found %s where the sweep found %s", got, k.outcome)
		}
		if err != nil {
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
