/*
 * The long-mode raw guest: the host enters it in 64-bit mode (paging, GDT and segments set up
 * by src/kvm/guest.ts), interrupts off, no IDT. It loops: report ready on RAW_CTL_PORT (an exit
 * to user space), read the command the host left in the mailbox, run that loop with serialized
 * TSC reads around it, store the ticks, report again. Every test loop has a null twin that
 * differs only by the measured instruction, so (test - null) / iterations is that instruction.
 */
#include "layout.h"
	.code64
	.section .text.start, "ax"
	.globl _start
_start:
	mov	$RAW_MAILBOX, %r12

/* Serialized TSC read into \reg (clobbers rax, rdx). */
.macro TSC reg
	lfence
	rdtsc
	lfence
	shl	$32, %rdx
	or	%rax, %rdx
	mov	%rdx, \reg
.endm

/* One timed loop of MB_ITERS iterations: \setup, then \body, then the loop counter. */
.macro TIMED label, setup=, body=
\label:
	mov	MB_ITERS(%r12), %r9
	test	%r9, %r9
	jz	ready
	TSC	%r8
1:	\setup
	\body
	dec	%r9
	jnz	1b
	TSC	%r10
	jmp	done
.endm

ready:
	mov	$RAW_CTL_PORT, %dx
	out	%al, %dx
	mov	MB_CMD(%r12), %rax
	cmp	$CMD_EMPTY, %rax
	je	empty
	cmp	$CMD_NULL_CPUID, %rax
	je	null_cpuid
	cmp	$CMD_CPUID, %rax
	je	cpuid_loop
	cmp	$CMD_NULL_PIO, %rax
	je	null_pio
	cmp	$CMD_PIO_IN, %rax
	je	pio_in
	cmp	$CMD_NULL_MMIO, %rax
	je	null_mmio
	cmp	$CMD_MMIO_READ, %rax
	je	mmio_read
halt:
	hlt
	jmp	halt

/* Set-up and body of each loop (macros, so the preprocessor sees the constants). */
.macro LEAF0
	xor	%eax, %eax
	xor	%ecx, %ecx
.endm
.macro DO_CPUID
	cpuid
.endm
.macro PIO_PORT
	mov	$RAW_PIO_PORT, %dx
.endm
.macro DO_INL
	inl	%dx, %eax
.endm
.macro MMIO_PTR
	mov	$RAW_MMIO_ADDR, %esi
.endm
.macro DO_MMIO_READ
	mov	(%rsi), %eax
.endm

	TIMED	empty
	TIMED	null_cpuid, LEAF0
	TIMED	cpuid_loop, LEAF0, DO_CPUID
	TIMED	null_pio, PIO_PORT
	TIMED	pio_in, PIO_PORT, DO_INL
	TIMED	null_mmio, MMIO_PTR
	TIMED	mmio_read, MMIO_PTR, DO_MMIO_READ

done:
	sub	%r8, %r10
	mov	%r10, MB_TICKS(%r12)
	mov	%r8, MB_TSC_START(%r12)
	add	%r8, %r10
	mov	%r10, MB_TSC_END(%r12)
	incq	MB_SEQ(%r12)
	jmp	ready
