/*
 * VM-exit latency tests, one test per boot (argument test=NAME). Names follow
 * kvm-unit-tests' x86/vmexit.c where they measure the same thing (docs/exits.md).
 *
 * Per sample: a serialized TSC read around N iterations of the null loop, then
 * around N iterations of the test loop; the host subtracts the first from the
 * second and divides by N. N doubles until one test loop lasts target_us (the
 * adaptive count, which also warms up), computed with the TSC frequency the
 * guest found.
 *
 * Exit accounting (`sync`): around every measured loop the guest prints a `phase`
 * line and waits for the host's acknowledgement byte on COM2 (0x2f8); the host reads
 * KVM's vCPU statistics between the two, so each loop's exits are counted by KVM
 * itself. Both phase lines of a sample have the same length, so the console's own
 * exits are the same in the null and the test window and cancel out. The host
 * answers the last phase of a sample with 'q' when it has enough samples (adaptive
 * sampling, `--precision`): `samples=N` is then a cap.
 *
 * Each test declares what it causes when the CPU runs it natively (`expect`): the
 * host checks KVM's counts against it. Interrupt tests check that every interrupt
 * was delivered (the handler count rises by exactly the iteration count).
 *
 * Arguments:
 *   test=NAME samples=N target_us=U  [min_iters=N] [pmtimer=PORT] [sync] [hist=N]
 *   [cpus=N] [parallel] [ack_ms=MS: the IPI acknowledgement bound of smp_tests.c, 1000 when absent]
 *   [spin: hang on purpose] [mask_irq: block the test's interrupt, which must fail it]
 */
#include "exits.h"
#include "../lib/smp.h"

const char guest_name[] = "exits";

static int is_amd(void) {
	return rt_vendor[0] == 'A' || rt_vendor[0] == 'H'; /* AuthenticAMD, HygonGenuine */
}

u64 tsc_hz;

/* ------------------------------------------------------------------ loops */
/* Each returns what a wake-up loop reports (its latency sum); the others return 0 and are timed whole. */

static u64 __attribute__((noinline)) loop_null(u64 n) {
	for (u64 i = 0; i < n; i++) __asm__ volatile("" ::: "memory");
	return 0;
}

static u64 __attribute__((noinline)) loop_cpuid(u64 n) {
	for (u64 i = 0; i < n; i++) {
		u32 a = 0, b, c = 0, d;
		__asm__ volatile("cpuid" : "+a"(a), "=b"(b), "+c"(c), "=d"(d)::"memory");
	}
	return 0;
}

static u64 __attribute__((noinline)) loop_vmcall(u64 n) {
	for (u64 i = 0; i < n; i++) {
		u64 ax = 0xffffffff; /* no such hypercall: KVM answers -KVM_ENOSYS at once */
		__asm__ volatile("vmcall" : "+a"(ax)::"rbx", "rcx", "rdx", "rsi", "memory");
	}
	return 0;
}

static u64 __attribute__((noinline)) loop_vmmcall(u64 n) {
	for (u64 i = 0; i < n; i++) {
		u64 ax = 0xffffffff;
		__asm__ volatile("vmmcall" : "+a"(ax)::"rbx", "rcx", "rdx", "rsi", "memory");
	}
	return 0;
}

static u64 __attribute__((noinline)) loop_mov_from_cr8(u64 n) {
	for (u64 i = 0; i < n; i++) {
		u64 v;
		__asm__ volatile("mov %%cr8, %0" : "=r"(v)::"memory");
	}
	return 0;
}

static u64 __attribute__((noinline)) loop_mov_to_cr8(u64 n) {
	for (u64 i = 0; i < n; i++) __asm__ volatile("mov %0, %%cr8" ::"r"(0ul) : "memory");
	return 0;
}

static u16 pmtimer_port;
static u64 __attribute__((noinline)) loop_inl_pmtimer(u64 n) {
	for (u64 i = 0; i < n; i++) (void)inl(pmtimer_port);
	return 0;
}

/* An unassigned port: KVM has no handler, so every access goes out to QEMU. */
#define QEMU_UNASSIGNED_PORT 0x1234
static u64 __attribute__((noinline)) loop_inl_qemu(u64 n) {
	for (u64 i = 0; i < n; i++) (void)inl(QEMU_UNASSIGNED_PORT);
	return 0;
}

/* ELCR of the in-kernel PIC (KVM's i8259 owns 0x4d0/0x4d1). */
#define ELCR_PORT 0x4d0
static u64 __attribute__((noinline)) loop_inl_kernel(u64 n) {
	for (u64 i = 0; i < n; i++) (void)inb(ELCR_PORT);
	return 0;
}

static u8 elcr_value;
static u64 __attribute__((noinline)) loop_outl_kernel(u64 n) {
	/* Writing back the value read keeps the PIC's trigger modes as they were. */
	for (u64 i = 0; i < n; i++) outb(ELCR_PORT, elcr_value);
	return 0;
}

