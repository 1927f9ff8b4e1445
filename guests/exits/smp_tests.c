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

static void on_ipi(struct isr_frame *f) {
	(void)f;
	this_cpu()->irqs++;
	__atomic_add_fetch(&irq_count, 1, __ATOMIC_RELEASE);
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
	}
}

/* 1 s: more vCPUs than host CPUs (TCG, a small host) can leave a receiver unscheduled for a while. */
static u64 ack_bound(void) { return tsc_hz ? tsc_hz : 2000000000ul; }

/* Waits until *v differs from `before`, 1 s at most; else iteration i fails the delivery check. */
static void await_change(volatile u64 *v, u64 before, u64 i) {
	u64 t0 = rdtsc_serialized(), bound = ack_bound();
	while (*v == before)
		if (rdtsc_serialized() - t0 > bound) undelivered(i, i + 1);
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
		u64 t0 = rdtsc_serialized(), bound = ack_bound();
		while (halt_armed[1] != before)
			if (rdtsc_serialized() - t0 > bound) undelivered(i, i + 1);
		lapic_icr(t->apic_id, ICR_FIXED | ICR_ASSERT | SMP_IPI_VECTOR);
		await_change(&t->irqs, before, i);
	}
	return 0;
}

u64 __attribute__((noinline)) loop_tlb_shootdown(u64 n) {
	u64 targets = smp_ncpus - 1, pde = SHOOT_VA >> 21;
	for (u64 i = 0; i < n; i++) {
		u64 before = irq_count;
		/* Move the page between two frames, drop the local translation, then everyone else's. */
		boot_pd[pde] = ((SHOOT_VA + ((i & 1) << 21)) & ~0x1ffffful) | 0x83;
		__asm__ volatile("invlpg (%0)" ::"r"(SHOOT_VA) : "memory");
		lapic_icr(0, ICR_FIXED | ICR_ASSERT | ICR_ALL_BUT_SELF | SHOOT_VECTOR);
		u64 t0 = rdtsc_serialized(), bound = ack_bound();
		while (irq_count - before < targets)
			if (rdtsc_serialized() - t0 > bound) undelivered(i * targets + (irq_count - before), (i + 1) * targets);
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
	irq_set_handler(SMP_IPI_VECTOR, on_ipi);
	return start_receivers(receive_spinning, reason);
}

int prep_ipi_halt(const char **reason) {
	if (smp_prepare(reason, 2)) return 1;
	irq_set_handler(SMP_IPI_VECTOR, on_ipi);
	for (u32 i = 0; i < SMP_MAX_CPUS; i++) halt_armed[i] = ~0ul;
	return start_receivers(receive_halted, reason);
}

int prep_smp_x2apic(const char **reason) {
	if (smp_prepare(reason, 2)) return 1;
	if (smp_use_x2apic()) { *reason = "x2APIC not offered (CPUID.1:ECX[21]=0), or an AP did not switch to it"; return 1; }
	irq_set_handler(SMP_IPI_VECTOR, on_ipi);
	return start_receivers(receive_spinning, reason);
}

int prep_tlb_shootdown(const char **reason) {
	if (smp_prepare(reason, 2)) return 1;
	irq_set_handler(SHOOT_VECTOR, on_shootdown);
	irq_per_iteration = smp_ncpus - 1;
	return start_receivers(receive_spinning, reason);
}
