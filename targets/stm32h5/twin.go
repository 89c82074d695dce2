package stm32h5

import (
	"fmt"
	"sort"

	"github.com/stprobe/stprobe/targets"
)

// applyCaptured puts Config.Captured into the option registers: a twin of
// a real chip starts with the values read from it rather than the factory
// ones. A register the line does not have, or a product state the line
// cannot be in, is an error. PRIVCFGR has no _PRG half: its _CUR value is
// the register.
func (m *Model) applyCaptured() error {
	names := make([]string, 0, len(m.cfg.Captured))
	for n := range m.cfg.Captured {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		v := m.cfg.Captured[n]
		if n == "PRIVCFGR" {
			m.plain[targets.FlashPRIVCFGR] = v[0]
			continue
		}
		if _, ok := m.cur[n]; !ok {
			return fmt.Errorf("stm32h5: %s has no option register %s", m.line.Name, n)
		}
		m.cur[n], m.prg[n] = v[0], v[1]
	}
	if st := targets.ProductStateOf(m.cur["OPTSR"]); !m.family.HasState(m.line, st) {
		return fmt.Errorf("stm32h5: %s cannot be in product state 0x%02X (OPTSR 0x%08X)", m.line.Name, uint8(st), m.cur["OPTSR"])
	}
	if m.line.TrustZone {
		if tz := targets.TZENOf(m.cur["OPTSR2"]); tz != targets.TZENEnabled && tz != targets.TZENDisabled {
			return fmt.Errorf("stm32h5: TZEN 0x%02X in OPTSR2 0x%08X is neither 0xB4 nor 0xC3", uint8(tz), m.cur["OPTSR2"])
		}
	}
	m.cfg.ProductState, m.cfg.TZEN = targets.ProductStateOf(m.cur["OPTSR"]), m.tzenConfigured()
	return nil
}

// tzenConfigured is the applied TZEN, or TZENAbsent without TrustZone.
func (m *Model) tzenConfigured() targets.TZEN {
	if !m.line.TrustZone {
		return targets.TZENAbsent
	}
	return targets.TZENOf(m.cur["OPTSR2"])
}
