package cli

import (
	"context"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stprobe/stprobe/obytes"
	"github.com/stprobe/stprobe/probe"
	"github.com/stprobe/stprobe/probe/sim"
	"github.com/stprobe/stprobe/probe/sim/scenario"
	"github.com/stprobe/stprobe/statefile"
	"github.com/stprobe/stprobe/targets"
	"github.com/stprobe/stprobe/targets/chipsim"
)

// The UIDs of the simulated boards used here.
const (
	uidH533 = "363835303133510A00450499"
	uidB    = "0123456789ABCDEF01234567"
)

// writeJournal stores a journal for chip uid in dir, as Apply would leave
// it after an interrupted write of IWDG_SW=0x0.
func writeJournal(t *testing.T, dir, uid string, state string) string {
	t.Helper()
	j := statefile.Journal{
		Time: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), ChipUID: uid, Line: "STM32H523/H533", Phase: "program",
		Changes: []string{"IWDG_SW=0x0"}, Before: map[string]uint32{"OPTSR": 0x2D30EDD8}, Want: map[string]uint32{"OPTSR": 0x2D30EDD0},
		State: state,
	}
	data, err := json.Marshal(j)
	if err != nil {
		t.Fatal(err)
	}
	return writeJournalFile(t, statefile.JournalPath(dir, uid), string(data))
}

func writeJournalFile(t *testing.T, path, content string) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// lastAudit is the last line of the audit log.
func lastAudit(t *testing.T, dir string) statefile.AuditRecord {
	t.Helper()
	recs, err := statefile.ReadAudit(dir)
	if err != nil || len(recs) == 0 {
		t.Fatalf("audit log: %v %v", recs, err)
	}
	return recs[len(recs)-1]
}

// ob journal lists every chip's record, names a damaged file with the fix,
// and clears or sets aside one record at a time, each with an audit line.
func TestOBJournalPerChip(t *testing.T) {
	dir := t.TempDir()
	writeJournal(t, dir, uidH533, statefile.OutcomeNotApplied)
	writeJournal(t, dir, uidB, statefile.OutcomeStaging)
	damaged := writeJournalFile(t, statefile.JournalPath(dir, "DEADBEEF"), "{}")

	code, out, errOut := runCLI(t, "ob", "journal", "--state-dir", dir)
	if code != 0 || !strings.Contains(out, uidH533) || !strings.Contains(out, uidB) || !strings.Contains(out, "STAGED") ||
		!strings.Contains(out, "DAMAGED") || !strings.Contains(out, damaged) || !strings.Contains(out, "ob journal --discard") {
		t.Fatalf("list: exit %d\n%s%s", code, out, errOut)
	}
	// Several records: --clear needs --uid (a usage mistake, nothing removed).
	code, _, errOut = runCLI(t, "ob", "journal", "--clear", "--state-dir", dir)
	if code != 2 || !strings.Contains(errOut, "--uid") {
		t.Fatalf("--clear with 3 records: exit %d %s", code, errOut)
	}
	if code, _, _ := runCLI(t, "ob", "journal", "--clear", "--discard", "--state-dir", dir); code != 2 {
		t.Errorf("--clear --discard: exit %d", code)
	}
	// Clear one chip: the others stay; an audit line records it.
	code, out, errOut = runCLI(t, "ob", "journal", "--clear", "--uid", uidB, "--state-dir", dir)
	if code != 0 || !strings.Contains(out, "journal cleared") {
		t.Fatalf("--clear --uid: exit %d\n%s%s", code, out, errOut)
	}
	if a := lastAudit(t, dir); a.Result != statefile.ResultJournalCleared || a.ChipUID != uidB || a.Outcome != statefile.OutcomeStaging {
		t.Errorf("audit %+v", a)
	}
	if j, _ := statefile.CheckChipJournal(dir, uidH533); j == nil {
		t.Error("the other chip's record was lost")
	}
	// A damaged record cannot be cleared; the message names the file and --discard.
	code, _, errOut = runCLI(t, "ob", "journal", "--clear", "--uid", "DEADBEEF", "--state-dir", dir)
	if code != 1 || !strings.Contains(errOut, damaged) || !strings.Contains(errOut, "ob journal --discard") {
		t.Errorf("--clear damaged: exit %d %s", code, errOut)
	}
	// --discard keeps a copy and audits.
	code, out, errOut = runCLI(t, "ob", "journal", "--discard", "--uid", "DEADBEEF", "--state-dir", dir)
	if code != 0 || !strings.Contains(out, "kept as "+damaged+".discarded-") {
		t.Fatalf("--discard: exit %d\n%s%s", code, out, errOut)
	}
	if copies, _ := filepath.Glob(damaged + ".discarded-*"); len(copies) != 1 {
		t.Errorf("copies %v", copies)
	}
	if a := lastAudit(t, dir); a.Result != statefile.ResultJournalDiscarded || a.Journal != damaged {
		t.Errorf("audit %+v", a)
	}
	// One record left: --clear needs no --uid.
	code, out, _ = runCLI(t, "ob", "journal", "--clear", "--state-dir", dir)
	if code != 0 || !strings.Contains(out, uidH533) {
		t.Errorf("last --clear: exit %d %s", code, out)
	}
	code, out, _ = runCLI(t, "ob", "journal", "--state-dir", dir)
	if code != 0 || !strings.Contains(out, "no interrupted option-byte write recorded") {
		t.Errorf("empty list: exit %d %s", code, out)
	}
	code, _, errOut = runCLI(t, "ob", "journal", "--clear", "--uid", "nosuchchip", "--state-dir", dir)
	if code != 1 || !strings.Contains(errOut, "nosuchchip") {
		t.Errorf("--uid of no record: exit %d %s", code, errOut)
	}
}

