package bench

import (
	"slices"

	"github.com/stprobe/stprobe/flashimage"
	"github.com/stprobe/stprobe/flashprog"
	"github.com/stprobe/stprobe/guarded"
	"github.com/stprobe/stprobe/obytes"
	"github.com/stprobe/stprobe/probe"
	"github.com/stprobe/stprobe/probe/sim/scenario"
	"github.com/stprobe/stprobe/statefile"
)

// The words of the bench's answers. The faces (the console, the SSH
// server) name the types of a plan, a backup or a probe here, so that they
// never import the driver, the simulator, the option-byte rules or the
// state files: the bench is the one door to those.

// The guarded writes: option-byte plans and their fields, flash plans and
// images, the write's events, backups and journals.
type (
	// OBPlan is an option-byte change planned: the diff, the risk, the
	// phrase, the proof of the way back.
	OBPlan = obytes.Plan
	// Risk is a write's risk class (RiskSafe … RiskBrick).
	Risk = guarded.Risk
	// Field is one option-byte field of a chip's line, Register one
	// register, Value one named value of an enumerated field.
	Field    = obytes.Field
	Register = obytes.Register
	Value    = obytes.Value
	// FieldValue is a field's decoded value, FieldDiff a field that
	// differs between two snapshots.
	FieldValue = obytes.FieldValue
	FieldDiff  = obytes.FieldDiff
	// RefusedError is a plan the rules refuse, with the way back instead.
	RefusedError = obytes.RefusedError
	// WriteEvent is one step of a guarded write.
	WriteEvent = guarded.Event
	// WritePlan is the header every guarded write is planned with
	// (OBPlan.Header, DAPlan.Header); Confirmation what the user gave to
	// confirm one.
	WritePlan    = guarded.Plan
	Confirmation = guarded.Confirmation
	// AuditRecord is one line of the audit log.
	AuditRecord = statefile.AuditRecord
	// Backup is a saved set of option bytes, BackupFile one backup on disk.
	Backup     = obytes.Backup
	BackupFile = obytes.BackupFile
	// WayBackProof is what a plan proved of the way back, Refusal one
	// reason a plan was refused.
	WayBackProof = obytes.WayBackProof
	Refusal      = obytes.Refusal
	// Journal is the record of a write that did not end cleanly,
	// JournalEntry one found in the state directory, JournalAction who
	// clears or discards one and why.
	Journal       = statefile.Journal
	JournalEntry  = statefile.JournalEntry
	JournalAction = statefile.JournalAction
	// FlashImage is a decoded firmware file; FlashImageOptions say how to
	// read one.
	FlashImage        = flashimage.Image
	FlashImageOptions = flashimage.Options
	// FlashPlan is a flash write or erase planned: the sectors, whether
	// they hold data, the image, the phrase. FlashSector is one sector.
	FlashPlan   = flashprog.Plan
	FlashSector = flashprog.Sector
	// FlashResult is what a flash write did; FlashJournal what an
	// interrupted one left; FlashWriteError how it stopped.
	FlashResult     = flashprog.Result
	FlashJournal    = flashprog.Journal
	FlashWriteError = flashprog.WriteError
	// FlashErase says which sectors an erase takes.
	FlashErase = flashprog.EraseRequest
)

// The risk classes, lowest first.
const (
	RiskSafe         = guarded.Safe
	RiskCaution      = guarded.Caution
	RiskIrreversible = guarded.Irreversible
	RiskBrick        = guarded.Brick
)

// KindEnum is the kind of a field that takes one of a listed set of values.
const KindEnum = obytes.KindEnum

// AuditFile is the audit log's name in the state directory; JournalFile
// the old single pending-write journal's.
const (
	AuditFile   = statefile.AuditFile
	JournalFile = statefile.JournalFile
)

// OutcomeArmed is a pending write's outcome when its values are staged in
// _PRG but not in _CUR.
const OutcomeArmed = statefile.OutcomeArmed

