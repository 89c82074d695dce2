package targets

import "fmt"

// STM32H5 main-flash programming: the registers, bits and geometry the
// erase and program sequences use. Sources: ST's STM32H563 and STM32H503
// SVD files (FLASH_NSKEYR, FLASH_SECKEYR, FLASH_NSSR, FLASH_NSCR and their
// field descriptions, the text of RM0481 and RM0492), ST's HAL
// stm32h5xx_hal_flash.c and stm32h5xx_hal_flash_ex.c (FLASH_Erase_Sector,
// FLASH_MassErase: SER|SNB|BKSEL|STRT, BER|BKSEL|STRT, MER|STRT; the
// quad-word program of FLASH_Program_QuadWord), stm32h5xx_hal_flash_ex.h
// (write-protection groups), and OpenOCD's stm32l4x.c, which programs the
// STM32H5 one 16-byte flash word at a time with PG set
// (stm32l4_write_block_without_loader).
const (
	FlashNSKEYR  = 0x004 // FLASH_NSKEYR: non-secure unlock keys
	FlashSECKEYR = 0x008 // FLASH_SECKEYR: secure unlock keys (TrustZone lines)
	FlashSECSR   = 0x024 // FLASH_SECSR: secure status, bits as NSSR
	FlashNSCR    = 0x028 // FLASH_NSCR: non-secure control
	FlashSECCR   = 0x02C // FLASH_SECCR: secure control, bits as NSCR
	FlashSECCCR  = 0x034 // FLASH_SECCCR: write 1 to clear SECSR flags

	// NSKEYR/SECKEYR unlock keys, in this order (HAL FLASH_KEY1, FLASH_KEY2).
	FlashKey1 = 0x45670123
	FlashKey2 = 0xCDEF89AB

	NSCRLock     = 1 << 0  // LOCK: NSCR locked until the key sequence
	NSCRPG       = 1 << 1  // PG: writes to the flash fill the write buffer
	NSCRSER      = 1 << 2  // SER: sector erase
	NSCRBER      = 1 << 3  // BER: bank erase
	NSCRFW       = 1 << 4  // FW: force-write a partly filled write buffer (missing bytes 0xFF)
	NSCRStart    = 1 << 5  // STRT: start the erase; cleared at its end or on error
	NSCRSNBShift = 6       // SNB[12:6]: the sector to erase, within the bank BKSEL names
	NSCRSNBMask  = 0x7F    // SNB width
	NSCRMER      = 1 << 15 // MER: mass erase, both banks
	NSCRBKSEL    = 1 << 31 // BKSEL: physical bank of SER/BER; SWAP_BANK is ignored

	NSSRStrobeErr = 1 << 19 // NSSR.STRBERR: the same byte written twice into the write buffer
	NSSRIncErr    = 1 << 20 // NSSR.INCERR: inconsistency error

	// OPTSRSwapBank is OPTSR bit 31, SWAP_BANK: bank 2 appears at the flash
	// base and bank 1 after it (HAL OB_USER_SWAP_BANK; OPTCR.SWAP_BANK
	// shows the value in force since the last reset).
	OPTSRSwapBank = 1 << 31

	// H5SectorSize is the erase unit (8 KiB) and H5QuadWord the program
	// unit: 128 bits with their ECC, written once after an erase.
	H5SectorSize = 8 << 10
	H5QuadWord   = 16
)

// H5Flash is the geometry of one STM32H5's user flash.
type H5Flash struct {
	// Size is the flash size in bytes (from the chip's flash-size word or
	// the line's largest); each of the two banks holds half.
	Size uint32
	// WRPSectorsPerBit is how many sectors one WRPxR bit protects: 4 on
	// lines with 128 sectors a bank, 1 on the H503; on the H52x/H53x the
	// HAL's table gives 8 bits for 32 sectors, 4 sectors a bit (inferred,
	// the same as the option-byte field table).
	WRPSectorsPerBit int
	// IndexBits is the width of the sector indexes in SECWMxR and HDPxR.
	IndexBits uint
}

// H5FlashOf returns the geometry of line l with flashKB KiB of flash (0:
// the line's largest).
func H5FlashOf(l Line, flashKB int) H5Flash {
	if flashKB <= 0 {
		flashKB = l.MaxFlashKB
	}
	g := H5Flash{Size: uint32(flashKB) << 10, WRPSectorsPerBit: 4, IndexBits: 7}
	switch l.DevID {
	case DevIDH503:
		g.WRPSectorsPerBit, g.IndexBits = 1, 3
	case DevIDH52x:
		g.IndexBits = 5
	}
	return g
}

// BankSize is the size of one bank.
func (g H5Flash) BankSize() uint32 { return g.Size / 2 }

// SectorsPerBank is the number of 8 KiB sectors in a bank.
func (g H5Flash) SectorsPerBank() int { return int(g.BankSize() / H5SectorSize) }

// Sector is one erase unit of the user flash, by its physical bank (1 or
// 2) and index in that bank.
type Sector struct {
	Bank  int
	Index int
}

// String names the sector as the reference manual does.
func (s Sector) String() string { return fmt.Sprintf("bank %d sector %d", s.Bank, s.Index) }

// SectorAt returns the physical sector holding offset off from the flash
// base, with SWAP_BANK applied (swapped: bank 2 is at the base), and the
// offset inside the physical bank.
func (g H5Flash) SectorAt(off uint32, swapped bool) (Sector, uint32) {
	bank := 1
	if off >= g.BankSize() {
		bank, off = 2, off-g.BankSize()
	}
	if swapped {
		bank = 3 - bank
	}
	return Sector{Bank: bank, Index: int(off / H5SectorSize)}, off
}

// AddrOf is where sector s starts in the address map at base, with
// SWAP_BANK applied.
func (g H5Flash) AddrOf(base uint32, s Sector, swapped bool) uint32 {
	bank := s.Bank
	if swapped {
		bank = 3 - bank
	}
	return base + uint32(bank-1)*g.BankSize() + uint32(s.Index)*H5SectorSize
}

// WRPProtected reports whether sector index i of a bank is write-protected
// by that bank's WRPxR value: a 0 bit protects its group of sectors (HAL
// FLASH_OB_GetWRP: protected = ~WRPxR).
func (g H5Flash) WRPProtected(wrp uint32, i int) bool {
	bit := i / g.WRPSectorsPerBit
	return bit < 32 && wrp&(1<<bit) == 0
}

// InArea reports whether sector index i lies in the area a SECWMxR or
// HDPxR value names: start in bits [IndexBits-1:0], end in bits
// [16+IndexBits-1:16], no area when start > end (the option-byte field
// table's reading of RM0481).
func (g H5Flash) InArea(reg uint32, i int) bool {
	mask := uint32(1)<<g.IndexBits - 1
	start, end := int(reg&mask), int(reg>>16&mask)
	return start <= end && i >= start && i <= end
}
