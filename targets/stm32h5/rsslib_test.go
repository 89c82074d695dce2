package stm32h5

import (
	"crypto/sha256"
	"encoding/binary"
	"testing"
	"time"

	"github.com/stprobe/stprobe/adi"
	"github.com/stprobe/stprobe/targets"
)

// The public facts of RSSLIB_DataProvisioning, pinned to their values
// (docs/da-sources.md, "OBK provisioning").
func TestRSSLIBFacts(t *testing.T) {
	for _, c := range []struct {
		name      string
		got, want uint32
	}{
		{"RSSLIB_PFUNC_BASE", RSSLIBPFuncBase, 0x0BF9FB68},
		{"NSC.DataProvisioning slot", RSSLIBDataProvisioningSlot, 0x0BF9FB68},
		{"config offset", ProvConfOffset, 4},
		{"data offset", ProvDataOffset, 0x18},
		{"encrypt", ProvEncrypt, 0xF5F5A0AA},
		{"no encrypt", ProvNoEncrypt, 0xCACA0AA0},
		{"flag 1", ProvDoEncryption(1), 0xF5F5A0AA},
		{"flag 0", ProvDoEncryption(0), 0xCACA0AA0},
		{"flag 2", ProvDoEncryption(2), 0xCACA0AA0},
		{"success", RSSLIBSuccess, 0xEAEAEAEA},
		{"error", RSSLIBError, 0xF5F5F5F5},
		{"address range", RSSLIBBadAddressRange, 0xF5F5E0E0},
		{"size", RSSLIBBadSize, 0xF5F50E0E},
		{"DoEncryption", RSSLIBBadEncryption, 0xF5F5E00E},
		{"encryption", RSSLIBEncryptionError, 0xF5F50EE0},
		{"programming", RSSLIBProgrammingError, 0xF5F50808},
		{"destination", RSSLIBBadDestination, 0xF5F50008},
		{"CRC", RSSLIBBadCRC, 0xF5F58080},
	} {
		if c.got != c.want {
			t.Errorf("%s = 0x%08X, want 0x%08X", c.name, c.got, c.want)
		}
	}
	for _, c := range []struct {
		line       uint16
		base, size uint32
		ok         bool
	}{
		{LineH533, 0x20034000, 0x10000, true},
		{LineH563, 0x20050000, 0x50000, true},
		{LineH503, 0, 0, false},
	} {
		if b, s, ok := SRAM3(c.line); b != c.base || s != c.size || ok != c.ok {
			t.Errorf("SRAM3(0x%03X) = 0x%08X %#x %v", c.line, b, s, ok)
		}
	}
	// The DA record sits at the start of HDPL1.
	if s, ok := OBKSectionOf(OBKDAAddr, OBKDASize); !ok || s.Name != "HDPL1" || s.Base != OBKDAAddr {
		t.Errorf("DA record section %+v %v", s, ok)
	}
	if _, ok := OBKSectionOf(0x0FFD08F0, 0x20); ok {
		t.Error("data across HDPL1/HDPL2 fit one section")
	}
	for _, c := range []uint32{RSSLIBSuccess, RSSLIBBadCRC, RSSLIBBadAddressRange, 0x12345678} {
		if RSSLIBStatusText(c) == "" {
			t.Errorf("no text for 0x%08X", c)
		}
	}
}

// The CRC: CRC-32/MPEG-2 in 32-bit word mode. 0x12345678 → 0xDF8A8A2B is
// the STM32 CRC unit's usual example; the bytes "123456789" padded with
// three zero bytes are checked against a byte-wise CRC-32/MPEG-2 (whose
// check value for "123456789" is 0x0376E6E7).
func TestProvisioningCRC(t *testing.T) {
	if got := CRC32Words([]byte{0x78, 0x56, 0x34, 0x12}); got != 0xDF8A8A2B {
		t.Errorf("CRC of word 0x12345678 = 0x%08X, want 0xDF8A8A2B", got)
	}
	mpeg2 := func(b []byte) uint32 {
		crc := uint32(0xFFFFFFFF)
		for _, c := range b {
			crc ^= uint32(c) << 24
			for range 8 {
				if crc&0x80000000 != 0 {
					crc = crc<<1 ^ 0x04C11DB7
				} else {
					crc <<= 1
				}
			}
		}
		return crc
	}
	if got := mpeg2([]byte("123456789")); got != 0x0376E6E7 {
		t.Fatalf("reference CRC-32/MPEG-2 check 0x%08X", got)
	}
	// Word mode takes each little-endian word most significant byte first.
	data := []byte("ABCDEFGH")
	swapped := []byte("DCBAHGFE")
	if CRC32Words(data) != mpeg2(swapped) {
		t.Errorf("word mode 0x%08X, byte-swapped MPEG-2 0x%08X", CRC32Words(data), mpeg2(swapped))
	}
	// ProvisioningCRC covers data ‖ destination ‖ size ‖ DoEncryption.
	tail := binary.LittleEndian.AppendUint32(nil, OBKDAAddr)
	tail = binary.LittleEndian.AppendUint32(tail, 8)
	tail = binary.LittleEndian.AppendUint32(tail, ProvEncrypt)
	if ProvisioningCRC(data, OBKDAAddr, 8, ProvEncrypt) != CRC32Words(append(append([]byte(nil), data...), tail...)) {
		t.Error("ProvisioningCRC does not cover data ‖ dest ‖ size ‖ DoEncryption")
	}
}

