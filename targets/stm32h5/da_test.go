package stm32h5

import (
	"testing"

	"github.com/stprobe/stprobe/targets"
	"github.com/stprobe/stprobe/targets/chipsim"
)

// mailbox drives the DBGMCU mailbox through AP0 as a debugger would.
type mailbox struct {
	t *testing.T
	m *Model
}

func (b mailbox) read(off uint32) uint32 {
	b.t.Helper()
	v, err := b.m.AP(0).Read(targets.H5DBGMCUAP0+off, chipsim.Word, 0)
	if err != nil {
		b.t.Fatalf("read 0x%03X: %v", off, err)
	}
	return v
}

func (b mailbox) write(off, v uint32) {
	b.t.Helper()
	if err := b.m.AP(0).Write(targets.H5DBGMCUAP0+off, chipsim.Word, v, 0); err != nil {
		b.t.Fatalf("write 0x%03X: %v", off, err)
	}
}

// ack is DBG_AUTH_ACK.
func (b mailbox) ack() uint32 { return b.read(targets.DBGMCUAuthAck) }

// start runs the session start: request under NRST low, then release.
func (b mailbox) start(word uint32) {
	b.m.SetNRST(true)
	b.write(targets.DBGMCUAuthHost, word)
	b.m.SetNRST(false)
}

// The ACK semantics of security reference §5.2 and the session start rule:
// the agent starts only after a request written under NRST low and NRST
// released, replies once booted, answers DISCOVERY and refuses the rest.
func TestDAMailboxHandshake(t *testing.T) {
	m, err := New(Config{ProductState: targets.StateTZClosed, TZEN: targets.TZENEnabled, NRSTWired: true})
	if err != nil {
		t.Fatal(err)
	}
	b := mailbox{t, m}

	// Without NRST held low the request is plain storage.
	b.write(targets.DBGMCUAuthHost, daRequestWord)
	if b.ack() != daHostAck {
		t.Fatalf("ACK 0x%X after a host write, want HOST_ACK", b.ack())
	}
	m.Advance(10 * daBootDelay)
	if b.ack() != daHostAck || m.DASessionActive() {
		t.Fatal("the agent started without NRST")
	}

	b.start(daRequestWord)
	if b.ack() != daHostAck {
		t.Fatalf("ACK 0x%X before the ROM booted", b.ack())
	}
	m.Advance(daBootDelay)
	if b.ack() != daDevAck {
		t.Fatalf("ACK 0x%X after boot, want DEV_ACK only (request consumed)", b.ack())
	}
	if v := b.read(targets.DBGMCUAuthDev); v != daReplyWord {
		t.Fatalf("reply 0x%08X", v)
	}
	if b.ack()&daDevAck != 0 {
		t.Fatal("reading DBG_AUTH_DEV did not clear DEV_ACK")
	}

	exchange := func(words ...uint32) []uint32 {
		for _, w := range words {
			if b.ack()&daHostAck != 0 {
				t.Fatal("previous host word not consumed")
			}
			b.write(targets.DBGMCUAuthHost, w)
		}
		var out []uint32
		for len(out) < 2 || len(out) < 2+int(out[1]) {
			if b.ack()&daDevAck == 0 {
				t.Fatalf("no device word after %d", len(out))
			}
			out = append(out, b.read(targets.DBGMCUAuthDev))
		}
		return out
	}
	disc := exchange(0x00010000, 0)
	if disc[0] != 0 || disc[1] == 0 || len(disc) != 2+int(disc[1]) {
		t.Fatalf("discovery header %08X", disc[:2])
	}
	if got := exchange(0x00020000, 0); got[0]>>16 != daStatusSuccess || got[1] != 9 || got[2] != 1 {
		t.Errorf("AUTH_START answered %08X, want SUCCESS and a 9-word challenge", got)
	}
	if got := exchange(0x00060000, 0); got[0]>>16 != daStatusUnsupported || got[1] != 0 {
		t.Errorf("LOCK_DEBUG answered %08X, want UNSUPPORTED", got)
	}
	if got := exchange(0x00090000, 0); got[0]>>16 != daStatusInvalidCmd {
		t.Errorf("command 9 answered %08X, want INVALID_COMMAND", got)
	}
	if got := exchange(0x00030000, daMaxRequestWords+1); got[0]>>16 != daStatusInvalidParams {
		t.Errorf("oversized request answered %08X", got)
	}

	// NRST low ends the session; a wrong word does not start one.
	b.start(0x4F454441) // "OEDA": not this ROM's word
	m.Advance(10 * daBootDelay)
	if m.DASessionActive() || b.ack()&daDevAck != 0 {
		t.Error("a wrong request word started the agent")
	}
}

// A board whose NRST is not wired never enters the DA loop.
func TestDANeedsNRST(t *testing.T) {
	m, err := New(Config{ProductState: targets.StateClosed, TZEN: targets.TZENEnabled, DA: DACertificate})
	if err != nil {
		t.Fatal(err)
	}
	b := mailbox{t, m}
	b.start(daRequestWord)
	m.Advance(10 * daBootDelay)
	if m.DASessionActive() || b.ack()&daDevAck != 0 {
		t.Error("the agent started without NRST wired")
	}
}