#define HPET_BASE 0xfed00000ul
static u64 __attribute__((noinline)) loop_mmio_hpet(u64 n) {
	for (u64 i = 0; i < n; i++) (void)mmio_read32(HPET_BASE + 0xf0);
	return 0;
}

static u64 __attribute__((noinline)) loop_mov_dr(u64 n) {
	for (u64 i = 0; i < n; i++) __asm__ volatile("mov %0, %%dr7" ::"r"(0x400ul) : "memory");
	return 0;
}

#define MSR_TSC_ADJUST 0x3b
#define MSR_KERNEL_GS_BASE 0xc0000102
#define MSR_TSC_DEADLINE 0x6e0
static u64 __attribute__((noinline)) loop_rd_tsc_adjust(u64 n) {
	for (u64 i = 0; i < n; i++) (void)rdmsr(MSR_TSC_ADJUST);
	return 0;
}

static u64 tsc_adjust_value;
static u64 __attribute__((noinline)) loop_wr_tsc_adjust(u64 n) {
	/* Writing back the value read keeps the guest TSC where it is. */
	for (u64 i = 0; i < n; i++) wrmsr(MSR_TSC_ADJUST, tsc_adjust_value);
	return 0;
}

static u64 __attribute__((noinline)) loop_wr_kernel_gs_base(u64 n) {
	for (u64 i = 0; i < n; i++) wrmsr(MSR_KERNEL_GS_BASE, 0);
	return 0;
}

/* ---- interrupts: x2APIC self-IPI and the LAPIC timer ---- */
#define IPI_VECTOR 0xf0
#define TIMER_VECTOR 0xf1
#define X2APIC_EOI 0x80b
#define X2APIC_SVR 0x80f
#define X2APIC_ICR 0x830
#define X2APIC_LVT_TIMER 0x832
#define LAPIC_LVT_TIMER 0x320
#define LAPIC_TIMER_INIT 0x380
#define LAPIC_TIMER_CUR 0x390
#define LAPIC_TIMER_DIV 0x3e0
#define LVT_MASKED (1u << 16)
#define LVT_TSC_DEADLINE (2u << 17)
volatile u64 irq_count;
u64 irq_per_iteration = 1;
static volatile u64 wake_tsc;
struct test;
static const struct test *cur;
static int use_x2apic;

static void eoi(void) {
	if (use_x2apic) wrmsr(X2APIC_EOI, 0);
	else mmio_write32(LAPIC_BASE + 0xb0, 0);
}

static void count_irq(struct isr_frame *f) {
	(void)f;
	wake_tsc = rdtsc_serialized();
	irq_count++;
	eoi();
}

static u64 __attribute__((noinline)) loop_self_ipi_sti_nop(u64 n) {
	for (u64 i = 0; i < n; i++) {
		/* fixed delivery, assert, self shorthand */
		wrmsr(X2APIC_ICR, (1u << 18) | (1u << 14) | IPI_VECTOR);
		__asm__ volatile("sti; nop; cli" ::: "memory");
	}
	return 0;
}


/*
 * Waits with interrupts enabled until the handler count passes `before`; 100 ms at most. A
 * loaded host can leave the vCPU thread unscheduled for more than 10 ms, which a tighter
 * bound took for an interrupt KVM never delivered.
 */
static void wait_irq(u64 before) {
	u64 t0 = rdtsc_serialized(), bound = (tsc_hz ? tsc_hz : 2000000000ul) / 10;
	__asm__ volatile("sti" ::: "memory");
	while (irq_count == before && rdtsc_serialized() - t0 < bound) __asm__ volatile("pause" ::: "memory");
	__asm__ volatile("cli" ::: "memory");
	if (irq_count == before) undelivered(0, 1);
}

static u64 __attribute__((noinline)) loop_tscdeadline_immed(u64 n) {
	for (u64 i = 0; i < n; i++) {
		/* A deadline already passed: the timer fires at once (kvm-unit-tests runs it with IF=1). */
		u64 before = irq_count;
		wrmsr(MSR_TSC_DEADLINE, rdtsc_serialized());
		wait_irq(before);
	}
	return 0;
}

/*
 * hlt_lapic_timer: the timer is armed to fire `wake_delay` ticks in the future, the vCPU
 * halts, and the figure is the time from the programmed expiry to the handler's first
 * instruction: how late a halted vCPU wakes (KVM's timer emulation, halt polling or the
 * host scheduler, interrupt injection, VM entry). The null loop does not apply (base 0).
 */
static int timer_tscdl;
static u64 apic_per_tsc_q32; /* APIC timer ticks per TSC tick, 32.32 fixed point (count mode) */
static u64 wake_delay;
static u64 wake_early; /* iterations redone because the timer was already due before hlt */
static u64 irq_extra;  /* interrupts of redone iterations, for the delivery count */

