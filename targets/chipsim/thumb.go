package chipsim

import (
	"fmt"
	"math/bits"
)

// CoreMemory is what the core's own instructions read and write: the
// chip's bus as the processor sees it. csw carries the security of the
// access the way a MEM-AP CSW does (see CoreConfig.NonSecureCSW).
type CoreMemory interface {
	Read(addr uint32, size Size, csw uint32) (uint32, error)
	Write(addr uint32, size Size, v, csw uint32) error
}

// thumbStop says why the interpreter stopped.
type thumbStop int

const (
	stopBudget     thumbStop = iota // the cycles of the time slice are spent
	stopBKPT                        // a BKPT instruction (DFSR.BKPT)
	stopBreakpoint                  // an FPB comparator matched the PC (DFSR.BKPT)
	stopLockup                      // an instruction not modelled, or a fault: the core locks up
)

// Cycle costs (chosen): the Cortex-M33 TRM publishes no per-instruction
// timing, so the model uses the Cortex-M4 TRM's (ARM DDI 0439B, §3.3.1
// Table 3-1): data processing 1, a single load or store 2, LDM/STM/PUSH/POP
// 1+N, a taken branch 1+P with the pipeline refill P taken as 2.
const (
	cyclesALU    = 1
	cyclesLoad   = 2
	cyclesRefill = 2
)

// thumbCPU is the processor state the interpreter works on: a copy of the
// core's registers, run without the core's lock.
type thumbCPU struct {
	r          [16]uint32
	n, z, c, v bool
	mem        CoreMemory
	csw        uint32
	bkpts      []uint32 // enabled FPB comparators
	cycles     uint64   // spent in this run
	retired    uint64   // instructions completed in this run
	reason     string   // why it locked up
	branched   bool     // the instruction wrote the PC
}

// run executes instructions until budget cycles are spent or something
// stops the core. The first instruction is not checked against the FPB:
// a resume checks it before the core runs.
func (p *thumbCPU) run(budget uint64, first bool) thumbStop {
	for p.cycles < budget {
		pc := p.r[15]
		if !first {
			for _, a := range p.bkpts {
				if a == pc {
					return stopBreakpoint
				}
			}
		}
		first = false
		stop, ok := p.step()
		if !ok {
			return stopLockup
		}
		if stop != stopBudget {
			return stop
		}
		p.retired++
	}
	return stopBudget
}

// lockup records why the core locked up and reports false.
func (p *thumbCPU) lockup(format string, args ...any) (thumbStop, bool) {
	p.reason = fmt.Sprintf("at 0x%08X: ", p.r[15]) + fmt.Sprintf(format, args...)
	return stopLockup, false
}

func (p *thumbCPU) read(addr uint32, size Size) (uint32, error) {
	if addr >= 0xE0000000 {
		return 0, fmt.Errorf("the private peripheral bus (0x%08X) is not modelled for the core's own accesses", addr)
	}
	p.cycles += cyclesLoad - 1
	return p.mem.Read(addr, size, p.csw)
}

func (p *thumbCPU) write(addr uint32, size Size, v uint32) error {
	if addr >= 0xE0000000 {
		return fmt.Errorf("the private peripheral bus (0x%08X) is not modelled for the core's own accesses", addr)
	}
	p.cycles += cyclesLoad - 1
	return p.mem.Write(addr, size, v&sizeMask(size), p.csw)
}

// step executes one instruction at r[15]. ok is false when the core locks
// up (p.reason says why); the PC then still holds the instruction.
func (p *thumbCPU) step() (stop thumbStop, ok bool) {
	pc := p.r[15]
	if pc&1 != 0 {
		return p.lockup("the PC is not halfword aligned")
	}
	hw1, err := p.mem.Read(pc, Halfword, p.csw)
	if err != nil {
		return p.lockup("instruction fetch: %v", err)
	}
	p.cycles += cyclesALU
	p.branched = false
	// A5.1 (DDI0403E): hw1[15:11] of 0b11101, 0b11110 or 0b11111 starts a
	// 32-bit instruction.
	if hw1>>11 >= 0x1D {
		hw2, err := p.mem.Read(pc+2, Halfword, p.csw)
		if err != nil {
			return p.lockup("instruction fetch: %v", err)
		}
		stop, ok = p.exec32(uint16(hw1), uint16(hw2))
		if ok && !p.branched {
			p.r[15] = pc + 4
		}
		return stop, ok
	}
	stop, ok = p.exec16(uint16(hw1))
	if ok && !p.branched && stop != stopBKPT {
		p.r[15] = pc + 2
	}
	return stop, ok
}

