package targets

import "fmt"

// The STM32H5 memory map (RM0492 §2.3, RM0481 §2.3): code flash from
// 0x08000000 (secure alias 0x0C000000), SRAM from 0x20000000 (secure alias
// 0x30000000), peripherals from 0x40000000 (secure alias 0x50000000).
const (
	FlashMemBase       = 0x08000000
	FlashMemBaseSecure = 0x0C000000
	SRAMBase           = 0x20000000
	SRAMBaseSecure     = 0x30000000
	PeriphBase         = 0x40000000
)

// RegionKind says what is at an address.
type RegionKind string

// Region kinds.
const (
	RegionFlash  RegionKind = "flash"
	RegionSRAM   RegionKind = "sram"
	RegionOther  RegionKind = "other" // system memory, OTP, peripherals, core registers
	RegionAbsent RegionKind = "absent"
)

// Region is what lies at an address range of a line's memory map.
type Region struct {
	Kind       RegionKind
	Start, End uint32 // End is exclusive
	Secure     bool   // the secure alias
}

// RegionOf classifies the n bytes at addr on line l: the whole range must
// lie in one region, else the region is RegionOther with its reason.
func (l Line) RegionOf(addr uint32, n int) (Region, error) {
	end := uint64(addr) + uint64(n)
	regions := []Region{
		{Kind: RegionFlash, Start: FlashMemBase, End: FlashMemBase + uint32(l.MaxFlashKB)<<10},
		{Kind: RegionFlash, Start: FlashMemBaseSecure, End: FlashMemBaseSecure + uint32(l.MaxFlashKB)<<10, Secure: true},
		{Kind: RegionSRAM, Start: SRAMBase, End: SRAMBase + uint32(l.SRAMKB)<<10},
		{Kind: RegionSRAM, Start: SRAMBaseSecure, End: SRAMBaseSecure + uint32(l.SRAMKB)<<10, Secure: true},
	}
	for _, r := range regions {
		if uint64(addr) < uint64(r.Start) || uint64(addr) >= uint64(r.End) {
			continue
		}
		if r.Secure && !l.TrustZone {
			return Region{Kind: RegionAbsent}, fmt.Errorf("0x%08X is in the secure alias, which %s does not have", addr, l.Name)
		}
		if end > uint64(r.End) {
			return r, fmt.Errorf("0x%08X + %d bytes runs past the end of %s %s at 0x%08X", addr, n, l.Name, r.Kind, r.End)
		}
		return r, nil
	}
	return Region{Kind: RegionOther}, nil
}