static void timer_arm(u64 deadline) {
	if (timer_tscdl) {
		wrmsr(MSR_TSC_DEADLINE, deadline);
		return;
	}
	u64 now = rdtsc_serialized();
	u64 dt = deadline > now ? deadline - now : 1;
	u64 count = (dt * apic_per_tsc_q32) >> 32;
	mmio_write32(LAPIC_BASE + LAPIC_TIMER_INIT, count ? (u32)count : 1);
}

static int timer_masked(void) {
	return (mmio_read32(LAPIC_BASE + LAPIC_LVT_TIMER) & LVT_MASKED) != 0;
}

static u64 __attribute__((noinline)) loop_hlt_lapic_timer(u64 n) {
	u64 total = 0;
	for (u64 i = 0; i < n; i++) {
		u64 before = irq_count;
		u64 deadline = rdtsc_serialized() + wake_delay;
		timer_arm(deadline);
		/* hlt waits for the armed timer: make sure it can fire, or the guest would halt forever. */
		if (timer_masked()) {
			proto("FAIL", "test=hlt_lapic_timer reason=\"the LAPIC timer is masked: hlt would never wake\" lvt_timer=0x%x",
			      mmio_read32(LAPIC_BASE + LAPIC_LVT_TIMER));
			rt_exit(EXIT_FAIL);
		}
		u64 pre = rdtsc_serialized();
		while (irq_count == before) __asm__ volatile("sti; hlt; cli" ::: "memory");
		if (pre >= deadline) {
			/* Due before the vCPU halted: not a wake from hlt. Redo it with twice the delay (1 ms at most). */
			wake_early++;
			irq_extra++;
			if (wake_delay < (tsc_hz ? tsc_hz : 2000000000ul) / 1000) wake_delay *= 2;
			i--;
			continue;
		}
		total += wake_tsc > deadline ? wake_tsc - deadline : 0;
	}
	return total;
}

/* ------------------------------------------------------------ the tests */

/* One row of tests.def, the list of tests (its header explains the columns). */
enum figure { FIG_exit, FIG_cost, FIG_wake };

struct test {
	const char *name;
	loop_fn loop;
	/* Returns 0 when supported, else sets *reason. */
	int (*prepare)(const char **reason);
	const char *what; /* shown in the log and the results: what one iteration does */
	/*
	 * What one iteration causes when the CPU runs it natively under KVM, as KVM counts it
	 * (query-stats names, per iteration, `lo-hi` for a range). The host judges the counts.
	 */
	const char *expect;
	enum figure figure; /* exit: an exit's latency; cost: no exit needed; wake: timer wake-up */
	const char *figure_name;
	int irq;            /* one interrupt per iteration must be delivered */
	int hist;           /* long enough to time iteration by iteration */
	int cpus;           /* vCPUs the test needs */
	int parallel;       /* may run on every vCPU at once (`parallel`) */
};

/* Executes one instruction under a fault fixup; returns the exception vector or -1. */
#define PROBE(asm_insn, ...)                                                                    \
	({                                                                                      \
		rt_fault_vector = -1;                                                           \
		__asm__ volatile("lea 1f(%%rip), %%r11\n\tmov %%r11, rt_fixup_rip(%%rip)\n\t" asm_insn \
				 "\n1:\n\tmovq $0, rt_fixup_rip(%%rip)" __VA_ARGS__);            \
		rt_fault_vector;                                                                \
	})

static int prep_none(const char **reason) { (void)reason; return 0; }

static int prep_vmcall(const char **reason) {
	u64 ax = 0xffffffff;
	int v = is_amd() ? PROBE("vmmcall", : "+a"(ax)::"r11", "rbx", "rcx", "rdx", "rsi", "memory")
			 : PROBE("vmcall", : "+a"(ax)::"r11", "rbx", "rcx", "rdx", "rsi", "memory");
	if (v >= 0) {
		*reason = v == 6 ? "vmcall/vmmcall raised #UD: no hypervisor handles hypercalls here (TCG does not)"
				 : "vmcall/vmmcall raised an exception";
		return 1;
	}
	return 0;
}

static int prep_pmtimer(const char **reason) {
	pmtimer_port = (u16)arg_u64("pmtimer", 0);
	if (!pmtimer_port) { *reason = "no ACPI PM timer port on this machine type"; return 1; }
	/* A live 24-bit PM timer counts; an absent one reads a constant. */
	u32 a = inl(pmtimer_port) & 0xffffff;
	for (int i = 0; i < 100000; i++)
		if ((inl(pmtimer_port) & 0xffffff) != a) return 0;
	*reason = "the ACPI PM timer does not count at the given port";
	return 1;
}