// reg reads register n as an operand: the PC reads as the instruction's
// address plus 4 (A5.1.2).
func (p *thumbCPU) reg(n uint32) uint32 {
	if n == 15 {
		return p.r[15] + 4
	}
	return p.r[n]
}

// branchTo is BranchWritePC: bit 0 of the target is ignored.
func (p *thumbCPU) branchTo(a uint32) {
	p.r[15] = a &^ 1
	p.branched = true
	p.cycles += cyclesRefill
}

// bxTo is BXWritePC/LoadWritePC: bit 0 must be 1 (Thumb); the model has no
// exception entry, so anything else (ARM state, EXC_RETURN, FNC_RETURN)
// locks the core up.
func (p *thumbCPU) bxTo(a uint32) (thumbStop, bool) {
	if a&1 == 0 || a >= 0xF0000000 {
		return p.lockup("interworking branch to 0x%08X: only Thumb targets are modelled (INVSTATE, EXC_RETURN and FNC_RETURN are not)", a)
	}
	p.branchTo(a)
	return stopBudget, true
}

func (p *thumbCPU) setNZ(v uint32) {
	p.n, p.z = v>>31 != 0, v == 0
}

// addWithCarry is AddWithCarry() (A2.2.1).
func addWithCarry(x, y uint32, carry bool) (r uint32, c, v bool) {
	ci := uint32(0)
	if carry {
		ci = 1
	}
	sum, c1 := bits.Add32(x, y, ci)
	r = sum
	c = c1 != 0
	v = (x^r)&(y^r)>>31 != 0
	return
}

// shiftC is Shift_C() (A7.4.2) for the shift types 0 LSL, 1 LSR, 2 ASR,
// 3 ROR; n is the decoded amount (RRX is type 3 with n 0, handled by the
// caller through decodeImmShift).
func shiftC(x uint32, typ, n uint32, cin bool) (uint32, bool) {
	if n == 0 {
		return x, cin
	}
	switch typ {
	case 0:
		if n > 32 {
			return 0, false
		}
		c := x>>(32-n)&1 != 0
		if n == 32 {
			return 0, c
		}
		return x << n, c
	case 1:
		if n > 32 {
			return 0, false
		}
		c := x>>(n-1)&1 != 0
		if n == 32 {
			return 0, c
		}
		return x >> n, c
	case 2:
		if n >= 32 {
			s := uint32(int32(x) >> 31)
			return s, s&1 != 0
		}
		return uint32(int32(x) >> n), x>>(n-1)&1 != 0
	default:
		n %= 32
		if n == 0 {
			return x, x>>31 != 0
		}
		r := bits.RotateLeft32(x, -int(n))
		return r, r>>31 != 0
	}
}

// immShift applies DecodeImmShift(type, imm5) (A7.4.2) to x.
func immShift(x, typ, imm5 uint32, cin bool) (uint32, bool) {
	switch {
	case typ == 3 && imm5 == 0: // RRX
		c := x&1 != 0
		r := x >> 1
		if cin {
			r |= 1 << 31
		}
		return r, c
	case (typ == 1 || typ == 2) && imm5 == 0:
		return shiftC(x, typ, 32, cin)
	}
	return shiftC(x, typ, imm5, cin)
}

// thumbExpandImmC is ThumbExpandImm_C() (A5.3.2); ok is false for the
// UNPREDICTABLE zero byte patterns.
func thumbExpandImmC(imm12 uint32, cin bool) (v uint32, c, ok bool) {
	if imm12>>10 == 0 {
		b := imm12 & 0xFF
		switch imm12 >> 8 & 3 {
		case 0:
			return b, cin, true
		case 1:
			return b<<16 | b, cin, b != 0
		case 2:
			return b<<24 | b<<8, cin, b != 0
		default:
			return b<<24 | b<<16 | b<<8 | b, cin, b != 0
		}
	}
	v = bits.RotateLeft32(0x80|imm12&0x7F, -int(imm12>>7))
	return v, v>>31 != 0, true
}

