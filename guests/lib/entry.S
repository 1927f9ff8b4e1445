/*
 * Multiboot (v1) entry for the kvmbench micro guests.
 *
 * The objects are compiled for x86-64 and the final image is converted to a
 * 32-bit ELF container (objcopy -O elf32-i386), because QEMU's multiboot loader
 * refuses 64-bit ELF files. Execution starts here in 32-bit protected mode
 * (multiboot state: paging off, EAX = magic, EBX = info), builds an identity
 * map of the low 4 GiB with 2 MiB pages, enables long mode and calls rt_start().
 */
#define MB_MAGIC 0x1BADB002
#define MB_FLAGS 0x00000003 /* page-aligned modules, memory info */
#define DEBUGCON_PORT 0xe9  /* isa-debugcon: one byte at entry, timestamped by the host */
#define SMP_STACK_SHIFT 14  /* 16 KiB per AP stack: SMP_STACK in smp.h */

	.section .multiboot, "a"
	.align 4
	.long MB_MAGIC
	.long MB_FLAGS
	.long -(MB_MAGIC + MB_FLAGS)

	.section .text.boot, "ax"
	.code32
	.globl _start
_start:
	cli
	/* The very first thing: the TSC at entry, and a byte for the host's boot timeline. */
	movl %eax, %esi
	rdtsc
	movl %eax, rt_entry_tsc
	movl %edx, rt_entry_tsc + 4
	movb $'E', %al
	outb %al, $DEBUGCON_PORT
	movl %esi, rt_mb_magic
	movl %ebx, rt_mb_info
	movl $boot_stack_top, %esp

	/* PDs: 2048 entries of 2 MiB (4 GiB); the top GiB (MMIO) uncached. */
	movl $boot_pd, %edi
	xorl %ecx, %ecx
1:	movl %ecx, %eax
	shll $21, %eax
	orl $0x83, %eax            /* present, writable, 2 MiB page */
	cmpl $1536, %ecx
	jb 2f
	orl $0x18, %eax            /* PWT|PCD for 3..4 GiB (LAPIC, HPET, IOAPIC, virtio-mmio) */
2:	movl %eax, (%edi,%ecx,8)
	movl %ecx, %eax
	shrl $11, %eax
	movl %eax, 4(%edi,%ecx,8)
	incl %ecx
	cmpl $2048, %ecx
	jb 1b

	/* PDPT: four entries pointing at the four PDs. */
	movl $boot_pdpt, %edi
	xorl %ecx, %ecx
3:	movl %ecx, %eax
	shll $12, %eax
	addl $boot_pd, %eax
	orl $0x3, %eax
	movl %eax, (%edi,%ecx,8)
	movl $0, 4(%edi,%ecx,8)
	incl %ecx
	cmpl $4, %ecx
	jb 3b

	movl $boot_pdpt, %eax
	orl $0x3, %eax
	movl %eax, boot_pml4
	movl $0, boot_pml4 + 4

	movl %cr4, %eax
	orl $0x20, %eax            /* PAE */
	movl %eax, %cr4
	movl $boot_pml4, %eax
	movl %eax, %cr3
	movl $0xC0000080, %ecx     /* EFER */
	rdmsr
	orl $0x100, %eax           /* LME */
	wrmsr
	movl %cr0, %eax
	orl $0x80000001, %eax      /* PG | PE */
	movl %eax, %cr0
	lgdt gdt_ptr
	ljmp $0x08, $long_entry

	.code64
long_entry:
	movw $0x10, %ax
	movw %ax, %ds
	movw %ax, %es
	movw %ax, %ss
	xorw %ax, %ax
	movw %ax, %fs
	movw %ax, %gs
	movabsq $boot_stack_top, %rsp
	xorq %rbp, %rbp
	call rt_start
4:	cli
	hlt
	jmp 4b

/*
 * Interrupt/exception stubs: 256 entries of 16 bytes each, so the IDT can be
 * filled from isr_table + 16 * vector. Vectors without a CPU error code push 0.
 */
	.align 16
	.globl isr_table
isr_table:
	.set vec, 0
	.rept 256
	.align 16
	.if (vec == 8) || ((vec >= 10) && (vec <= 14)) || (vec == 17) || (vec == 21) || (vec == 29) || (vec == 30)
	.else
	pushq $0
	.endif
	pushq $vec
	jmp isr_common
	.set vec, vec + 1
	.endr

