package stm32h5

import (
	"encoding/binary"
	"time"

	"github.com/stprobe/stprobe/targets"
)

// The ROM's debug-authentication agent (security reference §5, DA session
// notes §8): a PSA-ADAC responder on the DBGMCU mailbox. It starts only
// when the request word reached DBG_AUTH_HOST while NRST was held low and
// NRST is then released (so never on a board whose NRST is not wired to
// the probe); after daBootDelay of modelled time it consumes the request,
// answers the reply word and serves commands until the next reset.
//
// DISCOVERY reports the state and provisioning; AUTH_START hands out a
// challenge; AUTH_RESPONSE takes the ST password TLV or the certificate
// chain and token (da_auth.go). A granted permission ends the session:
// regressions run in da_regress.go, a debug opening lets the boot go on
// with debug open. Every choice the public sources leave open is in
// chosen.go.

// PSA-ADAC codes used by the agent (security reference §5.4).
const (
	daCmdDiscovery    = 0x0001
	daCmdAuthStart    = 0x0002
	daCmdAuthResponse = 0x0003

	daStatusSuccess       = 0x0000
	daStatusFailure       = 0x0001
	daStatusNeedMoreData  = 0x0002
	daStatusUnsupported   = 0x0003
	daStatusUnauthorized  = 0x0004
	daStatusInvalidParams = 0x0005
	daStatusInvalidCmd    = 0x7FFF
)

// Mailbox acknowledge bits of DBG_AUTH_ACK.
const (
	daHostAck = 1 << 0 // a host word waits in DBG_AUTH_HOST
	daDevAck  = 1 << 1 // a device word waits in DBG_AUTH_DEV
)

// daAgent is the agent's state; it lives in Model under m.mu. The session
// fields end at every reset; keep survives resets.
type daAgent struct {
	armed   bool // the request word was written while NRST was low
	active  bool // NRST released after arming: the ROM runs the agent
	readyAt time.Duration
	greeted bool     // the reply word was sent
	rx      []uint32 // words of the request being received
	tx      []uint32 // words of the response still to send

	challenge []byte   // the last AUTH_START challenge, nil when none
	certs     [][]byte // certificates received since AUTH_START
	// done is the permission granted; the session ends once its answer
	// has been read.
	done uint32
	seq  uint64 // challenges handed out, for distinct challenges

	keep daKeep
}

// daKeep is what survives a reset: a regression in progress, the OBK
// provisioning service.
type daKeep struct {
	pending  *daPending
	obkCalls int // RSSLIB_DataProvisioning calls run
}

// daResetLocked ends any session (power-on, NRST low, system reset) and
// empties the mailbox.
func (m *Model) daResetLocked() {
	keep, seq := m.da.keep, m.da.seq
	m.da = daAgent{keep: keep, seq: seq}
	m.dbgAuthHost, m.dbgAuthDev, m.dbgAuthAck = 0, 0, 0
}

// daHostWriteLocked is a debugger write of DBG_AUTH_HOST.
func (m *Model) daHostWriteLocked(v uint32) {
	m.dbgAuthHost = v
	m.dbgAuthAck |= daHostAck
	if m.nrst.Low() && v == daRequestWord {
		m.da.armed = true
	}
	m.daStepLocked()
}

// daDevReadLocked is a debugger read of DBG_AUTH_DEV: it takes the word
// and clears DEV_ACK.
func (m *Model) daDevReadLocked() uint32 {
	m.daStepLocked()
	v := m.dbgAuthDev
	m.dbgAuthAck &^= daDevAck
	m.daStepLocked()
	return v
}

// daReleaseLocked is NRST going high: an armed agent starts.
func (m *Model) daReleaseLocked() {
	if m.da.armed {
		m.da.active = true
		m.da.readyAt = m.now + daBootDelay
	}
}

// daStepLocked lets the agent do what it can right now: take one host
// word, and hand out one response word when the previous one was read.
func (m *Model) daStepLocked() {
	a := &m.da
	if !a.active || m.now < a.readyAt {
		return
	}
	if !a.greeted {
		if m.dbgAuthAck&daHostAck != 0 {
			m.dbgAuthAck &^= daHostAck // the request word, consumed
		}
		a.greeted = true
		a.tx = append(a.tx, daReplyWord)
	} else if m.dbgAuthAck&daHostAck != 0 && a.done == 0 {
		m.dbgAuthAck &^= daHostAck
		a.rx = append(a.rx, m.dbgAuthHost)
		if len(a.rx) >= 2 {
			n := a.rx[1]
			switch {
			case n > daMaxRequestWords:
				a.tx = append(a.tx, daHeader(daStatusInvalidParams, nil)...)
				a.rx = nil
			case uint32(len(a.rx)-2) >= n:
				payload := make([]byte, 0, 4*n)
				for _, w := range a.rx[2:] {
					payload = binary.LittleEndian.AppendUint32(payload, w)
				}
				a.tx = append(a.tx, m.daAnswerLocked(uint16(a.rx[0]>>16), payload)...)
				a.rx = nil
			}
		}
	}
	if m.dbgAuthAck&daDevAck == 0 && len(a.tx) > 0 {
		m.dbgAuthDev = a.tx[0]
		a.tx = a.tx[1:]
		m.dbgAuthAck |= daDevAck
	}
	if a.done != 0 && len(a.tx) == 0 && m.dbgAuthAck&daDevAck == 0 {
		m.daGrantLocked(a.done) // the host has the answer: act on it
	}
}

