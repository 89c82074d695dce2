package obpane

import (
	"path/filepath"

	tea "charm.land/bubbletea/v2"

	"github.com/stprobe/stprobe/bench"
)

// backupEntry is one backup file of this chip.
type backupEntry struct {
	path string
	b    *bench.Backup
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
	if m.DirErr != nil {
		return m.Fail("no state directory: " + m.DirErr.Error())
	}
	if m.ob == nil || m.ob.Chip == nil || m.ob.Layout == nil {
		m.backups, m.backupsErr, m.listed = nil, nil, false
		return m.Fail("read the option bytes first (r): backups are matched to the chip's UID")
	}
	dir, uid, dev := m.StateDir, m.ob.Chip.UIDString(), m.ob.Layout.DevID
	return func() tea.Msg {
		list, err := findBackups(dir, uid, dev)
		return backupsMsg{list: list, err: err}
	}
}

// findBackups lists the backups of chip uid in the state directory (and
// the damaged ones, shown with their error), newest first.
func findBackups(stateDir, uid string, dev uint16) ([]backupEntry, error) {
	files, err := bench.ListBackups(stateDir, uid, dev)
	out := make([]backupEntry, 0, len(files))
	for _, f := range files {
		out = append(out, backupEntry{path: f.Path, b: f.Backup, err: f.Err})
	}
	return out, err
}
