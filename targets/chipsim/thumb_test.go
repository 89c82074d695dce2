package chipsim

import (
	"strings"
	"testing"
	"time"

	"github.com/stprobe/stprobe/adi"
)

// The instruction words below were assembled by hand from the encodings
// of the Armv7-M ARM (DDI0403E, chapter A5/A7) and checked against a Thumb
// assembler; the comment after each gives the assembly.

const (
	testCode = 0x20000000
	testData = 0x20001000
	testSP   = 0x20002000
)

// testMemory is 64 KiB of RAM at 0x20000000 and nothing else.
func testMemory() *Bus {
	b := &Bus{}
	b.Map(NewRAM(0x20000000, 0x10000))
	return b
}

func loadHalfwords(t testing.TB, b *Bus, addr uint32, code []uint16) {
	t.Helper()
	for i, h := range code {
		if err := b.Write(addr+uint32(2*i), Halfword, uint32(h), 0); err != nil {
			t.Fatal(err)
		}
	}
}

// flags renders N, Z, C, V as "NZCV" with clear flags in lower case.
func (p *thumbCPU) flags() string {
	out := []byte("nzcv")
	for i, f := range []bool{p.n, p.z, p.c, p.v} {
		if f {
			out[i] -= 'a' - 'A'
		}
	}
	return string(out)
}

