package cli

import (
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/stprobe/stprobe/bench"
)

// journalFlags are the flags of ob journal.
type journalFlags struct {
	clear   bool
	discard bool
	uid     string
}

// addJournalFlags declares the flags of ob journal.
func addJournalFlags(fs *pflag.FlagSet, f *journalFlags) {
	fs.BoolVar(&f.clear, "clear", false, "remove a chip's pending-write record once the chip has been checked (an audit line records it)")
	fs.BoolVar(&f.discard, "discard", false, "set a chip's record aside, damaged or not: it is kept as a copy next to it and an audit line records it")
	fs.StringVar(&f.uid, "uid", "", "the chip whose record --clear or --discard acts on (its UID, or the journal's file name), when several are recorded")
}

// obJournal lists every pending-write record of the state directory and,
// with --clear or --discard, removes or sets aside one chip's record after
// writing its audit line. It needs no probe.
func (a *app) obJournal(c *cobra.Command, f *obFlags) error {
	jf := &f.journalFlags
	if jf.clear && jf.discard {
		return usage(c, errors.New("give one of --clear and --discard"))
	}
	es, err := bench.ListJournals(f.stateDir)
	if err != nil {
		return err
	}
	sel := es
	if jf.uid != "" {
		sel = nil
		for _, e := range es {
			if journalMatches(e, jf.uid) {
				sel = append(sel, e)
			}
		}
	}
	w := a.stdout
	switch {
	case len(es) == 0:
		fmt.Fprintf(w, "no interrupted option-byte write recorded (in %s)\n", f.stateDir)
		if jf.uid != "" {
			return fmt.Errorf("file: no pending-write record for chip %s in %s", jf.uid, f.stateDir)
		}
		return nil
	case len(sel) == 0:
		printJournals(w, es)
		return fmt.Errorf("file: no pending-write record matches --uid %s in %s; recorded: %s", jf.uid, f.stateDir, journalUIDs(es))
	}
	if !jf.clear && !jf.discard {
		printJournals(w, sel)
		fmt.Fprintln(w, "\nRead the option bytes (stprobe ob read) to see what the chip holds, then remove the record with `stprobe ob journal --clear` (a damaged one: `stprobe ob journal --discard`, which keeps a copy); add --uid UID when several chips are recorded.")
		return nil
	}
	flag := "--clear"
	if jf.discard {
		flag = "--discard"
	}
	if len(sel) > 1 {
		printJournals(w, sel)
		return usage(c, fmt.Errorf("%d pending-write records (%s): add --uid UID to say which one %s acts on", len(sel), journalUIDs(sel), flag))
	}
	e := sel[0]
	printJournals(w, sel)
	act := bench.JournalAction{User: bench.Holder{Name: a.userName(), Session: "cli"}.String(), Reason: "stprobe ob journal " + flag}
	audit := filepath.Join(f.stateDir, bench.AuditFile)
	if jf.discard {
		uid := e.UID
		if filepath.Base(e.Path) == bench.JournalFile {
			uid = "" // the single journal file of earlier versions
		}
		kept, err := bench.DiscardJournal(f.stateDir, uid, act)
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "journal set aside: kept as %s; audit line appended to %s\n", kept, audit)
		return nil
	}
	if e.Err != nil {
		return e.Err // damaged: the error names the file and --discard
	}
	if err := bench.ClearChipJournal(f.stateDir, e.UID, act); err != nil {
		return err
	}
	fmt.Fprintf(w, "journal cleared: %s removed; audit line appended to %s\n", e.Path, audit)
	return nil
}

// journalMatches reports whether the record e is the one --uid names: by
// the chip's UID, or by the journal's file name or path.
func journalMatches(e bench.JournalEntry, uid string) bool {
	base := filepath.Base(e.Path)
	return strings.EqualFold(e.UID, uid) || uid == e.Path || uid == base || uid == strings.TrimSuffix(base, ".json")
}

// journalUIDs names the records for a message.
func journalUIDs(es []bench.JournalEntry) string {
	names := make([]string, 0, len(es))
	for _, e := range es {
		n := e.UID
		if n == "" {
			n = filepath.Base(e.Path)
		}
		names = append(names, n)
	}
	return strings.Join(names, ", ")
}

// printJournals shows each record: what it says, or why it is damaged.
func printJournals(w io.Writer, es []bench.JournalEntry) {
	for i, e := range es {
		if i > 0 {
			fmt.Fprintln(w)
		}
		chip := e.UID
		if chip == "" {
			chip = "unknown"
		}
		fmt.Fprintf(w, "chip %s — journal %s\n", chip, e.Path)
		if e.Err != nil {
			fmt.Fprintf(w, "  DAMAGED: %v\n", e.Err)
			continue
		}
		j := e.Journal
		fmt.Fprintln(w, "  PENDING WRITE: "+j.String())
		if len(j.Seen) > 0 {
			fmt.Fprintf(w, "  registers seen when it failed: %s\n", regList(j.Seen))
		}
	}
}

// warnPending warns on stderr about the pending-write record of the chip
// just read (or a damaged journal that may be it) and returns the record.
func (a *app) warnPending(dir, uid string) *bench.Journal {
	j, err := bench.CheckChipJournal(dir, uid)
	return a.warnJournal(j, err, uid)
}

// warnJournal warns on stderr about the pending-write record j of the chip
// with this UID, or the error that kept it from being read; it returns j.
func (a *app) warnJournal(j *bench.Journal, err error, uid string) *bench.Journal {
	switch {
	case err != nil:
		fmt.Fprintf(a.stderr, "WARNING: %v\n", err)
	case j != nil:
		fmt.Fprintf(a.stderr, "WARNING: PENDING WRITE: %s\n  (see `stprobe ob journal`; once checked, remove it with `stprobe ob journal --clear --uid %s`)\n", j, uid)
	}
	return j
}

// pendingHint adds the journal commands to an apply refused because of an
// earlier write's record (a damaged record's message names them already).
func pendingHint(err error, dir, uid string) error {
	if !errors.Is(err, bench.ErrPendingWrite) {
		return err
	}
	if _, jerr := bench.CheckChipJournal(dir, uid); jerr != nil {
		return err
	}
	return fmt.Errorf("%w (see `stprobe ob journal`; once the chip is checked: `stprobe ob journal --clear --uid %s`)", err, uid)
}
