/*
 * Exit tests on two or more vCPUs (docs/exits.md, "Several vCPUs"): an IPI from vCPU 0 to
 * vCPU 1 and back (`ipi`, `x2apic_ipi`), the same to a halted vCPU 1 (`ipi_halt`), and a TLB
 * shootdown to every other vCPU (`tlb_shootdown`). The receivers run on the APs (guests/lib/smp.c)
 * from `prepare` to the end of the boot, in the null loops as in the test loops, so whatever they
 * cost while idle cancels in test − null. Every iteration waits for its acknowledgement (the
 * receiver's handler count) for at most 1 s; the handlers' count is the delivery check.
 */
#include "exits.h"
#include "../lib/smp.h"

#define SMP_IPI_VECTOR 0xf2
#define SHOOT_VECTOR 0xf3

static volatile int receivers_stop;
/* ipi_halt: the interrupt count each AP had when it last went to halt (it halts right after). */
static volatile u64 halt_armed[SMP_MAX_CPUS];
/* ipi_halt: how often each AP came back from hlt, for the failure line. */
static volatile u64 halt_wakes[SMP_MAX_CPUS];

static void on_ipi(struct isr_frame *f) {
	(void)f;
	/*
	 * The delivery check's count first, then the acknowledgement the sender waits on (irqs): once
	 * the sender sees it, irq_count holds this interrupt. In the other order a receiver stopped
	 * between the two (preempted by its host) would let the sender's loop end and be checked one
	 * short.
	 */
	__atomic_add_fetch(&irq_count, 1, __ATOMIC_RELEASE);
	__atomic_store_n(&this_cpu()->irqs, this_cpu()->irqs + 1, __ATOMIC_RELEASE);
	lapic_eoi();
}

/* A 2 MiB page at 1 GiB (no RAM there, nothing touches it) whose mapping tlb_shootdown moves. */
#define SHOOT_VA 0x40000000ul
extern u64 boot_pd[];
static void on_shootdown(struct isr_frame *f) {
	(void)f;
	__asm__ volatile("invlpg (%0)" ::"r"(SHOOT_VA) : "memory");
	this_cpu()->irqs++;
	__atomic_add_fetch(&irq_count, 1, __ATOMIC_RELEASE);
	lapic_eoi();
}

static void receive_spinning(void *arg) {
	(void)arg;
	__asm__ volatile("sti" ::: "memory");
	while (!receivers_stop) __asm__ volatile("pause" ::: "memory");
	__asm__ volatile("cli" ::: "memory");
}

static void receive_halted(void *arg) {
	(void)arg;
	struct percpu *c = this_cpu();
	while (!receivers_stop) {
		halt_armed[c->index] = c->irqs;
		/* sti's one-instruction shadow: an interrupt arriving now still wakes the hlt. */
		__asm__ volatile("sti; hlt; cli" ::: "memory");
		halt_wakes[c->index]++;
	}
}

/*
 * How long one acknowledgement may take: `ack_ms=` from the host, else 1 s. A receiver can be
 * left unscheduled for a while where vCPUs outnumber host CPUs or run under TCG, so the host
 * lengthens it there (docs/exits.md, "Several vCPUs").
 */
static u64 ack_ticks;
static u64 ack_bound_ms;
static void set_ack_bound(void) {
	ack_bound_ms = arg_u64("ack_ms", 1000);
	ack_ticks = (tsc_hz ? tsc_hz : 2000000000ul) / 1000 * ack_bound_ms;
}

/*
 * An acknowledgement ran past its bound: wait up to 10 times as long again, so the failure line
 * says whether the interrupt was late (arrived_ms) or lost (never arrived), and what the receiver
 * last did. `done` tells whether the wait is over.
 */
static void __attribute__((noreturn)) overdue(const char *stage, u64 got, u64 want, u64 t0, int (*done)(void)) {
	u64 limit = ack_ticks * 11, t;
	while (!done() && (t = rdtsc_serialized() - t0) < limit) __asm__ volatile("pause" ::: "memory");
	t = rdtsc_serialized() - t0;
	u64 ms = tsc_hz ? t / (tsc_hz / 1000) : 0;
	proto("FAIL",
	      "test=%s reason=\"interrupts not delivered: %lu handled for %lu iterations (%s wait past %lu ms)\" delivered=%lu expected=%lu "
	      "window=bounded stage=%s bound_ms=%lu %s=%lu receiver_irqs=%lu receiver_armed=%lu receiver_wakes=%lu",
	      current_test(), got, want, stage, ack_bound_ms, got, want, stage, ack_bound_ms, done() ? "arrived_ms" : "given_up_ms", ms,
	      smp_cpus[1].irqs, halt_armed[1], halt_wakes[1]);
	rt_exit(EXIT_FAIL);
}

