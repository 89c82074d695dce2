package sim

import (
	"math/bits"

	"github.com/stprobe/stprobe/adi"
	"github.com/stprobe/stprobe/probe/proto"
	"github.com/stprobe/stprobe/targets/chipsim"
)

// memCmd is a decoded memory command block (§2.5 of the protocol notes).
type memCmd struct {
	addr  uint32
	n     int
	ap    uint8
	csw   uint32 // CSW[31:8] in place, 0 = firmware default
	width chipsim.Size
	inc   bool
}

func decodeMemCmd(cmd [16]byte) memCmd {
	m := memCmd{
		addr: le32(cmd[2:]),
		n:    int(le16(cmd[6:])),
		ap:   cmd[8],
		csw:  uint32(cmd[9])<<8 | uint32(cmd[10])<<16 | uint32(cmd[11])<<24,
		inc:  true,
	}
	switch cmd[1] {
	case proto.DebugReadMem8, proto.DebugWriteMem8:
		m.width = chipsim.Byte
	case proto.DebugReadMem16, proto.DebugWriteMem16:
		m.width = chipsim.Halfword
	default:
		m.width = chipsim.Word
	}
	if cmd[1] == proto.DebugReadMem32NoInc || cmd[1] == proto.DebugWriteMem32NoInc {
		m.inc = false
	}
	return m
}

// readReplyLen is what a read command sends back: the length asked for,
// except that a 1-byte 8-bit read returns 2 bytes.
func readReplyLen(cmd [16]byte) int {
	n := int(le16(cmd[6:]))
	if cmd[1] == proto.DebugReadMem8 && n == 1 {
		return 2
	}
	return n
}

// memGate checks the firmware level, size limits and alignment of a memory
// command; StatusOK lets it run.
func (f *firmware) memGate(cmd [16]byte, m *memCmd) proto.Status {
	sub := cmd[1]
	switch sub {
	case proto.DebugReadMem16, proto.DebugWriteMem16, proto.DebugWriteMem32NoInc:
		if !f.v.HasMem16() {
			return proto.StatusUnknownCmd
		}
	case proto.DebugReadMem32NoInc:
		if !f.v.HasBankedDP() {
			return proto.StatusUnknownCmd
		}
	}
	if !f.v.HasMultiAP() {
		m.ap = 0
	}
	if !f.v.HasBankedDP() {
		m.csw = 0
	}
	max := proto.MaxMem16Or32Transfer
	if m.width == chipsim.Byte {
		max = f.v.MaxMem8()
	}
	if m.n > max {
		return proto.StatusCmdError
	}
	if m.addr%uint32(m.width) != 0 || m.n%int(m.width) != 0 {
		return proto.StatusAlignmentError
	}
	return f.checkAP(m.ap, true)
}

func (f *firmware) readMemCmd(cmd [16]byte) ([]byte, bool) {
	m := decodeMemCmd(cmd)
	reply := make([]byte, readReplyLen(cmd))
	if st := f.memGate(cmd, &m); st != proto.StatusOK {
		if st == proto.StatusUnknownCmd {
			return unknownCmd()
		}
		f.lastStatus, f.lastFault = st, 0
		return reply, true
	}
	f.lastStatus, f.lastFault = f.memXfer(m, reply[:m.n], false)
	return reply, true
}

func (f *firmware) writeMemCmd(cmd [16]byte, out []byte) ([]byte, bool) {
	m := decodeMemCmd(cmd)
	if st := f.memGate(cmd, &m); st != proto.StatusOK {
		if st == proto.StatusUnknownCmd {
			return unknownCmd()
		}
		f.lastStatus, f.lastFault = st, 0
		return nil, false
	}
	data := make([]byte, m.n)
	copy(data, out) // a short data phase leaves zeros
	f.lastStatus, f.lastFault = f.memXfer(m, data, true)
	return nil, false
}

// tarBlock is the MEM-AP's TAR auto-increment range: past it the
// increment wraps to the block's start (ADIv5/ADIv6 MEM-AP TAR guarantee
// 10 bits; see proto.MaxTARAutoIncrement).
const tarBlock = proto.MaxTARAutoIncrement

