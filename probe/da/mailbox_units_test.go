package da

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/stprobe/stprobe/probe"
	"github.com/stprobe/stprobe/targets"
)

// portDevice is a device on the other side of the DBGMCU mailbox, written
// after ST's device-side ports (DA session notes §2.2): it counts a
// request's data_count in bytes or in words (reqBytes) and its answers' in
// bytes or words (respBytes), may post stale words in DBG_AUTH_DEV when its
// mailbox starts (ST's 0xBADF00D0), echoes the session request word, and
// answers every command with the payload it read (DISCOVERY with a fixed
// TLV list). It implements Port.
type portDevice struct {
	reqBytes, respBytes bool
	initWords           []uint32 // posted when the agent starts, before the echo

	nrstLow, armed, active bool
	host                   uint32
	hostFull               bool
	dev                    uint32
	devFull                bool
	tx, rx                 []uint32
}

func (d *portDevice) Connect(context.Context, probe.ConnectOptions) (*probe.ConnectReport, error) {
	return &probe.ConnectReport{DPOK: true, APIDR: 0x84770001}, nil
}

func (d *portDevice) Disconnect(context.Context) error { return nil }

func (d *portDevice) SetNRST(_ context.Context, low bool) error {
	d.nrstLow = low
	if !low && d.armed && !d.active {
		d.active = true
		d.hostFull = false // the request word, consumed
		d.tx = append(slices.Clone(d.initWords), DefaultRequestWord)
		d.step()
	}
	return nil
}

func (d *portDevice) Read32(_ context.Context, _ uint8, addr uint32) (uint32, error) {
	switch addr - targets.H5DBGMCUAP0 {
	case targets.DBGMCUIDCode:
		return 0x10010478, nil // an STM32H533
	case offAck:
		d.step()
		var v uint32
		if d.hostFull {
			v |= 1 << DefaultHostAckBit
		}
		if d.devFull {
			v |= 1 << DefaultDevAckBit
		}
		return v, nil
	case offDev:
		v := d.dev
		d.devFull = false
		d.step()
		return v, nil
	}
	return 0, fmt.Errorf("portDevice: read of 0x%08X", addr)
}

func (d *portDevice) Write32(_ context.Context, _ uint8, addr, v uint32) error {
	if addr-targets.H5DBGMCUAP0 != offHost {
		return fmt.Errorf("portDevice: write of 0x%08X", addr)
	}
	d.host, d.hostFull = v, true
	if d.nrstLow && v == DefaultRequestWord {
		d.armed = true
	}
	d.step()
	return nil
}

func (d *portDevice) ReadMem(context.Context, uint8, uint32, int, []byte) error {
	return errors.New("portDevice: no memory")
}

func (d *portDevice) Write16(context.Context, uint8, uint32, uint16) error {
	return errors.New("portDevice: no half-word stores")
}

// step takes a host word, answers a whole request, and posts one device
// word when the last one was read.
func (d *portDevice) step() {
	if !d.active {
		return
	}
	if d.hostFull {
		d.hostFull = false
		d.rx = append(d.rx, d.host)
		if len(d.rx) >= 2 {
			n := d.rx[1]
			if d.reqBytes {
				n = (n + 3) / 4
			}
			if uint32(len(d.rx)-2) >= n {
				payload := WordsToBytes(d.rx[2:])
				if Command(d.rx[0]>>16) == CmdDiscovery {
					payload = discoveryTLVs()
				}
				count := uint32(len(payload) / 4)
				if d.respBytes {
					count = uint32(len(payload))
				}
				d.tx = append(d.tx, uint32(StatusSuccess)<<16, count)
				for i := 0; i < len(payload); i += 4 {
					d.tx = append(d.tx, binary.LittleEndian.Uint32(payload[i:]))
				}
				d.rx = nil
			}
		}
	}
	if !d.devFull && len(d.tx) > 0 {
		d.dev, d.tx, d.devFull = d.tx[0], d.tx[1:], true
	}
}

