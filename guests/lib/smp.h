/*
 * Several vCPUs in the micro guests (docs/protocol.md, "Several vCPUs"): the application
 * processors' bring-up with INIT-SIPI-SIPI, their APIC IDs from the MADT, a per-CPU area
 * (GS base), a barrier and "run this on CPU n". Every wait has a deadline: a CPU that does not
 * answer in time is reported, never waited for forever.
 */
#ifndef KVMB_SMP_H
#define KVMB_SMP_H

#include "rt.h"

#define SMP_MAX_CPUS 32
#define SMP_STACK (1ul << 14) /* SMP_STACK_SHIFT in entry.S */
#define SMP_TRAMPOLINE 0x8000ul /* below 1 MiB, page-aligned: SIPI vector 0x08 */
#define LAPIC_BASE 0xfee00000ul

typedef void (*smp_fn)(void *arg);

/* One per CPU, reached through GS (this_cpu()); index 0 is the BSP. */
struct percpu {
	struct percpu *self; /* %gs:0 */
	u32 index, apic_id;
	volatile u32 online;
	/* "Run this on CPU n": the BSP posts (fn, arg) and bumps `posted`; the CPU runs it and sets `done`. */
	smp_fn volatile fn;
	void *volatile arg;
	volatile u64 posted, done;
	/* Interrupts this CPU's handlers counted (the tests' delivery checks). */
	volatile u64 irqs;
} __attribute__((aligned(64)));

extern struct percpu smp_cpus[SMP_MAX_CPUS];
extern u32 smp_ncpus;           /* CPUs known (BSP included); all online after smp_start() */
extern u32 smp_apic_ids[SMP_MAX_CPUS];
extern int smp_x2apic;          /* every CPU's LAPIC in x2APIC mode (smp_use_x2apic) */
extern u64 smp_tsc_hz;          /* the TSC rate deadlines are computed with; the guest sets it */

static inline struct percpu *this_cpu(void) {
	struct percpu *p;
	__asm__ volatile("movq %%gs:0, %0" : "=r"(p));
	return p;
}

/*
 * Finds the CPUs (the MADT's enabled local APICs; without a MADT, `cpus=N` from the host with
 * IDs 0..N-1) and starts every AP; waits at most `timeout_ms` for all of them. Returns the CPU
 * count, or 0 with *reason set. `no_sipi` (a test hook) sends INIT but no SIPI, so no AP starts.
 * *source says where the APIC IDs came from (`madt` or `cpus-arg`).
 */
u32 smp_start(u64 timeout_ms, const char **reason, const char **source);

/* Posts fn(arg) to CPU `cpu` (not 0) once it is idle; 0 when posted, -1 when it stayed busy past the deadline. */
int smp_run_on(u32 cpu, smp_fn fn, void *arg, u64 timeout_ms);
/* Waits until CPU `cpu` has finished what was posted to it; 0, or -1 past the deadline. */
int smp_wait_done(u32 cpu, u64 timeout_ms);

/* A barrier for `count` CPUs; reusable (sense-reversing). */
struct smp_barrier { volatile u32 arrived, sense; u32 count; };
void smp_barrier_init(struct smp_barrier *b, u32 count);
/* 0 when all arrived, -1 when the deadline passed first. `*sense` is the caller's own, starting at 0. */
int smp_barrier_wait(struct smp_barrier *b, u32 *sense, u64 timeout_ms);

/* LAPIC access in the mode every CPU is in. */
void lapic_enable_here(void); /* software-enable this CPU's LAPIC (spurious vector 0xff) */
void lapic_eoi(void);
/* ICR: in xAPIC mode the destination (ICR high) is written only when it changes. */
void lapic_icr(u32 dest_apic_id, u32 low);
/* Switches every online CPU to x2APIC mode; 0, or -1 when x2APIC is not offered. */
int smp_use_x2apic(void);

#define ICR_FIXED 0x0000u
#define ICR_INIT 0x0500u
#define ICR_STARTUP 0x0600u
#define ICR_ASSERT 0x4000u
#define ICR_BUSY 0x1000u
#define ICR_ALL_BUT_SELF (3u << 18)

/* Ticks from now to `ms` milliseconds ahead, with smp_tsc_hz. */
u64 smp_ms_ticks(u64 ms);

#endif