// memXfer moves buf through MEM-AP m.ap the way the firmware does: clear
// sticky errors left from an earlier command, write CSW and TAR, stream
// DRW. The AP's TAR auto-increment wraps at every 1 KiB boundary; the
// firmware, in SWD mode, writes TAR again there (one more transaction) so
// that the transfer goes on at the right address — unless noTARRewrite is
// set, when the access wraps as the bare AP would. It returns the transfer
// status and, for a fault, the faulting address.
func (f *firmware) memXfer(m memCmd, buf []byte, write bool) (proto.Status, uint32) {
	if len(buf) == 0 {
		return proto.StatusOK, 0
	}
	if f.waitInjected() {
		return proto.StatusSWDAPWait, 0
	}
	if !f.linkUp() {
		f.txn(1)
		return proto.StatusSWDAPError, 0
	}
	if f.dp.ctrl&(adi.CtrlStickyErr|adi.CtrlStickyOrun|adi.CtrlWDataErr) != 0 {
		f.txn(1)
		f.writeAbort(adi.AbortStkErrClr | adi.AbortOrunErrClr | adi.AbortWDErrClr | adi.AbortStkCmpClr)
	}
	if !f.poweredUp() {
		f.txn(1)
		return proto.StatusDbgPowerError, 0
	}
	hi := m.csw
	if hi == 0 {
		hi = DefaultCSW
	}
	csw := hi&^0xFF | sizeBits(m.width)
	if m.inc {
		csw |= adi.CSWAddrIncSingle
	}
	st := &f.aps[m.ap]
	f.selectAP(m.ap, adi.APCSW)
	if st.csw != csw {
		f.txn(1)
		st.csw = csw
	}
	f.txn(1) // TAR
	st.tar = m.addr
	ap := f.chip.AP(m.ap)
	w := uint32(m.width)
	want := m.addr // where the host asked this access to go
	for i := 0; i < len(buf); i += int(w) {
		if i > 0 && m.inc {
			want += w
			st.tar = st.tar&^(tarBlock-1) | (st.tar+w)&(tarBlock-1) // the AP's increment
			if st.tar != want && !f.noTARRewrite {
				f.txn(1) // the firmware writes TAR again at the boundary
				st.tar = want
			}
		}
		addr := st.tar
		f.txn(1)
		if ap == nil {
			continue // no AP: reads as zero, writes ignored
		}
		if !ap.Enabled() {
			f.fault()
			return proto.StatusSWDAPFault, addr
		}
		if write {
			var v uint32
			for j := int(w) - 1; j >= 0; j-- {
				v = v<<8 | uint32(buf[i+j])
			}
			if err := ap.Write(addr, m.width, v, csw); err != nil {
				f.fault()
				return proto.StatusSWDAPFault, addr
			}
			continue
		}
		v, err := ap.Read(addr, m.width, csw)
		if err != nil {
			f.fault()
			return proto.StatusSWDAPFault, addr
		}
		for j := 0; j < int(w); j++ {
			buf[i+j] = byte(v >> (8 * j))
		}
	}
	if !write {
		f.txn(1) // RDBUFF for the last posted read
	}
	if m.inc {
		st.tar = st.tar&^(tarBlock-1) | (st.tar+w)&(tarBlock-1)
	}
	return proto.StatusOK, 0
}

// sizeBits is the CSW Size field for an access of s bytes: log2 of the
// width (0 byte, 1 halfword, 2 word; adi.CSWSizeMask).
func sizeBits(s chipsim.Size) uint32 {
	return uint32(bits.TrailingZeros32(uint32(s)))
}

// mem32 does one 32-bit access on AP ap with the default CSW.
func (f *firmware) mem32(ap uint8, addr uint32, write bool, v uint32) (uint32, proto.Status) {
	if addr%4 != 0 {
		return 0, proto.StatusAlignmentError
	}
	var b [4]byte
	put32(b[:], v)
	st, _ := f.memXfer(memCmd{addr: addr, n: 4, ap: ap, width: chipsim.Word}, b[:], write)
	return le32(b[:]), st
}

// The HLA commands (READ/WRITEDEBUGREG, READ/WRITEREG, RESETSYS) work on
// the core behind AP0.

func (f *firmware) hlaRead32(addr uint32) (uint32, proto.Status) {
	return f.mem32(0, addr, false, 0)
}

func (f *firmware) hlaWrite32(addr, v uint32) proto.Status {
	_, st := f.mem32(0, addr, true, v)
	return st
}

func (f *firmware) hlaReadReg(sel uint32) (uint32, proto.Status) {
	if st := f.hlaWrite32(adi.RegDCRSR, sel&0x7F); st != proto.StatusOK {
		return 0, st
	}
	if _, st := f.hlaRead32(adi.RegDHCSR); st != proto.StatusOK {
		return 0, st
	}
	return f.hlaRead32(adi.RegDCRDR)
}

func (f *firmware) hlaWriteReg(sel, v uint32) proto.Status {
	if st := f.hlaWrite32(adi.RegDCRDR, v); st != proto.StatusOK {
		return st
	}
	if st := f.hlaWrite32(adi.RegDCRSR, sel&0x7F|adi.DCRSRRegWnR); st != proto.StatusOK {
		return st
	}
	_, st := f.hlaRead32(adi.RegDHCSR)
	return st
}

// RW_MISC item opcodes.
const (
	miscAddress = 1
	miscWrite   = 2
	miscRead    = 3
	miscAPNum   = 5
)

// rwMiscOut runs a RW_MISC batch: items one-byte opcodes (padded to a
// multiple of 4), then one u32 parameter per item. Results wait for RW_MISC_IN.
func (f *firmware) rwMiscOut(items uint32, data []byte) {
	n := int(items)
	if n > 1<<14 {
		n = 0
	}
	f.misc = make([]miscResult, n)
	params := (n + 3) &^ 3
	var ap uint8
	var addr uint32
	for i := 0; i < n; i++ {
		if params+4*i+4 > len(data) {
			f.misc[i].status = proto.StatusCmdError
			continue
		}
		op := data[i]
		arg := le32(data[params+4*i:])
		res := &f.misc[i]
		res.status = proto.StatusOK
		switch op {
		case miscAPNum:
			if arg > 0xFF {
				res.status = proto.StatusBadAP
				continue
			}
			ap = uint8(arg)
			res.status = f.checkAP(ap, true)
		case miscAddress:
			addr = arg
		case miscWrite:
			if st := f.checkAP(ap, true); st != proto.StatusOK {
				res.status = st
				continue
			}
			_, res.status = f.mem32(ap, addr, true, arg)
		case miscRead:
			if st := f.checkAP(ap, true); st != proto.StatusOK {
				res.status = st
				continue
			}
			res.value, res.status = f.mem32(ap, arg, false, 0)
		default:
			res.status = proto.StatusCmdError
		}
	}
}

// rwMiscIn returns the results of the last batch: the values, then the statuses.
func (f *firmware) rwMiscIn() []byte {
	n := len(f.misc)
	b := make([]byte, 8*n)
	for i, r := range f.misc {
		put32(b[4*i:], r.value)
		put32(b[4*n+4*i:], uint32(r.status))
	}
	return b
}
