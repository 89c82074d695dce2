package da

import (
	"errors"
	"fmt"
	"strings"

	"github.com/stprobe/stprobe/guarded"
	"github.com/stprobe/stprobe/targets"
	"github.com/stprobe/stprobe/targets/stm32h5"
)

// The plans of the debug-authentication writes, as guarded writes. Their
// risk classes:
//
//   - provisioning the DA record into the OBK area is caution: it can be
//     provisioned again while the chip is in PROVISIONING, and a full
//     regression erases it; on the H503 the password hash goes to OTP and
//     the block is locked for ever, which is irreversible (the chip stays
//     usable). Provisioning closes nothing: closing is an option-byte plan
//     of its own, brick until the way back is proven.
//   - a regression is caution: it erases (flash, SRAM, option bytes, and
//     for a full one the OBK area) but leaves the chip open and usable;
//     nothing it does locks anything. What it erases is named in the plan,
//     the option bytes are backed up, and the user flash can be saved first
//     where AP1 reads it.
//   - a debug opening is safe: it lasts until the next power cycle.
//
// No DA write can brick a chip, so NeedsOverride is never set.

// Errors of a DA write refused before anything is sent, and of a part
// that cannot be chosen.
var (
	// ErrRefused: the plan refuses the write before anything is sent.
	ErrRefused = errors.New("refused before any write")
	// ErrPartAmbiguous: the chip's line has several parts that take
	// different files, and none was named.
	ErrPartAmbiguous = errors.New("the part is ambiguous")
)

// Refuse is the error of a write the plan refuses: it matches ErrRefused
// and cause with errors.Is.
func Refuse(cause error, format string, args ...any) error {
	return fmt.Errorf("%w: %s: %w", ErrRefused, fmt.Sprintf(format, args...), cause)
}

// Refusal is the error of a write check c refuses: a *CheckError, which
// matches ErrRefused and c.Cause with errors.Is.
func (c Check) Refusal() error { return &CheckError{Check: c} }

// CheckError is a write refused before anything was sent because a check
// does not hold; a face reads the next step from it (Check.Step).
type CheckError struct{ Check Check }

// Error says the refusal, the problem and what to do.
func (e *CheckError) Error() string {
	s := fmt.Sprintf("%v: %s", ErrRefused, e.Check.Sentence())
	if e.Check.Cause != nil {
		s += ": " + e.Check.Cause.Error()
	}
	return s
}

// Unwrap is ErrRefused and the check's cause.
func (e *CheckError) Unwrap() []error {
	if e.Check.Cause == nil {
		return []error{ErrRefused}
	}
	return []error{ErrRefused, e.Check.Cause}
}

// ChoosePart is the one rule that picks the part of a chip among its
// line's parts (stm32h5.PartsOf): the one named (which must be of the
// chip's line), the only one, or, when the write does not depend on which
// (need false), the first, whose DA facts its siblings share. A line of
// several parts and no name, when need is set, is ErrPartAmbiguous.
func ChoosePart(parts []stm32h5.Part, name string, need bool) (stm32h5.Part, error) {
	if len(parts) == 0 {
		return stm32h5.Part{}, Refuse(ErrUnsupported, "the chip is not an STM32H5 part with debug authentication")
	}
	if name != "" {
		p, err := stm32h5.LookupPart(name)
		if err != nil {
			return p, err
		}
		if p.DevID != parts[0].DevID {
			return p, Refuse(ErrProvision, "--part %s is not the chip's part: the chip is an %s", p.Name, LineOf(parts))
		}
		return p, nil
	}
	if len(parts) > 1 && need {
		return parts[0], fmt.Errorf("%w: the chip's line %s has parts %s, which take different files (the crypto parts H533 and H573 store OBK data encrypted): name it with --part", ErrPartAmbiguous, LineOf(parts), strings.Join(partNames(parts), ", "))
	}
	return parts[0], nil
}

// LineOf names a line by its parts, e.g. "STM32H523/H533".
func LineOf(parts []stm32h5.Part) string {
	return "STM32" + strings.Join(partNames(parts), "/")
}

func partNames(parts []stm32h5.Part) []string {
	var names []string
	for _, p := range parts {
		names = append(names, p.Name)
	}
	return names
}