// Errors of a plan or a write the faces tell apart.
var (
	ErrNoChange      = obytes.ErrNoChange
	ErrNotConfirmed  = obytes.ErrNotConfirmed
	ErrNeedsOverride = obytes.ErrNeedsOverride
	ErrUnknownField  = obytes.ErrUnknownField
	ErrInvalidValue  = obytes.ErrInvalidValue
	ErrPendingWrite  = obytes.ErrPendingWrite
)

// CheckConfirmation is the guard: nil when c lets plan p run, else an
// error matching ErrNotConfirmed or ErrNeedsOverride. The bench asks it
// again before it writes; a dialog asks it to tell the user what is
// missing.
func CheckConfirmation(p *WritePlan, c Confirmation) error { return guarded.Check(p, c) }

// ConfirmationMissing says what a confirmation still lacks for plan p (""
// when the guard would let the write run), for a dialog to show while the
// user types; the bench checks the same again before it writes.
func ConfirmationMissing(p *WritePlan, c Confirmation) string { return guarded.Missing(p, c) }

// DefaultStateDir is where backups, journals and the audit log go unless
// the user names another directory.
func DefaultStateDir() (string, error) { return statefile.DefaultStateDir() }

// BackupsDir is the backups' directory in the state directory dir.
func BackupsDir(dir string) string { return statefile.BackupsDir(dir) }

// ListBackups lists the backups of the chip uid (of line devID) in dir,
// newest first.
func ListBackups(dir, uid string, devID uint16) ([]BackupFile, error) {
	return obytes.ListBackups(dir, uid, devID)
}

// ListJournals lists every pending-write record of the state directory dir.
func ListJournals(dir string) ([]JournalEntry, error) { return statefile.ListJournals(dir) }

// CheckChipJournal is the pending-write record of the chip uid in dir (nil
// when there is none).
func CheckChipJournal(dir, uid string) (*Journal, error) { return statefile.CheckChipJournal(dir, uid) }

// ClearChipJournal removes the record of the chip uid once checked, after
// an audit line says what it held.
func ClearChipJournal(dir, uid string, a JournalAction) error {
	return statefile.ClearChipJournal(dir, uid, a)
}

// DiscardJournal sets the record of the chip uid aside (kept, renamed),
// damaged or not, and audits it; it returns the copy's path.
func DiscardJournal(dir, uid string, a JournalAction) (string, error) {
	return statefile.DiscardJournal(dir, uid, a)
}

// Probes and simulated boards.
type (
	// ProbeInfo is a probe as listed and opened.
	ProbeInfo = probe.Info
	// ConnectMode is how a connection attaches (Normal, Hot Plug, Under
	// Reset).
	ConnectMode = probe.ConnectMode
	// Scenario is a simulated board.
	Scenario = scenario.Scenario
	// ConnectReport is what a connection did, step by step.
	ConnectReport = probe.ConnectReport
)

// ModeHotPlug attaches without reset and without halting the core.
const ModeHotPlug = probe.ModeHotPlug

// ConnectModes are the connection modes, in the order users know them.
func ConnectModes() []ConnectMode { return slices.Clone(probe.ConnectModes) }

// ParseConnectMode reads a connection mode's name ("normal", "hotplug",
// "underreset").
func ParseConnectMode(s string) (ConnectMode, error) { return probe.ParseConnectMode(s) }

// CoreName names the core a CPUID identifies ("Cortex-M33"), "" when unknown.
func CoreName(cpuid uint32) string { return probe.CoreName(cpuid) }

// LayerOf names the layer an error comes from (USB, probe, DP, AP, target).
func LayerOf(err error) string { return string(probe.LayerOf(err)) }

// ErrProbeInUse is a probe another client of the stlink-server is using.
var ErrProbeInUse = probe.ErrProbeInUse

// DefaultScenario is the simulated board the bench falls back to.
const DefaultScenario = scenario.DefaultName

// Scenarios are the simulated boards, in the order `sim list` shows them.
func Scenarios() []Scenario { return scenario.List() }