// conditionPassed is ConditionPassed() for cond (A7.3.1); 0b1110 always.
func (p *thumbCPU) conditionPassed(cond uint32) bool {
	var r bool
	switch cond >> 1 {
	case 0:
		r = p.z
	case 1:
		r = p.c
	case 2:
		r = p.n
	case 3:
		r = p.v
	case 4:
		r = p.c && !p.z
	case 5:
		r = p.n == p.v
	case 6:
		r = p.n == p.v && !p.z
	default:
		return true
	}
	if cond&1 != 0 {
		return !r
	}
	return r
}

func signExtend(v uint32, bitsN uint) uint32 {
	s := 32 - bitsN
	return uint32(int32(v<<s) >> s)
}

// exec16 executes a 16-bit instruction (A5.2, A6.7 of DDI0403E).
func (p *thumbCPU) exec16(hw uint16) (thumbStop, bool) {
	h := uint32(hw)
	switch {
	case h>>14 == 0: // A5.2.1 shift (immediate), add, subtract, move, compare
		return p.shiftAddSubMovCmp(h)
	case h>>10 == 0x10: // A5.2.2 data processing
		return p.dataProc16(h)
	case h>>10 == 0x11: // A5.2.3 special data instructions and branch and exchange
		return p.special16(h)
	case h>>11 == 0x09: // LDR (literal) T1
		rt, imm := h>>8&7, (h&0xFF)<<2
		addr := (p.reg(15) &^ 3) + imm
		v, err := p.read(addr, Word)
		if err != nil {
			return p.lockup("LDR literal: %v", err)
		}
		p.r[rt] = v
		return stopBudget, true
	case h>>12 == 0x5 || h>>13 == 0x3 || h>>13 == 0x4: // A5.2.4 load/store single
		return p.loadStore16(h)
	case h>>11 == 0x14: // ADR T1
		p.r[h>>8&7] = (p.reg(15) &^ 3) + (h&0xFF)<<2
		return stopBudget, true
	case h>>11 == 0x15: // ADD (SP plus immediate) T1
		p.r[h>>8&7] = p.r[13] + (h&0xFF)<<2
		return stopBudget, true
	case h>>12 == 0xB: // A5.2.5 miscellaneous
		return p.misc16(h)
	case h>>11 == 0x18 || h>>11 == 0x19: // STM T1, LDM T1
		rn, list := h>>8&7, h&0xFF
		if list == 0 {
			return p.lockup("LDM/STM with an empty register list is UNPREDICTABLE")
		}
		load := h>>11 == 0x19
		wback := !load || list&(1<<rn) == 0
		return p.multiple(rn, list, load, false, wback)
	case h>>12 == 0xD: // A5.2.6 conditional branch, UDF, SVC
		cond := h >> 8 & 0xF
		switch cond {
		case 0xE:
			return p.lockup("UDF #%d (permanently undefined)", h&0xFF)
		case 0xF:
			return p.lockup("SVC #%d: exceptions are not modelled", h&0xFF)
		}
		if p.conditionPassed(cond) {
			p.branchTo(p.reg(15) + signExtend((h&0xFF)<<1, 9))
		}
		return stopBudget, true
	case h>>11 == 0x1C: // B T2
		p.branchTo(p.reg(15) + signExtend((h&0x7FF)<<1, 12))
		return stopBudget, true
	}
	return p.lockup("16-bit instruction 0x%04X is not modelled", h)
}

