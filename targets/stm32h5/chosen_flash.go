package stm32h5

import "time"

// Main-flash programming behaviour the public sources leave open (RM0481's
// register descriptions as ST's SVD carries them say which flag exists, not
// every case that raises it). Correct it here when a real chip says
// otherwise.
//
//   - A write to the flash without NSCR.PG, with an erase request (SER, BER
//     or MER) set, or while an erase runs raises PGSERR and is dropped.
//   - A write to another quad-word while the write buffer holds bytes
//     raises INCERR and empties the buffer.
//   - Programming a quad-word that was programmed since its sector's erase
//     raises PGSERR and changes nothing (the quad-word's ECC is written
//     once; FW's note in the SVD warns of permanent ECC errors).
//   - A write while a quad-word program runs waits for it: the bus stalls
//     (the time is reported through TakeStall).
//   - STRT with PG set, with bytes in the write buffer, while an operation
//     runs, or with SNB past the bank raises PGSERR.
//   - With TrustZone enabled, a program or erase of a secure sector
//     (SECWMxR) through the non-secure registers (NSCR, the 0x08000000
//     alias), or of a non-secure sector through the secure ones (SECCR, the
//     0x0C000000 alias), raises WRPERR in that side's status register. The
//     secure side answers only while secure debug is open (region check).
//   - A write through the other alias while the write buffer holds bytes
//     of one raises INCERR.
//   - A reset during a program or erase loses the operation: the sectors
//     keep what they held (silicon leaves them undefined; OPSR, not
//     modelled, would name the interrupted operation).
//   - HDP areas are not enforced by the model (the core runs no code, so
//     the hide level never rises).
//
// Times: the datasheets give typical program and erase times; the model
// uses round values, not checked against them.
const (
	quadWordProgramTime = 50 * time.Microsecond
	sectorEraseTime     = 2 * time.Millisecond
)