static int prep_kernel_port(const char **reason) {
	if (arg_present("nopic")) { *reason = "no PIC on this machine type (ELCR port 0x4d0 absent)"; return 1; }
	elcr_value = inb(ELCR_PORT);
	return 0;
}

static int prep_hpet(const char **reason) {
	u32 cap = mmio_read32(HPET_BASE);
	if (cap == 0xffffffff || cap == 0) { *reason = "no HPET at 0xfed00000 on this machine type"; return 1; }
	/* Start the main counter so reads are real register reads of a running device. */
	mmio_write32(HPET_BASE + 0x10, mmio_read32(HPET_BASE + 0x10) | 1);
	return 0;
}

static int prep_rd_tsc_adjust(const char **reason) {
	u32 lo, hi;
	int v = PROBE("rdmsr", : "=a"(lo), "=d"(hi) : "c"(MSR_TSC_ADJUST) : "r11", "memory");
	if (v >= 0) { *reason = "rdmsr IA32_TSC_ADJUST (0x3b) faults: MSR not offered by this CPU model"; return 1; }
	tsc_adjust_value = ((u64)hi << 32) | lo;
	return 0;
}

static int prep_wr_tsc_adjust(const char **reason) {
	if (prep_rd_tsc_adjust(reason)) return 1;
	u32 lo = (u32)tsc_adjust_value, hi = (u32)(tsc_adjust_value >> 32);
	int v = PROBE("wrmsr", : : "c"(MSR_TSC_ADJUST), "a"(lo), "d"(hi) : "r11", "memory");
	if (v >= 0) { *reason = "wrmsr IA32_TSC_ADJUST (0x3b) faults"; return 1; }
	return 0;
}

static int prep_kernel_gs_base(const char **reason) {
	int v = PROBE("wrmsr", : : "c"(MSR_KERNEL_GS_BASE), "a"(0), "d"(0) : "r11", "memory");
	if (v >= 0) { *reason = "wrmsr IA32_KERNEL_GS_BASE faults"; return 1; }
	return 0;
}

/* `mask_irq` (harness tests): block the test's interrupt, so delivery checks must fail. */
static void maybe_block_irq(void) {
	if (arg_present("mask_irq")) __asm__ volatile("mov %0, %%cr8" ::"r"(15ul) : "memory");
}

static int prep_x2apic_ipi(const char **reason) {
	u32 a, b, c, d;
	cpuid(1, 0, &a, &b, &c, &d);
	if (!(c & (1u << 21))) { *reason = "x2APIC not offered (CPUID.1:ECX[21]=0)"; return 1; }
	wrmsr(0x1b, rdmsr(0x1b) | (1u << 11) | (1u << 10)); /* xAPIC then x2APIC enable */
	wrmsr(X2APIC_SVR, 0x1ff);
	use_x2apic = 1;
	irq_set_handler(IPI_VECTOR, count_irq);
	maybe_block_irq();
	return 0;
}

static int has_tsc_deadline(void) {
	u32 a, b, c, d;
	cpuid(1, 0, &a, &b, &c, &d);
	return (c & (1u << 24)) != 0;
}

static int lapic_enable(const char **reason) {
	u32 a, b, c, d;
	cpuid(1, 0, &a, &b, &c, &d);
	if (!(d & (1u << 9))) { *reason = "no local APIC (CPUID.1:EDX[9]=0)"; return 1; }
	if ((rdmsr(0x1b) & ~0xffful) != LAPIC_BASE) { *reason = "local APIC not at 0xfee00000"; return 1; }
	mmio_write32(LAPIC_BASE + 0xf0, 0x1ff); /* software enable, spurious vector 0xff */
	irq_set_handler(TIMER_VECTOR, count_irq);
	return 0;
}

static int prep_tscdeadline(const char **reason) {
	if (lapic_enable(reason)) return 1;
	if (!has_tsc_deadline()) { *reason = "no TSC-deadline timer (CPUID.1:ECX[24]=0)"; return 1; }
	mmio_write32(LAPIC_BASE + LAPIC_LVT_TIMER, LVT_TSC_DEADLINE | TIMER_VECTOR);
	maybe_block_irq();
	return 0;
}

