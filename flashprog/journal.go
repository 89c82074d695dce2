package flashprog

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"time"

	"github.com/stprobe/stprobe/safefile"
	"github.com/stprobe/stprobe/statefile"
)

// What a journal says a sector holds.
const (
	SectorOld         = "old data (not erased yet)"
	SectorErasing     = "erase started, not confirmed: erased, partly erased or old data"
	SectorErased      = "erased"
	SectorProgramming = "programming started, not confirmed: partly programmed"
	SectorProgrammed  = "programmed from the image"
	SectorVerified    = "programmed from the image and verified"
)

// JournalDir is the directory of the flash journals inside the state
// directory: one file per chip, flash/UID.json, apart from the option-byte
// journals.
const JournalDir = "flash"

// Journal is the record of one flash write or erase on one chip: written
// before the first erase, updated after every sector, removed when the
// write ends cleanly. One left behind says which sectors hold what.
type Journal struct {
	Kind        string          `json:"kind"` // "flash write" or "flash erase"
	ChipUID     string          `json:"chip_uid"`
	Line        string          `json:"line"`
	User        string          `json:"user"`
	ProbeSerial string          `json:"probe_serial"`
	Started     time.Time       `json:"started"`
	Updated     time.Time       `json:"updated"`
	Image       string          `json:"image,omitempty"`
	ImageSHA256 string          `json:"image_sha256,omitempty"`
	Phase       string          `json:"phase"`
	Sectors     []JournalSector `json:"sectors"`
	Error       string          `json:"error,omitempty"`
}

// JournalSector is one sector of a journal and what it holds.
type JournalSector struct {
	Name  string `json:"name"`
	Addr  uint32 `json:"addr"`
	Size  uint32 `json:"size"`
	Holds string `json:"holds"`
}

// String tells the user what the chip holds, sector by sector (runs of
// sectors in the same state together).
func (j *Journal) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s of chip %s (%s) started %s by %s", j.Kind, j.ChipUID, j.Line, j.Started.Format(time.RFC3339), j.User)
	if j.Image != "" {
		fmt.Fprintf(&b, ", image %s (SHA-256 %s)", j.Image, j.ImageSHA256)
	}
	fmt.Fprintf(&b, ", stopped in phase %q", j.Phase)
	if j.Error != "" {
		fmt.Fprintf(&b, ": %s", j.Error)
	}
	for i := 0; i < len(j.Sectors); {
		k := i
		for k+1 < len(j.Sectors) && j.Sectors[k+1].Holds == j.Sectors[i].Holds {
			k++
		}
		first, last := j.Sectors[i], j.Sectors[k]
		fmt.Fprintf(&b, "\n  0x%08X..0x%08X (%s", first.Addr, uint64(last.Addr)+uint64(last.Size)-1, first.Name)
		if k > i {
			fmt.Fprintf(&b, " … %s", last.Name)
		}
		fmt.Fprintf(&b, "): %s", first.Holds)
		i = k + 1
	}
	return b.String()
}

// JournalPath is where the flash journal of the chip with this UID lives.
func JournalPath(dir, uid string) string {
	return statefile.ChipFilePath(dir, JournalDir, uid)
}

// ReadJournal returns the flash journal of the chip (nil, nil when there
// is none).
func ReadJournal(dir, uid string) (*Journal, error) {
	path := JournalPath(dir, uid)
	data, err := safefile.Read(path, "flash journal", 1<<20)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var j Journal
	if err := json.Unmarshal(data, &j); err != nil {
		return nil, fmt.Errorf("file: the flash journal %s is damaged (%v); look at the chip (stprobe flash read) and remove it", path, err)
	}
	return &j, nil
}

// writeJournal stores j durably.
func writeJournal(dir string, j *Journal) (string, error) {
	return statefile.WriteChipFile(dir, JournalDir, j.ChipUID, "flash journal", j)
}
