// Package flashreg holds the register facts of the flash interfaces of the
// STM32F1, STM32F4, STM32G0/G4/L4 and STM32H74x/75x: offsets from the
// family's FLASH block (targets.F1FlashRegs, F4FlashRegs, L4FlashRegs,
// H7FlashRegs), control and status bits, error flags and the geometry the
// erase and program sequences need. The flash programmer (flashprog) drives
// them and the chip models (targets/stm32rdp) answer them, both from here.
//
// The unlock keys are targets.FlashKey1/FlashKey2 and targets.OptKey1/
// OptKey2, the same pair on every family (PM0075 §2.3.1; RM0090 §3.9.2;
// RM0351 §3.7.2; RM0433 §4.9; CMSIS FLASH_KEY1/FLASH_KEY2,
// FLASH_OPTKEY1/FLASH_OPTKEY2).
package flashreg

import "github.com/stprobe/stprobe/targets"

// Flag is one error flag of a status register: its bit and the reference
// manual's name for it with what it means.
type Flag struct {
	Bit  uint32
	Text string
}

// Flags are the error flags of a status register.
type Flags []Flag

// Mask is the flags' bits together.
func (fs Flags) Mask() uint32 {
	var m uint32
	for _, f := range fs {
		m |= f.Bit
	}
	return m
}

// Set returns the texts of the flags set in sr, in table order.
func (fs Flags) Set(sr uint32) []string {
	var out []string
	for _, f := range fs {
		if sr&f.Bit != 0 {
			out = append(out, f.Text)
		}
	}
	return out
}

// Interface is the shape the flash interfaces share: a key register that
// opens the control register with targets.FlashKey1 then FlashKey2 (only
// while it is locked), a status register whose BSY bit says an operation
// runs and whose flags are cleared by writing 1 to them (through a clear
// register on the H7), and a control register whose LOCK bit closes it
// again (PM0075 §2.3, RM0090 §3.5-§3.6, RM0444 §3.3, RM0440 §5.3, RM0351
// §3.3, RM0433 §4).
type Interface struct {
	// KEYR, SR and CR are offsets from the register block; CCR is the
	// register that clears SR's flags, 0 where SR clears itself.
	KEYR, SR, CR, CCR uint32
	// Lock is CR.LOCK, Busy SR.BSY (with the bits that also mean "not
	// done yet"), EOP SR.EOP.
	Lock, Busy, EOP uint32
	// Errors are SR's error flags.
	Errors Flags
}

// The STM32F1 flash program/erase controller (FPEC): PM0075 (STM32F10xxx
// flash programming manual) §2.3-§2.5 and §3.3 register map; RM0008
// §3.3.3; ST's CMSIS stm32f103xb.h FLASH_CR_*, FLASH_SR_*, FLASH_OBR_*;
// OpenOCD 0.12 src/flash/nor/stm32f1x.c (stm32x_erase, stm32x_write,
// stm32x_erase_options, stm32x_write_options, stm32x_mass_erase,
// stm32x_protect_check).
const (
	F1KEYR    = 0x04 // FLASH_KEYR: FPEC unlock keys
	F1OPTKEYR = 0x08 // FLASH_OPTKEYR: KEY1, KEY2 set CR.OPTWRE
	F1SR      = 0x0C // FLASH_SR
	F1CR      = 0x10 // FLASH_CR
	F1AR      = 0x14 // FLASH_AR: the page a page erase erases
	F1OBR     = 0x1C // FLASH_OBR: the option bytes as loaded
	F1WRPR    = 0x20 // FLASH_WRPR: the WRP option bytes as loaded

	F1CRPG     = 1 << 0 // PG: half-word programming
	F1CRPER    = 1 << 1 // PER: page erase
	F1CRMER    = 1 << 2 // MER: mass erase
	F1CROPTPG  = 1 << 4 // OPTPG: option-byte programming
	F1CROPTER  = 1 << 5 // OPTER: option-byte erase
	F1CRSTRT   = 1 << 6 // STRT: start the erase
	F1CRLock   = 1 << 7 // LOCK: FPEC locked until the key sequence
	F1CROPTWRE = 1 << 9 // OPTWRE: option bytes writable (set by FLASH_OPTKEYR)

	F1SRBusy     = 1 << 0 // BSY
	F1SRPGErr    = 1 << 2 // PGERR
	F1SRWRPRTErr = 1 << 4 // WRPRTERR
	F1SREOP      = 1 << 5 // EOP: end of operation

	F1OBROptErr = 1 << 0 // OBR.OPTERR: an option byte and its complement disagree
	F1OBRRDPRT  = 1 << 1 // OBR.RDPRT: read-out protection in force

	// F1WRPBlock is what one FLASH_WRPR bit protects: 4 KiB (four 1 KiB
	// pages on low and medium density, two 2 KiB pages on high density,
	// XL and connectivity lines); bit 31 protects the rest of the flash on
	// lines larger than 128 KiB (PM0075 §2.5 "Write protection option
	// bytes"; OpenOCD stm32f1x.c ppage_size).
	F1WRPBlock = 4 << 10
	// F1Bank1Max is the first bank of the XL density line: its flash
	// above 512 KiB has a second register set (PM0075 §1 for XL; OpenOCD
	// stm32f1x.c FLASH_BANK1_REG_OFFSET, register_base 0x40022040).
	F1Bank1Max = 512 << 10
)

