// Package obytes is what stprobe knows about STM32H5 option bytes and how it
// changes them without bricking the chip.
//
// It holds, as data per line (STM32H503; STM32H523/H533;
// STM32H562/H563/H573), every option-byte register and field with the names
// STM32CubeProgrammer uses; decodes register values to named values with a
// one-line meaning and encodes them back; classifies every planned change by
// risk (safe, caution, irreversible, brick) and refuses before any write what
// the chip itself would refuse; and applies a confirmed plan with the chip's
// own programming sequence, after a backup, with a pending-write journal, a
// verification and an audit log.
//
// obytes talks to the chip through the narrow Target interface (one 32-bit
// word read or written through an access port), which *probe.Link
// satisfies, so it is tested without USB.
package obytes
