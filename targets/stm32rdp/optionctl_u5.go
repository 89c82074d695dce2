package stm32rdp

import (
	"github.com/stprobe/stprobe/targets"
)

// The STM32U5's option-byte programming, driven by the host through the
// non-secure flash registers: RM0456 §7.4.2 (option bytes programming and
// loading), §7.6.2 (read-out protection, its regressions and TrustZone),
// §7.9 (FLASH_NSKEYR, FLASH_OPTKEYR, FLASH_NSSR, FLASH_NSCR, FLASH_OPTR);
// ST's CMSIS stm32u585xx.h (FLASH_NSCR_OPTSTRT, FLASH_NSCR_OBL_LAUNCH,
// FLASH_NSCR_OPTLOCK, FLASH_NSCR_LOCK, FLASH_NSSR_OPTWERR, FLASH_NSSR_BSY,
// FLASH_OPTR_TZEN); OpenOCD 0.12 src/flash/nor/stm32l4x.c, whose
// stm32u5 register table (stm32l5_ns_flash_regs) and stm32l4_write_option
// / stm32l4_perform_obl_launch a debugger uses on the U5.
//
// The sequence: NSKEYR ← KEY1, KEY2 clears NSCR.LOCK; then OPTKEYR ←
// OPTKEY1, OPTKEY2 clears NSCR.OPTLOCK; the option registers take new
// values; NSCR.OPTSTRT programs them (BSY while it runs, never seen here:
// timing is not modelled); NSCR.OBL_LAUNCH loads them and resets the chip.
// The chip refuses (NSSR.OPTWERR, nothing programmed) a change at RDP
// level 2, TrustZone turned on above level 0, TrustZone turned off without
// a regression to level 0 (RM0456 §7.6.2). A regression from level 1 or
// 0.5 to 0 erases the whole flash; from level 1 to 0.5 the non-secure
// part (pages above the secure watermark). With an OEM1 key provisioned
// (Config.OEM1Locked: NSSR.OEM1LOCK reads 1) a regression to level 0
// needs the key written to OEM1KEYR1/2 first (RM0456 §7.6.2); the model
// takes no key, so it refuses them all with OPTWERR. Not modelled: the
// OEM keys themselves and the OEM2 key (OEM2LOCK reads 0), the SRAM and
// OTP parts of the erase, and the core's Security Extension,
// which stays as the board was built when TZEN changes (the flash aliases
// and the RDP level follow TZEN).
const (
	u5NSKEYR  = 0x08
	u5OPTKEYR = targets.U5FlashOPTKEYR
	u5NSSR    = targets.U5FlashNSSR
	u5NSCR    = targets.U5FlashNSCR
	u5OPTR    = targets.U5FlashOPTR

	u5CROptStart  = 1 << 17
	u5CROBLLaunch = 1 << 27
	u5CROptLock   = 1 << 30
	u5CRLock      = 1 << 31

	u5SREOP      = 1 << 0
	u5SROPTWERR  = 1 << 13
	u5SROEM1Lock = 1 << 18
	// u5SRClear are the NSSR flags written 1 to clear: EOP, OPERR,
	// PROGERR, WRPERR, PGAERR, SIZERR, PGSERR, OPTWERR (stm32u585xx.h).
	u5SRClear = 0x20FB
)

// u5ReadReg reads the U5's flash register at off. The caller holds m.mu.
func (m *Model) u5ReadReg(off uint32) uint32 {
	o := &m.ob
	switch off {
	case u5NSSR:
		if m.cfg.OEM1Locked {
			return o.sr | u5SROEM1Lock
		}
		return o.sr
	case u5NSCR:
		return o.cr | o.key.bit(u5CRLock) | o.opt.bit(u5CROptLock)
	}
	return o.regs[off]
}

