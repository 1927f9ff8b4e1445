/*
 * The smallest raw guest: real mode, loaded at RAW_LOAD_ADDR with CS base 0. It computes
 * 0x2a + 1 and writes the result to RAW_REAL_PORT, so the host sees proof that guest
 * instructions ran (not just that KVM_RUN returned), then halts. The doctor's kvm.run and the
 * raw suite's VM-creation figures run it.
 */
#include "layout.h"
	.code16
	.section .text.start, "ax"
	.globl _start
_start:
	mov	$0x2a, %al
	add	$1, %al
	mov	$RAW_REAL_PORT, %dx
	out	%al, %dx
1:	hlt
	jmp	1b
