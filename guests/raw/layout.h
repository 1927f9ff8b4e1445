/*
 * The raw guests' contract with kvmbench's own VMM (src/kvm/): where things are in guest
 * memory, which ports mean what, and the commands of the long-mode guest. Included by the
 * blobs (real.S, long.S) and the host helper (helper/kvmraw.c); src/kvm/layout.ts holds the
 * same numbers and test/unit/kvm/layout.test.ts checks they agree with this file.
 */
#ifndef RAW_LAYOUT_H
#define RAW_LAYOUT_H

/* Guest memory: one slot of 2 MiB at guest-physical 0, identity-mapped in long mode. */
#define RAW_MEM_SIZE      0x200000
/* Both blobs are linked and loaded here; the vCPU starts here. */
#define RAW_LOAD_ADDR     0x8000
/* Long mode: PML4, PDPT and PD (one 2 MiB page per entry over the first GiB), GDT. */
#define RAW_PML4          0x1000
#define RAW_PDPT          0x2000
#define RAW_PD            0x3000
#define RAW_GDT           0x4000
/* Mailbox: the host writes a command and an iteration count, the guest its TSC readings. */
#define RAW_MAILBOX       0x5000
#define RAW_STACK_TOP     0x100000

/* Mailbox fields (byte offsets, 8 bytes each). */
#define MB_CMD            0
#define MB_ITERS          8
#define MB_TICKS          16
#define MB_TSC_START      24
#define MB_TSC_END        32
#define MB_SEQ            40

/* Ports. The control port is the guest saying "done, ready for the next command"; the test
   port is the one kvm-unit-tests' inl_from_qemu reads (nothing decodes it: user space answers). */
#define RAW_CTL_PORT      0x510
#define RAW_PIO_PORT      0x1234
/* The real-mode guest writes RAW_REAL_VALUE (0x2a + 1, computed by the guest) to this port. */
#define RAW_REAL_PORT     0x511
#define RAW_REAL_VALUE    0x2b
/* Guest-physical address no memory slot backs: reads exit to user space as MMIO. */
#define RAW_MMIO_ADDR     0x10000000

/* Commands of the long-mode guest. Each NULL_x loop is its test loop without the measured
   instruction, so (test - null) / iterations is that instruction alone. */
#define CMD_EMPTY         1
#define CMD_NULL_CPUID    2
#define CMD_CPUID         3
#define CMD_NULL_PIO      4
#define CMD_PIO_IN        5
#define CMD_NULL_MMIO     6
#define CMD_MMIO_READ     7
#define CMD_HALT          8

#endif
