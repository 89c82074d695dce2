package stm32h5

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"

	"github.com/stprobe/stprobe/targets"
)

// OBK provisioning as the ROM does it in PROVISIONING (STM32CubeProgrammer
// -sdp): the host hands the .obk file to the ROM loop, which checks the
// header and stores the record, encrypted by the DHUK on crypto parts. The
// hand-over is not public; the model's is chosen (chosen.go: an SRAM
// command block at OBKProvBlock).

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

// obkServiceLocked serves a provisioning request in the SRAM command block
// when the ROM loop runs (PROVISIONING, out of reset, no DA session), once
// obkServiceTime has passed since it saw the command.
func (m *Model) obkServiceLocked() {
	if m.nrstLow || m.da.active || m.stateLocked() != targets.StateProvisioning {
		return
	}
	blk := m.sram.Bytes(OBKProvBlock, 16)
	if len(blk) < 16 || binary.LittleEndian.Uint32(blk) != OBKProvCommand {
		m.da.keep.obkWaiting = false
		return
	}
	if !m.da.keep.obkWaiting {
		m.da.keep.obkWaiting, m.da.keep.obkSeen = true, m.now
		return
	}
	if m.now < m.da.keep.obkSeen+obkServiceTime {
		return
	}
	m.da.keep.obkWaiting = false
	m.da.keep.obkCalls++
	status := uint32(OBKProvBadSize)
	if n := binary.LittleEndian.Uint32(blk[4:]); n <= OBKProvMaxFile {
		status = m.provisionOBKLocked(m.sram.Bytes(OBKProvBlock+OBKProvData, int(n)))
	}
	reply := binary.LittleEndian.AppendUint32(nil, 0)
	reply = binary.LittleEndian.AppendUint32(reply, binary.LittleEndian.Uint32(blk[4:]))
	reply = binary.LittleEndian.AppendUint32(reply, status)
	_ = m.sram.Load(OBKProvBlock, reply)
}

// provisionOBKLocked checks and stores one .obk file; it returns the
// status word for the host.
func (m *Model) provisionOBKLocked(file []byte) uint32 {
	if !m.line.OBK {
		return OBKProvBadDestination
	}
	if len(file) < OBKHeaderSize {
		return OBKProvBadSize
	}
	dest := binary.LittleEndian.Uint32(file)
	size := binary.LittleEndian.Uint32(file[4:])
	enc := binary.LittleEndian.Uint32(file[8:])
	switch {
	case dest != OBKDAAddr:
		return OBKProvBadDestination
	case size != OBKDASize || len(file) != OBKFileSize:
		return OBKProvBadSize
	case enc > 1 || enc == 1 && !m.Part().Crypto:
		return OBKProvBadEncryption
	}
	rec := append([]byte(nil), file[OBKHeaderSize:]...)
	if m.Part().Crypto && enc == 0 {
		rec = m.dhukView(rec)
	}
	m.obkDA = rec
	m.cfg.DA = DAPassword
	if m.tzenLocked().Enabled() {
		m.cfg.DA = DACertificate
	}
	return OBKProvDone
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

// OBKProvisionCalls counts the provisioning requests the ROM served.
func (m *Model) OBKProvisionCalls() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.da.keep.obkCalls
}
