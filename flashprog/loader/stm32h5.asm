@ stprobe's STM32H5 flash loader: programs quad-words from an SRAM buffer.
@
@ The host downloads this code, sets the PC at `start` (with EPSR.T) and,
@ before each run, writes the first four words of `params`:
@   params+0   source: a buffer in SRAM, word aligned
@   params+4   destination in flash (non-secure alias), quad-word aligned
@   params+8   number of quad-words (16 bytes each)
@   params+12  address of FLASH_NSSR (0x40022020)
@   params+16  0xFFFFFFFF (the loader overwrites it with its result)
@ The host has unlocked FLASH_NSCR and set PG (RM0481, embedded flash: flash
@ programming: with PG set, 128 bits written into the write buffer
@ program the quad-word once it is full). Quad-words that are all 0xFF are
@ skipped: erased flash already reads so.
@ Exit: BKPT #0, with
@   params+16  0, or the NSSR error flags [23:17] (WRPERR, PGSERR,
@              STRBERR, INCERR, OBKERR, OBKWERR, OPTCHANGEERR) of the
@              failing quad-word
@   params+20  the flash address after the last quad-word handled (on an
@              error: one past the quad-word that failed)
@ It uses no stack and no memory outside params and its source buffer.
@
@ Build (the bytes in ../loader.go were made so):
@   arm-none-eabi-as -mcpu=cortex-m33 -mthumb -o h5.o stm32h5.asm
@   arm-none-eabi-objcopy -O binary -j .text h5.o h5.bin

        .syntax unified
        .thumb
        .cpu    cortex-m33
        .text

start:  adr     r7, params
        ldmia.w r7, {r0, r1, r2, r3}
loop:   cbz     r2, done
        ldmia   r0!, {r4, r5, r6, r7}
        and.w   r12, r4, r5
        and.w   r12, r12, r6
        and.w   r12, r12, r7
        cmn.w   r12, #1                 @ Z: all four words are 0xFFFFFFFF
        beq     skip
        stmia   r1!, {r4, r5, r6, r7}   @ the fourth word starts the program
        dsb
wait:   ldr.w   r12, [r3]               @ FLASH_NSSR
        tst.w   r12, #1                 @ BSY
        bne     wait
        tst.w   r12, #0x00FE0000        @ error flags [23:17]
        bne     fail
        subs    r2, #1
        b       loop
skip:   adds    r1, #16
        subs    r2, #1
        b       loop
fail:   and.w   r0, r12, #0x00FE0000
        b       out
done:   movs    r0, #0
out:    adr     r7, params
        str     r0, [r7, #16]
        str     r1, [r7, #20]
        bkpt    #0
        .balign 4
params: .word   0, 0, 0, 0, 0, 0
