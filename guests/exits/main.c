/*
 * VM-exit latency tests, one test per boot (argument test=NAME). Names follow
 * kvm-unit-tests' x86/vmexit.c where they measure the same thing.
 *
 * Per sample: a serialized TSC read around N iterations of the null loop, then
 * around N iterations of the test loop; the host subtracts the first from the
 * second and divides by N. N doubles until one test loop lasts target_us (the
 * adaptive count, which also warms up), computed with the TSC frequency the
 * guest found. Arguments:
 *   test=NAME samples=N target_us=U  [pmtimer=PORT]  [spin=1: hang on purpose]
 */
#include "../lib/rt.h"

const char guest_name[] = "exits";

typedef void (*loop_fn)(u64 n);

static int is_amd(void) {
	return rt_vendor[0] == 'A' || rt_vendor[0] == 'H'; /* AuthenticAMD, HygonGenuine */
}

/* ------------------------------------------------------------------ loops */

static void __attribute__((noinline)) loop_null(u64 n) {
	for (u64 i = 0; i < n; i++) __asm__ volatile("" ::: "memory");
}

static void __attribute__((noinline)) loop_cpuid(u64 n) {
	for (u64 i = 0; i < n; i++) {
		u32 a = 0, b, c = 0, d;
		__asm__ volatile("cpuid" : "+a"(a), "=b"(b), "+c"(c), "=d"(d)::"memory");
	}
}

static void __attribute__((noinline)) loop_vmcall(u64 n) {
	for (u64 i = 0; i < n; i++) {
		u64 ax = 0xffffffff; /* no such hypercall: KVM answers -KVM_ENOSYS at once */
		__asm__ volatile("vmcall" : "+a"(ax)::"rbx", "rcx", "rdx", "rsi", "memory");
	}
}

static void __attribute__((noinline)) loop_vmmcall(u64 n) {
	for (u64 i = 0; i < n; i++) {
		u64 ax = 0xffffffff;
		__asm__ volatile("vmmcall" : "+a"(ax)::"rbx", "rcx", "rdx", "rsi", "memory");
	}
}

static void __attribute__((noinline)) loop_mov_from_cr8(u64 n) {
	for (u64 i = 0; i < n; i++) {
		u64 v;
		__asm__ volatile("mov %%cr8, %0" : "=r"(v)::"memory");
	}
}

static void __attribute__((noinline)) loop_mov_to_cr8(u64 n) {
	for (u64 i = 0; i < n; i++) __asm__ volatile("mov %0, %%cr8" ::"r"(0ul) : "memory");
}

static u16 pmtimer_port;
static void __attribute__((noinline)) loop_inl_pmtimer(u64 n) {
	for (u64 i = 0; i < n; i++) (void)inl(pmtimer_port);
}

/* An unassigned port: KVM has no handler, so every access goes out to QEMU. */
#define QEMU_UNASSIGNED_PORT 0x1234
static void __attribute__((noinline)) loop_inl_qemu(u64 n) {
	for (u64 i = 0; i < n; i++) (void)inl(QEMU_UNASSIGNED_PORT);
}

/* ELCR of the in-kernel PIC (KVM's i8259 owns 0x4d0/0x4d1). */
static void __attribute__((noinline)) loop_inl_kernel(u64 n) {
	for (u64 i = 0; i < n; i++) (void)inb(0x4d0);
}

#define HPET_BASE 0xfed00000ul
static void __attribute__((noinline)) loop_mmio_hpet(u64 n) {
	for (u64 i = 0; i < n; i++) (void)mmio_read32(HPET_BASE + 0xf0);
}

#define MSR_TSC_ADJUST 0x3b
static void __attribute__((noinline)) loop_rd_tsc_adjust(u64 n) {
	for (u64 i = 0; i < n; i++) (void)rdmsr(MSR_TSC_ADJUST);
}

static u64 tsc_adjust_value;
static void __attribute__((noinline)) loop_wr_tsc_adjust(u64 n) {
	/* Writing back the value read keeps the guest TSC where it is. */
	for (u64 i = 0; i < n; i++) wrmsr(MSR_TSC_ADJUST, tsc_adjust_value);
}

/* ---- interrupts: x2APIC self-IPI and the LAPIC timer ---- */
#define IPI_VECTOR 0xf0
#define TIMER_VECTOR 0xf1
#define X2APIC_EOI 0x80b
#define X2APIC_SVR 0x80f
#define X2APIC_ICR 0x830
#define LAPIC_BASE 0xfee00000ul
static volatile u64 irq_count;

static void ipi_handler(struct isr_frame *f) {
	(void)f;
	irq_count++;
	wrmsr(X2APIC_EOI, 0);
}

static void __attribute__((noinline)) loop_self_ipi_sti_nop(u64 n) {
	for (u64 i = 0; i < n; i++) {
		/* fixed delivery, assert, self shorthand */
		wrmsr(X2APIC_ICR, (1u << 18) | (1u << 14) | IPI_VECTOR);
		__asm__ volatile("sti; nop; cli" ::: "memory");
	}
}

static void timer_handler(struct isr_frame *f) {
	(void)f;
	irq_count++;
	mmio_write32(LAPIC_BASE + 0xb0, 0); /* EOI */
}

static void __attribute__((noinline)) loop_hlt_lapic_timer(u64 n) {
	for (u64 i = 0; i < n; i++) {
		u64 before = irq_count;
		mmio_write32(LAPIC_BASE + 0x380, 1); /* one-shot, 1 tick of the bus clock */
		while (irq_count == before) __asm__ volatile("sti; hlt; cli" ::: "memory");
	}
}

/* ------------------------------------------------------------ the tests */

