package obytes

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/stprobe/stprobe/targets"
)

// FlashBase is the non-secure FLASH register block of every STM32H5 line
// (targets.H5FlashRegs); option bytes are programmed through it.
const FlashBase = targets.H5FlashRegs

// CoreAP is the access port that reaches the FLASH registers
// (targets.H5CoreAP: AP1, the Cortex-M33 system bus).
const CoreAP = targets.H5CoreAP

// Target reads and writes 32-bit words through an access port.
// *probe.Link satisfies it.
type Target interface {
	Read32(ctx context.Context, ap uint8, addr uint32) (uint32, error)
	Write32(ctx context.Context, ap uint8, addr uint32, v uint32) error
}

// Snapshot is every option-byte register of one chip at one moment, by
// register name.
type Snapshot struct {
	DevID    uint16            `json:"dev_id"`
	LineName string            `json:"line"`
	Cur      map[string]uint32 `json:"cur"`
	Prg      map[string]uint32 `json:"prg"`
	// Unlocked is set when FLASH_OPTCR.OPTLOCK read 0: the option
	// registers were left unlocked (a write interrupted by a kill or a
	// stall, another tool), so any OPTSTRT would apply whatever _PRG holds.
	// Lock (stprobe ob lock) or the next write locks them again.
	Unlocked bool `json:"unlocked,omitempty"`
}

// ReadSnapshot reads the _CUR and _PRG value of every register of the layout
// through AP1.
func ReadSnapshot(ctx context.Context, t Target, l *Layout) (*Snapshot, error) {
	s := &Snapshot{DevID: l.DevID, LineName: l.LineName, Cur: map[string]uint32{}, Prg: map[string]uint32{}}
	for _, r := range l.Registers {
		v, err := t.Read32(ctx, l.AP, r.CurAddr())
		if err != nil {
			if l.RDP != nil {
				return nil, fmt.Errorf("target: reading FLASH_%s at 0x%08X through AP%d: %w", r.Name, r.CurAddr(), l.AP, err)
			}
			return nil, fmt.Errorf("target: reading FLASH_%s_CUR at 0x%08X through AP%d: %w", r.Name, r.CurAddr(), l.AP, err)
		}
		s.Cur[r.Name] = v
		if r.Direct || l.RDP != nil {
			s.Prg[r.Name] = v // no _PRG copy: nothing can be staged
			continue
		}
		p, err := t.Read32(ctx, l.AP, r.PrgAddr())
		if err != nil {
			return nil, fmt.Errorf("target: reading FLASH_%s_PRG at 0x%08X through AP%d: %w", r.Name, r.PrgAddr(), l.AP, err)
		}
		s.Prg[r.Name] = p
	}
	if l.RDP != nil {
		return s, nil // the lock bits of these families are not read here
	}
	optcr, err := t.Read32(ctx, CoreAP, FlashBase+targets.FlashOPTCR)
	if err != nil {
		return nil, fmt.Errorf("target: reading FLASH_OPTCR at 0x%08X through AP%d: %w", FlashBase+targets.FlashOPTCR, CoreAP, err)
	}
	s.Unlocked = optcr&targets.OPTCROptLock == 0
	return s, nil
}

// Staged lists the registers whose _PRG differs from _CUR, in table order.
func (s *Snapshot) Staged(l *Layout) []string {
	var out []string
	for _, r := range l.Registers {
		if cur, ok := s.Cur[r.Name]; ok && !r.Direct && s.Prg[r.Name] != cur {
			out = append(out, r.Name)
		}
	}
	return out
}

// FieldValue is one decoded field.
type FieldValue struct {
	Field    string `json:"field"`
	Register string `json:"register"`
	Bits     string `json:"bits"`
	Raw      uint32 `json:"raw"`
	// Name is the value's name for enum fields ("" for numbers and masks).
	Name string `json:"name,omitempty"`
	// Meaning says in one line what the value does.
	Meaning string `json:"meaning"`
	// Valid is false when an enum field holds an encoding it does not define.
	Valid bool `json:"valid"`
}

// Text renders the raw value as the CLI prints and parses it.
func (v FieldValue) Text() string {
	if v.Name != "" {
		return fmt.Sprintf("%s (0x%X)", v.Name, v.Raw)
	}
	return fmt.Sprintf("0x%X", v.Raw)
}

