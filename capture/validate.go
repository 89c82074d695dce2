package capture

import (
	"bytes"
	"fmt"

	"github.com/stprobe/stprobe/targets"
)

// outcomes are the sweep's outcome classes as the sweep names them
// (probe/sweep Outcomes); the capture keeps its own list so that it stays a
// leaf.
var outcomes = map[string]bool{
	"ok": true, "mode-failed": true, "ap-closed": true, "dp-only": true, "wait-timeout": true,
	"no-ack": true, "fault": true, "unsupported-by-firmware": true, "skipped": true,
}

// validate checks what encoding/json cannot: the format and version, and
// values that no chip can hold. data is the file's text, for line numbers.
func (f *File) validate(data []byte) error {
	at := func(key string, format string, a ...any) error {
		msg := fmt.Sprintf(format, a...)
		if n := keyLine(data, key); n > 0 {
			return fmt.Errorf("capture: line %d: %s", n, msg)
		}
		return fmt.Errorf("capture: %s", msg)
	}
	switch {
	case f.Format != Format:
		return at("format", "format %q: want %q (is it a capture file? see docs/capture-format.md)", f.Format, Format)
	case f.Version > Version:
		return at("version", "version %d: this stprobe reads version %d; a newer stprobe wrote the file, update stprobe", f.Version, Version)
	case f.Version < 1:
		return at("version", "version %d: want %d", f.Version, Version)
	}
	if len(f.Flash) > 0 && !f.Header.WithFlash {
		return at("flash", "the file holds flash contents but its header says with_flash false: the header must say what the file holds")
	}
	if c := f.Chip; c != nil {
		if len(c.UID) != 0 && len(c.UID) != 3 {
			return at("uid", "chip uid has %d words: want 3 (96 bits) or none", len(c.UID))
		}
		if uint32(c.IDCode)&0xFFF != uint32(c.DevID) {
			return at("dev_id", "chip dev_id 0x%03X is not IDCODE 0x%08X's DEV_ID (bits 11:0)", uint16(c.DevID), uint32(c.IDCode))
		}
	}
	if s := f.State; s != nil {
		if ps := targets.ProductState(s.ProductState); !ps.Valid() {
			return at("product_state", "product_state 0x%02X is no product state (OPEN is 0xED; see docs/capture-format.md)", uint8(s.ProductState))
		}
		switch targets.TZEN(s.TZEN) {
		case targets.TZENAbsent, targets.TZENEnabled, targets.TZENDisabled:
		default:
			return at("tzen", "tzen 0x%02X: want 0xB4 (enabled), 0xC3 (disabled) or 0x00 (no TrustZone)", uint8(s.TZEN))
		}
	}
	if o := f.OptionBytes; o != nil {
		seen := map[string]bool{}
		for _, r := range o.Registers {
			if r.Name == "" {
				return at("registers", "an option register without a name")
			}
			if seen[r.Name] {
				return at(r.Name, "option register %s is listed twice", r.Name)
			}
			seen[r.Name] = true
		}
		if f.State != nil {
			for _, r := range o.Registers {
				if r.Name == "OPTSR" && targets.ProductStateOf(uint32(r.Cur)) != targets.ProductState(f.State.ProductState) {
					return at("OPTSR", "OPTSR cur 0x%08X holds product state 0x%02X but state.product_state says 0x%02X: edit both", uint32(r.Cur), uint8(targets.ProductStateOf(uint32(r.Cur))), uint8(f.State.ProductState))
				}
			}
		}
	}
	if s := f.Sweep; s != nil {
		for i, c := range s.Cells {
			if !outcomes[c.Outcome] {
				return fmt.Errorf("capture: line %d: sweep cell %d (%s AP%d %d kHz): outcome %q is none of the sweep's outcomes", cellLine(data, i, "outcome"), i, c.Mode, c.AP, c.KHz, c.Outcome)
			}
			if c.KHz <= 0 {
				return fmt.Errorf("capture: line %d: sweep cell %d: khz %d is not a clock", cellLine(data, i, "khz"), i, c.KHz)
			}
		}
	}
	return nil
}

// cellLine is the line of key in the i-th sweep cell: the cells are
// found by their "mode" keys after "cells" (0: unknown).
func cellLine(data []byte, i int, key string) int {
	off := bytes.Index(data, []byte(`"cells"`))
	if off < 0 {
		return 0
	}
	for n := 0; ; n++ {
		j := bytes.Index(data[off:], []byte(`"mode"`))
		if j < 0 {
			return lineAt(data, off)
		}
		off += j
		if n == i {
			if k := bytes.Index(data[off:], []byte(`"`+key+`"`)); k >= 0 {
				return lineAt(data, off+k)
			}
			return lineAt(data, off)
		}
		off++
	}
}