// discoveryTLVs is a DISCOVERY answer: a closed H533, DA provisioned.
func discoveryTLVs() []byte {
	var b []byte
	for _, t := range []TLV{
		{Type: TypeAuthVersion, Value: []byte{1, 0}},
		{Type: TypeSoCClass, Value: binary.LittleEndian.AppendUint32(nil, 0x478)},
		{Type: TypePSALifecycle, Value: []byte{0x72, 0x20}},
		{Type: TypeCryptosystems, Value: []byte{0x01}},
		{Type: TypeSTPassword, Value: binary.LittleEndian.AppendUint32(nil, 0xEAEAEAEA)},
	} {
		b = append(b, EncodeTLV(t)...)
	}
	return b
}

// A request's data_count and a response's are set apart: the host speaks
// with a device only when each option matches the device's own unit, and
// ST's STM32MP21 way (request in bytes, response in words) works.
func TestDataCountUnits(t *testing.T) {
	payload := EncodeTLV(TLV{Type: 0x8000, Value: []byte("0123456789012345")}) // 24 bytes, 6 words
	for _, dev := range [][2]bool{{false, false}, {true, false}, {false, true}, {true, true}} {
		for _, host := range [][2]bool{{false, false}, {true, false}, {false, true}, {true, true}} {
			t.Run(fmt.Sprintf("device %v host %v", dev, host), func(t *testing.T) {
				d := &portDevice{reqBytes: dev[0], respBytes: dev[1], active: true}
				mb := NewMailbox(d, Options{RequestCountInBytes: host[0], ResponseCountInBytes: host[1], MaxPolls: 20})
				var words []Transfer
				mb.o.Trace = func(x Transfer) { words = append(words, x) }
				st, got, err := mb.Transact(context.Background(), CmdAuthResponse, payload)
				ok := err == nil && st == StatusSuccess && slices.Equal(got, payload)
				if ok != (dev == host) {
					t.Errorf("exchange ok %v (status %v, % x, %v), want %v", ok, st, got, err, dev == host)
				}
				// The request's count as written, in the host's unit.
				wantCount := uint32(6)
				if host[0] {
					wantCount = 24
				}
				var sent []uint32
				for _, w := range words {
					if w.Write {
						sent = append(sent, w.Value)
					}
				}
				if len(sent) < 2 || sent[1] != wantCount {
					t.Errorf("request words %X, want data_count %d", sent, wantCount)
				}
			})
		}
	}
}

// A stale word in DBG_AUTH_DEV is drained and reported, never taken as the
// reply: one left before the request, and ST's 0xBADF00D0 posted when the
// device's mailbox starts.
func TestStaleDeviceWordsDrained(t *testing.T) {
	d := &portDevice{initWords: []uint32{STMailboxInitWord}}
	d.dev, d.devFull = 0x12345678, true // left by an earlier session
	var steps []Event
	disc, err := NewHost(d, Options{MaxPolls: 20, Events: func(e Event) { steps = append(steps, e) }}).Discover(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if disc.ReplyWord != DefaultRequestWord || !slices.Equal(disc.Drained, []uint32{0x12345678, STMailboxInitWord}) || disc.State != targets.StateClosed {
		t.Errorf("reply 0x%08X, drained %X, state %v", disc.ReplyWord, disc.Drained, disc.State)
	}
	var drains int
	for _, e := range steps {
		if e.Step == "drain" {
			drains++
		}
	}
	if drains != 2 {
		t.Errorf("%d drain events, want 2: %v", drains, steps)
	}

	// A word that is neither a reply nor a known stale word is refused.
	d = &portDevice{initWords: []uint32{0xDEADBEEF}}
	if _, err := NewHost(d, Options{MaxPolls: 20}).Discover(context.Background()); err == nil || !contains(err, "unexpected DA reply word 0xDEADBEEF") {
		t.Errorf("unknown word: %v", err)
	}
	// Stale words without end are not drained for ever.
	d = &portDevice{initWords: slices.Repeat([]uint32{STMailboxInitWord}, maxStaleWords+1)}
	if _, err := NewHost(d, Options{MaxPolls: 20}).Discover(context.Background()); err == nil || !contains(err, "0xBADF00D0") {
		t.Errorf("endless stale words: %v", err)
	}
}