// u5WriteReg writes the U5's flash register at off; obl is true when
// OBL_LAUNCH was set (the caller loads the option bytes and resets the
// chip outside the lock). The caller holds m.mu.
func (m *Model) u5WriteReg(off, v uint32) (obl bool, err error) {
	o := &m.ob
	switch off {
	case u5NSKEYR:
		if o.key.write(v, targets.FlashKey1, targets.FlashKey2, true) {
			return false, errKeySequence("FLASH_NSKEYR")
		}
	case u5OPTKEYR:
		// OPTLOCK clears with OPTKEY1, OPTKEY2 once LOCK is clear (RM0456
		// §7.4.2 "Option bytes programming").
		if o.key.locked {
			return false, nil
		}
		if o.opt.write(v, targets.OptKey1, targets.OptKey2, true) {
			return false, errKeySequence("FLASH_OPTKEYR")
		}
	case u5NSSR:
		o.sr &^= v & u5SRClear
	case u5NSCR:
		if o.key.locked {
			return false, nil
		}
		if v&u5CROptLock != 0 {
			o.opt.locked = true
		}
		if v&u5CRLock != 0 {
			o.key.locked, o.cr = true, 0
			return false, nil
		}
		o.cr = v &^ (u5CROptStart | u5CROBLLaunch | u5CROptLock | u5CRLock)
		switch {
		case v&u5CROBLLaunch != 0:
			return !o.opt.locked, nil
		case v&u5CROptStart != 0 && !o.opt.locked:
			m.u5OptionStart()
		}
	default:
		if _, ok := o.regs[off]; ok && off >= u5OPTR && !o.opt.locked {
			o.regs[off] = v
		}
	}
	return false, nil
}

// u5LevelOf is the level an OPTR value selects.
func u5LevelOf(optr uint32) targets.RDPLevel {
	lvl, _ := targets.STM32U5().RDP.Level(optr)
	return lvl
}

// u5OptionStart programs the option registers' values (OPTSTRT), or
// refuses them with OPTWERR.
func (m *Model) u5OptionStart() {
	o := &m.ob
	cur, next := o.stored[u5OPTR], o.regs[u5OPTR]
	from, to := u5LevelOf(cur), u5LevelOf(next)
	tzOn, tzOff := cur&targets.U5TZEN == 0 && next&targets.U5TZEN != 0, cur&targets.U5TZEN != 0 && next&targets.U5TZEN == 0
	switch {
	case from == targets.RDPLevel2, // option bytes frozen (no OEM2 key modelled)
		tzOn && from != targets.RDPLevel0,                                        // TrustZone on at level 0 only
		tzOff && !(from != targets.RDPLevel0 && to == targets.RDPLevel0),         // off only with a regression to 0
		m.cfg.OEM1Locked && from != targets.RDPLevel0 && to == targets.RDPLevel0: // no OEM1 key given
		o.sr |= u5SROPTWERR
		o.refused++
		return
	}
	switch {
	case from >= targets.RDPLevel05 && to == targets.RDPLevel0:
		m.fc.massErase()
	case from == targets.RDPLevel1 && to == targets.RDPLevel05:
		// Partial regression: the non-secure pages are erased.
		secure := uint32(0)
		if cur&targets.U5TZEN != 0 {
			secure = uint32(m.cfg.SecurePages) * targets.U5PageSize
		}
		m.fc.eraseRange(secure, uint32(len(m.fc.mem))-secure)
	}
	for k, v := range o.regs {
		o.stored[k] = v
	}
	o.sr |= u5SREOP
	o.changes++
}

// u5Load is the option-byte loading (OBL_LAUNCH, power-on): the option
// registers take the programmed values, the RDP level and TrustZone come
// into force.
func (m *Model) u5Load() {
	o := &m.ob
	for k, v := range o.stored {
		o.regs[k] = v
	}
	m.in.rdp.Store(o.stored[u5OPTR] & 0xFF)
	m.in.tzen.Store(o.stored[u5OPTR]&targets.U5TZEN != 0)
}
