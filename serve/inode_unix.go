//go:build unix

package serve

import (
	"io/fs"
	"syscall"
)

// inode is the file's inode number, so that a file replaced by another of
// the same size and time still reads as changed.
func inode(fi fs.FileInfo) uint64 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return uint64(st.Ino)
	}
	return 0
}