static int prep_lapic_timer(const char **reason) {
	if (lapic_enable(reason)) return 1;
	timer_tscdl = has_tsc_deadline();
	if (timer_tscdl) {
		mmio_write32(LAPIC_BASE + LAPIC_LVT_TIMER, LVT_TSC_DEADLINE | TIMER_VECTOR);
	} else {
		/* One-shot count mode: learn the APIC timer's rate against the TSC over about 1 ms. */
		mmio_write32(LAPIC_BASE + LAPIC_TIMER_DIV, 0xb); /* divide by 1 */
		mmio_write32(LAPIC_BASE + LAPIC_LVT_TIMER, LVT_MASKED | TIMER_VECTOR);
		mmio_write32(LAPIC_BASE + LAPIC_TIMER_INIT, 0xffffffff);
		u64 t0 = rdtsc_serialized(), span = tsc_hz ? tsc_hz / 1000 : 2000000;
		while (rdtsc_serialized() - t0 < span) {}
		u32 cur = mmio_read32(LAPIC_BASE + LAPIC_TIMER_CUR);
		u64 t1 = rdtsc_serialized();
		mmio_write32(LAPIC_BASE + LAPIC_TIMER_INIT, 0);
		u64 ticks = 0xffffffffu - cur;
		if (!ticks) { *reason = "the LAPIC timer does not count"; return 1; }
		apic_per_tsc_q32 = (ticks << 32) / (t1 - t0);
		mmio_write32(LAPIC_BASE + LAPIC_LVT_TIMER, TIMER_VECTOR); /* one-shot, unmasked */
	}
	/* Long enough that the vCPU is halted before the timer fires (50 µs; 200k ticks if the rate is unknown). */
	wake_delay = tsc_hz ? tsc_hz / 20000 : 200000;
	if (arg_present("mask_irq")) mmio_write32(LAPIC_BASE + LAPIC_LVT_TIMER, mmio_read32(LAPIC_BASE + LAPIC_LVT_TIMER) | LVT_MASKED);
	return 0;
}

/* How long the APs may take to start: far more than KVM or TCG need, well inside a case's deadline. */
#define SMP_START_MS 2000
static u32 smp_started;

/*
 * Brings up every vCPU the VM has (once) for a test that needs `need` of them, or for
 * `parallel`. A VM with fewer vCPUs is a SKIP; an AP that does not start ends the guest at
 * once as an error (`smp=ap-not-started`), never as a hang.
 */
int smp_prepare(const char **reason, u32 need) {
	if (!smp_started) {
		const char *why = "", *source = "";
		smp_tsc_hz = tsc_hz ? tsc_hz : 3000000000ul;
		u64 t0 = rdtsc_serialized();
		u32 n = smp_start(SMP_START_MS, &why, &source);
		u64 took = rdtsc_serialized() - t0;
		if (!n) {
			proto("FAIL", "test=%s reason=\"%s\" smp=ap-not-started", cur->name, why);
			rt_exit(EXIT_CRASH);
		}
		char ids[160];
		u64 len = 0;
		ids[0] = 0;
		for (u32 i = 0; i < n && len + 12 < sizeof ids; i++) len += (u64)snfmt(ids + len, sizeof ids - len, "%s%u", i ? "," : "", smp_apic_ids[i]);
		proto("smp", "cpus=%u apic_ids=%s source=%s bringup_ticks=%lu", n, ids, source, took);
		smp_started = n;
	}
	if (smp_started < need) {
		static char why[120];
		snfmt(why, sizeof why, "%s needs %u vCPUs, this VM has %u (give the case vcpus: %u)", cur->name, need, smp_started, need);
		*reason = why;
		return 1;
	}
	return 0;
}

