package obytes

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stprobe/stprobe/guarded"
	"github.com/stprobe/stprobe/statefile"
	"github.com/stprobe/stprobe/targets"
	"github.com/stprobe/stprobe/targets/chipsim"
	"github.com/stprobe/stprobe/targets/stm32rdp"
)

// modelTarget reaches a family model's AP0 directly; failAfter, when
// positive, makes every write from that one on fail (a link that died).
type modelTarget struct {
	m         *stm32rdp.Model
	writes    int
	failAfter int
}

var errLinkDied = errors.New("link died")

func (t *modelTarget) Read32(_ context.Context, ap uint8, addr uint32) (uint32, error) {
	if t.failAfter > 0 && t.writes >= t.failAfter {
		return 0, errLinkDied
	}
	return t.m.AP(ap).Read(addr, chipsim.Word, 0)
}

func (t *modelTarget) Write32(_ context.Context, ap uint8, addr uint32, v uint32) error {
	t.writes++
	if t.failAfter > 0 && t.writes >= t.failAfter {
		return errLinkDied
	}
	return t.m.AP(ap).Write(addr, chipsim.Word, v, 0)
}

func (t *modelTarget) WriteMem(_ context.Context, ap uint8, addr uint32, width int, data []byte) error {
	for i := 0; i+width <= len(data); i += width {
		t.writes++
		if t.failAfter > 0 && t.writes >= t.failAfter {
			return errLinkDied
		}
		var v uint32
		for j := 0; j < width; j++ {
			v |= uint32(data[i+j]) << (8 * j)
		}
		if err := t.m.AP(ap).Write(addr+uint32(i), chipsim.Size(width), v, 0); err != nil {
			return err
		}
	}
	return nil
}

// familyChip is a model of the line with RDP byte rdp and a firmware.
func familyChip(t *testing.T, fam targets.Family, devID uint16, rdp uint8) *stm32rdp.Model {
	t.Helper()
	m, err := stm32rdp.New(stm32rdp.Config{Family: fam, DevID: devID, RDP: rdp, NRSTWired: true,
		UID: [3]uint32{1, 2, 3}, Image: bytes.Repeat([]byte{0xC3}, 256)})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// familyPlan plans FIELD=VALUE on the chip behind tg.
func familyPlan(t *testing.T, tg Target, devID uint16, field, value string) (*Layout, *Plan) {
	t.Helper()
	l, err := ForDevID(devID)
	if err != nil {
		t.Fatal(err)
	}
	before, err := ReadSnapshot(context.Background(), tg, l)
	if err != nil {
		t.Fatal(err)
	}
	f, ok := l.Field(field)
	if !ok {
		t.Fatalf("no field %s", field)
	}
	v, err := l.ParseValue(f, value)
	if err != nil {
		t.Fatal(err)
	}
	p, err := MakePlan(PlanInput{Layout: l, UID: fmt.Sprintf("%08X%08X%08X", 3, 2, 1), Before: before}, []Assignment{{Field: f, Value: v}})
	if err != nil {
		t.Fatal(err)
	}
	return l, p
}

var noReconnect = func(context.Context) error { return nil }

// TestApplyFamilies runs each family's sequence on its model: the change
// reads back, a level 1 → 0 regression leaves the flash erased, the run is
// audited and leaves no journal.
func TestApplyFamilies(t *testing.T) {
	tests := []struct {
		name         string
		fam          targets.Family
		devID        uint16
		rdp          uint8
		field, value string
		level        targets.RDPLevel
		erased       bool
	}{
		{"F1 RDP 1→0", targets.STM32F1(), targets.DevIDF1MD, 0x00, "RDP", "0xAA", targets.RDPLevel0, true},
		{"F1 Data0", targets.STM32F1(), targets.DevIDF1MD, targets.F1RDPKey, "Data0", "0x5A", targets.RDPLevel0, false},
		{"F1 RDP 0→1", targets.STM32F1(), targets.DevIDF1MD, targets.F1RDPKey, "RDP", "LEVEL1", targets.RDPLevel1, false},
		{"F4 RDP 1→0", targets.STM32F4(), targets.DevIDF411, targets.RDPByteLevel1, "RDP", "0xAA", targets.RDPLevel0, true},
		{"F4 nWRP", targets.STM32F4(), targets.DevIDF411, targets.RDPByteLevel0, "nWRP", "0xFFE", targets.RDPLevel0, false},
		{"G0 RDP 1→0", targets.STM32G0(), targets.DevIDG07x, targets.RDPByteLevel1, "RDP", "0xAA", targets.RDPLevel0, true},
		{"G4 nBOOT0", targets.STM32G4(), targets.DevIDG47x, targets.RDPByteLevel0, "nBOOT0", "0", targets.RDPLevel0, false},
		{"L4 RDP 1→0", targets.STM32L4(), targets.DevIDL47x, targets.RDPByteLevel1, "RDP", "0xAA", targets.RDPLevel0, true},
		{"L4 IWDG_STOP", targets.STM32L4(), targets.DevIDL47x, targets.RDPByteLevel0, "IWDG_STOP", "0", targets.RDPLevel0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := familyChip(t, tt.fam, tt.devID, tt.rdp)
			tg := &modelTarget{m: m}
			_, p := familyPlan(t, tg, tt.devID, tt.field, tt.value)
			dir := t.TempDir()
			res, err := Apply(context.Background(), tg, p, ApplyOptions{Confirm: p.Phrase, StateDir: dir, User: "t", Reconnect: noReconnect,
				Now: func() time.Time { return time.Unix(1e9, 0) }})
			if err != nil {
				t.Fatal(err)
			}
			if !res.Verified || !res.Audited || res.Outcome != statefile.OutcomeApplied || res.Journal != "" {
				t.Errorf("result %+v", res)
			}
			if m.Level() != tt.level {
				t.Errorf("level %v, want %v", m.Level(), tt.level)
			}
			erased := bytes.Equal(m.Flash(0, 256), bytes.Repeat([]byte{0xFF}, 256))
			if erased != tt.erased {
				t.Errorf("flash erased %v, want %v", erased, tt.erased)
			}
			if tt.erased && !strings.Contains(strings.Join(res.Notes, "\n"), "mass-erased") {
				t.Errorf("notes %q do not say the flash was mass-erased", res.Notes)
			}
			if j, err := statefile.CheckChipJournal(dir, p.UID); j != nil || err != nil {
				t.Errorf("journal left: %v %v", j, err)
			}
		})
	}
}