// call runs RSSLIB_DataProvisioning on m as ST's OpenOCD does: reset with
// debug on, halt, data at ram+0x18, config at ram+4, r0/LR/PC, FPB at the
// return address, run; it returns r0 and whether the core stopped there.
func call(t *testing.T, m *Model, ram, dest, size, enc uint32, data []byte, crcDelta uint32) (uint32, bool) {
	t.Helper()
	w := func(a, v uint32) { wr(t, m, 1, a, v) }
	w(adi.RegDHCSR, adi.DHCSRDebugKey|adi.DHCSRCDebugEn)
	w(adi.RegAIRCR, adi.AIRCRVectKey|adi.AIRCRSysResetReq)
	w(adi.RegDHCSR, adi.DHCSRDebugKey|adi.DHCSRCDebugEn|adi.DHCSRCHalt)
	m.Advance(time.Millisecond)
	if !m.Core().Halted() {
		return 0, false
	}
	for i := 0; i+4 <= len(data); i += 4 {
		w(ram+ProvDataOffset+uint32(i), binary.LittleEndian.Uint32(data[i:]))
	}
	for i, v := range []uint32{ram + ProvDataOffset, dest, size, enc, ProvisioningCRC(data, dest, size, enc) + crcDelta} {
		w(ram+ProvConfOffset+uint32(4*i), v)
	}
	fn := rd(t, m, 1, RSSLIBDataProvisioningSlot)
	for _, r := range [][2]uint32{{0, ram + ProvConfOffset}, {adi.RegSelLR, ram | 1}, {adi.RegSelPC, fn &^ 1}, {adi.RegSelXPSR, 1 << 24}} {
		w(adi.RegDCRDR, r[1])
		w(adi.RegDCRSR, adi.DCRSRRegWnR|r[0])
	}
	w(0xE0002008, ram|1)
	w(adi.RegFPCtrl, 3)
	w(adi.RegDHCSR, adi.DHCSRDebugKey|adi.DHCSRCDebugEn)
	m.Advance(time.Millisecond)
	if !m.Core().Halted() {
		return 0, false
	}
	w(adi.RegDCRSR, 0)
	return rd(t, m, 1, adi.RegDCRDR), m.Core().Reg(adi.RegSelPC) == ram
}

// The simulator's RSSLIB_DataProvisioning: every check, the status in r0
// at the breakpoint, and a record stored only on success (a crypto part
// given unencrypted data stores what then fails its integrity hash).
func TestRSSLIBDataProvisioning(t *testing.T) {
	rec := DARecord(sha256.Sum256([]byte("pw")), DefaultPermissions)
	cases := []struct {
		name        string
		line        uint16
		state       targets.ProductState
		ram         uint32
		dest, size  uint32
		enc         uint32
		crcDelta    uint32
		status      uint32
		provisioned bool
	}{
		{"H533 encrypted", LineH533, targets.StateProvisioning, 0, OBKDAAddr, 96, ProvEncrypt, 0, RSSLIBSuccess, true},
		{"H533 unencrypted", LineH533, targets.StateProvisioning, 0, OBKDAAddr, 96, ProvNoEncrypt, 0, RSSLIBSuccess, false},
		{"H563 plain", LineH563, targets.StateProvisioning, 0, OBKDAAddr, 96, ProvNoEncrypt, 0, RSSLIBSuccess, true},
		{"H563 asks for encryption", LineH563, targets.StateProvisioning, 0, OBKDAAddr, 96, ProvEncrypt, 0, RSSLIBEncryptionError, false},
		{"wrong CRC", LineH533, targets.StateProvisioning, 0, OBKDAAddr, 96, ProvEncrypt, 1, RSSLIBBadCRC, false},
		{"destination not 16-byte aligned", LineH533, targets.StateProvisioning, 0, OBKDAAddr + 8, 96, ProvEncrypt, 0, RSSLIBBadAddressRange, false},
		{"across two sections", LineH533, targets.StateProvisioning, 0, 0x0FFD08C0, 96, ProvEncrypt, 0, RSSLIBBadAddressRange, false},
		{"source in SRAM1", LineH533, targets.StateProvisioning, 0x20000000, OBKDAAddr, 96, ProvEncrypt, 0, RSSLIBBadAddressRange, false},
		{"size not a multiple of 16", LineH533, targets.StateProvisioning, 0, OBKDAAddr, 68, ProvEncrypt, 0, RSSLIBBadSize, false},
		{"bad DoEncryption", LineH533, targets.StateProvisioning, 0, OBKDAAddr, 96, 1, 0, RSSLIBBadEncryption, false},
		{"HDPL0 is ST's", LineH533, targets.StateProvisioning, 0, 0x0FFD0000, 96, ProvEncrypt, 0, RSSLIBBadDestination, false},
		{"non-secure alias", LineH533, targets.StateProvisioning, 0, OBKDAAddrNS, 96, ProvEncrypt, 0, RSSLIBBadDestination, false},
		{"OPEN", LineH533, targets.StateOpen, 0, OBKDAAddr, 96, ProvEncrypt, 0, RSSLIBError, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m, err := New(Config{Line: tc.line, ProductState: tc.state, NRSTWired: true})
			if err != nil {
				t.Fatal(err)
			}
			ram := tc.ram
			if ram == 0 {
				ram, _, _ = SRAM3(tc.line)
			}
			data := rec
			if int(tc.size) < len(rec) {
				data = rec[:tc.size]
			}
			r0, atBreak := call(t, m, ram, tc.dest, tc.size, tc.enc, data, tc.crcDelta)
			if !atBreak || r0 != tc.status {
				t.Errorf("r0 0x%08X at the breakpoint %v, want %s", r0, atBreak, RSSLIBStatusText(tc.status))
			}
			if m.OBKProvisionCalls() != 1 {
				t.Errorf("%d calls", m.OBKProvisionCalls())
			}
			m.mu.Lock()
			got := m.daProvisionedLocked()
			m.mu.Unlock()
			if got != tc.provisioned {
				t.Errorf("provisioned %v, want %v", got, tc.provisioned)
			}
		})
	}
}

