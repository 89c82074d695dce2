//go:build !unix

package serve

// fdLimit is unknown here.
func fdLimit() uint64 { return 0 }
