package flashprog

import (
	"github.com/stprobe/stprobe/targets"
	"github.com/stprobe/stprobe/targets/flashreg"
	"github.com/stprobe/stprobe/targets/stm32rdp"
)

// familyBoard is one open board of each family as the simulator serves
// them (the f103-open … l476-open scenarios), with sector k's address and
// size for the fault tests.
type familyBoard struct {
	name    string
	cfg     stm32rdp.Config
	rdp1    uint8  // the RDP byte of level 1
	sector  uint32 // the size of the first four erase units
	regs    uint32
	strt    uint32 // FLASH_CR.STRT
	crOff   uint32 // FLASH_CR offset
	keyrOff uint32
	lock    uint32
}

func familyBoards() []familyBoard {
	uid := [3]uint32{0x0031FF36, 0x3231470F, 0x43172231}
	b := func(f targets.Family, devID, revID, kb uint16, rdp uint8) stm32rdp.Config {
		return stm32rdp.Config{Family: f, DevID: devID, RevID: revID, FlashKB: kb, RDP: rdp, NRSTWired: true, UID: uid}
	}
	return []familyBoard{
		{"f103-open", b(targets.STM32F1(), targets.DevIDF1MD, 0x2003, 64, targets.F1RDPKey), 0x00, 1 << 10, targets.F1FlashRegs, flashreg.F1CRSTRT, flashreg.F1CR, flashreg.F1KEYR, flashreg.F1CRLock},
		{"f411-open", b(targets.STM32F4(), targets.DevIDF411, 0x1000, 512, targets.RDPByteLevel0), targets.RDPByteLevel1, 16 << 10, targets.F4FlashRegs, flashreg.F4CRSTRT, flashreg.F4CR, flashreg.F4KEYR, flashreg.F4CRLock},
		{"g071-open", b(targets.STM32G0(), targets.DevIDG07x, 0x2000, 128, targets.RDPByteLevel0), targets.RDPByteLevel1, 2 << 10, targets.L4FlashRegs, flashreg.L4CRSTRT, flashreg.L4CR, flashreg.L4KEYR, flashreg.L4CRLock},
		{"g474-open", b(targets.STM32G4(), targets.DevIDG47x, 0x2000, 512, targets.RDPByteLevel0), targets.RDPByteLevel1, 2 << 10, targets.L4FlashRegs, flashreg.L4CRSTRT, flashreg.L4CR, flashreg.L4KEYR, flashreg.L4CRLock},
		{"l476-open", b(targets.STM32L4(), targets.DevIDL47x, 0x1007, 1024, targets.RDPByteLevel0), targets.RDPByteLevel1, 2 << 10, targets.L4FlashRegs, flashreg.L4CRSTRT, flashreg.L4CR, flashreg.L4KEYR, flashreg.L4CRLock},
	}
}
