package obytes

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stprobe/stprobe/guarded"
	"github.com/stprobe/stprobe/statefile"
	"github.com/stprobe/stprobe/targets"
	"github.com/stprobe/stprobe/targets/stm32h5"
)

var fixedNow = func() time.Time { return time.Date(2026, 11, 24, 3, 0, 0, 0, time.UTC) }

func opts(t *testing.T, c *chipTarget, p *Plan) ApplyOptions {
	return ApplyOptions{
		Confirm: p.Phrase, StateDir: t.TempDir(), User: "tester", ProbeSerial: "SIMSERIAL",
		Reconnect: c.reconnect, Now: fixedNow,
	}
}

// seedBoard is the forum board after step 4: H533 in PROVISIONING, TZ on,
// no DA.
func seedBoard(t *testing.T) *chipTarget {
	return newChip(t, stm32h5.Config{Line: stm32h5.LineH533, ProductState: targets.StateProvisioning, TZEN: targets.TZENEnabled, NRSTWired: true})
}

func TestSeedStoryBackwardRefused(t *testing.T) {
	c := seedBoard(t)
	in := c.setup(t)
	if got := in.Before.Cur["OPTSR"] >> 8 & 0xFF; got != 0x17 {
		t.Fatalf("product state read 0x%02X, want 0x17", got)
	}
	_, err := plan(t, in, "PRODUCT_STATE=0xED")
	var re *RefusedError
	if !errors.As(err, &re) {
		t.Fatalf("plan 0x17→0xED: got %v, want *RefusedError", err)
	}
	msg := err.Error()
	for _, want := range []string{"only moves forward", "OPTCHANGEERR", "provision the password DA data with TZEN=0xC3", "full regression"} {
		if !strings.Contains(msg, want) {
			t.Errorf("refusal %q lacks %q", msg, want)
		}
	}
	if c.flashWrites != 0 {
		t.Errorf("%d FLASH register writes, want none", c.flashWrites)
	}
	if c.chip.ProductState() != targets.StateProvisioning {
		t.Errorf("state %v", c.chip.ProductState())
	}
}

func TestSeedStoryBrickNeedsOverride(t *testing.T) {
	c := seedBoard(t)
	in := c.setup(t)
	if in.DA.Provisioned || !in.DA.Checked {
		t.Fatalf("DA status %v, want checked and not provisioned", in.DA)
	}
	p, err := plan(t, in, "PRODUCT_STATE=0xC6")
	if err != nil {
		t.Fatal(err)
	}
	if p.Risk != guarded.Brick || !p.NeedsOverride {
		t.Fatalf("risk %v override %v, want brick", p.Risk, p.NeedsOverride)
	}
	if !strings.Contains(p.Phrase, in.UID[len(in.UID)-8:]) {
		t.Errorf("phrase %q lacks the UID part", p.Phrase)
	}
	o := opts(t, c, p)

	// Without the override: refused, nothing written, audited.
	if _, err := Apply(context.Background(), c, p, o); !errors.Is(err, ErrNeedsOverride) {
		t.Fatalf("apply without override: %v", err)
	}
	// Wrong phrase, with override: refused.
	o2 := o
	o2.OverrideBrick, o2.Confirm = true, "yes"
	if _, err := Apply(context.Background(), c, p, o2); !errors.Is(err, ErrNotConfirmed) {
		t.Fatalf("apply with a wrong phrase: %v", err)
	}
	if c.flashWrites != 0 {
		t.Fatalf("%d FLASH writes before confirmation", c.flashWrites)
	}

	// With both: the chip goes to TZ_CLOSED and only AP0 answers.
	o.OverrideBrick = true
	res, err := Apply(context.Background(), c, p, o)
	if err != nil {
		t.Fatalf("apply: %v", err)
	}
	if got := c.chip.ProductState(); got != targets.StateTZClosed {
		t.Fatalf("state %v, want TZ_CLOSED", got)
	}
	if c.chip.AP1Enabled() || !res.DebugClosed {
		t.Errorf("AP1 enabled %v, DebugClosed %v", c.chip.AP1Enabled(), res.DebugClosed)
	}
	if _, err := c.Read32(context.Background(), 1, FlashBase+0x50); err == nil {
		t.Error("AP1 still answers")
	}
	if _, err := c.Read32(context.Background(), 0, targets.H5DBGMCUAP0); err != nil {
		t.Errorf("AP0: %v", err)
	}
	checkFiles(t, o.StateDir, 3, "ok")
}