// DecodeField decodes one field from its register value.
func (l *Layout) DecodeField(f *Field, reg uint32) FieldValue {
	raw := f.Get(reg)
	out := FieldValue{Field: f.Name, Register: f.Register, Bits: f.Bits(), Raw: raw, Valid: true}
	switch f.Kind {
	case KindEnum:
		if v, ok := l.lookupRaw(f, raw); ok {
			out.Name, out.Meaning = v.Name, v.Meaning
			return out
		}
		out.Valid = false
		out.Name = "INVALID"
		out.Meaning = fmt.Sprintf("0x%X is not a valid %s encoding (valid: %s)", raw, f.Name, strings.Join(l.ValidValues(f), ", "))
	default:
		if f.Describe != nil {
			out.Meaning = f.Describe(raw, reg)
		} else {
			out.Meaning = f.Meaning
		}
	}
	return out
}

// lookupRaw finds a named value of an enum field valid on this line.
func (l *Layout) lookupRaw(f *Field, raw uint32) (Value, bool) {
	for _, v := range f.Values {
		if v.Raw == raw && (v.Lines == nil || v.Lines.Has(l.DevID)) {
			return v, true
		}
	}
	return Value{}, false
}

// Decode decodes every field of one register value.
func (l *Layout) Decode(register string, reg uint32) []FieldValue {
	var out []FieldValue
	for _, f := range l.FieldsOf(register) {
		out = append(out, l.DecodeField(f, reg))
	}
	return out
}

// DecodeAll decodes every field of a set of register values (by register
// name), in register-table order; registers missing from regs are skipped.
func (l *Layout) DecodeAll(regs map[string]uint32) []FieldValue {
	var out []FieldValue
	for _, r := range l.Registers {
		v, ok := regs[r.Name]
		if !ok {
			continue
		}
		out = append(out, l.Decode(r.Name, v)...)
	}
	return out
}

// ErrInvalidValue is wrapped by the errors of ParseValue and ParseAssignment
// for a value the field does not take.
var ErrInvalidValue = errors.New("invalid option-byte value")

// ErrUnknownField is wrapped when a field name is not in the line's table.
var ErrUnknownField = errors.New("unknown option-byte field")

// ParseValue reads a value for f: a number or, for enum fields, a value
// name (case-insensitive). A number is hexadecimal with a 0x or 0X prefix
// (0x1F) or plain decimal (31); nothing else: no octal (017 is refused, not
// read as 15), no 0b, no underscores, no sign. It refuses values that do not
// fit or are not defined on this line, listing the valid ones.
func (l *Layout) ParseValue(f *Field, s string) (uint32, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, fmt.Errorf("%w: %s needs a value (valid: %s)", ErrInvalidValue, f.Name, strings.Join(l.ValidValues(f), ", "))
	}
	if f.Kind == KindEnum {
		for _, v := range f.Values {
			if strings.EqualFold(v.Name, s) {
				return l.checkEnum(f, v.Raw)
			}
		}
	}
	for name, raw := range f.Aliases {
		if strings.EqualFold(name, s) {
			return raw, nil
		}
	}
	n, err := parseNumber(s)
	if errors.Is(err, strconv.ErrRange) || err == nil && n > uint64(f.Max()) {
		return 0, fmt.Errorf("%w: %s=%s is too wide for the field: it does not fit in %d bits (at most 0x%X; valid: %s)", ErrInvalidValue, f.Name, s, f.Width, f.Max(), strings.Join(l.ValidValues(f), ", "))
	}
	if err != nil {
		return 0, fmt.Errorf("%w: %s=%s: %v (valid: %s)", ErrInvalidValue, f.Name, s, err, strings.Join(l.ValidValues(f), ", "))
	}
	raw := uint32(n)
	if f.Kind == KindEnum {
		return l.checkEnum(f, raw)
	}
	return raw, nil
}

// parseNumber reads 0x-prefixed hexadecimal or plain decimal; a number too
// large for 64 bits wraps strconv.ErrRange.
func parseNumber(s string) (uint64, error) {
	const syntax = "neither a value name nor a number (numbers are 0x-prefixed hexadecimal, e.g. 0x1F, or plain decimal, e.g. 31)"
	digits, base := s, 10
	if len(s) > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X') {
		digits, base = s[2:], 16
	}
	for _, c := range digits {
		ok := c >= '0' && c <= '9' || base == 16 && (c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F')
		if !ok {
			return 0, errors.New(syntax)
		}
	}
	if base == 10 && len(digits) > 1 && digits[0] == '0' {
		return 0, fmt.Errorf("a leading 0 is ambiguous (octal is not read): write %s in decimal without the 0, or with 0x for hexadecimal", strings.TrimLeft(digits, "0"))
	}
	n, err := strconv.ParseUint(digits, base, 64)
	if err != nil {
		if errors.Is(err, strconv.ErrRange) {
			return 0, strconv.ErrRange
		}
		return 0, errors.New(syntax)
	}
	return n, nil
}

