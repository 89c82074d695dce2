@ stprobe's STM32H5 flash loader: programs quad-words from an SRAM buffer.
@
@ Entry (set by the host through DCRSR with the core halted):
@   r0  source: the buffer in SRAM, word aligned
@   r1  destination in flash (non-secure alias), quad-word aligned
@   r2  number of quad-words (16 bytes each)
@   r3  address of FLASH_NSSR (0x40022020); FLASH_NSCR is r3 + 8
@ The host has unlocked FLASH_NSCR and set PG (RM0481 section 7.3.7, flash
@ programming: PG set, then 128 bits written into the write buffer, which
@ programs the quad-word once full). Quad-words that are all 0xFF are
@ skipped: erased flash already reads so.
@ Exit: BKPT #0 with
@   r0  0, or the NSSR error flags [23:17] (WRPERR, PGSERR, STRBERR,
@       INCERR, OBKERR, OBKWERR, OPTCHANGEERR) of the failing quad-word
@   r1  the flash address of the next quad-word (on an error: one past
@       the quad-word that failed)
@   r2  quad-words not done
@ It uses no stack and no memory outside its arguments.
@
@ Build (the bytes in ../loader.go were made so):
@   arm-none-eabi-as -mcpu=cortex-m33 -mthumb -o h5.o stm32h5.asm
@   arm-none-eabi-objcopy -O binary -j .text h5.o h5.bin

        .syntax unified
        .thumb
        .cpu    cortex-m33
        .text

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
        subs    r2, #1
        bkpt    #0
done:   movs    r0, #0
        bkpt    #0
        .balign 4                       @ whole words for the download