// daAnswerLocked builds the response words to one command.
func (m *Model) daAnswerLocked(cmd uint16, payload []byte) []uint32 {
	switch cmd {
	case daCmdDiscovery:
		return m.daDiscoveryLocked()
	case daCmdAuthStart:
		return m.daAuthStartLocked()
	case daCmdAuthResponse:
		return m.daAuthResponseLocked(payload)
	case 0x0005, 0x0006, 0x0007:
		return daHeader(daStatusUnsupported, nil)
	}
	return daHeader(daStatusInvalidCmd, nil)
}

// daDiscoveryLocked answers DISCOVERY: the TLV list of security reference
// §5.5, in the N6 sample's order.
func (m *Model) daDiscoveryLocked() []uint32 {
	state := m.stateLocked()
	provisioned := m.daProvisionedLocked()
	var b []byte
	u16 := func(v uint16) []byte { return binary.LittleEndian.AppendUint16(nil, v) }
	u32 := func(v uint32) []byte { return binary.LittleEndian.AppendUint32(nil, v) }
	perms := make([]byte, 16)
	binary.LittleEndian.PutUint32(perms, daPermissionsMask(state, provisioned, m.daPermissionWordLocked()))
	integrity := uint32(0xF5F5F5F5)
	if provisioned {
		integrity = 0xEAEAEAEA
	}
	b = appendTLV(b, 0x0001, []byte{1, 0})
	b = appendTLV(b, 0x0002, daVendorID)
	b = appendTLV(b, 0x0003, u32(uint32(m.line.DevID)))
	b = appendTLV(b, 0x0004, m.socIDLocked())
	b = appendTLV(b, 0x0007, perms)
	b = appendTLV(b, 0x0008, u16(daLifecycle[state]))
	b = appendTLV(b, 0x000A, daSDAVersion)
	b = appendTLV(b, 0x0100, u16(0x0200))
	b = appendTLV(b, 0x0101, u16(0x0201))
	b = appendTLV(b, 0x0102, []byte{daCryptosystem(m.tzenLocked())})
	b = appendTLV(b, 0x8000, u32(integrity))
	for t := uint16(0x8001); t <= 0x8003; t++ {
		b = appendTLV(b, t, u32(daHDPLStatus))
	}
	return daHeader(daStatusSuccess, b)
}

// socIDLocked is the SOC_ID value: the 96-bit UID and 32 zero bits.
func (m *Model) socIDLocked() []byte {
	socID := make([]byte, 0, 16)
	for _, w := range m.cfg.UID {
		socID = binary.LittleEndian.AppendUint32(socID, w)
	}
	return append(socID, 0, 0, 0, 0)
}

// tzenLocked is the applied TZEN (TZENAbsent on the H503).
func (m *Model) tzenLocked() targets.TZEN {
	if !m.line.TrustZone {
		return targets.TZENAbsent
	}
	return targets.TZENOf(m.cur["OPTSR2"])
}

// appendTLV adds one TLV {u16 0, u16 type, u32 length, value}, padded with
// zeros to a 4-byte multiple.
func appendTLV(b []byte, typ uint16, v []byte) []byte {
	b = binary.LittleEndian.AppendUint16(b, 0)
	b = binary.LittleEndian.AppendUint16(b, typ)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(v)))
	b = append(b, v...)
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}

// daHeader is a response: {u16 0, u16 status, u32 data_count in words}
// followed by the payload words.
func daHeader(status uint16, payload []byte) []uint32 {
	out := []uint32{uint32(status) << 16, uint32(len(payload) / 4)}
	for i := 0; i+4 <= len(payload); i += 4 {
		out = append(out, binary.LittleEndian.Uint32(payload[i:]))
	}
	return out
}

// DASessionActive reports whether the ROM's DA agent is running (the chip
// stays in it until the next reset).
func (m *Model) DASessionActive() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.da.active
}