// A damaged journal (of this chip, or the single file of earlier versions)
// never blocks a write silently: the refusal names the file and the fix,
// and once set aside the write goes through.
func TestOBDamagedJournalNamesTheFix(t *testing.T) {
	for _, tt := range []struct{ name, file, content string }{
		{"this chip's journal, empty", "", ""},
		{"this chip's journal, null", "", "null"},
		{"old single journal, truncated", statefile.JournalFile, `{"time":"2026-`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := statefile.JournalPath(dir, uidH533)
			if tt.file != "" {
				path = filepath.Join(dir, tt.file)
			}
			writeJournalFile(t, path, tt.content)
			b := simBench(t, "h533-open", nil)
			out, err := runOBOn(t, b, dir, "apply", "IWDG_SW=0", "--confirm", "apply")
			if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "stprobe ob journal --discard") {
				t.Fatalf("apply over a damaged journal: %v\n%s", err, out)
			}
			out, err = runOBOn(t, b, dir, "read")
			if err != nil || !strings.Contains(out, "WARNING: file: pending-write journal "+path) {
				t.Errorf("read: %v\n%s", err, out)
			}
			if out, err := runOBOn(t, b, dir, "journal", "--discard"); err != nil {
				t.Fatalf("discard: %v\n%s", err, out)
			}
			if out, err := runOBOn(t, b, dir, "apply", "IWDG_SW=0", "--confirm", "apply"); err != nil || !strings.Contains(out, "APPLIED") {
				t.Errorf("apply after discard: %v\n%s", err, out)
			}
		})
	}
}

// ob read on a chip whose recorded write is staged in _PRG says so, never
// "not applied".
func TestOBReadStagedPendingWrite(t *testing.T) {
	dir := t.TempDir()
	b := simBench(t, "h533-open", nil)
	m := model(b)
	cur, _, _ := m.OptionRegister("OPTSR")
	want := cur&^0xFF00 | 0x1700
	j := statefile.Journal{Time: time.Now().UTC(), ChipUID: uidH533, Line: "STM32H523/H533", Phase: "program", Changes: []string{"PRODUCT_STATE=0x17"},
		Before: map[string]uint32{"OPTSR": cur}, Want: map[string]uint32{"OPTSR": want}, State: statefile.OutcomeNotUndone}
	data, _ := json.Marshal(j)
	writeJournalFile(t, statefile.JournalPath(dir, uidH533), string(data))
	// Stage the change behind the bench's back: unlock, write OPTSR_PRG.
	ap := m.AP(1)
	for _, w := range [][2]uint32{{targets.FlashOPTKEYR, targets.OptKey1}, {targets.FlashOPTKEYR, targets.OptKey2}, {targets.FlashOPTSRPrg, want}} {
		if err := ap.Write(obytes.FlashBase+w[0], chipsim.Word, w[1], 0); err != nil {
			t.Fatal(err)
		}
	}
	if _, prg, _ := m.OptionRegister("OPTSR"); prg != want {
		t.Fatalf("OPTSR_PRG 0x%08X: the change was not staged", prg)
	}
	out, err := runOBOn(t, b, dir, "read")
	if err != nil || !strings.Contains(out, "STAGED in _PRG") || strings.Contains(out, "not applied on this chip") {
		t.Errorf("read: %v\n%s", err, out)
	}
	out, err = runOBOn(t, b, dir, "read", "--json")
	if err != nil || !strings.Contains(out, `"pending_write_outcome": "STAGED in _PRG`) {
		t.Errorf("read --json: %v\n%s", err, out)
	}
}