func (p *thumbCPU) shiftAddSubMovCmp(h uint32) (thumbStop, bool) {
	rd, rn, rm := h&7, h>>3&7, h>>6&7
	switch op := h >> 9 & 0x1F; {
	case op < 0x0C: // LSL/LSR/ASR (immediate) T1; LSL #0 is MOVS (register) T2
		typ, imm5 := h>>11&3, h>>6&0x1F
		r, c := immShift(p.r[rn], typ, imm5, p.c)
		p.r[rd], p.c = r, c
		p.setNZ(r)
	case op == 0x0C, op == 0x0D, op == 0x0E, op == 0x0F: // ADDS/SUBS register T1, immediate T1
		y := p.r[rm]
		if op >= 0x0E {
			y = rm // imm3
		}
		carry := false
		if op == 0x0D || op == 0x0F {
			y, carry = ^y, true
		}
		r, c, v := addWithCarry(p.r[rn], y, carry)
		p.r[rd], p.c, p.v = r, c, v
		p.setNZ(r)
	default: // MOVS, CMP, ADDS, SUBS (8-bit immediate) T1/T2
		rdn, imm := h>>8&7, h&0xFF
		switch h >> 11 & 3 {
		case 0:
			p.r[rdn] = imm
			p.setNZ(imm)
		case 1:
			r, c, v := addWithCarry(p.r[rdn], ^imm, true)
			p.c, p.v = c, v
			p.setNZ(r)
		case 2:
			r, c, v := addWithCarry(p.r[rdn], imm, false)
			p.r[rdn], p.c, p.v = r, c, v
			p.setNZ(r)
		case 3:
			r, c, v := addWithCarry(p.r[rdn], ^imm, true)
			p.r[rdn], p.c, p.v = r, c, v
			p.setNZ(r)
		}
	}
	return stopBudget, true
}

func (p *thumbCPU) dataProc16(h uint32) (thumbStop, bool) {
	rdn, rm := h&7, h>>3&7
	x, y := p.r[rdn], p.r[rm]
	var r uint32
	write := true
	switch h >> 6 & 0xF {
	case 0x0: // AND
		r = x & y
	case 0x1: // EOR
		r = x ^ y
	case 0x2: // LSL (register)
		r, p.c = shiftC(x, 0, y&0xFF, p.c)
	case 0x3: // LSR (register)
		r, p.c = shiftC(x, 1, y&0xFF, p.c)
	case 0x4: // ASR (register)
		r, p.c = shiftC(x, 2, y&0xFF, p.c)
	case 0x5: // ADC
		r, p.c, p.v = addWithCarry(x, y, p.c)
	case 0x6: // SBC
		r, p.c, p.v = addWithCarry(x, ^y, p.c)
	case 0x7: // ROR (register)
		r, p.c = shiftC(x, 3, y&0xFF, p.c)
	case 0x8: // TST
		r, write = x&y, false
	case 0x9: // RSB (immediate #0), NEG
		x = p.r[rm]
		r, p.c, p.v = addWithCarry(^x, 0, true)
	case 0xA: // CMP (register) T1
		r, p.c, p.v = addWithCarry(x, ^y, true)
		write = false
	case 0xB: // CMN
		r, p.c, p.v = addWithCarry(x, y, false)
		write = false
	case 0xC: // ORR
		r = x | y
	case 0xD: // MUL (MULS T1: N and Z only)
		r = x * y
	case 0xE: // BIC
		r = x &^ y
	case 0xF: // MVN
		r = ^y
	}
	if write {
		p.r[rdn] = r
	}
	p.setNZ(r)
	return stopBudget, true
}

func (p *thumbCPU) special16(h uint32) (thumbStop, bool) {
	rdn := h>>4&8 | h&7
	rm := h >> 3 & 0xF
	switch h >> 8 & 3 {
	case 0: // ADD (register) T2
		r := p.reg(rdn) + p.reg(rm)
		if rdn == 15 {
			p.branchTo(r)
		} else {
			p.r[rdn] = r
		}
	case 1: // CMP (register) T2
		if rdn < 8 && rm < 8 || rdn == 15 || rm == 15 {
			return p.lockup("CMP (register) T2 encoding 0x%04X is UNPREDICTABLE", h)
		}
		r, c, v := addWithCarry(p.r[rdn], ^p.r[rm], true)
		p.c, p.v = c, v
		p.setNZ(r)
	case 2: // MOV (register) T1
		r := p.reg(rm)
		if rdn == 15 {
			p.branchTo(r)
		} else {
			p.r[rdn] = r
		}
	case 3: // BX, BLX (register)
		if h&7 != 0 {
			return p.lockup("BX/BLX encoding 0x%04X is UNPREDICTABLE", h)
		}
		target := p.reg(rm)
		if h&0x80 != 0 {
			if rm == 15 {
				return p.lockup("BLX PC is UNPREDICTABLE")
			}
			p.r[14] = (p.r[15] + 2) | 1
		}
		return p.bxTo(target)
	}
	return stopBudget, true
}

