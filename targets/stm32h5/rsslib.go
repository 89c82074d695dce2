package stm32h5

import (
	"encoding/binary"
	"fmt"
)

// OBK provisioning by the ROM's RSSLIB_DataProvisioning, as ST's own
// debugger code does it (docs/da-sources.md, "OBK provisioning"):
//
//   - STMicroelectronics/OpenOCD src/flash/nor/stm32h5x.c, write_obk: the
//     .obk header gives destination, size and the encryption flag; the data
//     go to a RAM address + 0x18, the configuration structure to + 4, the
//     CRC over data ‖ destination ‖ size ‖ DoEncryption; r0 = &config, LR =
//     the RAM address | 1 with a breakpoint there; r0 on return is the status.
//   - tcl/target/stm32h5x.cfg, enter_provisionning_pstate: product state
//     0x17, reset, halt, write_obk.
//   - STMicroelectronics/cmsis-device-h5 Include/stm32h5{23,33,62,63,73}xx.h:
//     RSSLIB_PFUNC_BASE 0x0BF9FB68, NSC.DataProvisioning at offset 0,
//     RSSLIB_DataProvisioningConf_t {pSource, pDestination, Size,
//     DoEncryption, Crc}, pSource "shall be in SRAM3", RSSLIB_SUCCESS
//     0xEAEAEAEA, RSSLIB_ERROR 0xF5F5F5F5; stm32h503xx.h has no
//     DataProvisioning (its NSSLIB table holds the HDPL jumps only).

// RSSLIBPFuncBase is RSSLIB_PFUNC_BASE: the ROM's function-pointer table in
// the non-secure system memory of the H52x/H53x/H56x/H57x.
// DataProvisioning (NSC) is its first word.
const RSSLIBPFuncBase = 0x0BF9FB68

// RSSLIBDataProvisioningSlot is the address of the word that holds the
// RSSLIB_DataProvisioning entry point (NSC.DataProvisioning, offset 0).
const RSSLIBDataProvisioningSlot = RSSLIBPFuncBase + 0

// The layout ST's OpenOCD uses around a free RAM address A (SRAM3 here):
// the return address is A (a breakpoint there, LR = A|1), the configuration
// structure is at A+4 (five words) and the data at A+0x18.
const (
	ProvConfOffset = 0x04
	ProvDataOffset = 0x18
	ProvConfSize   = 20 // {pSource, pDestination, Size, DoEncryption, Crc}
)

// The DoEncryption magic words ST's OpenOCD passes for the .obk header's
// flag (1: encrypt with the DHUK, anything else: do not).
const (
	ProvEncrypt   uint32 = 0xF5F5A0AA
	ProvNoEncrypt uint32 = 0xCACA0AA0
)

// ProvDoEncryption is the DoEncryption word for an .obk header's flag, as
// ST's OpenOCD maps it (flag 1 encrypts, any other value does not).
func ProvDoEncryption(flag uint32) uint32 {
	if flag == 1 {
		return ProvEncrypt
	}
	return ProvNoEncrypt
}

// RSSLIB_DataProvisioning status words in r0. Success and the generic
// error are in the CMSIS headers; 0xF5F5E0E0 is in ST's OpenOCD; the
// others are as users quote the reference manual (RM0481, RSSLIB
// DataProvisioning return values) — the manual itself is not in the
// sources stprobe can cite by path.
const (
	RSSLIBSuccess          uint32 = 0xEAEAEAEA
	RSSLIBError            uint32 = 0xF5F5F5F5
	RSSLIBBadAddressRange  uint32 = 0xF5F5E0E0 // source not in SRAM3, destination not 16-byte aligned, or not within one OBK section
	RSSLIBBadSize          uint32 = 0xF5F50E0E
	RSSLIBBadEncryption    uint32 = 0xF5F5E00E // DoEncryption is neither magic word
	RSSLIBEncryptionError  uint32 = 0xF5F50EE0
	RSSLIBProgrammingError uint32 = 0xF5F50808
	RSSLIBBadDestination   uint32 = 0xF5F50008
	RSSLIBBadCRC           uint32 = 0xF5F58080
)