// A state directory that is a file is a file-layer problem, never an
// interrupted write.
func TestOBStateDirIsAFile(t *testing.T) {
	file := filepath.Join(t.TempDir(), "state")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"ob", "journal"},
		{"--sim", "h533-open", "ob", "apply", "IWDG_SW=0", "--confirm", "apply"},
	} {
		code, _, errOut := runCLI(t, append(args, "--state-dir", file)...)
		if code != 1 || !strings.Contains(errOut, "file:") || !strings.Contains(errOut, "not a directory") || strings.Contains(errOut, "interrupted") {
			t.Errorf("%v: exit %d %s", args, code, errOut)
		}
	}
	code, _, errOut := runCLI(t, "--sim", "h533-open", "ob", "read", "--state-dir", file)
	if code != 0 || !strings.Contains(errOut, "WARNING: file:") || strings.Contains(errOut, "interrupted") {
		t.Errorf("read: exit %d %s", code, errOut)
	}
	code, _, errOut = runCLI(t, "--log-file", filepath.Join(file, "log"), "list")
	if code != 1 || !strings.Contains(errOut, "file:") {
		t.Errorf("--log-file under a file: exit %d %s", code, errOut)
	}
}

// Usage mistakes of issue 8: a server address that is not HOST:PORT, a
// cell timeout shorter than one round trip. Exit 2, with what to give.
func TestUsageMistakesExit2(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"--server", "notaport", "info"}, "HOST:PORT"},
		{[]string{"--server", "notaport", "ob", "read"}, "HOST:PORT"},
		{[]string{"--server", "notaport", "list"}, "HOST:PORT"},
		{[]string{"--server", "localhost:0", "sweep"}, "port"},
		{[]string{"--server", "localhost:http", "sweep"}, "port"},
		{[]string{"--sim", "h533-open", "sweep", "--cell-timeout", "1ns"}, "round trip"},
		{[]string{"--sim", "h533-open", "sweep", "--cell-timeout", "999us"}, "round trip"},
	} {
		code, out, errOut := runCLI(t, tt.args...)
		if code != 2 || !strings.Contains(errOut, tt.want) || strings.Contains(out+errOut, "wiring") {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want exit 2 and %q", tt.args, code, out, errOut, tt.want)
		}
	}
}

// serveProbe serves p as a simulated stlink-server on a loopback port until
// the test ends, and returns its address.
func serveProbe(t *testing.T, opts sim.CostOptions, p *sim.Probe) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- sim.ServeWith(ctx, ln, opts, p) }()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return ln.Addr().String()
}

// A probe another client of the stlink-server has open is refused, and the
// message names --share; with --share it is used.
func TestProbeInUseNamesShare(t *testing.T) {
	sc, err := scenario.Lookup("h533-open")
	if err != nil {
		t.Fatal(err)
	}
	p := sc.NewProbe()
	serial := p.Config().Serial
	addr := serveProbe(t, sim.CostOptions{}, p)
	other, _, err := probe.OpenServer(context.Background(), addr, "")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	dir := t.TempDir()
	code, _, errOut := runCLI(t, "--server", addr, "--probe", serial, "ob", "read", "--state-dir", dir)
	if code != 1 || !strings.Contains(errOut, "already opened by another client") || !strings.Contains(errOut, "--share") {
		t.Errorf("without --share: exit %d %s", code, errOut)
	}
	code, out, errOut := runCLI(t, "--server", addr, "--probe", serial, "--share", "ob", "read", "--state-dir", dir)
	if code != 0 || !strings.Contains(out, "product state: OPEN") {
		t.Errorf("with --share: exit %d\n%s%s", code, out, errOut)
	}
	// plan's suggested command keeps --share.
	code, out, _ = runCLI(t, "--server", addr, "--probe", serial, "--share", "ob", "plan", "IWDG_SW=0", "--state-dir", dir)
	if code != 0 || !strings.Contains(out, "--share ob apply") {
		t.Errorf("plan with --share: exit %d\n%s", code, out)
	}
}