func TestThumbInstructions(t *testing.T) {
	data := map[uint32]uint32{
		testData: 0x11223344, testData + 4: 0x55667788, testData + 8: 0x99AABBCC,
		testData + 0x100: 0xDEADBEEF,
	}
	tests := []struct {
		name  string
		code  []uint16 // a BKPT is appended
		start uint32   // offset of the first instruction (default 0)
		in    map[int]uint32
		want  map[int]uint32
		flags string            // "" means not checked
		mem   map[uint32]uint32 // words after the run
		pc    uint32            // offset of the halt (default: the appended BKPT)
	}{
		{name: "MOVS imm", code: []uint16{0x205A}, want: map[int]uint32{0: 0x5A}, flags: "nzcv"},                                             // movs r0, #0x5A
		{name: "SUBS imm8 borrow", code: []uint16{0x2100, 0x3901}, want: map[int]uint32{1: 0xFFFFFFFF}, flags: "Nzcv"},                       // movs r1,#0; subs r1,#1
		{name: "ADDS reg carry", code: []uint16{0x1842}, in: map[int]uint32{0: 1, 1: 0xFFFFFFFF}, want: map[int]uint32{2: 0}, flags: "nZCv"}, // adds r2, r0, r1
		{name: "SUBS imm3", code: []uint16{0x1EC3}, in: map[int]uint32{0: 3}, want: map[int]uint32{3: 0}, flags: "nZCv"},                     // subs r3, r0, #3
		{name: "CMP imm equal", code: []uint16{0x285A}, in: map[int]uint32{0: 0x5A}, want: map[int]uint32{0: 0x5A}, flags: "nZCv"},           // cmp r0, #0x5A
		{name: "CMN overflow", code: []uint16{0x42C8}, in: map[int]uint32{0: 0x7FFFFFFF, 1: 1}, want: map[int]uint32{0: 0x7FFFFFFF}, flags: "NzcV"},
		{name: "LSLS imm carry", code: []uint16{0x0104}, in: map[int]uint32{0: 0x1000000F}, want: map[int]uint32{4: 0xF0}, flags: "nzCv"},  // lsls r4, r0, #4
		{name: "LSRS imm carry", code: []uint16{0x0844}, in: map[int]uint32{0: 3}, want: map[int]uint32{4: 1}, flags: "nzCv"},              // lsrs r4, r0, #1
		{name: "ANDS", code: []uint16{0x4008}, in: map[int]uint32{0: 0xF0F0, 1: 0xFF00}, want: map[int]uint32{0: 0xF000}},                  // ands r0, r1
		{name: "ORRS", code: []uint16{0x4308}, in: map[int]uint32{0: 0xF0F0, 1: 0xFF00}, want: map[int]uint32{0: 0xFFF0}},                  // orrs r0, r1
		{name: "BICS", code: []uint16{0x4388}, in: map[int]uint32{0: 0xFFFF, 1: 0xF0}, want: map[int]uint32{0: 0xFF0F}},                    // bics r0, r1
		{name: "TST zero", code: []uint16{0x4208}, in: map[int]uint32{0: 0xF0, 1: 0x0F}, want: map[int]uint32{0: 0xF0}, flags: "nZcv"},     // tst r0, r1
		{name: "LSLS reg", code: []uint16{0x4088}, in: map[int]uint32{0: 1, 1: 31}, want: map[int]uint32{0: 0x80000000}, flags: "Nzcv"},    // lsls r0, r1
		{name: "LSRS reg 32", code: []uint16{0x40C8}, in: map[int]uint32{0: 0x80000000, 1: 32}, want: map[int]uint32{0: 0}, flags: "nZCv"}, // lsrs r0, r1
		{name: "MOV/ADD high", code: []uint16{0x4680, 0x4488}, in: map[int]uint32{0: 5, 1: 7}, want: map[int]uint32{8: 12}},                // mov r8, r0; add r8, r1
		{name: "MOVW MOVT", code: []uint16{0xF241, 0x2534, 0xF6CA, 0x35CD}, want: map[int]uint32{5: 0xABCD1234}},                           // movw r5,#0x1234; movt r5,#0xABCD
		{name: "MOV.W modified imm", code: []uint16{0xF04F, 0x26FF}, want: map[int]uint32{6: 0xFF00FF00}},                                  // mov.w r6, #0xFF00FF00
		{name: "ADD.W imm", code: []uint16{0xF500, 0x7680}, in: map[int]uint32{0: 1}, want: map[int]uint32{6: 0x101}},                      // add.w r6, r0, #0x100
		{name: "SUB.W keeps flags", code: []uint16{0xF1A0, 0x0601}, in: map[int]uint32{0: 0}, want: map[int]uint32{6: 0xFFFFFFFF}, flags: "nzcv"},
		{name: "SUBS.W", code: []uint16{0xF1B0, 0x0601}, in: map[int]uint32{0: 1}, want: map[int]uint32{6: 0}, flags: "nZCv"},       // subs.w r6, r0, #1
		{name: "AND.W imm", code: []uint16{0xF000, 0x06F0}, in: map[int]uint32{0: 0x1234}, want: map[int]uint32{6: 0x30}},           // and.w r6, r0, #0xF0
		{name: "ORR.W shifted", code: []uint16{0xEA40, 0x2601}, in: map[int]uint32{0: 1, 1: 0x12}, want: map[int]uint32{6: 0x1201}}, // orr.w r6, r0, r1, lsl #8
		{name: "BIC.W reg", code: []uint16{0xEA20, 0x0601}, in: map[int]uint32{0: 0xFF, 1: 0x0F}, want: map[int]uint32{6: 0xF0}},    // bic.w r6, r0, r1
		{name: "CMP.W borrow", code: []uint16{0xF5B0, 0x6F80}, in: map[int]uint32{0: 0x3FF}, flags: "Nzcv"},                         // cmp.w r0, #0x400
		{name: "TST.W", code: []uint16{0xF010, 0x0F80}, in: map[int]uint32{0: 0x80}, flags: "nzcv"},                                 // tst.w r0, #0x80
		{name: "LDR imm", code: []uint16{0x6848}, in: map[int]uint32{1: testData}, want: map[int]uint32{0: 0x55667788}},             // ldr r0, [r1, #4]
		{name: "STR imm", code: []uint16{0x6088}, in: map[int]uint32{0: 0xCAFEBABE, 1: testData}, mem: map[uint32]uint32{testData + 8: 0xCAFEBABE}},
		{name: "LDRB imm", code: []uint16{0x7848}, in: map[int]uint32{1: testData}, want: map[int]uint32{0: 0x33}}, // ldrb r0, [r1, #1]
		{name: "STRB imm", code: []uint16{0x70C8}, in: map[int]uint32{0: 0x1AB, 1: testData}, mem: map[uint32]uint32{testData: 0xAB223344}},
		{name: "LDRH imm", code: []uint16{0x8848}, in: map[int]uint32{1: testData}, want: map[int]uint32{0: 0x1122}}, // ldrh r0, [r1, #2]
		{name: "STRH imm", code: []uint16{0x80C8}, in: map[int]uint32{0: 0xBEEF, 1: testData}, mem: map[uint32]uint32{testData + 4: 0xBEEF7788}},
		{name: "LDR reg", code: []uint16{0x5888}, in: map[int]uint32{1: testData, 2: 4}, want: map[int]uint32{0: 0x55667788}},           // ldr r0, [r1, r2]
		{name: "STR reg", code: []uint16{0x5088}, in: map[int]uint32{0: 9, 1: testData, 2: 8}, mem: map[uint32]uint32{testData + 8: 9}}, // str r0, [r1, r2]
		{name: "LDR.W imm12", code: []uint16{0xF8D1, 0x0100}, in: map[int]uint32{1: testData}, want: map[int]uint32{0: 0xDEADBEEF}},     // ldr.w r0, [r1, #0x100]
		{name: "STR.W imm12", code: []uint16{0xF8C1, 0x0104}, in: map[int]uint32{0: 5, 1: testData}, mem: map[uint32]uint32{testData + 0x104: 5}},
		{name: "LDR post-index", code: []uint16{0xF851, 0x0B04}, in: map[int]uint32{1: testData}, want: map[int]uint32{0: 0x11223344, 1: testData + 4}},
		{name: "STR pre-index writeback", code: []uint16{0xF841, 0x0D04}, in: map[int]uint32{0: 7, 1: testData + 4}, want: map[int]uint32{1: testData}, mem: map[uint32]uint32{testData: 7}},
		{name: "LDR.W reg lsl", code: []uint16{0xF851, 0x0022}, in: map[int]uint32{1: testData, 2: 1}, want: map[int]uint32{0: 0x55667788}}, // ldr.w r0, [r1, r2, lsl #2]
		{name: "LDRB.W", code: []uint16{0xF891, 0x0005}, in: map[int]uint32{1: testData}, want: map[int]uint32{0: 0x77}},                    // ldrb.w r0, [r1, #5]
		{name: "STRH.W", code: []uint16{0xF8A1, 0x0006}, in: map[int]uint32{0: 0x1234, 1: testData}, mem: map[uint32]uint32{testData + 4: 0x12347788}},
		{name: "LDM T1", code: []uint16{0xC90C}, in: map[int]uint32{1: testData}, want: map[int]uint32{1: testData + 8, 2: 0x11223344, 3: 0x55667788}},
		{name: "STM T1", code: []uint16{0xC10C}, in: map[int]uint32{1: testData, 2: 1, 3: 2}, want: map[int]uint32{1: testData + 8}, mem: map[uint32]uint32{testData: 1, testData + 4: 2}},
		{name: "LDMIA.W", code: []uint16{0xE8B1, 0x001C}, in: map[int]uint32{1: testData}, want: map[int]uint32{1: testData + 12, 2: 0x11223344, 3: 0x55667788, 4: 0x99AABBCC}},
		{name: "STMIA.W", code: []uint16{0xE8A1, 0x001C}, in: map[int]uint32{1: testData, 2: 1, 3: 2, 4: 3}, want: map[int]uint32{1: testData + 12}, mem: map[uint32]uint32{testData + 8: 3}},
		{
			// push {r4, r5, lr}; movs r4,#0; movs r5,#0; pop {r4, r5, pc}; BKPT at 8
			name: "PUSH/POP pc", code: []uint16{0xB530, 0x2400, 0x2500, 0xBD30},
			in:   map[int]uint32{4: 1, 5: 2, 13: testSP, 14: testCode + 8 | 1},
			want: map[int]uint32{4: 1, 5: 2, 13: testSP}, mem: map[uint32]uint32{testSP - 4: testCode + 9},
		},
		{
			// push.w {r4, r8, lr}; movs r4,#0; mov r8,r4; pop.w {r4, r8, pc}; BKPT at 12
			name: "PUSH.W/POP.W", code: []uint16{0xE92D, 0x4110, 0x2400, 0x46A0, 0xE8BD, 0x8110},
			in:   map[int]uint32{4: 1, 8: 2, 13: testSP, 14: testCode + 12 | 1},
			want: map[int]uint32{4: 1, 8: 2, 13: testSP},
		},
		{name: "SP arithmetic and SP-relative", code: []uint16{0xB082, 0x9001, 0x2000, 0x9801, 0xB002}, // sub sp,#8; str r0,[sp,#4]; movs r0,#0; ldr r0,[sp,#4]; add sp,#8
			in: map[int]uint32{0: 0x77, 13: testSP}, want: map[int]uint32{0: 0x77, 13: testSP}, mem: map[uint32]uint32{testSP - 4: 0x77}},
		{name: "UXTB UXTH", code: []uint16{0xB2C8, 0xB28A}, in: map[int]uint32{1: 0x12345678}, want: map[int]uint32{0: 0x78, 2: 0x5678}}, // uxtb r0,r1; uxth r2,r1
		{name: "NOP DSB ISB NOP.W", code: []uint16{0xBF00, 0xF3BF, 0x8F4F, 0xF3BF, 0x8F6F, 0xF3AF, 0x8000}, in: map[int]uint32{0: 3}, want: map[int]uint32{0: 3}},
		// b .+8 at 0 skips to the BKPT at 8
		{name: "B", code: []uint16{0xE002, 0x2001, 0x2002, 0x2003}, want: map[int]uint32{0: 0}},
		// cmp r0,#0; beq .+6 (to 8); movs r1,#1; bkpt; movs r1,#2; (bkpt)
		{name: "BEQ taken", code: []uint16{0x2800, 0xD001, 0x2101, 0xBE00, 0x2102}, in: map[int]uint32{0: 0}, want: map[int]uint32{1: 2}},
		{name: "BEQ not taken", code: []uint16{0x2800, 0xD001, 0x2101, 0xBE00, 0x2102}, in: map[int]uint32{0: 1}, want: map[int]uint32{1: 1}, pc: 6},
		// subs r0,#1; bne .-2 (to 0)
		{name: "BNE loop", code: []uint16{0x3801, 0xD1FD}, in: map[int]uint32{0: 5}, want: map[int]uint32{0: 0}, flags: "nZCv"},
		// bl .+8 (to 8); bkpt at 4; nop; movs r0,#7; bx lr
		{name: "BL and BX LR", code: []uint16{0xF000, 0xF802, 0xBE00, 0xBF00, 0x2007, 0x4770}, want: map[int]uint32{0: 7, 14: testCode + 5}, pc: 4},
		// cmp r0,#0; beq.w (to 10); movs r1,#1; bkpt; movs r1,#2
		{name: "BEQ.W", code: []uint16{0x2800, 0xF000, 0x8002, 0x2101, 0xBE00, 0x2102}, in: map[int]uint32{0: 0}, want: map[int]uint32{1: 2}},
		// cbz r0, .+6 (to 6); movs r1,#1; bkpt; movs r1,#2
		{name: "CBZ taken", code: []uint16{0xB108, 0x2101, 0xBE00, 0x2102}, in: map[int]uint32{0: 0}, want: map[int]uint32{1: 2}},
		{name: "CBNZ not taken", code: []uint16{0xB908, 0x2101, 0xBE00, 0x2102}, in: map[int]uint32{0: 0}, want: map[int]uint32{1: 1}, pc: 4},
		// blx r3 to the BKPT at 4 via a Thumb address
		{name: "BLX reg", code: []uint16{0x4798, 0xBF00}, in: map[int]uint32{3: testCode + 4 | 1}, want: map[int]uint32{14: testCode + 3}},
		// ldr r0, [pc, #4] (literal at 8); bkpt; nop; nop; .word 0x12345678
		{name: "LDR literal", code: []uint16{0x4801, 0xBE00, 0xBF00, 0xBF00, 0x5678, 0x1234}, want: map[int]uint32{0: 0x12345678}, pc: 2},
		// .word 0x12345678; ldr.w r0, [pc, #-8] (at 4)
		{name: "LDR.W literal negative", code: []uint16{0x5678, 0x1234, 0xF85F, 0x0008}, start: 4, want: map[int]uint32{0: 0x12345678}},
		{name: "ADR", code: []uint16{0xA001, 0xBF00, 0xBF00}, want: map[int]uint32{0: testCode + 8}}, // adr r0, .+8
		// cmp r0, r0 (C set); adcs r0, r1
		{name: "ADCS carry in", code: []uint16{0x4280, 0x4148}, in: map[int]uint32{0: 1, 1: 2}, want: map[int]uint32{0: 4}, flags: "nzcv"},
		// cmp r2, #1 with r2 0 (C clear: borrow); sbcs r0, r1
		{name: "SBCS borrow in", code: []uint16{0x2A01, 0x4188}, in: map[int]uint32{0: 5, 1: 3}, want: map[int]uint32{0: 1}, flags: "nzCv"},
		{name: "MVNS", code: []uint16{0x43C8}, in: map[int]uint32{1: 0}, want: map[int]uint32{0: 0xFFFFFFFF}, flags: "Nzcv"},                     // mvns r0, r1
		{name: "EORS", code: []uint16{0x4048}, in: map[int]uint32{0: 0xFF, 1: 0x0F}, want: map[int]uint32{0: 0xF0}},                              // eors r0, r1
		{name: "ASRS imm", code: []uint16{0x1108}, in: map[int]uint32{1: 0x80000000}, want: map[int]uint32{0: 0xF8000000}, flags: "Nzcv"},        // asrs r0, r1, #4
		{name: "RSBS #0", code: []uint16{0x4248}, in: map[int]uint32{1: 1}, want: map[int]uint32{0: 0xFFFFFFFF}, flags: "Nzcv"},                  // rsbs r0, r1, #0
		{name: "MULS", code: []uint16{0x4348}, in: map[int]uint32{0: 6, 1: 7}, want: map[int]uint32{0: 42}},                                      // muls r0, r1, r0
		{name: "RORS reg", code: []uint16{0x41C8}, in: map[int]uint32{0: 1, 1: 1}, want: map[int]uint32{0: 0x80000000}, flags: "NzCv"},           // rors r0, r1
		{name: "ASRS reg", code: []uint16{0x4108}, in: map[int]uint32{0: 0x80000000, 1: 31}, want: map[int]uint32{0: 0xFFFFFFFF}, flags: "Nzcv"}, // asrs r0, r1
		{name: "ADC.W", code: []uint16{0x4280, 0xEB40, 0x0601}, in: map[int]uint32{0: 1, 1: 2}, want: map[int]uint32{6: 4}},                      // cmp r0,r0; adc.w r6, r0, r1
		{name: "RSB.W imm", code: []uint16{0xF1C0, 0x0610}, in: map[int]uint32{0: 3}, want: map[int]uint32{6: 13}},                               // rsb.w r6, r0, #0x10
		{name: "EOR.W imm", code: []uint16{0xF080, 0x06FF}, in: map[int]uint32{0: 0xF0}, want: map[int]uint32{6: 0x0F}},                          // eor.w r6, r0, #0xFF
		{name: "ORN", code: []uint16{0xEA60, 0x0601}, in: map[int]uint32{0: 0, 1: 0xFFFFFF00}, want: map[int]uint32{6: 0xFF}},                    // orn r6, r0, r1
		{name: "MVN.W shifted", code: []uint16{0xEA6F, 0x1611}, in: map[int]uint32{1: 0xF0}, want: map[int]uint32{6: 0xFFFFFFF0}},                // mvn.w r6, r1, lsr #4
		{name: "SBC.W borrow in", code: []uint16{0x2A01, 0xEB60, 0x0601}, in: map[int]uint32{0: 5, 1: 3}, want: map[int]uint32{6: 1}},            // cmp r2,#1; sbc.w r6, r0, r1
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			mem := testMemory()
			code := append(append([]uint16(nil), tc.code...), 0xBE00)
			loadHalfwords(t, mem, testCode, code)
			for a, v := range data {
				_ = mem.Write(a, Word, v, 0)
			}
			p := &thumbCPU{mem: mem}
			for r, v := range tc.in {
				p.r[r] = v
			}
			p.r[15] = testCode + tc.start
			if stop := p.run(10000, true); stop != stopBKPT {
				t.Fatalf("stop = %v (%s), want BKPT", stop, p.reason)
			}
			wantPC := tc.pc
			if wantPC == 0 {
				wantPC = uint32(2 * len(tc.code))
			}
			if p.r[15] != testCode+wantPC {
				t.Errorf("halted at 0x%08X, want 0x%08X", p.r[15], testCode+wantPC)
			}
			for r, v := range tc.want {
				if p.r[r] != v {
					t.Errorf("r%d = 0x%08X, want 0x%08X", r, p.r[r], v)
				}
			}
			if tc.flags != "" && p.flags() != tc.flags {
				t.Errorf("flags %s, want %s", p.flags(), tc.flags)
			}
			for a, v := range tc.mem {
				if got, _ := mem.Read(a, Word, 0); got != v {
					t.Errorf("[0x%08X] = 0x%08X, want 0x%08X", a, got, v)
				}
			}
		})
	}
}

