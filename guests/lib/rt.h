/* kvmbench micro-guest runtime: freestanding, no libc. See docs/protocol.md. */
#ifndef KVMB_RT_H
#define KVMB_RT_H

#include <stdarg.h>

typedef unsigned char u8;
typedef unsigned short u16;
typedef unsigned int u32;
typedef unsigned long u64;
typedef long s64;

#define KVMB_PROTO_VERSION 1
#define KVMB_PREFIX "KVMB1 "

/* isa-debug-exit (iobase 0xf4): QEMU exits with (code << 1) | 1. The codes: exit-codes.def. */
enum guest_exit {
#define GUEST_EXIT(name, code, meaning) EXIT_##name = code,
#include "exit-codes.def"
#undef GUEST_EXIT
};

/* --- port and MSR access --- */
static inline void outb(u16 port, u8 v) { __asm__ volatile("outb %0, %1" ::"a"(v), "Nd"(port)); }
static inline void outl(u16 port, u32 v) { __asm__ volatile("outl %0, %1" ::"a"(v), "Nd"(port)); }
static inline u8 inb(u16 port) { u8 v; __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port)); return v; }
static inline u32 inl(u16 port) { u32 v; __asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port)); return v; }
static inline u64 rdmsr(u32 msr) { u32 lo, hi; __asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr)); return ((u64)hi << 32) | lo; }
static inline void wrmsr(u32 msr, u64 v) { __asm__ volatile("wrmsr" ::"c"(msr), "a"((u32)v), "d"((u32)(v >> 32)) : "memory"); }
static inline u32 mmio_read32(u64 addr) { return *(volatile u32 *)addr; }
static inline void mmio_write32(u64 addr, u32 v) { *(volatile u32 *)addr = v; }

static inline void cpuid(u32 leaf, u32 sub, u32 *a, u32 *b, u32 *c, u32 *d) {
	__asm__ volatile("cpuid" : "=a"(*a), "=b"(*b), "=c"(*c), "=d"(*d) : "a"(leaf), "c"(sub));
}

/*
 * Serialized TSC read: lfence before rdtsc waits for earlier instructions to
 * complete, lfence after keeps later ones from starting before the read
 * (dispatch-serializing on Intel, and on AMD with the LFENCE-serializing MSR bit
 * every current kernel sets).
 */
static inline u64 rdtsc_serialized(void) {
	u32 lo, hi;
	__asm__ volatile("lfence\n\trdtsc\n\tlfence" : "=a"(lo), "=d"(hi)::"memory");
	return ((u64)hi << 32) | lo;
}

/* --- runtime state --- */
extern u64 rt_entry_tsc; /* TSC read by the first instruction after entry */
extern char rt_vendor[13];
extern u32 rt_max_leaf, rt_max_hv_leaf;

/* --- console and protocol --- */
void con_putc(char c);
void con_write(const char *s, u64 n);
int vsnfmt(char *buf, u64 size, const char *fmt, va_list ap);
int snfmt(char *buf, u64 size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* One line; callers add the `KVMB1 ` prefix themselves through proto(). */
void con_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* A protocol line: prints the prefix, the type, then `fmt` (key=value pairs). */
void proto(const char *type, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* --- arguments from the multiboot command line (QEMU -append) --- */
const char *arg_str(const char *key, char *buf, u64 size); /* NULL if absent */
u64 arg_u64(const char *key, u64 dflt); /* decimal or 0x hex */
int arg_present(const char *key);

/* --- TSC frequency: hz and where it came from --- */
struct tsc_freq { u64 hz; const char *source; };
/* pmtimer_port: ACPI PM timer I/O port, 0 if none. */
struct tsc_freq tsc_frequency(int allow_pit, u16 pmtimer_port);
/* TSC rate from 20 ms of the ACPI PM timer at `port`; 0 when the timer does not count. */
u64 pmtimer_tsc_hz(u16 port);

/* --- exceptions and interrupts --- */
struct isr_frame {
	u64 r15, r14, r13, r12, r11, r10, r9, r8, rbp, rdi, rsi, rdx, rcx, rbx, rax;
	u64 vector, error, rip, cs, rflags, rsp, ss;
};
typedef void (*irq_handler)(struct isr_frame *f);
void idt_init(void);
void idt_load(void); /* the shared IDT on this CPU (each AP loads it as it starts) */
void irq_set_handler(u8 vector, irq_handler h);
/*
 * Expected-fault support: while rt_fixup_rip is non-zero, a CPU exception
 * resumes there instead of failing the guest, and rt_fault_vector says which.
 */
extern volatile u64 rt_fixup_rip;
extern volatile int rt_fault_vector;

/* --- exit --- */
void __attribute__((noreturn)) rt_exit(int code);
void __attribute__((noreturn)) rt_spin_forever(void);

/* Provided by each guest. */
int guest_main(void);
extern const char guest_name[];

#endif