// checkFiles asserts one backup, n audit lines, the last with result, and
// no journal.
func checkFiles(t *testing.T, dir string, n int, result string) {
	t.Helper()
	backups, _ := filepath.Glob(filepath.Join(dir, "backups", "*.json"))
	if len(backups) != 1 {
		t.Errorf("%d backups, want 1", len(backups))
	} else if b, err := ReadBackup(backups[0]); err != nil || len(b.Snapshot.Cur) == 0 {
		t.Errorf("backup: %v", err)
	}
	recs, err := statefile.ReadAudit(dir)
	if err != nil || len(recs) != n {
		t.Fatalf("audit: %d records (%v), want %d", len(recs), err, n)
	}
	last := recs[n-1]
	if last.Result != result || last.User != "tester" || last.ProbeSerial != "SIMSERIAL" || last.ChipUID == "" || len(last.Before) == 0 {
		t.Errorf("last audit record %+v", last)
	}
	if j, err := statefile.CheckJournal(dir); j != nil || err != nil {
		t.Errorf("journal left: %v %v", j, err)
	}
}

func TestProvisionedDAIrreversible(t *testing.T) {
	c := newChip(t, stm32h5.Config{Line: stm32h5.LineH533, ProductState: targets.StateProvisioning, TZEN: targets.TZENDisabled, DA: stm32h5.DAPassword, NRSTWired: true})
	in := c.setup(t)
	if !in.DA.Provisioned || in.DA.Method != targets.DAPassword {
		t.Fatalf("DA %v", in.DA)
	}
	in.WayBack = proven
	// TZ_CLOSED with TrustZone off keeps the password method usable.
	p, err := plan(t, in, "PRODUCT_STATE=0xC6")
	if err != nil || p.Risk != guarded.Irreversible || p.NeedsOverride || p.Phrase != "irreversible PRODUCT_STATE=0xC6" {
		t.Fatalf("0xC6 with TZEN=0xC3 and password DA: %v %v, want irreversible", p, err)
	}
	// Turning TrustZone on as well would leave a password record the ROM cannot use.
	p, err = plan(t, in, "PRODUCT_STATE=0xC6", "TZEN=0xB4")
	if err != nil || p.Risk != guarded.Brick {
		t.Fatalf("0xC6 + TZEN=0xB4 with password DA: %v %v, want brick", p, err)
	}
	p, err = plan(t, in, "PRODUCT_STATE=CLOSED")
	if err != nil {
		t.Fatal(err)
	}
	if p.Risk != guarded.Irreversible || p.NeedsOverride || p.Phrase != "irreversible PRODUCT_STATE=0x72" {
		t.Fatalf("plan %v %v %q", p.Risk, p.NeedsOverride, p.Phrase)
	}
	if !strings.Contains(strings.Join(p.Notes, " "), "sample password") {
		t.Errorf("notes %q lack the sample-password warning", p.Notes)
	}
	o := opts(t, c, p)
	res, err := Apply(context.Background(), c, p, o)
	if err != nil {
		t.Fatal(err)
	}
	if c.chip.ProductState() != targets.StateClosed || !res.DebugClosed {
		t.Fatalf("state %v closed %v", c.chip.ProductState(), res.DebugClosed)
	}
	checkFiles(t, o.StateDir, 1, "ok")
}