func (p *thumbCPU) loadStore16(h uint32) (thumbStop, bool) {
	rt, rn := h&7, h>>3&7
	var addr uint32
	var size Size
	var load bool
	switch {
	case h>>12 == 0x5: // register offset: opB in [11:9]
		addr = p.r[rn] + p.r[h>>6&7]
		switch h >> 9 & 7 {
		case 0:
			size = Word
		case 1:
			size = Halfword
		case 2:
			size = Byte
		case 4:
			size, load = Word, true
		case 5:
			size, load = Halfword, true
		case 6:
			size, load = Byte, true
		default:
			return p.lockup("signed load 0x%04X is not modelled", h)
		}
	case h>>13 == 0x3: // STR/LDR/STRB/LDRB (immediate) T1
		imm5 := h >> 6 & 0x1F
		load = h&0x0800 != 0
		if h&0x1000 != 0 {
			size, addr = Byte, p.r[rn]+imm5
		} else {
			size, addr = Word, p.r[rn]+imm5<<2
		}
	case h>>12 == 0x8: // STRH/LDRH (immediate) T1
		load, size = h&0x0800 != 0, Halfword
		addr = p.r[rn] + (h>>6&0x1F)<<1
	default: // 0x9: STR/LDR (SP-relative) T2
		rt = h >> 8 & 7
		load, size = h&0x0800 != 0, Word
		addr = p.r[13] + (h&0xFF)<<2
	}
	if load {
		v, err := p.read(addr, size)
		if err != nil {
			return p.lockup("load: %v", err)
		}
		p.r[rt] = v
		return stopBudget, true
	}
	if err := p.write(addr, size, p.r[rt]); err != nil {
		return p.lockup("store: %v", err)
	}
	return stopBudget, true
}

func (p *thumbCPU) misc16(h uint32) (thumbStop, bool) {
	switch {
	case h>>7 == 0x160: // ADD (SP plus immediate) T2
		p.r[13] += (h & 0x7F) << 2
	case h>>7 == 0x161: // SUB (SP minus immediate) T1
		p.r[13] -= (h & 0x7F) << 2
	case h&0xF500 == 0xB100: // CBZ, CBNZ
		rn := h & 7
		off := (h>>9&1)<<6 | (h>>3&0x1F)<<1
		if (p.r[rn] == 0) == (h&0x0800 == 0) {
			p.branchTo(p.reg(15) + off)
		}
	case h>>8 == 0xB2: // SXTH, SXTB, UXTH, UXTB
		rd, rm := h&7, h>>3&7
		switch h >> 6 & 3 {
		case 0:
			p.r[rd] = signExtend(p.r[rm]&0xFFFF, 16)
		case 1:
			p.r[rd] = signExtend(p.r[rm]&0xFF, 8)
		case 2:
			p.r[rd] = p.r[rm] & 0xFFFF
		case 3:
			p.r[rd] = p.r[rm] & 0xFF
		}
	case h>>9 == 0x5A: // PUSH T1: bit 8 is LR
		list := h&0xFF | (h>>8&1)<<14
		if list == 0 {
			return p.lockup("PUSH with an empty register list is UNPREDICTABLE")
		}
		return p.multiple(13, list, false, true, true)
	case h>>9 == 0x5E: // POP T1: bit 8 is PC
		list := h&0xFF | (h>>8&1)<<15
		if list == 0 {
			return p.lockup("POP with an empty register list is UNPREDICTABLE")
		}
		return p.multiple(13, list, true, false, true)
	case h>>8 == 0xBE: // BKPT
		return stopBKPT, true
	case h == 0xBF00: // NOP
	case h>>8 == 0xBF && h&0xF == 0:
		return p.lockup("hint 0x%04X (YIELD/WFE/WFI/SEV) is not modelled", h)
	case h>>8 == 0xBF:
		return p.lockup("IT blocks are not modelled (0x%04X)", h)
	default:
		return p.lockup("16-bit instruction 0x%04X is not modelled", h)
	}
	return stopBudget, true
}

