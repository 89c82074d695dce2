package stm32rdp

// Option-register values after reset of a chip whose option bytes hold the
// factory defaults except RDP (RM0008 §2.5 and §3.3.3 FLASH_OBR; RM0090
// §3.9.10 FLASH_OPTCR = 0x0FFFAAED; RM0444 §3.7.8 FLASH_OPTR = 0xFFFFFEAA;
// RM0351 §3.7.8 FLASH_OPTR = 0xFFEFF8AA; WRPxxR read start > end, no area
// protected).
const (
	f4OPTCRRest = 0x0FFF00ED // nWRP all set, user bits, OPTLOCK
	g0OPTRRest  = 0xFFFFFE00
	l4OPTRRest  = 0xFFEFF800
	wrpNone     = 0xFF00FFFF
)