func TestApplySafeVerified(t *testing.T) {
	c := newChip(t, stm32h5.Config{Line: stm32h5.LineH563})
	in := c.setup(t)
	p, err := plan(t, in, "IWDG_STOP=0", "WRPSGn1=0xFFFFFFFE", "NSPRIV=1", "BOR_LEV=LEVEL2")
	if err != nil {
		t.Fatal(err)
	}
	if p.Risk != guarded.Safe || p.Phrase != "apply" {
		t.Fatalf("risk %v phrase %q", p.Risk, p.Phrase)
	}
	// A plan survives JSON (a UI may keep it between plan and apply).
	data, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	p = &Plan{}
	if err := json.Unmarshal(data, p); err != nil {
		t.Fatal(err)
	}
	var events []Event
	o := opts(t, c, p)
	o.Events = func(e Event) { events = append(events, e) }
	res, err := Apply(context.Background(), c, p, o)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Verified {
		t.Error("not verified")
	}
	cur, _, _ := c.chip.OptionRegister("WRP1R")
	if cur != 0xFFFFFFFE {
		t.Errorf("WRP1R_CUR 0x%08X", cur)
	}
	optsr, _, _ := c.chip.OptionRegister("OPTSR")
	if optsr&(1<<20) != 0 || optsr&3 != 1 {
		t.Errorf("OPTSR_CUR 0x%08X", optsr)
	}
	if n := c.chip.Status().Resets; n != 0 {
		t.Errorf("%d resets for a safe change", n)
	}
	if len(events) == 0 || events[len(events)-1].Step != "done" {
		t.Errorf("events %v", events)
	}
	checkFiles(t, o.StateDir, 1, "ok")
}

func TestApplyTZENCautionReconnects(t *testing.T) {
	c := newChip(t, stm32h5.Config{Line: stm32h5.LineH533})
	in := c.setup(t)
	p, err := plan(t, in, "TZEN=ENABLED")
	if err != nil {
		t.Fatal(err)
	}
	if p.Risk != guarded.Caution || !p.Phases[0].Resets {
		t.Fatalf("risk %v phases %+v", p.Risk, p.Phases)
	}
	res, err := Apply(context.Background(), c, p, opts(t, c, p))
	if err != nil {
		t.Fatal(err)
	}
	if c.chip.TZEN() != targets.TZENEnabled || !res.Verified {
		t.Errorf("TZEN %v verified %v", c.chip.TZEN(), res.Verified)
	}
}

func TestOptChangeErrReported(t *testing.T) {
	c := newChip(t, stm32h5.Config{Line: stm32h5.LineH533})
	in := c.setup(t)
	p, err := plan(t, in, "SWAP_BANK=1")
	if err != nil {
		t.Fatal(err)
	}
	// Firmware (or a second tool) writes a backward product state into
	// OPTSR_PRG just before OPTSTRT: the chip refuses the whole change.
	before, _, _ := c.chip.OptionRegister("OPTSR")
	c.tamperAtStart = func(m *stm32h5.Model, ct *chipTarget) {
		_ = m.AP(1).Write(FlashBase+0x54, 4, before&^0xFF00, 0) // product state 0x00: no state
	}
	o := opts(t, c, p)
	_, err = Apply(context.Background(), c, p, o)
	var we *WriteError
	if !errors.As(err, &we) || !errors.Is(err, ErrOptionChangeRefused) {
		t.Fatalf("got %v, want a WriteError with ErrOptionChangeRefused", err)
	}
	if we.Seen["NSSR"]&targets.NSSROptChangeErr == 0 || we.Seen["OPTSR_CUR"] != before {
		t.Errorf("seen %v", we.Seen)
	}
	if after, _, _ := c.chip.OptionRegister("OPTSR"); after != before {
		t.Errorf("OPTSR_CUR changed 0x%08X → 0x%08X", before, after)
	}
	if c.chip.Status().NSSR&targets.NSSROptChangeErr != 0 {
		t.Error("OPTCHANGEERR left set")
	}
	j, err := statefile.CheckJournal(o.StateDir)
	if err != nil || j == nil || !strings.Contains(j.Failure, "OPTCHANGEERR") {
		t.Fatalf("journal %+v %v", j, err)
	}
	recs, _ := statefile.ReadAudit(o.StateDir)
	if len(recs) != 1 || recs[0].Result != "failed" || !strings.Contains(recs[0].Error, "OPTCHANGEERR") {
		t.Errorf("audit %+v", recs)
	}
	backups, _ := filepath.Glob(filepath.Join(o.StateDir, "backups", "*.json"))
	if len(backups) != 1 {
		t.Errorf("backups %v", backups)
	}
	// The next apply says so and refuses until the journal is cleared.
	_, err = Apply(context.Background(), c, p, o)
	if !errors.Is(err, ErrPendingWrite) || !strings.Contains(err.Error(), "failed") {
		t.Errorf("second apply: %v", err)
	}
	if err := statefile.ClearJournal(o.StateDir); err != nil {
		t.Fatal(err)
	}
	c.tamperAtStart = nil
	if _, err := Apply(context.Background(), c, p, o); err != nil {
		t.Errorf("apply after clearing: %v", err)
	}
}

func TestUnplugMidSequence(t *testing.T) {
	c := newChip(t, stm32h5.Config{Line: stm32h5.LineH503})
	in := c.setup(t)
	p, err := plan(t, in, "SRAM2_RST=0")
	if err != nil {
		t.Fatal(err)
	}
	c.failAfterStart = true
	o := opts(t, c, p)
	_, err = Apply(context.Background(), c, p, o)
	var we *WriteError
	if !errors.As(err, &we) || !we.Started {
		t.Fatalf("got %v, want a started WriteError", err)
	}
	j, err := statefile.CheckJournal(o.StateDir)
	if err != nil || j == nil {
		t.Fatalf("no journal after an interrupted write: %v", err)
	}
	if j.Want["OPTSR2"] == 0 || j.Backup == "" || !strings.Contains(j.String(), "SRAM2_RST=0x0") {
		t.Errorf("journal %+v", j)
	}
	if _, err := os.Stat(j.Backup); err != nil {
		t.Errorf("backup named by the journal: %v", err)
	}
}

func TestCancelBeforeStartLeavesChip(t *testing.T) {
	c := newChip(t, stm32h5.Config{Line: stm32h5.LineH533})
	in := c.setup(t)
	p, err := plan(t, in, "WRPSGn2=0x0F")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	o := opts(t, c, p)
	o.Events = func(e Event) {
		if e.Step == "program" {
			cancel()
		}
	}
	_, err = Apply(ctx, c, p, o)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v", err)
	}
	cur, prg, _ := c.chip.OptionRegister("WRP2R")
	if cur != 0xFF || prg != 0xFF || c.started {
		t.Errorf("WRP2R cur 0x%X prg 0x%X started %v", cur, prg, c.started)
	}
	if j, _ := statefile.CheckJournal(o.StateDir); j != nil {
		t.Errorf("journal after a clean cancel: %v", j)
	}
}

func TestStalePlanRefused(t *testing.T) {
	c := newChip(t, stm32h5.Config{Line: stm32h5.LineH533})
	in := c.setup(t)
	p, err := plan(t, in, "IWDG_SW=0")
	if err != nil {
		t.Fatal(err)
	}
	p2, _ := plan(t, in, "BOR_LEV=2")
	if _, err := Apply(context.Background(), c, p2, opts(t, c, p2)); err != nil {
		t.Fatal(err)
	}
	writes := c.flashWrites
	if _, err := Apply(context.Background(), c, p, opts(t, c, p)); !errors.Is(err, ErrStalePlan) {
		t.Fatalf("got %v, want ErrStalePlan", err)
	}
	if c.flashWrites != writes {
		t.Error("stale plan wrote")
	}
}

func TestH503OTPLockAndDA(t *testing.T) {
	c := newChip(t, stm32h5.Config{Line: stm32h5.LineH503, ProductState: targets.StateProvisioning, DA: stm32h5.DAPassword, NRSTWired: true})
	in := c.setup(t)
	if !in.DA.Provisioned || in.DA.Method != targets.DAPassword {
		t.Fatalf("DA %v", in.DA)
	}
	if _, err := in.Layout.ParseAssignment("PRODUCT_STATE=0xC6"); !errors.Is(err, ErrInvalidValue) || !strings.Contains(err.Error(), "does not exist on STM32H503") {
		t.Errorf("0xC6 on H503: %v", err)
	}
	_, err := plan(t, in, "LOCKBL=0x0")
	if err == nil || !strings.Contains(err.Error(), "permanent") {
		t.Errorf("clearing LOCKBL: %v", err)
	}
	p, err := plan(t, in, "LOCKBL=0x3")
	if err != nil || p.Risk != guarded.Irreversible {
		t.Fatalf("LOCKBL 0x1→0x3: %v %v", p, err)
	}
	res, err := Apply(context.Background(), c, p, opts(t, c, p))
	if err != nil || !res.Verified {
		t.Fatalf("apply %v %v", res, err)
	}
	in = c.setup(t)
	in.WayBack = proven
	p, err = plan(t, in, "PRODUCT_STATE=0x72")
	if err != nil || p.Risk != guarded.Irreversible {
		t.Fatalf("H503 PROVISIONING→CLOSED with the OTP hash: %v %v", p, err)
	}
	res, err = Apply(context.Background(), c, p, opts(t, c, p))
	if err != nil || !res.DebugClosed || c.chip.ProductState() != targets.StateClosed {
		t.Fatalf("apply %+v %v", res, err)
	}
}

func TestPlanForAnotherChipRefused(t *testing.T) {
	c := newChip(t, stm32h5.Config{Line: stm32h5.LineH533})
	in := c.setup(t)
	in.UID = "000000000000000000000001"
	p, err := plan(t, in, "IWDG_SW=0")
	if err != nil {
		t.Fatal(err)
	}
	_, err = Apply(context.Background(), c, p, opts(t, c, p))
	if !errors.Is(err, ErrStalePlan) || !strings.Contains(err.Error(), "made for chip 000000000000000000000001") || c.flashWrites != 0 {
		t.Errorf("got %v, %d writes", err, c.flashWrites)
	}
}

func TestEditedPlanRefused(t *testing.T) {
	c := seedBoard(t)
	in := c.setup(t)
	p, err := plan(t, in, "PRODUCT_STATE=0xC6")
	if err != nil {
		t.Fatal(err)
	}
	// Someone lowers the risk so that no override is needed.
	p.Risk, p.NeedsOverride, p.Phrase = guarded.Safe, false, "apply"
	o := opts(t, c, p)
	if _, err := Apply(context.Background(), c, p, o); !errors.Is(err, ErrPlanMismatch) || c.flashWrites != 0 {
		t.Errorf("edited plan: %v, %d writes", err, c.flashWrites)
	}
	// A backward change slipped into a plan is refused by the rules.
	p2, _ := plan(t, in, "IWDG_SW=0")
	p2.Changes[0].Field, p2.Changes[0].To.Raw = "PRODUCT_STATE", 0xED
	var re *RefusedError
	if _, err := Apply(context.Background(), c, p2, opts(t, c, p2)); !errors.As(err, &re) || c.flashWrites != 0 {
		t.Errorf("backward change in a plan: %v", err)
	}
}

func TestCertificateDAStatedMethod(t *testing.T) {
	c := newChip(t, stm32h5.Config{Line: stm32h5.LineH563, ProductState: targets.StateProvisioning, TZEN: targets.TZENEnabled, DA: stm32h5.DACertificate, NRSTWired: true})
	in := c.setup(t)
	if !in.DA.Provisioned || in.DA.Method != targets.DAMethodUnknown {
		t.Fatalf("DA %v: a root-key record cannot tell its method", in.DA)
	}
	if p, err := plan(t, in, "PRODUCT_STATE=TZ_CLOSED"); err != nil || p.Risk != guarded.Brick {
		t.Fatalf("method unknown: %v %v, want brick", p, err)
	}
	in.DA.Method = targets.DACertificate // stated by the user
	in.WayBack = proven
	p, err := plan(t, in, "PRODUCT_STATE=TZ_CLOSED")
	if err != nil || p.Risk != guarded.Irreversible {
		t.Fatalf("certificate with TZEN=0xB4: %v %v", p, err)
	}
	res, err := Apply(context.Background(), c, p, opts(t, c, p))
	if err != nil || c.chip.ProductState() != targets.StateTZClosed || !res.DebugClosed {
		t.Fatalf("apply: %+v %v", res, err)
	}
}
