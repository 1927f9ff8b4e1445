/**
 * The raw guests' layout and protocol, the same numbers as guests/raw/layout.h (which the
 * blobs and the C harness include); test/unit/kvm/layout.test.ts checks that they agree.
 */
export const RAW = {
  MEM_SIZE: 0x200000,
  LOAD_ADDR: 0x8000,
  PML4: 0x1000,
  PDPT: 0x2000,
  PD: 0x3000,
  GDT: 0x4000,
  MAILBOX: 0x5000,
  STACK_TOP: 0x100000,
  CTL_PORT: 0x510,
  PIO_PORT: 0x1234,
  REAL_PORT: 0x511,
  REAL_VALUE: 0x2b,
  MMIO_ADDR: 0x10000000,
} as const;

/** Mailbox fields: byte offsets from RAW.MAILBOX, 8 bytes each. */
export const MB = { CMD: 0, ITERS: 8, TICKS: 16, TSC_START: 24, TSC_END: 32, SEQ: 40 } as const;

/** Commands of the long-mode guest (guests/raw/long.S); each NULL_x is its test loop without the measured instruction. */
export const CMD = {
  EMPTY: 1,
  NULL_CPUID: 2,
  CPUID: 3,
  NULL_PIO: 4,
  PIO_IN: 5,
  NULL_MMIO: 6,
  MMIO_READ: 7,
  HALT: 8,
} as const;
export type RawCommand = keyof typeof CMD;

/** The blobs scripts/build-guests.mjs makes from guests/raw/*.S, by the CPU mode they start in. */
export const RAW_BLOBS = { real: 'raw-real.bin', long64: 'raw-long.bin' } as const;
export type RawMode = keyof typeof RAW_BLOBS;
/** The C exit loop (guests/raw/helper/kvmraw.c), built beside the blobs. */
export const RAW_HELPER = 'kvmraw.so';