isr_common:
	pushq %rax
	pushq %rbx
	pushq %rcx
	pushq %rdx
	pushq %rsi
	pushq %rdi
	pushq %rbp
	pushq %r8
	pushq %r9
	pushq %r10
	pushq %r11
	pushq %r12
	pushq %r13
	pushq %r14
	pushq %r15
	movq %rsp, %rdi
	cld
	call rt_isr_dispatch
	popq %r15
	popq %r14
	popq %r13
	popq %r12
	popq %r11
	popq %r10
	popq %r9
	popq %r8
	popq %rbp
	popq %rdi
	popq %rsi
	popq %rdx
	popq %rcx
	popq %rbx
	popq %rax
	addq $16, %rsp
	iretq

	.section .rodata
	.align 16
gdt:
	.quad 0
	.quad 0x00AF9A000000FFFF   /* 0x08: 64-bit code */
	.quad 0x00CF92000000FFFF   /* 0x10: data */
	.quad 0x00CF9A000000FFFF   /* 0x18: 32-bit code (the APs' way from real mode to long mode) */
gdt_end:
gdt_ptr:
	.word gdt_end - gdt - 1
	.long gdt

/*
 * Application processors (guests/lib/smp.c). The real-mode trampoline below is copied to
 * SMP_TRAMPOLINE (0x8000, SIPI vector 0x08), so it uses only offsets from its own start with
 * DS = CS. It loads the shared GDT (its 32-bit base through an operand-size prefix) and jumps
 * straight into the image at 1 MiB in 32-bit protected mode; from there each AP takes the
 * same path to long mode as the BSP, on the BSP's page tables.
 */
	.section .text.boot, "ax"
	.code16
	.globl smp_trampoline, smp_trampoline_end
smp_trampoline:
	cli
	movw %cs, %ax
	movw %ax, %ds
	lgdtl (ap_gdt_ptr - smp_trampoline)
	movl %cr0, %eax
	orl $1, %eax               /* PE */
	movl %eax, %cr0
	ljmpl $0x18, $ap_entry32
ap_gdt_ptr:
	.word gdt_end - gdt - 1
	.long gdt
smp_trampoline_end:

	.code32
ap_entry32:
	movw $0x10, %ax
	movw %ax, %ds
	movw %ax, %es
	movw %ax, %ss
	movl %cr4, %eax
	orl $0x20, %eax            /* PAE */
	movl %eax, %cr4
	movl $boot_pml4, %eax
	movl %eax, %cr3
	movl $0xC0000080, %ecx     /* EFER */
	rdmsr
	orl $0x100, %eax           /* LME */
	wrmsr
	movl %cr0, %eax
	orl $0x80000001, %eax      /* PG | PE */
	movl %eax, %cr0
	ljmp $0x08, $ap_long_entry

	.code64
/*
 * Every AP finds its own index, and with it its stack, from its APIC ID (CPUID.1:EBX[31:24])
 * in smp_apic_ids[], so all APs can be started at once. An AP whose ID is not listed halts.
 */
ap_long_entry:
	movw $0x10, %ax
	movw %ax, %ds
	movw %ax, %es
	movw %ax, %ss
	xorw %ax, %ax
	movw %ax, %fs
	movw %ax, %gs
	movl $1, %eax
	cpuid
	shrl $24, %ebx
	xorl %ecx, %ecx
	movl smp_ncpus(%rip), %edx
	leaq smp_apic_ids(%rip), %rsi
5:	cmpl %edx, %ecx
	jae 7f
	cmpl (%rsi,%rcx,4), %ebx
	je 6f
	incl %ecx
	jmp 5b
6:	movl %ecx, %edi            /* smp_ap_main(index) */
	leaq 1(%rcx), %rax
	shlq $SMP_STACK_SHIFT, %rax
	leaq smp_stacks(%rip), %rsp
	addq %rax, %rsp
	xorq %rbp, %rbp
	call smp_ap_main
7:	cli
	hlt
	jmp 7b

	.section .bss
	.align 4096
boot_pml4:	.skip 4096
boot_pdpt:	.skip 4096
	.globl boot_pd
boot_pd:	.skip 4096 * 4
	.align 16
boot_stack:	.skip 16384
boot_stack_top:
