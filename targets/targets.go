// Package targets is what stprobe knows about chips: how to identify them
// from the SW-DP and DBGMCU IDCODE, which access port does what, the
// product-state lifecycle and the addresses other packages need. Knowledge
// is kept as data (a Family with its Lines) plus small functions, so more
// families can be added as table entries.
//
// targets does not import the probe driver: it reads the target through the
// narrow MemReader interface, which *probe.Link satisfies.
package targets

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
)

// MemReader reads one 32-bit word of target memory through an access port.
type MemReader interface {
	Read32(ctx context.Context, ap uint8, addr uint32) (uint32, error)
}

// Chip is an identified target.
type Chip struct {
	Family Family
	Line   Line
	// DPIDR is the SW-DP identification register the caller read.
	DPIDR uint32
	// IDCode is DBGMCU_IDCODE; DevID and RevID its fields; Revision the
	// revision letter (or "rev 0xNNNN").
	IDCode       uint32
	DevID, RevID uint16
	Revision     string
	// IDCodeAP is the access port IDCODE was read through.
	IDCodeAP uint8
	// The engineering area, read through the core AP when it is open. The
	// Has flags say which parts were readable.
	UID                  [3]uint32
	FlashKB              uint16
	PackageCode          uint16
	Package              string
	HasUID, HasFlashSize bool
	HasPackage           bool
	// EngineeringAreaErr says why the engineering area could not be read
	// (nil when it was).
	EngineeringAreaErr error
	// IDCodeErrs are the failed IDCODE reads before the one that worked
	// (AP0 failing while AP1 answers, for example).
	IDCodeErrs []error
	// DPIDRKnownForFamily is true when DPIDR is one the family is known to show.
	DPIDRKnownForFamily bool
	// Protection is the read-out protection level on the RDP families
	// (HasProtection set when it was read through the core AP);
	// ProtectionErr says why it could not be.
	Protection    Protection
	HasProtection bool
	ProtectionErr error
}

// Name is the line name with the revision, e.g. "STM32H523/H533 rev A".
func (c *Chip) Name() string {
	return fmt.Sprintf("%s rev %s", c.Line.Name, c.Revision)
}

// UIDString renders the unique ID as ST tools do (word 2, word 1, word 0 in
// hex), or "" when it was not read.
func (c *Chip) UIDString() string {
	if !c.HasUID {
		return ""
	}
	return fmt.Sprintf("%08X%08X%08X", c.UID[2], c.UID[1], c.UID[0])
}

// String summarises the chip in one line.
func (c *Chip) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s (DEV_ID 0x%03X, REV_ID 0x%04X, via AP%d)", c.Name(), c.DevID, c.RevID, c.IDCodeAP)
	if c.HasFlashSize {
		fmt.Fprintf(&b, ", %d KiB flash", c.FlashKB)
	}
	if c.HasPackage {
		fmt.Fprintf(&b, ", %s", c.Package)
	}
	if c.HasProtection {
		fmt.Fprintf(&b, ", %v", c.Protection)
	}
	if c.HasUID {
		fmt.Fprintf(&b, ", UID %s", c.UIDString())
	}
	return b.String()
}

// ErrUnknownChip is wrapped by Identify when an IDCODE was read but its
// DEV_ID is in no family table.
var ErrUnknownChip = errors.New("unknown chip")

// idPath is one place an IDCODE may be read.
type idPath struct {
	ap   uint8
	addr uint32
}

// idPaths lists, without repeats, every (AP, DBGMCU address) of every
// family, lower ports first and, on one port, in the order of Families
// (STM32H5's 0xE0044000 on AP0 first, then the F1/F4/G4/L4 0xE0042000, the
// G0's 0x40015800, the H7's 0x5C001000; AP1 0x44024000 last).
func idPaths() []idPath {
	var out []idPath
	seen := map[idPath]bool{}
	for _, f := range Families() {
		for _, r := range f.APs {
			p := idPath{r.AP, r.DBGMCU + DBGMCUIDCode}
			if r.DBGMCU == 0 || seen[p] {
				continue
			}
			seen[p] = true
			out = append(out, p)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].ap < out[j].ap })
	return out
}

// Identify reads DBGMCU_IDCODE through every access port a known family puts
// it behind (STM32H5: AP0 at 0xE0044000, then AP1 at 0x44024000) and returns
// the first chip it recognises. It then reads the engineering area (UID,
// flash size, package) through the family's core AP; failures there are kept
// in Chip.EngineeringAreaErr, not returned, since AP1 is closed in the closed
// product states. dpidr is the SW-DP IDCODE the caller already read.
func Identify(ctx context.Context, r MemReader, dpidr uint32) (*Chip, error) {
	c, err := identify(ctx, r, dpidr, idPaths())
	if err != nil {
		return nil, err
	}
	if err := c.readEngineeringArea(ctx, r); err != nil && ctx.Err() != nil {
		return nil, fmt.Errorf("target: reading engineering area: %w", ctx.Err())
	}
	if c.Family.RDP != nil {
		c.Protection, c.ProtectionErr = ReadRDP(ctx, r, c)
		if c.ProtectionErr != nil && ctx.Err() != nil {
			return nil, fmt.Errorf("target: reading the protection level: %w", ctx.Err())
		}
		c.HasProtection = c.ProtectionErr == nil
	}
	return c, nil
}

// IdentifyAP is Identify restricted to one access port, without the
// engineering area: it reads DBGMCU_IDCODE only where a known family puts
// it behind port ap, one word in all. It returns nil, nil when no family
// has a DBGMCU behind that port.
func IdentifyAP(ctx context.Context, r MemReader, ap uint8, dpidr uint32) (*Chip, error) {
	var paths []idPath
	for _, p := range idPaths() {
		if p.ap == ap {
			paths = append(paths, p)
		}
	}
	if len(paths) == 0 {
		return nil, nil
	}
	return identify(ctx, r, dpidr, paths)
}

// identify reads DBGMCU_IDCODE at each path in turn and returns the first
// chip whose DEV_ID a family lists.
func identify(ctx context.Context, r MemReader, dpidr uint32, paths []idPath) (*Chip, error) {
	var errs []error
	var unknown []string
	for _, p := range paths {
		v, err := r.Read32(ctx, p.ap, p.addr)
		if err != nil {
			if ctx.Err() != nil {
				return nil, fmt.Errorf("target: identifying chip: %w", ctx.Err())
			}
			errs = append(errs, fmt.Errorf("reading DBGMCU_IDCODE at 0x%08X through AP%d: %w", p.addr, p.ap, err))
			continue
		}
		if v == 0 || v == 0xFFFFFFFF {
			errs = append(errs, fmt.Errorf("DBGMCU_IDCODE at 0x%08X through AP%d reads 0x%08X: no DBGMCU there", p.addr, p.ap, v))
			continue
		}
		devID, revID := DecodeIDCode(v)
		f, l, ok := LookupDevID(devID)
		if !ok {
			unknown = append(unknown, fmt.Sprintf("AP%d 0x%08X reads 0x%08X (DEV_ID 0x%03X)", p.ap, p.addr, v, devID))
			continue
		}
		if !f.hasIDPath(p) {
			// A DEV_ID counts only where its own family keeps DBGMCU.
			unknown = append(unknown, fmt.Sprintf("AP%d 0x%08X reads 0x%08X (DEV_ID 0x%03X of %s, which keeps DBGMCU elsewhere)", p.ap, p.addr, v, devID, f.Name))
			continue
		}
		c := &Chip{
			Family: f, Line: l, DPIDR: dpidr,
			IDCode: v, DevID: devID, RevID: revID, Revision: l.RevisionName(revID),
			IDCodeAP: p.ap, IDCodeErrs: errs,
		}
		for _, d := range f.DPIDRs {
			if d == dpidr {
				c.DPIDRKnownForFamily = true
			}
		}
		return c, nil
	}
	if len(unknown) > 0 {
		return nil, fmt.Errorf("target: %w: %s; the DEV_ID is in no family table", ErrUnknownChip, strings.Join(unknown, "; "))
	}
	return nil, fmt.Errorf("target: DBGMCU IDCODE unreadable through every access port (is the debug port powered up and the AP open?): %w", errors.Join(errs...))
}

// readEngineeringArea fills UID, flash size and package through the core AP.
func (c *Chip) readEngineeringArea(ctx context.Context, r MemReader) error {
	ap := c.Family.CoreAP
	var uid [3]uint32
	for i := range uid {
		v, err := r.Read32(ctx, ap, c.Family.UIDAddr+uint32(4*i))
		if err != nil {
			c.EngineeringAreaErr = fmt.Errorf("reading UID at 0x%08X through AP%d: %w", c.Family.UIDAddr+uint32(4*i), ap, err)
			return c.EngineeringAreaErr
		}
		uid[i] = v
	}
	c.UID, c.HasUID = uid, true
	// Flash size and package are the two halves of one word on STM32H5.
	fsize := c.Family.FlashSizeAddrOf(c.Line)
	word := fsize &^ 3
	v, err := r.Read32(ctx, ap, word)
	if err != nil {
		c.EngineeringAreaErr = fmt.Errorf("reading flash size at 0x%08X through AP%d: %w", fsize, ap, err)
		return c.EngineeringAreaErr
	}
	c.FlashKB, c.HasFlashSize = halfAt(v, fsize), true
	if c.Family.PackageAddr == 0 {
		return nil
	}
	if c.Family.PackageAddr&^3 != word {
		if v, err = r.Read32(ctx, ap, c.Family.PackageAddr&^3); err != nil {
			c.EngineeringAreaErr = fmt.Errorf("reading package at 0x%08X through AP%d: %w", c.Family.PackageAddr, ap, err)
			return c.EngineeringAreaErr
		}
	}
	c.PackageCode, c.HasPackage = halfAt(v, c.Family.PackageAddr), true
	c.Package = c.Family.PackageName(c.PackageCode)
	return nil
}

// halfAt picks the 16-bit half of word v that holds address addr.
func halfAt(v, addr uint32) uint16 {
	return uint16(v >> (8 * (addr & 2)))
}

// ReadProductState reads FLASH_OPTSR_CUR (and, on TrustZone lines,
// FLASH_OPTSR2_CUR) through the chip's core AP and returns the product state
// and TZEN (TZENAbsent on lines without TrustZone). It fails when the core AP
// is closed (CLOSED, LOCKED, TZ_CLOSED before the application opens debug).
func ReadProductState(ctx context.Context, r MemReader, chip *Chip) (ProductState, TZEN, error) {
	f := chip.Family
	if f.RDP != nil {
		return 0, 0, fmt.Errorf("target: %s: %w: its protection is a read-out protection level (%s)", f.Name, ErrNoProductState, rdpText(chip))
	}
	optsr, err := r.Read32(ctx, f.CoreAP, f.FlashRegs+FlashOPTSRCur)
	if err != nil {
		return 0, 0, fmt.Errorf("target: reading FLASH_OPTSR_CUR at 0x%08X through AP%d (closed in CLOSED/LOCKED; try Hot Plug): %w",
			f.FlashRegs+FlashOPTSRCur, f.CoreAP, err)
	}
	state := ProductStateOf(optsr)
	if !chip.Line.TrustZone {
		return state, TZENAbsent, nil
	}
	optsr2, err := r.Read32(ctx, f.CoreAP, f.FlashRegs+FlashOPTSR2Cur)
	if err != nil {
		return state, 0, fmt.Errorf("target: reading FLASH_OPTSR2_CUR at 0x%08X through AP%d: %w", f.FlashRegs+FlashOPTSR2Cur, f.CoreAP, err)
	}
	return state, TZENOf(optsr2), nil
}

// ReadOptionsUnlocked reads FLASH_OPTCR through the core port and reports
// whether OPTLOCK is clear: the option registers were left unlocked (a
// write interrupted after the OPTKEYR keys, another tool), so any OPTSTRT
// would apply what the _PRG registers hold. A reset sets OPTLOCK again.
func ReadOptionsUnlocked(ctx context.Context, r MemReader, chip *Chip) (bool, error) {
	f := chip.Family
	if f.RDP != nil {
		return false, fmt.Errorf("target: %s: the option-lock check knows the STM32H5 FLASH_OPTCR only", f.Name)
	}
	optcr, err := r.Read32(ctx, f.CoreAP, f.FlashRegs+FlashOPTCR)
	if err != nil {
		return false, fmt.Errorf("target: reading FLASH_OPTCR at 0x%08X through AP%d: %w", f.FlashRegs+FlashOPTCR, f.CoreAP, err)
	}
	return optcr&OPTCROptLock == 0, nil
}

// ReadAPStatus reads STM32H5 DBGMCU_SR through AP0 (0xE00440FC): bit n of
// present says access port n exists, bit n of enabled that it is open
// (AP1's bit is clear in the closed product states).
func ReadAPStatus(ctx context.Context, r MemReader) (present, enabled uint16, err error) {
	v, err := r.Read32(ctx, 0, H5DBGMCUAP0+DBGMCUSR)
	if err != nil {
		return 0, 0, fmt.Errorf("target: reading DBGMCU_SR at 0x%08X through AP0: %w", H5DBGMCUAP0+DBGMCUSR, err)
	}
	present, enabled = DecodeAPStatus(v)
	return present, enabled, nil
}

// DecodeAPStatus splits a DBGMCU_SR value into AP_PRESENT[15:0] and
// AP_ENABLED[31:16].
func DecodeAPStatus(sr uint32) (present, enabled uint16) {
	return uint16(sr), uint16(sr >> 16)
}

// rdpText is the chip's protection level, or why it is unknown.
func rdpText(c *Chip) string {
	if c.HasProtection {
		return c.Protection.String()
	}
	if c.ProtectionErr != nil {
		return "unread: " + c.ProtectionErr.Error()
	}
	return "not read"
}

// hasIDPath reports whether f keeps DBGMCU_IDCODE at p.
func (f Family) hasIDPath(p idPath) bool {
	for _, r := range f.APs {
		if r.DBGMCU != 0 && r.AP == p.ap && r.DBGMCU+DBGMCUIDCode == p.addr {
			return true
		}
	}
	return false
}

// IdentifiesThrough reports whether f keeps DBGMCU_IDCODE behind access
// port ap, so that IdentifyAP through that port can name the chip.
func (f Family) IdentifiesThrough(ap uint8) bool {
	for _, r := range f.APs {
		if r.DBGMCU != 0 && r.AP == ap {
			return true
		}
	}
	return false
}
