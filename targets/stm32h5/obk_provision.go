package stm32h5

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"

	"github.com/stprobe/stprobe/targets"
)

// OBK provisioning as ST's OpenOCD does it (rsslib.go): the debugger halts
// the core in PROVISIONING, puts the data and a configuration structure in
// SRAM3 and runs the ROM's RSSLIB_DataProvisioning with r0 = &config; the
// function checks the structure and stores the data, encrypted by the DHUK
// on crypto parts, and returns a status word in r0. Nothing else a host
// writes provisions anything.

// Part is the part the model stands for (ModelPart of its line).
func (m *Model) Part() Part { return ModelPart(m.line.DevID) }

// ModelPart is the part the model of a line stands for: the crypto
// STM32H533 for the H523/H533 line, the plain STM32H563 for the
// H562/H563/H573 line (chosen.go), the H503 for its own.
func ModelPart(line uint16) Part {
	name := map[uint16]string{LineH503: "H503", LineH533: "H533", LineH563: "H563"}[line]
	p, _ := LookupPart(name)
	return p
}

// rsslibCall is the core's Call hook: the ROM's RSSLIB_DataProvisioning
// at its entry point (chosen.go) on the lines that have it; every other PC
// runs as the model always did (nothing happens).
func (m *Model) rsslibCall(pc uint32, r [4]uint32) (uint32, bool) {
	if !m.line.OBK || pc != rsslibDataProvisioningEntry&^1 {
		return 0, false
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.da.keep.obkCalls++
	return m.dataProvisioningLocked(r[0]), true
}

// dataProvisioningLocked is RSSLIB_DataProvisioning(pConfig): it reads the
// configuration structure, checks it in the order chosen.go gives, and
// stores the data in the OBK area; it returns the status word for r0.
func (m *Model) dataProvisioningLocked(conf uint32) uint32 {
	raw := m.sram.Bytes(conf, ProvConfSize)
	if raw == nil || m.stateLocked() != targets.StateProvisioning {
		return RSSLIBError
	}
	src := binary.LittleEndian.Uint32(raw)
	dest := binary.LittleEndian.Uint32(raw[4:])
	size := binary.LittleEndian.Uint32(raw[8:])
	enc := binary.LittleEndian.Uint32(raw[12:])
	crc := binary.LittleEndian.Uint32(raw[16:])
	s3, s3size, _ := SRAM3(m.line.DevID)
	switch {
	case size == 0 || size%16 != 0 || size > OBKSections()[3].Size:
		return RSSLIBBadSize
	case dest&^0x3FFF != 0x0FFD0000 || dest < 0x0FFD0000+OBKSections()[0].Size:
		return RSSLIBBadDestination // not the secure OBK alias, or ST's HDPL0 section
	case src < s3 || uint64(src)+uint64(size) > uint64(s3)+uint64(s3size) || dest%16 != 0:
		return RSSLIBBadAddressRange
	}
	if _, ok := OBKSectionOf(dest, size); !ok {
		return RSSLIBBadAddressRange
	}
	if enc != ProvEncrypt && enc != ProvNoEncrypt {
		return RSSLIBBadEncryption
	}
	data := m.sram.Bytes(src, int(size))
	if ProvisioningCRC(data, dest, size, enc) != crc {
		return RSSLIBBadCRC
	}
	if enc == ProvEncrypt && !m.Part().Crypto {
		return RSSLIBEncryptionError // no DHUK on this part
	}
	if dest != OBKDAAddr || size != OBKDASize {
		if m.obkOther == nil {
			m.obkOther = map[uint32][]byte{}
		}
		m.obkOther[dest] = data
		return RSSLIBSuccess
	}
	rec := data
	if m.Part().Crypto && enc == ProvNoEncrypt {
		rec = m.dhukView(rec)
	}
	m.obkDA = rec
	m.cfg.DA = DAPassword
	if m.tzenLocked().Enabled() {
		m.cfg.DA = DACertificate
	}
	return RSSLIBSuccess
}

// dhukView is what the ROM reads back from a record stored without
// encryption on a crypto part: it decrypts with the DHUK and gets noise
// (chosen.go).
func (m *Model) dhukView(rec []byte) []byte {
	out := make([]byte, len(rec))
	for i := range rec {
		if i%32 == 0 {
			k := sha256.Sum256(fmt.Appendf(nil, "DHUK %08X %d", m.cfg.UID, i))
			copy(out[i:], k[:])
		}
		out[i] ^= rec[i]
	}
	return out
}

// OBKProvisionCalls counts the calls of RSSLIB_DataProvisioning the core
// ran (whatever their status).
func (m *Model) OBKProvisionCalls() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.da.keep.obkCalls
}
