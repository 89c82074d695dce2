package obpane

import (
	"os"
	"path/filepath"
	"sort"
	"strings"

	tea "charm.land/bubbletea/v2"

	"github.com/stprobe/stprobe/obytes"
)

// backupsSubdir is where obytes.WriteBackup puts backups inside the state
// directory.
const backupsSubdir = "backups"

// backupEntry is one backup file of this chip.
type backupEntry struct {
	path string
	b    *obytes.Backup
	err  error
}

// when is the backup's time as the pane shows it.
func (e backupEntry) when() string {
	if e.b == nil {
		return filepath.Base(e.path)
	}
	return e.b.Time.UTC().Format("2006-01-02 15:04:05 UTC")
}

// backupsMsg carries the backups found in the state directory.
type backupsMsg struct {
	list []backupEntry
	err  error
}

// listBackups lists, off the UI goroutine, the backups of the chip on
// screen (backups are restored only to the chip they came from).
func (m *Model) listBackups() tea.Cmd {
	if m.dirErr != nil {
		return m.fail("no state directory: " + m.dirErr.Error())
	}
	if m.ob == nil || m.ob.Chip == nil || m.ob.Layout == nil {
		m.backups, m.backupsErr, m.listed = nil, nil, false
		return m.fail("read the option bytes first (r): backups are matched to the chip's UID")
	}
	dir, uid, dev := m.stateDir, m.ob.Chip.UIDString(), m.ob.Layout.DevID
	return func() tea.Msg {
		list, err := findBackups(filepath.Join(dir, backupsSubdir), uid, dev)
		return backupsMsg{list: list, err: err}
	}
}

// findBackups reads every backup in dir and keeps those of chip uid (and
// the damaged ones, which are shown with their error), newest first.
func findBackups(dir, uid string, dev uint16) ([]backupEntry, error) {
	ents, err := os.ReadDir(dir)
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []backupEntry
	for _, e := range ents {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".json") {
			continue
		}
		p := filepath.Join(dir, e.Name())
		b, err := obytes.ReadBackup(p)
		switch {
		case err != nil:
			if strings.Contains(e.Name(), uid) {
				out = append(out, backupEntry{path: p, err: err})
			}
		case b.UID == uid && b.DevID == dev && b.Snapshot != nil:
			out = append(out, backupEntry{path: p, b: b})
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		bi, bj := out[i].b, out[j].b
		switch {
		case bi == nil || bj == nil:
			return bj == nil && bi != nil
		}
		return bi.Time.After(bj.Time)
	})
	return out, nil
}