// F1Interface is the FPEC's shape; the error flags are FLASH_SR's (PM0075
// §3.3 FLASH_SR).
func F1Interface() Interface {
	return Interface{KEYR: F1KEYR, SR: F1SR, CR: F1CR, Lock: F1CRLock, Busy: F1SRBusy, EOP: F1SREOP,
		Errors: Flags{
			{F1SRPGErr, "PGERR: programming a location that was not erased"},
			{F1SRWRPRTErr, "WRPRTERR: the page is write-protected (WRP) or read-out protected"},
		},
	}
}

// F1PageSize is the page of an STM32F1 line: 1 KiB on low- and
// medium-density lines and the F100 low/medium value line, 2 KiB on
// high-density, XL and connectivity lines (PM0075 §2.2 Table 2-5; RM0041
// §3.3.3; OpenOCD stm32f1x.c page_size by device ID).
func F1PageSize(devID uint16) uint32 {
	switch devID {
	case targets.DevIDF1LD, targets.DevIDF1MD, targets.DevIDF1VL:
		return 1 << 10
	}
	return 2 << 10
}

// The STM32F4 flash interface: RM0090 §3.5-§3.7 and §3.9 register map
// (RM0383 §3 for the F411, RM0368, RM0390, RM0401, RM0402, RM0430 the same
// interface); ST's CMSIS stm32f4xx headers FLASH_CR_*, FLASH_SR_*,
// FLASH_OPTCR_*; OpenOCD 0.12 src/flash/nor/stm32f2x.c (stm32x_unlock_reg,
// stm32x_unlock_option_reg, stm32x_erase, stm32x_write,
// stm32x_write_options, stm32x_mass_erase, stm32x_protect_check,
// get_sector_size).
const (
	F4KEYR    = 0x04 // FLASH_KEYR
	F4OPTKEYR = 0x08 // FLASH_OPTKEYR
	F4SR      = 0x0C // FLASH_SR
	F4CR      = 0x10 // FLASH_CR
	F4OPTCR   = 0x14 // FLASH_OPTCR: RDP[15:8], nWRP[27:16], DB1M b30, SPRMOD b31
	F4OPTCR1  = 0x18 // FLASH_OPTCR1: nWRP of bank 2 [27:16] (dual-bank lines)

	F4CRPG       = 1 << 0 // PG: programming
	F4CRSER      = 1 << 1 // SER: sector erase
	F4CRMER      = 1 << 2 // MER: mass erase (bank 1)
	F4CRSNBShift = 3      // SNB[7:3]: the sector; bit 4 of SNB selects bank 2
	// PSIZE by supply voltage: x8 from 1.8 V, x16 from 2.1 V, x32 from 2.7
	// V (RM0090 "Program/erase parallelism" table; ST HAL
	// stm32f4xx_hal_flash_ex.h FLASH_VOLTAGE_RANGE_1..3 and FLASH_PSIZE_*).
	F4CRPSize16 = 1 << 8
	F4CRPSize32 = 2 << 8
	F4CRMER1    = 1 << 15 // MER1: mass erase of bank 2
	F4CRSTRT    = 1 << 16 // STRT: start the erase
	F4CRLock    = 1 << 31 // LOCK

	F4SREOP    = 1 << 0  // EOP: end of operation
	F4SROPErr  = 1 << 1  // OPERR
	F4SRWRPErr = 1 << 4  // WRPERR
	F4SRPGAErr = 1 << 5  // PGAERR
	F4SRPGPErr = 1 << 6  // PGPERR
	F4SRPGSErr = 1 << 7  // PGSERR
	F4SRBusy   = 1 << 16 // BSY

	F4OPTCRLock   = 1 << 0  // OPTLOCK
	F4OPTCRStart  = 1 << 1  // OPTSTRT: program the option bytes
	F4OPTCRDB1M   = 1 << 30 // DB1M: 1 MiB parts as two banks
	F4OPTCRSPRMOD = 1 << 31 // SPRMOD: nWRP bits select PCROP
)