func TestThumbRefusesWhatItDoesNotModel(t *testing.T) {
	tests := []struct {
		name string
		code []uint16
		in   map[int]uint32
		why  string
	}{
		{"UDF", []uint16{0xDE00}, nil, "UDF"},
		{"SVC", []uint16{0xDF00}, nil, "SVC"},
		{"IT", []uint16{0xBF08, 0xBF00}, nil, "IT"},
		{"WFI", []uint16{0xBF30}, nil, "WFE/WFI"},
		{"MUL.W", []uint16{0xFB00, 0xF001}, nil, "not modelled"},
		{"LDRSB", []uint16{0x5688}, map[int]uint32{1: testData}, "signed"},
		{"BX to ARM state", []uint16{0x4700}, map[int]uint32{0: testCode}, "Thumb"},
		{"BX to EXC_RETURN", []uint16{0x4700}, map[int]uint32{0: 0xFFFFFFF9}, "EXC_RETURN"},
		{"load from nothing", []uint16{0x6808}, map[int]uint32{1: 0x40000000}, "nothing mapped"},
		{"unaligned LDR", []uint16{0x6808}, map[int]uint32{1: testData + 1}, "not aligned"},
		{"PPB access", []uint16{0x6808}, map[int]uint32{1: 0xE000ED00}, "private peripheral bus"},
		{"fetch from nothing", []uint16{0x4700}, map[int]uint32{0: 0x60000001}, "instruction fetch"},
		{"empty POP", []uint16{0xBC00}, nil, "empty"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			mem := testMemory()
			loadHalfwords(t, mem, testCode, tc.code)
			p := &thumbCPU{mem: mem}
			for r, v := range tc.in {
				p.r[r] = v
			}
			p.r[15] = testCode
			if stop := p.run(1000, true); stop != stopLockup {
				t.Fatalf("stop = %v, want lockup", stop)
			}
			if !strings.Contains(p.reason, tc.why) {
				t.Errorf("reason %q does not say %q", p.reason, tc.why)
			}
		})
	}
}