// multiple is LDM/STM increment-after (db false) or STMDB/PUSH (db true)
// over list; it loads when load. A load of the PC is an interworking
// branch (LoadWritePC).
func (p *thumbCPU) multiple(rn, list uint32, load, db, wback bool) (thumbStop, bool) {
	count := uint32(bits.OnesCount32(list))
	base := p.r[rn]
	addr := base
	if db {
		addr = base - 4*count
	}
	if addr&3 != 0 {
		return p.lockup("LDM/STM at 0x%08X is not word aligned (UsageFault)", addr)
	}
	final := base + 4*count
	if db {
		final = base - 4*count
	}
	var loaded [16]uint32
	a := addr
	for i := uint32(0); i < 16; i++ {
		if list&(1<<i) == 0 {
			continue
		}
		if load {
			v, err := p.read(a, Word)
			if err != nil {
				return p.lockup("LDM: %v", err)
			}
			loaded[i] = v
		} else {
			if err := p.write(a, Word, p.reg(i)); err != nil {
				return p.lockup("STM: %v", err)
			}
		}
		a += 4
	}
	if wback {
		p.r[rn] = final
	}
	if load {
		for i := uint32(0); i < 15; i++ {
			if list&(1<<i) != 0 {
				p.r[i] = loaded[i]
			}
		}
		if list&(1<<15) != 0 {
			return p.bxTo(loaded[15])
		}
	}
	return stopBudget, true
}

// exec32 executes a 32-bit instruction (A5.3 of DDI0403E).
func (p *thumbCPU) exec32(hw1, hw2 uint16) (thumbStop, bool) {
	h1, h2 := uint32(hw1), uint32(hw2)
	switch op1 := h1 >> 11 & 3; {
	case op1 == 1 && h1>>9&3 == 0 && h1>>6&1 == 0: // A5.3.5 load/store multiple
		return p.multiple32(h1, h2)
	case op1 == 1 && h1>>9&3 == 1: // A5.3.11 data processing (shifted register)
		rm := h2 & 0xF
		imm5 := h2>>10&0x1C | h2>>6&3
		y, c := immShift(p.reg(rm), h2>>4&3, imm5, p.c)
		return p.dataProc32(h1, h2, y, c, "shifted register")
	case op1 == 2 && h2>>15 == 0 && h1>>9&1 == 0: // A5.3.1 modified immediate
		imm12 := h1>>10&1<<11 | h2>>12&7<<8 | h2&0xFF
		y, c, ok := thumbExpandImmC(imm12, p.c)
		if !ok {
			return p.lockup("modified immediate 0x%03X is UNPREDICTABLE", imm12)
		}
		return p.dataProc32(h1, h2, y, c, "modified immediate")
	case op1 == 2 && h2>>15 == 0: // A5.3.3 plain binary immediate
		return p.plainImm32(h1, h2)
	case op1 == 2: // A5.3.4 branches and miscellaneous control
		return p.branch32(h1, h2)
	case op1 == 3 && h1>>9&3 == 0 && h1>>4&0x11 != 0x11: // A5.3.10 store single, A5.3.7-9 loads
		return p.loadStore32(h1, h2)
	}
	return p.lockup("32-bit instruction 0x%04X %04X is not modelled", h1, h2)
}

func (p *thumbCPU) multiple32(h1, h2 uint32) (thumbStop, bool) {
	op, wback, load, rn := h1>>7&3, h1>>5&1 != 0, h1>>4&1 != 0, h1&0xF
	if op != 1 && op != 2 {
		return p.lockup("32-bit instruction 0x%04X %04X is not modelled (SRS/RFE)", h1, h2)
	}
	list := h2 & 0xDFFF
	if rn == 15 || bits.OnesCount32(list) < 2 || !load && list&(1<<15) != 0 ||
		load && list&0xC000 == 0xC000 || wback && list&(1<<rn) != 0 {
		return p.lockup("LDM/STM 0x%04X %04X is UNPREDICTABLE", h1, h2)
	}
	return p.multiple(rn, list, load, op == 2, wback)
}