// F4Interface is the STM32F4 flash interface's shape; the error flags are
// FLASH_SR's (RM0090 §3.9.4 FLASH_SR).
func F4Interface() Interface {
	return Interface{KEYR: F4KEYR, SR: F4SR, CR: F4CR, Lock: F4CRLock, Busy: F4SRBusy, EOP: F4SREOP,
		Errors: Flags{
			{F4SROPErr, "OPERR: operation error"},
			{F4SRWRPErr, "WRPERR: the sector is write-protected (nWRP) or read-out protected"},
			{F4SRPGAErr, "PGAERR: programming alignment error"},
			{F4SRPGPErr, "PGPERR: programming parallelism error (the access width differs from PSIZE)"},
			{F4SRPGSErr, "PGSERR: programming sequence error (no PG)"},
		},
	}
}

// F4SectorSize is the size of sector i of a bank: four of 16 KiB, one of
// 64 KiB, then 128 KiB ones (RM0090 §3.3 Table 5, RM0383 §3.3 Table 4;
// OpenOCD stm32f2x.c get_sector_size).
func F4SectorSize(i int) uint32 {
	switch {
	case i < 4:
		return 16 << 10
	case i == 4:
		return 64 << 10
	}
	return 128 << 10
}

// F4DualBankLine reports whether the line has a second bank at its
// largest flash (2 MiB): the STM32F42x/F43x and F469/F479, with
// FLASH_OPTCR1 (RM0090 §3.3 Table 6; RM0386 §3.3; OpenOCD stm32f2x.c
// has_large_mem).
func F4DualBankLine(devID uint16) bool {
	return devID == targets.DevIDF42x || devID == targets.DevIDF469
}