func TestThumbBreakpointAndBudget(t *testing.T) {
	mem := testMemory()
	loadHalfwords(t, mem, testCode, []uint16{0xBF00, 0xBF00, 0xE7FE}) // nop; nop; b .
	p := &thumbCPU{mem: mem, bkpts: []uint32{testCode + 2}}
	p.r[15] = testCode
	if stop := p.run(100, true); stop != stopBreakpoint || p.r[15] != testCode+2 {
		t.Fatalf("stop %v at 0x%08X, want the FPB breakpoint at 0x%08X", stop, p.r[15], testCode+2)
	}
	p = &thumbCPU{mem: mem}
	p.r[15] = testCode
	if stop := p.run(100, true); stop != stopBudget || p.cycles < 100 {
		t.Fatalf("stop %v after %d cycles, want the budget of 100 spent", stop, p.cycles)
	}
	// nop, nop: 1 cycle each; then b . is 1+P = 3 cycles per turn.
	if p.retired != 2+(p.cycles-2)/3 {
		t.Errorf("%d instructions in %d cycles", p.retired, p.cycles)
	}
}

// coreWithRAM is a core whose instructions reach 64 KiB of RAM, with code
// interpreted where a debugger resumes it in that RAM.
func coreWithRAM() (*Core, *Bus) {
	mem := testMemory()
	c := NewCore(CoreConfig{
		CPUID:      CPUIDCortexM33r0p4,
		Memory:     mem,
		Interprets: func(pc uint32) bool { return pc >= 0x20000000 && pc < 0x20010000 },
	})
	return c, mem
}