// dataProc32 is the common body of A5.3.1 and A5.3.11: y is the second
// operand after the immediate expansion or the shift, c its carry.
func (p *thumbCPU) dataProc32(h1, h2, y uint32, shC bool, form string) (thumbStop, bool) {
	op, s, rn, rd := h1>>5&0xF, h1>>4&1 != 0, h1&0xF, h2>>8&0xF
	compare := s && (op == 0x0 || op == 0x4 || op == 0x8 || op == 0xD) // TST, TEQ, CMN, CMP
	if rd == 13 || rn == 13 || rd == 15 && !compare || rn == 15 && op != 0x2 && op != 0x3 {
		// SP arithmetic and the PC as an operand are not modelled in the
		// 32-bit forms.
		return p.lockup("32-bit data processing (%s) 0x%04X %04X is not modelled", form, h1, h2)
	}
	x := p.r[rn]
	var r uint32
	logical := true
	c, v := shC, p.v
	switch op {
	case 0x0: // AND, TST
		r = x & y
	case 0x1: // BIC
		r = x &^ y
	case 0x2: // ORR, MOV
		if rn == 15 {
			x = 0
		}
		r = x | y
	case 0x3: // ORN, MVN
		if rn == 15 {
			x = 0
		}
		r = x | ^y
	case 0x4: // EOR, TEQ
		r = x ^ y
	case 0x8: // ADD, CMN
		r, c, v = addWithCarry(x, y, false)
		logical = false
	case 0xA: // ADC
		r, c, v = addWithCarry(x, y, p.c)
		logical = false
	case 0xB: // SBC
		r, c, v = addWithCarry(x, ^y, p.c)
		logical = false
	case 0xD: // SUB, CMP
		r, c, v = addWithCarry(x, ^y, true)
		logical = false
	case 0xE: // RSB
		r, c, v = addWithCarry(^x, y, true)
		logical = false
	default:
		return p.lockup("32-bit data processing (%s) 0x%04X %04X is not modelled", form, h1, h2)
	}
	if rd != 15 {
		p.r[rd] = r
	}
	if s {
		p.setNZ(r)
		p.c = c
		if !logical {
			p.v = v
		}
	}
	return stopBudget, true
}

func (p *thumbCPU) plainImm32(h1, h2 uint32) (thumbStop, bool) {
	rn, rd := h1&0xF, h2>>8&0xF
	imm12 := h1>>10&1<<11 | h2>>12&7<<8 | h2&0xFF
	imm16 := h1&0xF<<12 | imm12
	if rd == 13 || rd == 15 {
		return p.lockup("plain binary immediate 0x%04X %04X writing SP or PC is not modelled", h1, h2)
	}
	switch h1 >> 4 & 0x1F {
	case 0x00: // ADDW, ADR T3
		if rn == 15 {
			p.r[rd] = (p.reg(15) &^ 3) + imm12
		} else {
			p.r[rd] = p.r[rn] + imm12
		}
	case 0x0A: // SUBW, ADR T2
		if rn == 15 {
			p.r[rd] = (p.reg(15) &^ 3) - imm12
		} else {
			p.r[rd] = p.r[rn] - imm12
		}
	case 0x04: // MOVW
		p.r[rd] = imm16
	case 0x0C: // MOVT
		p.r[rd] = p.r[rd]&0xFFFF | imm16<<16
	default:
		return p.lockup("plain binary immediate 0x%04X %04X is not modelled", h1, h2)
	}
	return stopBudget, true
}