// TestApplyFamiliesInterrupted: a link that dies is a WriteError that says
// whether the start bit was written; after it, the journal stays and says
// so; a write that never started erased nothing; every run is audited.
func TestApplyFamiliesInterrupted(t *testing.T) {
	tests := []struct {
		name      string
		fam       targets.Family
		devID     uint16
		rdp       uint8 // the RDP byte at level 1 the chip starts at
		failAfter int   // the write that fails
		started   bool
		says      string
	}{
		{"F1 during unlock", targets.STM32F1(), targets.DevIDF1MD, 0x00, 2, false, "nothing was written"},
		{"F1 during option program", targets.STM32F1(), targets.DevIDF1MD, 0x00, 9, true, "the programming had started"},
		{"L4 writing OPTR", targets.STM32L4(), targets.DevIDL47x, 0x00, 5, false, "a system reset does NOT reload the option registers: power-cycle"},
		{"L4 at OPTSTRT", targets.STM32L4(), targets.DevIDL47x, 0x00, 6, true, "the programming had started"},
		{"F4 during unlock", targets.STM32F4(), targets.DevIDF411, 0x00, 2, false, "nothing was written"},
		{"U5 during unlock", targets.STM32U5(), targets.DevIDU57x, targets.RDPByteLevel1, 2, false, "nothing was written"},
		{"U5 writing OPTR", targets.STM32U5(), targets.DevIDU57x, targets.RDPByteLevel1, 5, false, "a system reset does NOT reload the option registers"},
		{"U5 at OPTSTRT", targets.STM32U5(), targets.DevIDU57x, targets.RDPByteLevel1, 6, true, "the programming had started"},
		{"H7 writing OPTSR_PRG", targets.STM32H7(), targets.DevIDH74x, targets.RDPByteLevel1, 3, false, "until a reset reloads them"},
		{"H7 at OPTSTART", targets.STM32H7(), targets.DevIDH74x, targets.RDPByteLevel1, 4, true, "the programming had started"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := familyChip(t, tt.fam, tt.devID, tt.rdp)
			tg := &modelTarget{m: m}
			_, p := familyPlan(t, tg, tt.devID, "RDP", "0xAA")
			tg.writes, tg.failAfter = 0, tt.failAfter
			dir := t.TempDir()
			res, err := Apply(context.Background(), tg, p, ApplyOptions{Confirm: p.Phrase, StateDir: dir, User: "t", Reconnect: noReconnect})
			var we *WriteError
			if !errors.As(err, &we) || !errors.Is(err, errLinkDied) {
				t.Fatalf("err %v, want a WriteError wrapping the dead link", err)
			}
			if we.Started != tt.started {
				t.Errorf("started %v, want %v (step %s)", we.Started, tt.started, we.Step)
			}
			if !strings.Contains(err.Error(), tt.says) {
				t.Errorf("error %q does not say %q", err, tt.says)
			}
			j, jerr := statefile.CheckChipJournal(dir, p.UID)
			if tt.started && (j == nil || jerr != nil) {
				t.Errorf("no journal after a started write: %v", jerr)
			}
			if !tt.started && m.MassErases() != 0 {
				t.Error("the flash was erased by a write that never started")
			}
			if !res.Audited {
				t.Error("no audit line")
			}
			audit, _ := os.ReadFile(filepath.Join(dir, "audit.jsonl"))
			if !strings.Contains(string(audit), `"result":"failed"`) {
				t.Errorf("audit %s", audit)
			}
		})
	}
}

// RDP level 2 with the override: after OBL_LAUNCH the debug port stays
// silent, which is what the plan intended; the run is audited as applied.
func TestApplyFamilyLevel2(t *testing.T) {
	m := familyChip(t, targets.STM32L4(), targets.DevIDL47x, targets.RDPByteLevel0)
	tg := &modelTarget{m: m}
	_, p := familyPlan(t, tg, targets.DevIDL47x, "RDP", "0xCC")
	if !p.NeedsOverride || p.Risk != guarded.Brick {
		t.Fatalf("plan %v, override %v", p.Risk, p.NeedsOverride)
	}
	dir := t.TempDir()
	if _, err := Apply(context.Background(), tg, p, ApplyOptions{Confirm: p.Phrase, StateDir: dir, Reconnect: noReconnect}); !errors.Is(err, ErrNeedsOverride) {
		t.Fatalf("without the override: %v", err)
	}
	silent := func(context.Context) error {
		if !m.SWDResponds() {
			return errors.New("no answer from the debug port")
		}
		return nil
	}
	res, err := Apply(context.Background(), tg, p, ApplyOptions{Confirm: p.Phrase, OverrideBrick: true, StateDir: dir, Reconnect: silent})
	if err != nil {
		t.Fatal(err)
	}
	if !res.DebugClosed || m.Level() != targets.RDPLevel2 || res.Outcome != statefile.OutcomeApplied || !res.Audited {
		t.Errorf("result %+v, level %v", res, m.Level())
	}
}