static const struct test tests[] = {
#define EXIT_TEST(name, loop, prepare, figure, irq, hist, cpus, parallel, expect, tags, what) \
	{ #name, loop, prepare, what, expect, FIG_##figure, #figure, irq, hist, cpus, parallel },
#include "tests.def"
#undef EXIT_TEST
};

/* ------------------------------------------------------ measuring and sync */

static u64 irq_expected;

const char *current_test(void) { return cur->name; }

void undelivered(u64 got, u64 want) {
	/* window: how long the interrupt had to arrive (a one-instruction sti window, or a bounded wait with IF=1). */
	/* More than were sent is its own finding: an interrupt delivered twice (the layers below, not the test). */
	proto("FAIL", "test=%s reason=\"%s: %lu handled for %lu iterations\" delivered=%lu expected=%lu window=%s", cur->name,
	      got > want ? "more interrupts handled than were sent (one delivered twice)" : "interrupts not delivered", got, want, got,
	      want, cur->loop == loop_self_ipi_sti_nop ? "sti-nop" : "bounded");
	rt_exit(EXIT_FAIL);
}

static u64 last_wall; /* ticks the last measured loop took, whatever figure it reported */

static u64 measure(loop_fn fn, u64 n) {
	u64 irq0 = irq_count, extra0 = irq_extra;
	u64 t0 = rdtsc_serialized();
	u64 r = fn(n);
	u64 t1 = rdtsc_serialized();
	last_wall = t1 - t0;
	if (fn != loop_null && cur->irq) {
		u64 got = irq_count - irq0, want = n * irq_per_iteration + (irq_extra - extra0);
		if (got != want) undelivered(got, want);
		irq_expected += want;
	}
	/* A wake-up loop reports its latency sum; every other loop is timed as a whole. */
	return fn != loop_null && cur->figure == FIG_wake ? r : t1 - t0;
}

#define COM2 0x2f8
/* The acknowledgement that ends sampling after this sample (any other byte goes on). */
#define ACK_LAST 'q'
static int sync_on;

/*
 * A phase line, then the host's acknowledgement byte on COM2. Every phase line of a test has
 * the same length (fixed-width numbers), so each window between two acknowledgements holds the
 * same console exits whatever the figures. The wait polls every ~200 µs (few exits while the
 * host reads KVM's statistics) and gives up after 10 s.
 */
static int host_sync(const char *loop, u64 i, u64 ticks) {
	if (!sync_on) return 0;
	proto("phase", "test=%s i=%06lu loop=%s ticks=%020lu", cur->name, i, loop, ticks);
	u64 hz = tsc_hz ? tsc_hz : 2000000000ul;
	u64 t0 = rdtsc_serialized(), gap = hz / 5000;
	for (;;) {
		if (inb(COM2 + 5) & 1) return inb(COM2);
		u64 t = rdtsc_serialized();
		if (t - t0 > hz * 10) {
			proto("FAIL", "test=%s reason=\"the host did not acknowledge phase %s of sample %lu within 10 s\"", cur->name, loop, i);
			rt_exit(EXIT_FAIL);
		}
		while (rdtsc_serialized() - t < gap) __asm__ volatile("pause");
	}
}

/*
 * Individually timed iterations, four bins per power of two: value v (ticks, minus the cost
 * of timing an empty call) with 2^e <= v < 2^(e+1) goes to bin 4e + q, where q is the two bits
 * below the leading one, i.e. [2^e (1 + q/4), 2^e (1 + (q+1)/4)). The host turns the bins into
 * p50/p99/p99.9 (docs/exits.md).
 */
#define HIST_BINS 160
static u32 hist[HIST_BINS];

static int qlog2(u64 v) {
	if (!v) return 0;
	int e = 63 - __builtin_clzl(v);
	/* Two bits below the leading one give the quarter. */
	u64 frac = e >= 2 ? (v >> (e - 2)) & 3 : (v << (2 - e)) & 3;
	return e * 4 + (int)frac;
}

static void histogram(loop_fn fn, u64 count) {
	/* The cost of timing one call of an empty loop: TSC reads, call, one loop turn. */
	u64 overhead = ~0ul;
	for (int i = 0; i < 64; i++) {
		u64 a = rdtsc_serialized();
		loop_null(1);
		u64 b = rdtsc_serialized();
		if (b - a < overhead) overhead = b - a;
	}
	for (u64 i = 0; i < count; i++) {
		u64 a = rdtsc_serialized();
		fn(1);
		u64 b = rdtsc_serialized();
		u64 v = b - a > overhead ? b - a - overhead : 0;
		int bin = qlog2(v);
		hist[bin < HIST_BINS ? bin : HIST_BINS - 1]++;
	}
	char buf[440]; /* the line stays under 512 bytes; about 50 bins fit */
	u64 len = 0;
	for (int b = 0; b < HIST_BINS && len + 16 < sizeof buf; b++) {
		if (!hist[b]) continue;
		len += (u64)snfmt(buf + len, sizeof buf - len, "%s%d:%u", len ? "," : "", b, hist[b]);
	}
	proto("hist", "test=%s n=%lu overhead=%lu bins=%s", cur->name, count, overhead, buf);
}

/* ------------------------------------------------------------------- main */

#define MAX_SAMPLES 1000
static u64 sample_ticks[MAX_SAMPLES], sample_base[MAX_SAMPLES];
/* Iterations a sample's test loop redid (hlt_lapic_timer: the timer was due before hlt): each is a whole extra attempt. */
static u64 sample_extra[MAX_SAMPLES];

/*
 * `parallel`: the test loop on every vCPU at once (kvm-unit-tests' `parallel`). vCPU 0 chose N
 * alone; then per sample every vCPU runs the null loop, meets the others at a barrier, vCPU 0
 * prints the phase line (the host reads every vCPU's counters), they meet again, run the test
 * loop, and so on. Each vCPU keeps its own figures, printed as `vsample` lines at the end.
 */
#define PAR_BARRIER_MS 30000 /* longer than the host's 10 s acknowledgement bound */
static struct smp_barrier par_bar;
static loop_fn par_loop;
static u64 par_n, par_samples;
static u64 par_ticks[SMP_MAX_CPUS][MAX_SAMPLES], par_base[SMP_MAX_CPUS][MAX_SAMPLES];

static u64 timed(loop_fn fn, u64 n) {
	u64 t0 = rdtsc_serialized();
	fn(n);
	return rdtsc_serialized() - t0;
}

static void par_worker(void *arg) {
	(void)arg;
	u32 me = this_cpu()->index, sense = 0;
	for (u64 i = 0; i < par_samples; i++) {
		if (smp_barrier_wait(&par_bar, &sense, PAR_BARRIER_MS)) return;
		par_base[me][i] = timed(loop_null, par_n);
		if (smp_barrier_wait(&par_bar, &sense, PAR_BARRIER_MS)) return;
		if (smp_barrier_wait(&par_bar, &sense, PAR_BARRIER_MS)) return; /* vCPU 0's phase line is out */
		par_ticks[me][i] = timed(par_loop, par_n);
		if (smp_barrier_wait(&par_bar, &sense, PAR_BARRIER_MS)) return;
	}
}

static int host_sync(const char *loop, u64 i, u64 ticks);

static void par_meet(u32 *sense) {
	if (!smp_barrier_wait(&par_bar, sense, PAR_BARRIER_MS)) return;
	proto("FAIL", "test=%s reason=\"a vCPU did not reach the parallel barrier within %u s\"", cur->name, PAR_BARRIER_MS / 1000);
	rt_exit(EXIT_FAIL);
}

static void run_parallel(loop_fn loop, u64 n, u64 samples) {
	par_loop = loop;
	par_n = n;
	par_samples = samples;
	smp_barrier_init(&par_bar, smp_ncpus);
	for (u32 c = 1; c < smp_ncpus; c++) {
		if (smp_run_on(c, par_worker, 0, 1000)) {
			proto("FAIL", "test=%s reason=\"vCPU %u did not take the parallel loop within 1 s\"", cur->name, c);
			rt_exit(EXIT_FAIL);
		}
	}
	u32 sense = 0;
	host_sync("init", 0, 0);
	for (u64 i = 0; i < samples; i++) {
		par_meet(&sense);
		par_base[0][i] = timed(loop_null, n);
		par_meet(&sense);
		host_sync("null", i, par_base[0][i]);
		par_meet(&sense);
		par_ticks[0][i] = timed(loop, n);
		par_meet(&sense);
		host_sync("test", i, par_ticks[0][i]);
	}
	for (u64 i = 0; i < samples; i++) {
		sample_ticks[i] = par_ticks[0][i];
		sample_base[i] = par_base[0][i];
	}
}

/* Every TSC rate the guest can read, so the host can cross-check the one used (0: not offered). */
static void report_tsc_sources(u16 pm) {
	u32 a, b, c, d;
	u64 leaf = 0, c15 = 0, c16 = 0;
	if (rt_max_hv_leaf >= 0x40000010) { cpuid(0x40000010, 0, &a, &b, &c, &d); leaf = (u64)a * 1000; }
	if (rt_max_leaf >= 0x15) { cpuid(0x15, 0, &a, &b, &c, &d); if (a && b && c) c15 = (u64)c * b / a; }
	if (rt_max_leaf >= 0x16) { cpuid(0x16, 0, &a, &b, &c, &d); c16 = (u64)(a & 0xffff) * 1000000; }
	proto("tsc-sources", "cpuid_40000010=%lu cpuid_15=%lu cpuid_16=%lu pmtimer=%lu", leaf, c15, c16, pm ? pmtimer_tsc_hz(pm) : 0);
}

int guest_main(void) {
	char name[40];
	if (!arg_str("test", name, sizeof name)) {
		proto("FAIL", "reason=\"no test= argument\"");
		return EXIT_FAIL;
	}
	const struct test *t = 0;
	for (u64 i = 0; i < sizeof tests / sizeof tests[0]; i++) {
		const char *a = tests[i].name, *b = name;
		while (*a && *a == *b) { a++; b++; }
		if (!*a && !*b) t = &tests[i];
	}
	if (!t) {
		proto("FAIL", "test=%s reason=\"unknown test\"", name);
		return EXIT_FAIL;
	}
	cur = t;

	u32 a, b, c, d;
	cpuid(1, 0, &a, &b, &c, &d);
	u32 family = (a >> 8) & 0xf, model = (a >> 4) & 0xf;
	if (family == 0xf) family += (a >> 20) & 0xff;
	if (family >= 6) model |= ((a >> 16) & 0xf) << 4;
	char hv[13] = "none";
	if (rt_max_hv_leaf) {
		u32 h[3];
		cpuid(0x40000000, 0, &a, &h[0], &h[1], &h[2]);
		for (int i = 0; i < 12; i++) hv[i] = (char)((h[i / 4] >> (8 * (i % 4))) & 0xff);
		hv[12] = 0;
		for (int i = 0; i < 12; i++) if (hv[i] < 0x21 || hv[i] > 0x7e) hv[i] = '_';
	}
	proto("cpu", "vendor=%s family=%u model=%u max_leaf=0x%x hypervisor=%s hv_max_leaf=0x%x", rt_vendor, family,
	      model, rt_max_leaf, hv, rt_max_hv_leaf);

	u16 pm = (u16)arg_u64("pmtimer", 0);
	struct tsc_freq f = tsc_frequency(1, pm);
	tsc_hz = f.hz;
	proto("tsc", "hz=%lu source=%s", f.hz, f.source);
	report_tsc_sources(pm);

	const char *reason = 0;
	smp_tsc_hz = tsc_hz ? tsc_hz : 3000000000ul;
	if (t->prepare(&reason)) {
		proto("SKIP", "test=%s reason=\"%s\"", t->name, reason);
		return EXIT_SKIP;
	}
	int par = arg_present("parallel");
	if (par) {
		if (!t->parallel) {
			proto("SKIP", "test=%s reason=\"%s cannot run on every vCPU at once (its state or interrupt is one vCPU's)\"", t->name, t->name);
			return EXIT_SKIP;
		}
		if (smp_prepare(&reason, 1)) {
			proto("SKIP", "test=%s reason=\"%s\"", t->name, reason);
			return EXIT_SKIP;
		}
	}
	loop_fn loop = t->loop ? t->loop : (is_amd() ? loop_vmmcall : loop_vmcall);

	u64 samples = arg_u64("samples", 10);
	if (samples > MAX_SAMPLES) samples = MAX_SAMPLES;
	u64 target_us = arg_u64("target_us", 100000);
	/* Without a known frequency assume 1 GHz: the count is still adaptive, only the length differs. */
	u64 hz = f.hz ? f.hz : 1000000000ul;
	u64 target = hz / 1000000 * target_us;
	u64 max_iters = arg_u64("max_iters", 1ul << 30);
	sync_on = arg_present("sync");

	/*
	 * Warm up (first runs pay for page walks, and under TCG for translation), then double
	 * N until the shorter of two runs reaches the target: one run stretched by a host
	 * preemption must not stop the doubling early.
	 */
	measure(loop, 8);
	/* min_iters: the host's floor, so a few exits of attribution noise per window stay small per iteration. */
	u64 n = arg_u64("min_iters", 8);
	if (n < 8) n = 8;
	while (n < max_iters) {
		/* By wall time: a wake-up figure is shorter than the loop that measures it. */
		measure(loop, n);
		u64 x = last_wall;
		measure(loop, n);
		u64 y = last_wall;
		if ((x < y ? x : y) >= target) break;
		n <<= 1;
	}
	proto("test", "name=%s iters=%lu samples=%lu target_ticks=%lu figure=%s irq=%d cpus=%u parallel=%d expect=\"%s\" what=\"%s\"", t->name, n,
	      samples, target, t->figure_name, t->irq, smp_started ? smp_started : 1, par, t->expect, t->what);

	if (arg_present("spin")) {
		/* For the harness's own tests: a guest that hangs mid-test. */
		rt_spin_forever();
	}

	if (par) run_parallel(loop, n, samples);
	else host_sync("init", 0, 0);
	for (u64 i = 0; i < samples && !par; i++) {
		u64 base = measure(loop_null, n);
		host_sync("null", i, base);
		u64 early0 = wake_early;
		u64 ticks = measure(loop, n);
		int ack = host_sync("test", i, ticks);
		sample_ticks[i] = ticks;
		sample_base[i] = base;
		sample_extra[i] = wake_early - early0;
		/* The host's "enough" (adaptive sampling: the precision it asked is reached, or a cap). */
		if (ack == ACK_LAST) samples = i + 1;
		/* Without sync the samples stream as they come; with it they wait, so windows stay equal. */
		if (!sync_on) proto("sample", "test=%s i=%lu iters=%lu ticks=%lu base=%lu extra=%lu", t->name, i, n, ticks, base, sample_extra[i]);
	}
	if (sync_on || par)
		for (u64 i = 0; i < samples; i++)
			proto("sample", "test=%s i=%lu iters=%lu ticks=%lu base=%lu extra=%lu", t->name, i, n, sample_ticks[i], sample_base[i], sample_extra[i]);
	if (par)
		for (u32 c = 0; c < smp_ncpus; c++)
			for (u64 i = 0; i < samples; i++)
				proto("vsample", "test=%s cpu=%u i=%lu iters=%lu ticks=%lu base=%lu", t->name, c, i, n, par_ticks[c][i], par_base[c][i]);
	if (t->irq) proto("irq", "test=%s delivered=%lu expected=%lu", t->name, irq_expected, irq_expected);
	if (t->figure == FIG_wake) proto("wake", "test=%s delay_ticks=%lu early=%lu mode=%s", t->name, wake_delay, wake_early, timer_tscdl ? "tsc-deadline" : "one-shot");
	u64 hn = arg_u64("hist", 0);
	if (hn && t->hist && !par) histogram(loop, hn);
	proto("PASS", "test=%s", t->name);
	proto("end", "status=pass tsc=%lu", rdtsc_serialized());
	return EXIT_PASS;
}