// The flash interface of the STM32G0, G4 and L4 (one design): RM0444
// §3.3-§3.7 (G0), RM0440 §5.3-§5.7 (G4), RM0351 §3.3-§3.7 and RM0394,
// RM0432 (L4); ST's CMSIS stm32g0xx/g4xx/l4xx headers FLASH_CR_*,
// FLASH_SR_*, FLASH_OPTR_*, FLASH_WRP1AR_*; OpenOCD 0.12
// src/flash/nor/stm32l4x.c and stm32l4x.h (stm32l4_unlock_reg,
// stm32l4_unlock_option_reg, stm32l4_erase,
// stm32l4_write_block_without_loader, stm32l4_write_option,
// stm32l4_perform_obl_launch, stm32l4_mass_erase, stm32l4_protect_check,
// stm32l4_probe).
const (
	L4KEYR      = 0x08 // FLASH_KEYR
	L4OPTKEYR   = 0x0C // FLASH_OPTKEYR
	L4SR        = 0x10 // FLASH_SR
	L4CR        = 0x14 // FLASH_CR
	L4OPTR      = 0x20 // FLASH_OPTR: RDP[7:0], DUALBANK b21, DBANK b22
	L4PCROP1SR  = 0x24 // FLASH_PCROP1SR (G0: PCROP1ASR)
	L4PCROP1ER  = 0x28 // FLASH_PCROP1ER (G0: PCROP1AER)
	L4WRP1AR    = 0x2C // FLASH_WRP1AR: start [7:0], end [23:16]
	L4WRP1BR    = 0x30 // FLASH_WRP1BR
	G0PCROP1BSR = 0x34 // FLASH_PCROP1BSR (G0)
	G0PCROP1BER = 0x38 // FLASH_PCROP1BER (G0)
	L4PCROP2SR  = 0x44 // FLASH_PCROP2SR (dual-bank lines)
	L4PCROP2ER  = 0x48 // FLASH_PCROP2ER
	L4WRP2AR    = 0x4C // FLASH_WRP2AR: bank 2 (dual-bank lines)
	L4WRP2BR    = 0x50 // FLASH_WRP2BR

	L4CRPG       = 1 << 0 // PG: programming
	L4CRPER      = 1 << 1 // PER: page erase
	L4CRMER1     = 1 << 2 // MER1: mass erase of bank 1
	L4CRPNBShift = 3      // PNB: the page in its bank, from bit 3
	// FLASH_CR.BKER: bit 11, bit 13 on the G0 (stm32l4x.h FLASH_BKER,
	// FLASH_BKER_G0).
	L4CRBKER      = 1 << 11
	G0CRBKER      = 1 << 13
	L4CRMER2      = 1 << 15 // MER2: mass erase of bank 2
	L4CRSTRT      = 1 << 16 // STRT: start the erase
	L4CROptStart  = 1 << 17 // OPTSTRT: program the option bytes
	L4CROBLLaunch = 1 << 27 // OBL_LAUNCH: load the option bytes, resetting the chip
	L4CROptLock   = 1 << 30 // OPTLOCK
	L4CRLock      = 1 << 31 // LOCK

	// L4OPTRDualBank is FLASH_OPTR DUALBANK (L47x/L49x 512/256 KiB),
	// DUAL_BANK (G0Bx), DB1M (L4R/L4P below their largest size).
	L4OPTRDualBank = 1 << 21
	// L4OPTRDBank is FLASH_OPTR DBANK (G47x; L4R/L4P at their largest
	// size).
	L4OPTRDBank = 1 << 22

	L4SREOP     = 1 << 0  // EOP: end of operation
	L4SROPErr   = 1 << 1  // OPERR
	L4SRProgErr = 1 << 3  // PROGERR
	L4SRWRPErr  = 1 << 4  // WRPERR
	L4SRPGAErr  = 1 << 5  // PGAERR
	L4SRSizErr  = 1 << 6  // SIZERR
	L4SRPGSErr  = 1 << 7  // PGSERR
	L4SRMisErr  = 1 << 8  // MISERR
	L4SRFastErr = 1 << 9  // FASTERR
	L4SRRdErr   = 1 << 14 // RDERR
	L4SROptVErr = 1 << 15 // OPTVERR
	L4SRBusy    = 1 << 16 // BSY
	// G0SRBusy2 is FLASH_SR.BSY2: bank 2 busy on the G0Bx/G0Cx (OpenOCD
	// stm32l4x.c sr_bsy_mask FLASH_BSY | FLASH_BSY2 in dual-bank mode;
	// RM0444 FLASH_SR). Bit 17 is PEMPTY on the L4.
	G0SRBusy2 = 1 << 17
)

// L4Interface is the shape of the G0, G4 and L4 flash interface; the error
// flags are FLASH_SR's (RM0351 §3.7.4 FLASH_SR). The G0Bx/G0Cx also poll
// G0SRBusy2.
func L4Interface() Interface {
	return Interface{KEYR: L4KEYR, SR: L4SR, CR: L4CR, Lock: L4CRLock, Busy: L4SRBusy, EOP: L4SREOP,
		Errors: Flags{
			{L4SROPErr, "OPERR: operation error"},
			{L4SRProgErr, "PROGERR: programming a double word that was not erased"},
			{L4SRWRPErr, "WRPERR: the page is write-protected (WRP area) or read-out protected"},
			{L4SRPGAErr, "PGAERR: programming alignment error (the second word is not the next one)"},
			{L4SRSizErr, "SIZERR: a write narrower than 32 bits"},
			{L4SRPGSErr, "PGSERR: programming sequence error (no PG, or a page that does not exist)"},
			{L4SRMisErr, "MISERR: fast programming data miss"},
			{L4SRFastErr, "FASTERR: fast programming error"},
			{L4SRRdErr, "RDERR: PCROP read error"},
			{L4SROptVErr, "OPTVERR: option validity error"},
		},
	}
}