// haltAt halts c and points it at pc in Thumb state (EPSR.T set).
func haltAt(t *testing.T, c *Core, pc uint32) {
	t.Helper()
	scsWrite(t, c, adi.RegDHCSR, adi.DHCSRDebugKey|adi.DHCSRCDebugEn|adi.DHCSRCHalt)
	c.SetReg(adi.RegSelPC, pc)
	c.SetReg(adi.RegSelXPSR, 1<<24)
}

// resume lets the halted core c run, debug still enabled.
func resume(t *testing.T, c *Core) {
	t.Helper()
	scsWrite(t, c, adi.RegDHCSR, adi.DHCSRDebugKey|adi.DHCSRCDebugEn)
}

func scsWrite(t *testing.T, c *Core, addr, v uint32) {
	t.Helper()
	if err := c.Region().Write(addr, Word, v, 0); err != nil {
		t.Fatal(err)
	}
}

func scsRead(t *testing.T, c *Core, addr uint32) uint32 {
	t.Helper()
	v, err := c.Region().Read(addr, Word, 0)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestCoreRunsCodeToBKPT(t *testing.T) {
	c, mem := coreWithRAM()
	// movs r0,#0; adds r0,#1; cmp r0,#100; bne .-4; bkpt
	loadHalfwords(t, mem, testCode, []uint16{0x2000, 0x3001, 0x2864, 0xD1FC, 0xBE00})
	haltAt(t, c, testCode)
	scsWrite(t, c, adi.RegDFSR, 0xFF)
	if err := c.PPB().Write(adi.RegDWTCtrl, Word, 1, 0); err != nil { // CYCCNTENA
		t.Fatal(err)
	}
	resume(t, c)
	if !c.Executing() {
		t.Fatal("a resume in SRAM did not start the interpreter")
	}
	c.Advance(time.Microsecond) // 32 cycles: not enough for 100 turns
	if c.Halted() {
		t.Fatal("halted before the loop could finish")
	}
	c.Advance(time.Millisecond)
	if !c.Halted() || scsRead(t, c, adi.RegDFSR)&adi.DFSRBkpt == 0 {
		t.Fatalf("halted %v DFSR 0x%X: want a BKPT halt", c.Halted(), scsRead(t, c, adi.RegDFSR))
	}
	if r0, pc := c.Reg(0), c.Reg(adi.RegSelPC); r0 != 100 || pc != testCode+8 {
		t.Errorf("r0 %d PC 0x%08X, want 100 at the BKPT 0x%08X", r0, pc, testCode+8)
	}
	st := c.Status()
	// movs, then 100 x (adds, cmp, bne taken) less the last refill, bkpt.
	if st.Instructions != 1+300 || st.Cycles != 1+100*(1+1+3)-2+1 {
		t.Errorf("executed %d instructions in %d cycles", st.Instructions, st.Cycles)
	}
	if cc, _ := c.PPB().Read(dwtCycCnt, Word, 0); uint64(cc) != st.Cycles {
		t.Errorf("DWT_CYCCNT %d, want the %d cycles run", cc, st.Cycles)
	}
	if psr := c.Reg(adi.RegSelXPSR); psr>>28 != 0x6 { // Z and C from cmp r0,#100
		t.Errorf("xPSR 0x%08X: want Z and C", psr)
	}
}

func TestCoreLocksUpOnUnmodelledInstruction(t *testing.T) {
	c, mem := coreWithRAM()
	loadHalfwords(t, mem, testCode, []uint16{0xBF00, 0xDE00}) // nop; udf
	haltAt(t, c, testCode)
	resume(t, c)
	c.Advance(time.Millisecond)
	if c.Halted() || scsRead(t, c, adi.RegDHCSR)&adi.DHCSRSLockup == 0 {
		t.Fatal("UDF did not lock the core up")
	}
	if why := c.Status().LockupReason; !strings.Contains(why, "UDF") || c.Reg(adi.RegSelPC) != testCode+2 {
		t.Errorf("lockup %q at 0x%08X", why, c.Reg(adi.RegSelPC))
	}
	scsWrite(t, c, adi.RegDHCSR, adi.DHCSRDebugKey|adi.DHCSRCDebugEn|adi.DHCSRCHalt)
	if !c.Halted() || scsRead(t, c, adi.RegDHCSR)&adi.DHCSRSLockup != 0 {
		t.Error("a halt request did not take the core out of lockup into debug state")
	}
}

func TestCoreDoesNotInterpretOutsideItsRegion(t *testing.T) {
	c, _ := coreWithRAM()
	haltAt(t, c, 0x08000000)
	resume(t, c)
	c.Advance(time.Millisecond)
	st := c.Status()
	if st.Executing || st.LockupReason != "" {
		t.Error("a resume in flash started the interpreter; the modelled firmware runs there")
	}
	if st.Cycles != 0 {
		t.Errorf("%d cycles executed", st.Cycles)
	}
}

func TestCoreHaltRequestStopsCode(t *testing.T) {
	c, mem := coreWithRAM()
	loadHalfwords(t, mem, testCode, []uint16{0xE7FE}) // b .
	haltAt(t, c, testCode)
	resume(t, c)
	c.Advance(10 * time.Microsecond)
	scsWrite(t, c, adi.RegDHCSR, adi.DHCSRDebugKey|adi.DHCSRCDebugEn|adi.DHCSRCHalt)
	if !c.Halted() || c.Executing() || c.Reg(adi.RegSelPC) != testCode {
		t.Fatalf("halted %v executing %v PC 0x%08X", c.Halted(), c.Executing(), c.Reg(adi.RegSelPC))
	}
	if cycles := c.Status().Cycles; cycles < 300 {
		t.Errorf("%d cycles in 10 µs at 32 MHz, want 320", cycles)
	}
}

// FuzzThumb runs random code: it must stop (budget, BKPT, breakpoint or
// lockup with a reason) and never panic.
func FuzzThumb(f *testing.F) {
	f.Add([]byte{0x5A, 0x20, 0x00, 0xBE})
	f.Add([]byte{0x41, 0xF2, 0x34, 0x25, 0xFE, 0xE7})
	f.Add([]byte{0x30, 0xB5, 0x30, 0xBD})
	f.Add([]byte{0xBD, 0xE8, 0x10, 0x81, 0x00, 0xDE})
	f.Fuzz(func(t *testing.T, code []byte) {
		if len(code) > 4096 {
			code = code[:4096]
		}
		mem := testMemory()
		for i, b := range code {
			_ = mem.Write(testCode+uint32(i), Byte, uint32(b), 0)
		}
		p := &thumbCPU{mem: mem}
		for i := range p.r {
			p.r[i] = testData + uint32(i)*4
		}
		p.r[13] = testSP
		p.r[15] = testCode
		switch stop := p.run(2000, true); stop {
		case stopLockup:
			if p.reason == "" {
				t.Fatal("lockup without a reason")
			}
		case stopBudget, stopBKPT, stopBreakpoint:
		default:
			t.Fatalf("unknown stop %v", stop)
		}
	})
}

func TestCoreResetStopsCode(t *testing.T) {
	c, mem := coreWithRAM()
	loadHalfwords(t, mem, testCode, []uint16{0xE7FE}) // b .
	haltAt(t, c, testCode)
	resume(t, c)
	c.Advance(time.Microsecond)
	c.Reset()
	c.Advance(time.Millisecond)
	if c.Executing() || c.Reg(adi.RegSelPC) != 0x08000000 {
		t.Errorf("after a reset: executing %v, PC 0x%08X; want the firmware's reset PC", c.Executing(), c.Reg(adi.RegSelPC))
	}
}