// PlanAuth is the plan of a regression (perm PermFull or PermToTZ) or a
// debug opening (PermOpenDebug) with credentials of method on the chip uid
// of line, of part; flashReadable says whether AP1 reads the user flash
// now, so that a regression can save it first.
func PlanAuth(perm Permission, method string, part stm32h5.Part, line, uid string, flashReadable bool) *guarded.Plan {
	p := &guarded.Plan{Line: line, UID: uid}
	if perm == PermOpenDebug {
		p.Kind, p.Risk, p.Erases = guarded.DebugOpening, guarded.Safe, "nothing"
		p.Changes = []string{fmt.Sprintf("DA debug opening (%s)", method)}
		p.Reasons = []string{"opens debug until the next power cycle; nothing is erased or changed for good."}
		p.Steps = []string{"authenticate with the " + method + " for debug opening", "check that the core's port (AP1) answers"}
		p.Phrase = "open-debug " + guarded.UIDTail(uid)
		return p
	}
	p.Kind, p.Risk, p.Erases = guarded.DARegression, guarded.Caution, perm.Erases(part)
	p.Changes = []string{fmt.Sprintf("DA regression %s (%s)", perm, method)}
	want := "OPEN with TrustZone off"
	if perm == PermToTZ {
		want = "TZ_CLOSED"
	}
	p.Reasons = []string{fmt.Sprintf("the ROM erases %s; the chip comes back %s, usable: nothing is locked, but what is erased is gone unless it was saved.", p.Erases, want)}
	p.Steps = append(p.Steps, "back up the option bytes (when AP1 reads them)")
	if flashReadable {
		p.Steps = append(p.Steps, "save the user flash to the --save-flash file, when given")
	} else {
		p.Notes = append(p.Notes, "AP1 cannot read the flash now (the product state closes it): it cannot be saved before the regression")
	}
	p.Steps = append(p.Steps, "authenticate with the "+method+" for "+perm.Title(), "wait while the ROM erases and resets the chip",
		"reconnect and verify: product state, TZEN, erased flash and OBK", "append the outcome to the audit log")
	p.Phrase = fmt.Sprintf("regress %s %s", perm, guarded.UIDTail(uid))
	return p
}

// PlanProvision is the plan of provisioning a file of size bytes into
// part, on the chip uid of line: the DA record into the OBK area, or on
// the H503 the password hash into OTP, for ever.
func PlanProvision(part stm32h5.Part, line, uid string, size int) *guarded.Plan {
	p := &guarded.Plan{Line: line, UID: uid, Changes: []string{fmt.Sprintf("DA provisioning %s (%d-byte file)", part.Name, size)}}
	if part.OBK {
		p.Kind, p.Risk, p.Erases = guarded.DAProvisioning, guarded.Caution, "nothing (the DA record it replaces, if any)"
		p.Reasons = []string{"writes the DA record into the OBK area; it can be provisioned again while the chip is in PROVISIONING, and a full regression erases it. It closes nothing: closing is an option-byte plan, brick until the way back is proven."}
		p.Steps = []string{"back up the option bytes", "halt the core and run the ROM's RSSLIB_DataProvisioning", "read the DA record back and compare", "append the outcome to the audit log"}
		p.Phrase = fmt.Sprintf("provision %s %s", part.Name, guarded.UIDTail(uid))
		return p
	}
	p.Kind, p.Risk, p.Erases = guarded.OTP, guarded.Irreversible, "nothing"
	p.Reasons = []string{"programs the password hash into OTP block 0 and locks the block for ever, as ST's scripts do: no regression removes it, though the chip stays usable."}
	p.Steps = []string{"back up the option bytes", "program the hash into OTP block 0 and lock it", "read it back and compare", "append the outcome to the audit log"}
	p.Phrase = fmt.Sprintf("irreversible provision %s %s", part.Name, guarded.UIDTail(uid))
	return p
}

// CheckProvisionFile lists what makes file unfit to provision into part:
// the .obk file's checks, or, on the H503, an OTP image that is not the
// 32-byte hash.
func CheckProvisionFile(file []byte, part stm32h5.Part) []Mismatch {
	if part.OBK {
		return CheckOBK(file, part)
	}
	if len(file) != stm32h5.DAHashSize {
		return []Mismatch{{Check: CheckOTPImage, Problem: fmt.Sprintf("the %s takes a 32-byte OTP image (the password's SHA-256), not %d bytes", part.Name, len(file)), Fix: "give the OTP image make-password wrote for the H503"}}
	}
	return nil
}

// CheckProvisioning is the rule of a provisioning: the chip must be in
// PROVISIONING with its core port (AP1) answering (closed says why it does
// not, "" when it does), and file must fit part. It returns the file's
// mismatches and, when the write is refused, why (matching ErrRefused and
// ErrNotProvisioning or ErrProvision).
func CheckProvisioning(state targets.ProductState, closed string, file []byte, part stm32h5.Part) ([]Mismatch, error) {
	if closed != "" {
		return nil, Check{Cause: ErrNotProvisioning, Problem: "the core's port (AP1) does not answer, so the chip is not in PROVISIONING: " + closed,
			Next: "the ROM takes DA data only in PROVISIONING (0x17), where AP1 answers"}.Refusal()
	}
	if c := MayProvision(Facts{State: state, StateKnown: true}); !c.OK {
		return nil, c.Refusal()
	}
	ms := CheckProvisionFile(file, part)
	if len(ms) == 0 {
		return nil, nil
	}
	var ps []string
	for _, m := range ms {
		ps = append(ps, m.Problem+" (fix: "+m.Fix+")")
	}
	return ms, Refuse(ErrProvision, "the file is not fit for the %s: %s", part.Name, strings.Join(ps, "; "))
}