static volatile u64 *wait_v;
static u64 wait_before;
static int changed(void) { return *wait_v != wait_before; }
static int armed(void) { return halt_armed[1] == wait_before; }

/* Waits until *v differs from `before`; past the bound, iteration i fails the delivery check. */
static void await_change(volatile u64 *v, u64 before, u64 i) {
	u64 t0 = rdtsc_serialized();
	while (*v == before)
		if (rdtsc_serialized() - t0 > ack_ticks) {
			wait_v = v;
			wait_before = before;
			overdue("ack", i, i + 1, t0, changed);
		}
}

u64 __attribute__((noinline)) loop_ipi(u64 n) {
	struct percpu *t = &smp_cpus[1];
	for (u64 i = 0; i < n; i++) {
		u64 before = t->irqs;
		lapic_icr(t->apic_id, ICR_FIXED | ICR_ASSERT | SMP_IPI_VECTOR);
		await_change(&t->irqs, before, i);
	}
	return 0;
}

u64 __attribute__((noinline)) loop_ipi_halt(u64 n) {
	struct percpu *t = &smp_cpus[1];
	for (u64 i = 0; i < n; i++) {
		u64 before = t->irqs;
		/* Send only once vCPU 1 is about to halt: the IPI then wakes a halted vCPU, not a running one. */
		u64 t0 = rdtsc_serialized();
		while (halt_armed[1] != before)
			if (rdtsc_serialized() - t0 > ack_ticks) {
				wait_before = before;
				overdue("armed", i, i + 1, t0, armed);
			}
		lapic_icr(t->apic_id, ICR_FIXED | ICR_ASSERT | SMP_IPI_VECTOR);
		await_change(&t->irqs, before, i);
	}
	return 0;
}

static u64 shoot_before;
static int all_acked(void) { return irq_count - shoot_before >= smp_ncpus - 1; }

u64 __attribute__((noinline)) loop_tlb_shootdown(u64 n) {
	u64 targets = smp_ncpus - 1, pde = SHOOT_VA >> 21;
	for (u64 i = 0; i < n; i++) {
		u64 before = irq_count;
		/* Move the page between two frames, drop the local translation, then everyone else's. */
		boot_pd[pde] = ((SHOOT_VA + ((i & 1) << 21)) & ~0x1ffffful) | 0x83;
		__asm__ volatile("invlpg (%0)" ::"r"(SHOOT_VA) : "memory");
		lapic_icr(0, ICR_FIXED | ICR_ASSERT | ICR_ALL_BUT_SELF | SHOOT_VECTOR);
		u64 t0 = rdtsc_serialized();
		while (irq_count - before < targets)
			if (rdtsc_serialized() - t0 > ack_ticks) {
				shoot_before = before;
				overdue("ack", i * targets + (irq_count - before), (i + 1) * targets, t0, all_acked);
			}
	}
	return 0;
}

/* Starts `fn` on every AP; it runs until the guest ends. */
static int start_receivers(smp_fn fn, const char **reason) {
	for (u32 i = 1; i < smp_ncpus; i++) {
		if (smp_run_on(i, fn, 0, 1000)) { *reason = "an AP did not take its receiver function within 1 s"; return 1; }
	}
	return 0;
}

int prep_ipi(const char **reason) {
	if (smp_prepare(reason, 2)) return 1;
	set_ack_bound();
	irq_set_handler(SMP_IPI_VECTOR, on_ipi);
	return start_receivers(receive_spinning, reason);
}

int prep_ipi_halt(const char **reason) {
	if (smp_prepare(reason, 2)) return 1;
	set_ack_bound();
	irq_set_handler(SMP_IPI_VECTOR, on_ipi);
	for (u32 i = 0; i < SMP_MAX_CPUS; i++) halt_armed[i] = ~0ul;
	return start_receivers(receive_halted, reason);
}

int prep_smp_x2apic(const char **reason) {
	if (smp_prepare(reason, 2)) return 1;
	set_ack_bound();
	if (smp_use_x2apic()) { *reason = "x2APIC not offered (CPUID.1:ECX[21]=0), or an AP did not switch to it"; return 1; }
	irq_set_handler(SMP_IPI_VECTOR, on_ipi);
	return start_receivers(receive_spinning, reason);
}

int prep_tlb_shootdown(const char **reason) {
	if (smp_prepare(reason, 2)) return 1;
	set_ack_bound();
	irq_set_handler(SHOOT_VECTOR, on_shootdown);
	irq_per_iteration = smp_ncpus - 1;
	return start_receivers(receive_spinning, reason);
}
