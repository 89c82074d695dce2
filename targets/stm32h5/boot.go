package stm32h5

import (
	"fmt"

	"github.com/stprobe/stprobe/targets"
	"github.com/stprobe/stprobe/targets/chipsim"
)

// This file holds what the STM32H5 ROM (system) bootloader is and when it
// runs (AN2606 pattern 17, tables 3, 121, 124, 127), and a model of it for
// the simulated bench: the USART protocol (bootuart.go) and USB DFU
// (bootdfu.go). Values no public source gives are marked chosen.

// ROMBootloaderRuns reports whether the ROM bootloader runs after a reset
// in product state s with the BOOT0 pin at boot0 (AN2606 pattern 17): in
// OPEN only with BOOT0 high, in PROVISIONING always. In every other state
// the chip boots its flash (or its iRoT) whatever BOOT0 says; an iRoT that
// falls back to the bootloader when its verification fails is not modelled.
func ROMBootloaderRuns(s targets.ProductState, boot0 bool) bool {
	switch s {
	case targets.StateOpen:
		return boot0
	case targets.StateProvisioning:
		return true
	}
	return false
}

// BootloaderStates lists the product states in which some BOOT0 level
// starts the ROM bootloader.
func BootloaderStates() []targets.ProductState {
	return []targets.ProductState{targets.StateOpen, targets.StateProvisioning}
}

// UARTPins is one USART the ROM bootloader listens on.
type UARTPins struct {
	USART  string // e.g. "USART1"
	TX, RX string // e.g. "PA9", "PA10"
}

// String renders the pins, e.g. "USART1 TX PA9 / RX PA10".
func (p UARTPins) String() string { return fmt.Sprintf("%s TX %s / RX %s", p.USART, p.TX, p.RX) }

// BootloaderInfo is what the ROM bootloader of one line shows.
type BootloaderInfo struct {
	// PID is what the USART Get ID command returns: the line's DEV_ID.
	PID uint16
	// ID and IDAddr are the bootloader ID byte and where it sits in system
	// memory (AN2606 table 3; ROM revisions change it, so read it).
	ID     byte
	IDAddr uint32
	// UARTs are the USARTs the ROM listens on (AN2606 tables 121/124/127).
	UARTs []UARTPins
	// USBDM and USBDP are the USB FS pins the DFU uses.
	USBDM, USBDP string
}

// Bootloader returns what the ROM bootloader of the line with DEV_ID devID
// shows; ok is false for a DEV_ID that is not an STM32H5 line.
func Bootloader(devID uint16) (BootloaderInfo, bool) {
	usart1 := UARTPins{"USART1", "PA9", "PA10"}
	switch devID {
	case LineH503:
		return BootloaderInfo{PID: devID, ID: 0xE2, IDAddr: 0x0BF8FFFE,
			UARTs: []UARTPins{usart1, {"USART2", "PA5", "PA15"}, {"USART3", "PA4", "PA3"}},
			USBDM: "PA11", USBDP: "PA12"}, true
	case LineH533, LineH563:
		id, addr := byte(0xE2), uint32(0x0BF8FFFE) // H523/533: as AN2606 prints it (address looks like H503's)
		if devID == LineH563 {
			id, addr = 0xE5, 0x0BF9FAFE
		}
		return BootloaderInfo{PID: devID, ID: id, IDAddr: addr,
			UARTs: []UARTPins{usart1, {"USART2", "PA2", "PA3"}, {"USART3", "PD8", "PD9"}},
			USBDM: "PA11", USBDP: "PA12"}, true
	}
	return BootloaderInfo{}, false
}

// Chosen values of the modelled ROM bootloader (no H5 capture is public).
const (
	// bootUARTVersion is the USART protocol version byte. AN2606 says V4.0
	// for every STM32H5; chosen: the byte on the wire is 0x40.
	bootUARTVersion = 0x40
)

// bootUARTCommands is the modelled Get reply's command list. Chosen: the
// AN3155 USART set with extended erase and the special command 0x50 the H5
// uses for product-state changes.
var bootUARTCommands = []byte{0x00, 0x01, 0x02, 0x11, 0x21, 0x31, 0x44, 0x63, 0x73, 0x82, 0x92, 0xA1, 0x50}

// ROMBootloader is the modelled ROM bootloader of one Model, as it stands
// after the last reset with a given BOOT0 level. It answers the USART
// protocol (NewUART) and USB DFU (DFU) only when ROMBootloaderRuns; in every
// other case it is silent, as the real chip running its flash is.
type ROMBootloader struct {
	m     *Model
	boot0 bool
	info  BootloaderInfo
}

// ROMBootloader returns the model's ROM bootloader with the BOOT0 pin at
// boot0. Whether it runs is decided from the product state at each call of
// Runs, so a state change followed by a reset shows.
func (m *Model) ROMBootloader(boot0 bool) *ROMBootloader {
	info, _ := Bootloader(m.line.DevID)
	return &ROMBootloader{m: m, boot0: boot0, info: info}
}

// Runs reports whether the ROM bootloader runs now.
func (b *ROMBootloader) Runs() bool { return ROMBootloaderRuns(b.m.ProductState(), b.boot0) }

// BOOT0 is the modelled BOOT0 pin level.
func (b *ROMBootloader) BOOT0() bool { return b.boot0 }

// Info is what the bootloader shows.
func (b *ROMBootloader) Info() BootloaderInfo { return b.info }

// FlashKB is the flash size the DFU memory layout announces.
func (b *ROMBootloader) FlashKB() int { return int(b.m.flashKB) }

// UID is the chip's 96-bit unique ID (the DFU serial number derives from it).
func (b *ROMBootloader) UID() [3]uint32 { return b.m.cfg.UID }

// read reads n bytes at addr as the bootloader's memory reads see them:
// the chip's non-secure bus plus the bootloader ID byte. ok is false when
// any byte is not readable (the ROM NACKs or stalls the read).
func (b *ROMBootloader) read(addr uint32, n int) ([]byte, bool) {
	if n <= 0 || uint64(addr)+uint64(n) > 1<<32 {
		return nil, false
	}
	out := make([]byte, 0, n)
	for i := 0; i < n; i++ {
		a := addr + uint32(i)
		if a == b.info.IDAddr && b.info.IDAddr != 0 {
			out = append(out, b.info.ID)
			continue
		}
		if a >= targets.H5DBGMCUAP1+4 && a < targets.H5DBGMCUAP1+0x1000 {
			return nil, false // chosen: only DBGMCU_IDCODE, not the DA mailbox
		}
		w, err := b.m.ap1.Bus.Read(a&^3, chipsim.Word, cswNonSecure)
		if err != nil {
			return nil, false
		}
		out = append(out, byte(w>>(8*(a&3))))
	}
	return out, true
}