// RSSLIBStatusText names an RSSLIB_DataProvisioning status word.
func RSSLIBStatusText(s uint32) string {
	switch s {
	case RSSLIBSuccess:
		return "success (0xEAEAEAEA)"
	case RSSLIBError:
		return "error (0xF5F5F5F5)"
	case RSSLIBBadAddressRange:
		return "bad address range (0xF5F5E0E0): the source is not in SRAM3, the destination is not 16-byte aligned, or the data do not fit in one OBK section"
	case RSSLIBBadSize:
		return "bad size (0xF5F50E0E)"
	case RSSLIBBadEncryption:
		return "bad DoEncryption value (0xF5F5E00E)"
	case RSSLIBEncryptionError:
		return "encryption error (0xF5F50EE0)"
	case RSSLIBProgrammingError:
		return "OBK programming error (0xF5F50808)"
	case RSSLIBBadDestination:
		return "bad destination (0xF5F50008)"
	case RSSLIBBadCRC:
		return "CRC mismatch (0xF5F58080)"
	}
	return fmt.Sprintf("unknown status 0x%08X", s)
}

// SRAM3 is the SRAM3 block of a line (non-secure alias), where
// RSSLIB_DataProvisioning wants its source: 0x20034000 (64 KiB) on the
// H523/H533, 0x20050000 (320 KiB) on the H562/H563/H573 (cmsis-device-h5
// SRAM3_BASE_NS, SRAM3_SIZE). ok is false on the H503, which has no SRAM3
// and no DataProvisioning.
func SRAM3(line uint16) (base, size uint32, ok bool) {
	switch line {
	case LineH533:
		return 0x20034000, 0x10000, true
	case LineH563:
		return 0x20050000, 0x50000, true
	}
	return 0, 0, false
}

// OBKSection is one HDPL section of the OBK area (secure alias), per the
// CMSIS headers' FLASH_OBK_HDPLx_BASE_S and _SIZE.
type OBKSection struct {
	Name       string
	Base, Size uint32
}

// OBKSections are the OBK area's sections on the H52x/H53x/H56x/H57x:
// HDPL0 (256 bytes, ST's), HDPL1 (2 KiB, holds the DA record at its
// start), HDPL2 (768 bytes), HDPL3 (5104 bytes, its secure and
// non-secure parts).
func OBKSections() []OBKSection {
	const base = 0x0FFD0000
	return []OBKSection{
		{"HDPL0", base, 0x100},
		{"HDPL1", base + 0x100, 0x800},
		{"HDPL2", base + 0x900, 0x300},
		{"HDPL3", base + 0xC00, 0x13F0},
	}
}

// OBKSectionOf returns the section that holds [dest, dest+size), ok false
// when no one section does.
func OBKSectionOf(dest, size uint32) (OBKSection, bool) {
	for _, s := range OBKSections() {
		if dest >= s.Base && uint64(dest)+uint64(size) <= uint64(s.Base)+uint64(s.Size) {
			return s, true
		}
	}
	return OBKSection{}, false
}

// ProvisioningCRC is the Crc of an RSSLIB_DataProvisioningConf_t: CRC-32
// with polynomial 0x04C11DB7, initial value 0xFFFFFFFF, no reflection and
// no final XOR (the STM32 CRC unit's default), fed 32-bit little-endian
// words most significant bit first, over data ‖ pDestination ‖ Size ‖
// DoEncryption, as ST's OpenOCD computes it (crc32_func). data is padded
// with zero bytes to a whole word.
func ProvisioningCRC(data []byte, dest, size, doEncryption uint32) uint32 {
	buf := append([]byte(nil), data...)
	for len(buf)%4 != 0 {
		buf = append(buf, 0)
	}
	buf = binary.LittleEndian.AppendUint32(buf, dest)
	buf = binary.LittleEndian.AppendUint32(buf, size)
	buf = binary.LittleEndian.AppendUint32(buf, doEncryption)
	return CRC32Words(buf)
}

// CRC32Words is CRC-32/MPEG-2 over b taken as little-endian 32-bit words,
// each fed most significant bit first (the STM32 CRC unit's word mode).
// len(b) must be a multiple of 4; a tail is ignored.
func CRC32Words(b []byte) uint32 {
	const poly = 0x04C11DB7
	crc := uint32(0xFFFFFFFF)
	for i := 0; i+4 <= len(b); i += 4 {
		crc ^= binary.LittleEndian.Uint32(b[i:])
		for range 32 {
			if crc&0x80000000 != 0 {
				crc = crc<<1 ^ poly
			} else {
				crc <<= 1
			}
		}
	}
	return crc
}