// L4BKER is FLASH_CR's bank-select bit of a page erase on the named
// family: bit 13 on the STM32G0, bit 11 on the G4 and L4 (stm32l4x.h
// FLASH_BKER, FLASH_BKER_G0).
func L4BKER(family string) uint32 {
	if family == "STM32G0" {
		return G0CRBKER
	}
	return L4CRBKER
}

// L4Geometry is the page size and whether the flash of kb KiB is two
// banks, as FLASH_OPTR organises it (OpenOCD stm32l4x.c stm32l4_probe;
// RM0351 §3.3.1, RM0432 §3.3.1, RM0440 §5.3.1, RM0444 §3.3.1): 2 KiB
// pages everywhere but the G47x/G48x (4 KiB single-bank, 2 KiB with DBANK)
// and the L4R/L4S and L4P/L4Q (8 KiB single-bank, 4 KiB two banks: DBANK
// at their largest size, DB1M below it); the 1 MiB L47x/L49x are always
// two banks, their smaller parts with DUALBANK; the G0Bx/G0Cx with
// DUAL_BANK.
func L4Geometry(devID uint16, kb int, maxKB int, optr uint32) (pageSize uint32, dual bool) {
	pageSize = 2 << 10
	switch devID {
	case targets.DevIDL47x, targets.DevIDL49x:
		dual = kb == maxKB || optr&L4OPTRDualBank != 0
	case targets.DevIDG0Bx:
		dual = optr&L4OPTRDualBank != 0
	case targets.DevIDG47x:
		pageSize = 4 << 10
		if optr&L4OPTRDBank != 0 {
			pageSize, dual = 2<<10, true
		}
	case targets.DevIDL4Rx, targets.DevIDL4Px:
		pageSize = 8 << 10
		if kb == maxKB && optr&L4OPTRDBank != 0 || kb != maxKB && optr&L4OPTRDualBank != 0 {
			pageSize, dual = 4<<10, true
		}
	}
	return pageSize, dual
}

// L4HasBank2Regs reports whether the line has FLASH_WRP2AR/WRP2BR and
// PCROP2SR/ER (OpenOCD stm32l4x.c: the F_HAS_DUAL_BANK lines of the L4 and
// G4).
func L4HasBank2Regs(devID uint16) bool {
	switch devID {
	case targets.DevIDL47x, targets.DevIDL49x, targets.DevIDL4Rx, targets.DevIDL4Px, targets.DevIDG47x:
		return true
	}
	return false
}

