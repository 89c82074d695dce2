// Package flashprog programs and erases a chip's main flash through the
// debug port: a plan (which sectors are erased, what they hold now, the
// risk class and the confirmation phrase), then the guarded write (lock,
// journal, unlock, erase, program, lock, verify by read-back and CRC-32,
// audit line with the image's SHA-256).
//
// On the STM32H5, when the core is halted, a flash loader of stprobe's own
// (loader.go; its Thumb source in flashprog/loader) runs on the target: the
// host feeds it 6 KiB blocks through two SRAM buffers, it programs and
// checks every quad-word and stops at a BKPT with its result. Otherwise
// (and on the other families) the host drives the chip's flash controller
// register by register through the core's access port, as OpenOCD's
// stm32l4x driver does without its loader.
//
// Families plug in through Controller: the STM32H5 (h5.go), the STM32F1
// (f1.go), the STM32F4 (f4.go), the STM32G0, G4 and L4 (l4.go) and the
// STM32H74x/75x (h7.go; the unlock, status wait, erase and program loop the
// last four share are in rdpfamily.go, their registers in
// targets/flashreg); a family without a controller is refused with the
// reason.
package flashprog