// The old invented hand-over (an "OBKP" command block at the start of
// SRAM1) provisions nothing, however long the chip is left to run; so
// does a jump to the entry point with the core never halted.
func TestOldHandOverProvisionsNothing(t *testing.T) {
	m, err := New(Config{ProductState: targets.StateProvisioning, NRSTWired: true})
	if err != nil {
		t.Fatal(err)
	}
	file := binary.LittleEndian.AppendUint32(nil, OBKDAAddr)
	file = binary.LittleEndian.AppendUint32(file, OBKDASize)
	file = binary.LittleEndian.AppendUint32(file, 1)
	file = append(file, DARecord(sha256.Sum256([]byte("pw")), DefaultPermissions)...)
	for i := 0; i < len(file); i += 4 {
		wr(t, m, 1, 0x20000010+uint32(i), binary.LittleEndian.Uint32(file[i:]))
	}
	wr(t, m, 1, 0x20000004, uint32(len(file)))
	wr(t, m, 1, 0x20000008, 0)
	wr(t, m, 1, 0x20000000, 0x4F424B50) // "OBKP"
	for range 100 {
		m.Advance(time.Millisecond)
	}
	if rd(t, m, 1, 0x20000000) != 0x4F424B50 || rd(t, m, 1, 0x20000008) != 0 || m.DAProvisioned() != DANone || m.OBKProvisionCalls() != 0 {
		t.Errorf("the old command block was served: DA %v, %d calls", m.DAProvisioned(), m.OBKProvisionCalls())
	}
}

// Halting in PROVISIONING (chosen.go): a board found there with no
// debugger at boot refuses a halt (the seed's Normal connection) and the
// reset vector catch (Under Reset); after a reset with C_DEBUGEN held it
// halts (ST's flow); with NoHaltInProvisioning it never does.
func TestHaltInProvisioning(t *testing.T) {
	for _, noHalt := range []bool{false, true} {
		m, err := New(Config{ProductState: targets.StateProvisioning, NRSTWired: true, NoHaltInProvisioning: noHalt})
		if err != nil {
			t.Fatal(err)
		}
		wr(t, m, 1, adi.RegDHCSR, adi.DHCSRDebugKey|adi.DHCSRCDebugEn|adi.DHCSRCHalt)
		m.Advance(time.Millisecond)
		if m.Core().Halted() {
			t.Fatalf("noHalt=%v: halted without a reset under debug", noHalt)
		}
		wr(t, m, 1, adi.RegDEMCR, adi.DEMCRVCCoreReset)
		wr(t, m, 1, adi.RegAIRCR, adi.AIRCRVectKey|adi.AIRCRSysResetReq)
		m.Advance(time.Millisecond)
		if m.Core().Halted() {
			t.Fatalf("noHalt=%v: caught at the reset vector", noHalt)
		}
		wr(t, m, 1, adi.RegDHCSR, adi.DHCSRDebugKey|adi.DHCSRCDebugEn|adi.DHCSRCHalt)
		m.Advance(time.Millisecond)
		if m.Core().Halted() == noHalt {
			t.Errorf("noHalt=%v: halted %v after a reset under debug", noHalt, m.Core().Halted())
		}
	}
}
