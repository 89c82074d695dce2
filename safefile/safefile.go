// Package safefile reads the files a user hands to stprobe — credentials,
// backups, journals, keys — with a size limit per format, without ever
// blocking on a FIFO or reading a device.
package safefile

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
)

// ErrNotRegular is wrapped when a file to read is a FIFO, a device, a
// directory or anything else but a regular file.
var ErrNotRegular = errors.New("not a regular file")

// ErrTooLarge is wrapped when a file to read exceeds its format's limit.
var ErrTooLarge = errors.New("file too large")

// Read reads the regular file at path, of at most max bytes. what names
// the file's kind in messages ("backup", "certificate chain"). It opens
// without blocking, so a FIFO with no writer is refused at once rather
// than waited on; a device, a directory or a socket is refused too. A
// missing file returns an error that wraps fs.ErrNotExist.
func Read(path, what string, max int64) ([]byte, error) {
	f, err := openNoBlock(path)
	if err != nil {
		return nil, fmt.Errorf("file: %s %s: %w", what, path, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("file: %s %s: %w", what, path, err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("file: %s %s is a %s: %w; give the path of a %s file", what, path, Kind(fi.Mode()), ErrNotRegular, what)
	}
	if fi.Size() > max {
		return nil, fmt.Errorf("file: %s %s is %d bytes, more than any %s can be (%d): %w", what, path, fi.Size(), what, max, ErrTooLarge)
	}
	data, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, fmt.Errorf("file: reading %s %s: %w", what, path, err)
	}
	if int64(len(data)) > max {
		return nil, fmt.Errorf("file: %s %s grew past %d bytes while read: %w", what, path, max, ErrTooLarge)
	}
	return data, nil
}

// Kind names a file mode for a message ("FIFO", "character device").
func Kind(m fs.FileMode) string {
	switch {
	case m.IsRegular():
		return "regular file"
	case m.IsDir():
		return "directory"
	case m&fs.ModeNamedPipe != 0:
		return "FIFO"
	case m&fs.ModeCharDevice != 0:
		return "character device"
	case m&fs.ModeDevice != 0:
		return "device"
	case m&fs.ModeSocket != 0:
		return "socket"
	case m&fs.ModeSymlink != 0:
		return "symbolic link"
	}
	return "special file"
}
