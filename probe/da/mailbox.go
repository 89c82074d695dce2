package da

import (
	"context"
	"fmt"
)

// Mailbox moves 32-bit words through the DBGMCU debug-authentication
// mailbox (DBG_AUTH_HOST, DBG_AUTH_DEV, DBG_AUTH_ACK) with word reads and
// writes on one access port. Every wait is a bounded poll of DBG_AUTH_ACK.
type Mailbox struct {
	l        Port
	o        Options
	hostBit  uint32
	devBit   uint32
	lastAck  uint32
	polls    int // ACK reads spent so far
	transfer int // words moved so far
}

// NewMailbox returns the mailbox of l as o describes it (defaults filled).
func NewMailbox(l Port, o Options) *Mailbox {
	o = o.withDefaults()
	h, d := o.ackBits()
	return &Mailbox{l: l, o: o, hostBit: h, devBit: d}
}

func (m *Mailbox) trace(write bool, reg string, v uint32) {
	if m.o.Trace != nil {
		m.o.Trace(Transfer{Write: write, Reg: reg, Value: v})
	}
}

// Ack reads DBG_AUTH_ACK.
func (m *Mailbox) Ack(ctx context.Context) (uint32, error) {
	v, err := m.l.Read32(ctx, m.o.AP, m.o.Base+offAck)
	if err != nil {
		return 0, fmt.Errorf("reading DBG_AUTH_ACK through AP%d: %w", m.o.AP, err)
	}
	m.polls++
	m.lastAck = v
	m.trace(false, "DBG_AUTH_ACK", v)
	return v, nil
}

// errNoWord is the failure of a wait that ran out of polls.
type errNoWord struct {
	what  string
	ack   uint32
	polls int
}

func (e *errNoWord) Error() string {
	return fmt.Sprintf("%s: DBG_AUTH_ACK 0x%08X after %d polls", e.what, e.ack, e.polls)
}

// wait polls DBG_AUTH_ACK until (ack & mask != 0) == set, at most MaxPolls
// times.
func (m *Mailbox) wait(ctx context.Context, mask uint32, set bool, what string) error {
	for range m.o.MaxPolls {
		if err := ctx.Err(); err != nil {
			return err
		}
		v, err := m.Ack(ctx)
		if err != nil {
			return err
		}
		if (v&mask != 0) == set {
			return nil
		}
	}
	return &errNoWord{what: what, ack: m.lastAck, polls: m.o.MaxPolls}
}

// Write sends one host word: it waits until the previous host word was
// consumed, then writes DBG_AUTH_HOST.
func (m *Mailbox) Write(ctx context.Context, v uint32) error {
	if err := m.wait(ctx, m.hostBit, false, "the device did not consume the previous host word"); err != nil {
		return err
	}
	return m.put(ctx, v)
}

// put writes DBG_AUTH_HOST without waiting.
func (m *Mailbox) put(ctx context.Context, v uint32) error {
	if err := m.l.Write32(ctx, m.o.AP, m.o.Base+offHost, v); err != nil {
		return fmt.Errorf("writing DBG_AUTH_HOST through AP%d: %w", m.o.AP, err)
	}
	m.transfer++
	m.trace(true, "DBG_AUTH_HOST", v)
	return nil
}

// Read receives one device word: it waits until one is pending, then
// reads DBG_AUTH_DEV (which clears the pending bit; Options.ClearDevAck
// also clears it by a write).
func (m *Mailbox) Read(ctx context.Context) (uint32, error) {
	if err := m.wait(ctx, m.devBit, true, "no device word"); err != nil {
		return 0, err
	}
	return m.take(ctx)
}

// take reads DBG_AUTH_DEV without waiting.
func (m *Mailbox) take(ctx context.Context) (uint32, error) {
	v, err := m.l.Read32(ctx, m.o.AP, m.o.Base+offDev)
	if err != nil {
		return 0, fmt.Errorf("reading DBG_AUTH_DEV through AP%d: %w", m.o.AP, err)
	}
	m.transfer++
	m.trace(false, "DBG_AUTH_DEV", v)
	if m.o.ClearDevAck {
		if err := m.l.Write32(ctx, m.o.AP, m.o.Base+offAck, m.lastAck&^m.devBit); err != nil {
			return v, fmt.Errorf("clearing DBG_AUTH_ACK through AP%d: %w", m.o.AP, err)
		}
	}
	return v, nil
}

// Transact sends one request and returns the response status and payload
// bytes.
func (m *Mailbox) Transact(ctx context.Context, cmd Command, payload []byte) (Status, []byte, error) {
	for i, w := range EncodeRequest(cmd, payload, m.o.RequestCountInBytes) {
		if err := m.Write(ctx, w); err != nil {
			return 0, nil, fmt.Errorf("sending request word %d: %w", i, err)
		}
	}
	w0, err := m.Read(ctx)
	if err != nil {
		return 0, nil, fmt.Errorf("reading the response header: %w", err)
	}
	w1, err := m.Read(ctx)
	if err != nil {
		return 0, nil, fmt.Errorf("reading the response length: %w", err)
	}
	st, n, err := DecodeHeader(w0, w1, m.o.ResponseCountInBytes)
	if err != nil {
		return 0, nil, err
	}
	ws := make([]uint32, n)
	for i := range ws {
		if ws[i], err = m.Read(ctx); err != nil {
			return st, nil, fmt.Errorf("reading response word %d of %d: %w", i+1, n, err)
		}
	}
	return st, WordsToBytes(ws), nil
}

// Polls is the number of DBG_AUTH_ACK reads so far.
func (m *Mailbox) Polls() int { return m.polls }

// Words is the number of mailbox words moved so far.
func (m *Mailbox) Words() int { return m.transfer }