// The STM32H74x/75x embedded flash interface: two banks, each with its own
// key, control, status and clear registers, 128 KiB sectors and a 256-bit
// flash word the write buffer programs once all of it is written. Sources:
// ST's CMSIS stm32h743xx.h (FLASH_CR_*, FLASH_SR_*, FLASH_CCR_CLR_*,
// FLASH_OPTSR_SWAP_BANK_OPT, FLASH_SECTOR_SIZE,
// FLASH_NB_32BITWORD_IN_FLASHWORD, FLASH_BANK2_BASE); RM0433 §4 (embedded
// flash memory: sector erase, single write sequence, register map);
// OpenOCD 0.12 src/flash/nor/stm32h7x.c (FLASH_REG_BASE_B0 and _B1, the
// register offsets and bits, stm32x_unlock_reg, stm32x_erase, the
// work-area-free path of stm32x_write, stm32x_protect_check).
const (
	// H7Bank2Regs is the offset of bank 2's registers from bank 1's
	// (stm32h7x.c FLASH_REG_BASE_B1 - FLASH_REG_BASE_B0).
	H7Bank2Regs = 0x100

	H7KEYR = 0x04 // FLASH_KEYR1/2
	H7CR   = 0x0C // FLASH_CR1/2
	H7SR   = 0x10 // FLASH_SR1/2
	H7CCR  = 0x14 // FLASH_CCR1/2: write 1 to clear the flag at the same bit of SR

	H7CRLock  = 1 << 0 // LOCK
	H7CRPG    = 1 << 1 // PG: programming
	H7CRSER   = 1 << 2 // SER: sector erase
	H7CRBER   = 1 << 3 // BER: bank erase
	H7CRPSize = 3 << 4 // PSIZE x64: the reset value, for a 2.7-3.6 V supply (stm32h7x.c FLASH_PSIZE_64)
	H7CRFW    = 1 << 6 // FW: force-write a partly filled write buffer
	H7CRStart = 1 << 7 // START: start the erase
	// H7CRSNBShift and H7CRSNB are SNB[10:8], the sector to erase.
	H7CRSNBShift = 8
	H7CRSNB      = 0x7 << H7CRSNBShift
	// H7CRReset is FLASH_CR1/CR2 after reset: LOCK, PSIZE 0b11 (RM0433
	// §4.9, FLASH_CR1 reset value 0x0000_0031).
	H7CRReset = 0x31

	H7SRBusy      = 1 << 0     // BSY
	H7SRWBNE      = 1 << 1     // WBNE: the write buffer holds data
	H7SRQW        = 1 << 2     // QW: the write buffer waits to be programmed
	H7SREOP       = 1 << 16    // EOP: end of operation
	H7SRWRPErr    = 1 << 17    // WRPERR
	H7SRPGSErr    = 1 << 18    // PGSERR
	H7SRStrbErr   = 1 << 19    // STRBERR
	H7SRIncErr    = 1 << 21    // INCERR
	H7SROPErr     = 1 << 22    // OPERR
	H7SRRDPErr    = 1 << 23    // RDPERR
	H7SRRDSErr    = 1 << 24    // RDSERR
	H7SRSNECCErr  = 1 << 25    // SNECCERR
	H7SRDBECCErr  = 1 << 26    // DBECCERR
	H7SRClearable = 0x0FEF0000 // the flags FLASH_CCR clears (FLASH_CCR_CLR_EOP … CLR_CRCEND)

	// H7OPTSRSwapBank is FLASH_OPTSR_CUR.SWAP_BANK_OPT (bit 31).
	H7OPTSRSwapBank = 1 << 31

	H7SectorSize = 128 << 10 // FLASH_SECTOR_SIZE
	H7FlashWord  = 32        // FLASH_NB_32BITWORD_IN_FLASHWORD words of 4 bytes
	H7BankSize   = 1 << 20   // FLASH_BANK2_BASE - FLASH_BANK1_BASE
)

// H7Interface is the shape of one bank of the H74x/75x flash interface
// (bank 2's registers H7Bank2Regs above bank 1's): BSY and QW both mean
// busy; the error flags are FLASH_SR1/2's (RM0433 §4.9, FLASH_SR1), cleared
// through FLASH_CCR1/2.
func H7Interface() Interface {
	return Interface{KEYR: H7KEYR, SR: H7SR, CR: H7CR, CCR: H7CCR, Lock: H7CRLock, Busy: H7SRBusy | H7SRQW, EOP: H7SREOP,
		Errors: Flags{
			{H7SRWRPErr, "WRPERR: the sector is write-protected (WRPSn)"},
			{H7SRPGSErr, "PGSERR: programming sequence error (no PG, or the bank locked)"},
			{H7SRStrbErr, "STRBERR: a byte written twice into the write buffer"},
			{H7SRIncErr, "INCERR: inconsistent write-buffer addresses"},
			{H7SROPErr, "OPERR: operation error"},
			{H7SRRDPErr, "RDPERR: read-out protection forbids the operation"},
			{H7SRRDSErr, "RDSERR: secure access protection forbids the operation"},
			{H7SRSNECCErr, "SNECCERR: single ECC error corrected"},
			{H7SRDBECCErr, "DBECCERR: double ECC error"},
		},
	}
}
