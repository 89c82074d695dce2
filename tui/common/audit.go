package common

import "github.com/stprobe/stprobe/obytes"

// NewAuditLine runs write (a bench job that writes to the chip) and returns
// the line it added to the audit log of the state directory dir: nil when it
// added none, with the error when the log could not be read.
func NewAuditLine(dir string, write func()) (*obytes.AuditRecord, error) {
	before, _ := obytes.ReadAudit(dir)
	write()
	after, err := obytes.ReadAudit(dir)
	if err != nil || len(after) <= len(before) {
		return nil, err
	}
	return &after[len(after)-1], nil
}