struct test {
	const char *name;
	loop_fn loop;
	/* Returns 0 when supported, else sets *reason. */
	int (*prepare)(const char **reason);
	const char *what; /* shown in the log and the results: what one iteration does */
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

static int prep_x2apic_ipi(const char **reason) {
	u32 a, b, c, d;
	cpuid(1, 0, &a, &b, &c, &d);
	if (!(c & (1u << 21))) { *reason = "x2APIC not offered (CPUID.1:ECX[21]=0)"; return 1; }
	wrmsr(0x1b, rdmsr(0x1b) | (1u << 11) | (1u << 10)); /* xAPIC then x2APIC enable */
	wrmsr(X2APIC_SVR, 0x1ff);
	irq_set_handler(IPI_VECTOR, ipi_handler);
	return 0;
}

static int prep_lapic_timer(const char **reason) {
	u32 a, b, c, d;
	cpuid(1, 0, &a, &b, &c, &d);
	if (!(d & (1u << 9))) { *reason = "no local APIC (CPUID.1:EDX[9]=0)"; return 1; }
	if ((rdmsr(0x1b) & ~0xffful) != LAPIC_BASE) { *reason = "local APIC not at 0xfee00000"; return 1; }
	mmio_write32(LAPIC_BASE + 0xf0, 0x1ff);        /* software enable, spurious vector 0xff */
	mmio_write32(LAPIC_BASE + 0x3e0, 0xb);         /* divide by 1 */
	mmio_write32(LAPIC_BASE + 0x320, TIMER_VECTOR); /* one-shot, unmasked */
	irq_set_handler(TIMER_VECTOR, timer_handler);
	return 0;
}

static const struct test tests[] = {
	{ "cpuid", loop_cpuid, prep_none, "cpuid leaf 0 (exit handled in KVM)" },
	{ "vmcall", 0, prep_vmcall, "vmcall/vmmcall by vendor, unknown hypercall (exit handled in KVM)" },
	{ "mov_from_cr8", loop_mov_from_cr8, prep_none, "mov from cr8 (TPR read)" },
	{ "mov_to_cr8", loop_mov_to_cr8, prep_none, "mov to cr8 (TPR write of 0)" },
	{ "inl_from_pmtimer", loop_inl_pmtimer, prep_pmtimer, "inl from the ACPI PM timer (QEMU user space)" },
	{ "inl_from_qemu", loop_inl_qemu, prep_none, "inl from unassigned port 0x1234 (QEMU user space)" },
	{ "inl_from_kernel", loop_inl_kernel, prep_kernel_port, "inb from PIC ELCR port 0x4d0 (in-kernel PIC)" },
	{ "mmio_from_qemu", loop_mmio_hpet, prep_hpet, "32-bit MMIO read of the HPET main counter (QEMU user space)" },
	{ "rd_tsc_adjust_msr", loop_rd_tsc_adjust, prep_rd_tsc_adjust, "rdmsr IA32_TSC_ADJUST (in KVM)" },
	{ "wr_tsc_adjust_msr", loop_wr_tsc_adjust, prep_wr_tsc_adjust, "wrmsr IA32_TSC_ADJUST, same value (in KVM)" },
	{ "self_ipi_sti_nop", loop_self_ipi_sti_nop, prep_x2apic_ipi, "x2APIC self-IPI, sti; nop; handler + EOI" },
	{ "hlt_lapic_timer", loop_hlt_lapic_timer, prep_lapic_timer, "LAPIC one-shot timer of 1 tick, hlt until it fires" },
};

static u64 measure(loop_fn fn, u64 n) {
	u64 t0 = rdtsc_serialized();
	fn(n);
	u64 t1 = rdtsc_serialized();
	return t1 - t0;
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

	struct tsc_freq f = tsc_frequency(1, (u16)arg_u64("pmtimer", 0));
	proto("tsc", "hz=%lu source=%s", f.hz, f.source);

	const char *reason = 0;
	if (t->prepare(&reason)) {
		proto("SKIP", "test=%s reason=\"%s\"", t->name, reason);
		return EXIT_SKIP;
	}
	loop_fn loop = t->loop ? t->loop : (is_amd() ? loop_vmmcall : loop_vmcall);

	u64 samples = arg_u64("samples", 10);
	u64 target_us = arg_u64("target_us", 100000);
	/* Without a known frequency assume 1 GHz: the count is still adaptive, only the length differs. */
	u64 hz = f.hz ? f.hz : 1000000000ul;
	u64 target = hz / 1000000 * target_us;
	u64 max_iters = arg_u64("max_iters", 1ul << 30);

	/*
	 * Warm up (first runs pay for page walks, and under TCG for translation), then double
	 * N until the shorter of two runs reaches the target: one run stretched by a host
	 * preemption must not stop the doubling early.
	 */
	measure(loop, 8);
	u64 n = 8;
	while (n < max_iters) {
		u64 a = measure(loop, n), b = measure(loop, n);
		if ((a < b ? a : b) >= target) break;
		n <<= 1;
	}
	proto("test", "name=%s iters=%lu samples=%lu target_ticks=%lu what=\"%s\"", t->name, n, samples, target, t->what);

	if (arg_present("spin")) {
		/* For the harness's own tests: a guest that hangs mid-test. */
		rt_spin_forever();
	}

	for (u64 i = 0; i < samples; i++) {
		u64 base = measure(loop_null, n);
		u64 ticks = measure(loop, n);
		proto("sample", "test=%s i=%lu iters=%lu ticks=%lu base=%lu", t->name, i, n, ticks, base);
	}
	proto("PASS", "test=%s", t->name);
	proto("end", "status=pass tsc=%lu", rdtsc_serialized());
	return EXIT_PASS;
}