func (p *thumbCPU) branch32(h1, h2 uint32) (thumbStop, bool) {
	s := h1 >> 10 & 1
	j1, j2 := h2>>13&1, h2>>11&1
	switch {
	case h2&0x5000 == 0x5000 || h2&0x5000 == 0x1000: // BL T1, B T4
		i1, i2 := ^(j1^s)&1, ^(j2^s)&1
		off := signExtend(s<<24|i1<<23|i2<<22|(h1&0x3FF)<<12|(h2&0x7FF)<<1, 25)
		if h2&0x4000 != 0 {
			p.r[14] = (p.r[15] + 4) | 1
		}
		p.branchTo(p.reg(15) + off)
		return stopBudget, true
	case h2&0x5000 == 0 && h1>>7&7 != 7: // B T3 (conditional)
		off := signExtend(s<<20|j2<<19|j1<<18|(h1&0x3F)<<12|(h2&0x7FF)<<1, 21)
		if p.conditionPassed(h1 >> 6 & 0xF) {
			p.branchTo(p.reg(15) + off)
		}
		return stopBudget, true
	case h1 == 0xF3AF && h2 == 0x8000: // NOP.W
		return stopBudget, true
	case h1 == 0xF3BF && (h2&0xFFF0 == 0x8F40 || h2&0xFFF0 == 0x8F50 || h2&0xFFF0 == 0x8F60):
		// DSB, DMB, ISB: the model performs every access in program order
		// and has no prefetch, so a barrier has nothing to wait for.
		return stopBudget, true
	}
	return p.lockup("32-bit instruction 0x%04X %04X is not modelled", h1, h2)
}

// loadStore32 handles LDR/LDRH/LDRB/STR/STRH/STRB: T3 (12-bit
// immediate), T4 (8-bit immediate with index/writeback), T2 (register)
// and LDR (literal) T2 (A5.3.7-A5.3.10). Signed loads are not modelled.
func (p *thumbCPU) loadStore32(h1, h2 uint32) (thumbStop, bool) {
	if h1>>8&1 != 0 {
		return p.lockup("signed load 0x%04X %04X is not modelled", h1, h2)
	}
	var size Size
	switch h1 >> 5 & 3 {
	case 0:
		size = Byte
	case 1:
		size = Halfword
	case 2:
		size = Word
	default:
		return p.lockup("32-bit instruction 0x%04X %04X is not modelled", h1, h2)
	}
	load, rn, rt := h1>>4&1 != 0, h1&0xF, h2>>12&0xF
	var addr uint32
	wback := false
	var final uint32
	switch {
	case rn == 15:
		if !load {
			return p.lockup("store with base PC 0x%04X %04X is UNDEFINED", h1, h2)
		}
		base := p.reg(15) &^ 3
		if h1>>7&1 != 0 {
			addr = base + h2&0xFFF
		} else {
			addr = base - h2&0xFFF
		}
	case h1>>7&1 != 0: // T3
		addr = p.r[rn] + h2&0xFFF
	case h2>>11&1 != 0: // T4: P [10], U [9], W [8]
		pIdx, u, w := h2>>10&1 != 0, h2>>9&1 != 0, h2>>8&1 != 0
		if !pIdx && !w {
			return p.lockup("load/store 0x%04X %04X is UNDEFINED", h1, h2)
		}
		if pIdx && u && !w {
			return p.lockup("unprivileged load/store (LDRT/STRT) 0x%04X %04X is not modelled", h1, h2)
		}
		off := h2 & 0xFF
		final = p.r[rn] - off
		if u {
			final = p.r[rn] + off
		}
		addr = p.r[rn]
		if pIdx {
			addr = final
		}
		wback = w
		if wback && rn == rt {
			return p.lockup("load/store 0x%04X %04X with writeback to Rt is UNPREDICTABLE", h1, h2)
		}
	case h2>>6&0x3F == 0: // T2 register
		rm := h2 & 0xF
		if rm == 13 || rm == 15 {
			return p.lockup("load/store 0x%04X %04X is UNPREDICTABLE", h1, h2)
		}
		addr = p.r[rn] + p.r[rm]<<(h2>>4&3)
	default:
		return p.lockup("32-bit instruction 0x%04X %04X is not modelled", h1, h2)
	}
	if rt == 15 && (size != Word || !load) || rt == 13 && size != Word {
		return p.lockup("load/store 0x%04X %04X is UNPREDICTABLE", h1, h2)
	}
	if load {
		v, err := p.read(addr, size)
		if err != nil {
			return p.lockup("load: %v", err)
		}
		if wback {
			p.r[rn] = final
		}
		if rt == 15 {
			return p.bxTo(v)
		}
		p.r[rt] = v
		return stopBudget, true
	}
	if err := p.write(addr, size, p.r[rt]); err != nil {
		return p.lockup("store: %v", err)
	}
	if wback {
		p.r[rn] = final
	}
	return stopBudget, true
}