// checkEnum accepts raw if it is one of f's values on this line and a plan
// may write it.
func (l *Layout) checkEnum(f *Field, raw uint32) (uint32, error) {
	if v, ok := l.lookupRaw(f, raw); ok {
		if v.Refused != "" {
			return 0, fmt.Errorf("%w: %s=%s (0x%X) is refused: %s (valid: %s)", ErrInvalidValue, f.Name, v.Name, raw, v.Refused, strings.Join(l.ValidValues(f), ", "))
		}
		return raw, nil
	}
	for _, v := range f.Values {
		if v.Raw == raw {
			return 0, fmt.Errorf("%w: %s=%s (0x%X) does not exist on %s (valid: %s)", ErrInvalidValue, f.Name, v.Name, raw, l.LineName, strings.Join(l.ValidValues(f), ", "))
		}
	}
	return 0, fmt.Errorf("%w: %s=0x%X is not a valid encoding (valid: %s)", ErrInvalidValue, f.Name, raw, strings.Join(l.ValidValues(f), ", "))
}

// Assignment is one requested FIELD=VALUE change.
type Assignment struct {
	Field *Field
	Value uint32
}

// String renders the assignment as STM32CubeProgrammer's -ob takes it.
func (a Assignment) String() string { return fmt.Sprintf("%s=0x%X", a.Field.Name, a.Value) }

// ParseAssignment parses "FIELD=VALUE" against the line's table.
func (l *Layout) ParseAssignment(s string) (Assignment, error) {
	name, val, ok := strings.Cut(s, "=")
	name = strings.TrimSpace(name)
	if !ok || name == "" {
		return Assignment{}, fmt.Errorf("%w: %q is not FIELD=VALUE", ErrInvalidValue, s)
	}
	f, found := l.Field(name)
	if !found {
		return Assignment{}, fmt.Errorf("%w: %s has no field %q (fields: %s)", ErrUnknownField, l.LineName, name, strings.Join(l.FieldNames(), ", "))
	}
	v, err := l.ParseValue(f, val)
	if err != nil {
		return Assignment{}, err
	}
	return Assignment{Field: f, Value: v}, nil
}

// ParseAssignments parses several FIELD=VALUE arguments; a field given twice
// is refused.
func (l *Layout) ParseAssignments(args []string) ([]Assignment, error) {
	var out []Assignment
	seen := map[string]bool{}
	for _, a := range args {
		as, err := l.ParseAssignment(a)
		if err != nil {
			return nil, err
		}
		if seen[as.Field.Name] {
			return nil, fmt.Errorf("%w: %s given twice", ErrInvalidValue, as.Field.Name)
		}
		seen[as.Field.Name] = true
		out = append(out, as)
	}
	return out, nil
}

// Encode applies assignments to a copy of regs (by register name) and
// returns the new register values.
func (l *Layout) Encode(regs map[string]uint32, as []Assignment) map[string]uint32 {
	out := make(map[string]uint32, len(regs))
	for k, v := range regs {
		out[k] = v
	}
	for _, a := range as {
		out[a.Field.Register] = a.Field.Set(out[a.Field.Register], a.Value)
	}
	return out
}

// FieldDiff is one field whose value differs between two register sets.
type FieldDiff struct {
	Field    string     `json:"field"`
	Register string     `json:"register"`
	From     FieldValue `json:"from"`
	To       FieldValue `json:"to"`
}

// Diff lists the fields that differ between two register sets, in table
// order. Registers missing from either set are skipped.
func (l *Layout) Diff(before, after map[string]uint32) []FieldDiff {
	var out []FieldDiff
	for _, r := range l.Registers {
		b, ok1 := before[r.Name]
		a, ok2 := after[r.Name]
		if !ok1 || !ok2 || a == b {
			continue
		}
		for _, f := range l.FieldsOf(r.Name) {
			if f.Get(a) == f.Get(b) {
				continue
			}
			out = append(out, FieldDiff{Field: f.Name, Register: r.Name, From: l.DecodeField(f, b), To: l.DecodeField(f, a)})
		}
	}
	return out
}

// AssignmentsTo lists the assignments that turn the register values cur
// into want (by register name), field by field in table order: the way to
// plan a return to a backup. Registers missing from either set are skipped;
// bits outside every field are not compared.
func (l *Layout) AssignmentsTo(cur, want map[string]uint32) []Assignment {
	var out []Assignment
	for _, d := range l.Diff(cur, want) {
		f, _ := l.Field(d.Field)
		out = append(out, Assignment{Field: f, Value: d.To.Raw})
	}
	return out
}
