/* Application processors: bring-up, per-CPU area, barrier, run-on. See smp.h and docs/protocol.md. */
#include "smp.h"

struct percpu smp_cpus[SMP_MAX_CPUS];
u32 smp_ncpus = 1;
u32 smp_apic_ids[SMP_MAX_CPUS];
int smp_x2apic;
u64 smp_tsc_hz = 3000000000ul; /* until the guest knows better: a slower TSC only lengthens the deadlines */
/* AP i's stack is smp_stacks[i] (entry.S: top = smp_stacks + (i + 1) * SMP_STACK); slot 0 is unused. */
u8 smp_stacks[SMP_MAX_CPUS][SMP_STACK] __attribute__((aligned(16)));

extern char smp_trampoline[], smp_trampoline_end[];

#define MSR_APIC_BASE 0x1b
#define MSR_GS_BASE 0xc0000101
#define X2APIC_ICR 0x830
#define X2APIC_EOI 0x80b
#define X2APIC_SVR 0x80f
#define X2APIC_ID 0x802

u64 smp_ms_ticks(u64 ms) { return smp_tsc_hz / 1000 * ms; }

static void set_percpu(u32 index) {
	struct percpu *c = &smp_cpus[index];
	c->self = c;
	c->index = index;
	wrmsr(MSR_GS_BASE, (u64)c);
}

/* ---------------------------------------------------------------- LAPIC */

void lapic_enable_here(void) {
	if (smp_x2apic) wrmsr(X2APIC_SVR, 0x1ff);
	else mmio_write32(LAPIC_BASE + 0xf0, 0x1ff);
}

void lapic_eoi(void) {
	if (smp_x2apic) wrmsr(X2APIC_EOI, 0);
	else mmio_write32(LAPIC_BASE + 0xb0, 0);
}

static u32 icr_high = ~0u;

void lapic_icr(u32 dest, u32 low) {
	if (smp_x2apic) {
		wrmsr(X2APIC_ICR, ((u64)dest << 32) | low);
		return;
	}
	/* ICR high keeps its value: a loop sending to one CPU costs one MMIO write per IPI. */
	if (dest != icr_high) {
		mmio_write32(LAPIC_BASE + 0x310, dest << 24);
		icr_high = dest;
	}
	mmio_write32(LAPIC_BASE + 0x300, low);
}

static int icr_idle(u64 timeout_ms) {
	if (smp_x2apic) return 0; /* x2APIC has no delivery status */
	u64 t0 = rdtsc_serialized(), span = smp_ms_ticks(timeout_ms);
	while (mmio_read32(LAPIC_BASE + 0x300) & ICR_BUSY)
		if (rdtsc_serialized() - t0 > span) return -1;
	return 0;
}

static void x2apic_enable_here(void *arg) {
	(void)arg;
	wrmsr(MSR_APIC_BASE, rdmsr(MSR_APIC_BASE) | (1u << 11) | (1u << 10));
	wrmsr(X2APIC_SVR, 0x1ff);
}

int smp_use_x2apic(void) {
	u32 a, b, c, d;
	cpuid(1, 0, &a, &b, &c, &d);
	if (!(c & (1u << 21))) return -1;
	for (u32 i = 1; i < smp_ncpus; i++) {
		if (smp_run_on(i, x2apic_enable_here, 0, 1000) || smp_wait_done(i, 1000)) return -1;
	}
	x2apic_enable_here(0);
	smp_x2apic = 1;
	return 0;
}

/* ---------------------------------------------------------------- MADT */

static int checksum_ok(const u8 *p, u64 n) {
	u8 s = 0;
	for (u64 i = 0; i < n; i++) s = (u8)(s + p[i]);
	return s == 0;
}

static int sig_is(const void *p, const char *sig, u64 n) {
	const char *q = p;
	for (u64 i = 0; i < n; i++) if (q[i] != sig[i]) return 0;
	return 1;
}

static const u8 *find_rsdp(void) {
	/* The BIOS data area's EBDA segment; the asm hides the constant address from GCC's bounds checks. */
	const volatile u16 *bda;
	__asm__("" : "=r"(bda) : "0"(0x40eul));
	u64 ebda = (u64)*bda << 4;
	const u64 ranges[2][2] = { { ebda, ebda + 1024 }, { 0xe0000, 0x100000 } };
	for (int r = 0; r < 2; r++) {
		if (!ranges[r][0] || ranges[r][0] >= 0x100000) continue;
		for (u64 a = ranges[r][0]; a + 20 <= ranges[r][1]; a += 16)
			if (sig_is((const void *)a, "RSD PTR ", 8) && checksum_ok((const u8 *)a, 20)) return (const u8 *)a;
	}
	return 0;
}

/* The enabled local APICs of the MADT (types 0 and 9), BSP's first; returns how many (0: no MADT). */
static u32 madt_apic_ids(u32 bsp_id, u32 *ids, u32 max) {
	const u8 *rsdp = find_rsdp();
	if (!rsdp) return 0;
	u64 xsdt = rsdp[15] >= 2 ? *(const u64 *)(rsdp + 24) : 0;
	u64 root = xsdt && xsdt < (1ul << 32) ? xsdt : *(const u32 *)(rsdp + 16);
	u64 esize = root == xsdt ? 8 : 4;
	if (!root || root >= (1ul << 32) || !sig_is((const void *)root, root == xsdt ? "XSDT" : "RSDT", 4)) return 0;
	u32 len = *(const u32 *)(root + 4);
	const u8 *madt = 0;
	for (u64 off = 36; off + esize <= len; off += esize) {
		u64 t = esize == 8 ? *(const u64 *)(root + off) : *(const u32 *)(root + off);
		if (t && t < (1ul << 32) && sig_is((const void *)t, "APIC", 4)) { madt = (const u8 *)t; break; }
	}
	if (!madt) return 0;
	u32 mlen = *(const u32 *)(madt + 4), n = 1;
	ids[0] = bsp_id;
	for (u32 off = 44; off + 2 <= mlen && madt[off + 1] >= 2; off += madt[off + 1]) {
		const u8 *e = madt + off;
		u32 id, flags;
		if (e[0] == 0 && e[1] >= 8) { id = e[3]; flags = *(const u32 *)(e + 4); }
		else if (e[0] == 9 && e[1] >= 16) { id = *(const u32 *)(e + 4); flags = *(const u32 *)(e + 8); }
		else continue;
		if (!(flags & 1) || id == bsp_id) continue; /* disabled (not present), or the BSP itself */
		if (n < max) ids[n++] = id;
	}
	return n;
}

/* ------------------------------------------------------------- bring-up */

static u32 bsp_apic_id(void) {
	u32 a, b, c, d;
	cpuid(1, 0, &a, &b, &c, &d);
	return b >> 24;
}

/* The wake-up IPI of an idle AP: its only work is to end the AP's hlt. */
#define SMP_WAKE_VECTOR 0xfe
static void on_wake(struct isr_frame *f) {
	(void)f;
	lapic_eoi();
}

/*
 * The AP's first C code (entry.S, ap_long_entry), on its own stack. Idle, it halts (a spinning
 * idle vCPU would take a host CPU from the busy ones under TCG or on a small host); smp_run_on
 * wakes it with an IPI. `sti; hlt` is one step: a wake-up arriving between the check and the
 * hlt is taken in sti's shadow and ends the hlt.
 */
void smp_ap_main(u32 index) {
	set_percpu(index);
	idt_load();
	if (smp_x2apic) x2apic_enable_here(0);
	else lapic_enable_here();
	struct percpu *c = &smp_cpus[index];
	c->online = 1;
	for (;;) {
		while (__atomic_load_n(&c->posted, __ATOMIC_ACQUIRE) == c->done) __asm__ volatile("sti; hlt; cli" ::: "memory");
		u64 seq = c->posted;
		c->fn(c->arg);
		__atomic_store_n(&c->done, seq, __ATOMIC_RELEASE);
	}
}

static void delay_us(u64 us) {
	u64 t0 = rdtsc_serialized(), span = smp_tsc_hz / 1000000 * us;
	while (rdtsc_serialized() - t0 < span) __asm__ volatile("pause");
}

u32 smp_start(u64 timeout_ms, const char **reason, const char **source) {
	set_percpu(0);
	u32 bsp = bsp_apic_id();
	u32 n = madt_apic_ids(bsp, smp_apic_ids, SMP_MAX_CPUS);
	*source = "madt";
	if (!n) {
		/* No MADT: the host says how many vCPUs it gave, QEMU numbers their APIC IDs from 0. */
		n = (u32)arg_u64("cpus", 1);
		if (n > SMP_MAX_CPUS) n = SMP_MAX_CPUS;
		smp_apic_ids[0] = bsp;
		for (u32 i = 1, id = 0; i < n; id++) if (id != bsp) smp_apic_ids[i++] = id;
		*source = "cpus-arg";
	}
	for (u32 i = 0; i < n; i++) smp_cpus[i].apic_id = smp_apic_ids[i];
	smp_cpus[0].online = 1;
	lapic_enable_here();
	irq_set_handler(SMP_WAKE_VECTOR, on_wake);
	smp_ncpus = n;
	if (n == 1) return 1;

	/* The trampoline must sit where the SIPI vector points: a page below 1 MiB. */
	char *dst;
	__asm__("" : "=r"(dst) : "0"(SMP_TRAMPOLINE));
	for (char *s = smp_trampoline; s < smp_trampoline_end; s++, dst++) *dst = *s;
	int no_sipi = arg_present("no_sipi");
	/*
	 * INIT, then two SIPIs 200 us apart, to every AP at once. KVM and QEMU act on INIT and SIPI
	 * in order, so the MP specification's 10 ms after INIT (for real hardware) is left out.
	 */
	for (u32 i = 1; i < n; i++) {
		lapic_icr(smp_apic_ids[i], ICR_INIT | ICR_ASSERT);
		if (icr_idle(10)) { *reason = "the LAPIC kept the INIT IPI pending (ICR busy) for 10 ms"; return 0; }
	}
	for (int round = 0; round < 2 && !no_sipi; round++) {
		for (u32 i = 1; i < n; i++) {
			lapic_icr(smp_apic_ids[i], ICR_STARTUP | ICR_ASSERT | (u32)(SMP_TRAMPOLINE >> 12));
			if (icr_idle(10)) { *reason = "the LAPIC kept the SIPI pending (ICR busy) for 10 ms"; return 0; }
		}
		delay_us(200);
	}
	u64 t0 = rdtsc_serialized(), span = smp_ms_ticks(timeout_ms);
	for (u32 i = 1; i < n; i++) {
		while (!smp_cpus[i].online) {
			if (rdtsc_serialized() - t0 > span) {
				static char why[160];
				snfmt(why, sizeof why, "vCPU %u (APIC ID %u) did not start within %lu ms of INIT-SIPI-SIPI%s", i, smp_apic_ids[i],
				      timeout_ms, no_sipi ? " (no_sipi: no SIPI was sent)" : "");
				*reason = why;
				return 0;
			}
			__asm__ volatile("pause" ::: "memory");
		}
	}
	return n;
}

/* ------------------------------------------------------------- run-on */

int smp_wait_done(u32 cpu, u64 timeout_ms) {
	struct percpu *c = &smp_cpus[cpu];
	u64 t0 = rdtsc_serialized(), span = smp_ms_ticks(timeout_ms);
	while (__atomic_load_n(&c->done, __ATOMIC_ACQUIRE) != c->posted)
		if (rdtsc_serialized() - t0 > span) return -1;
	return 0;
}

int smp_run_on(u32 cpu, smp_fn fn, void *arg, u64 timeout_ms) {
	if (cpu == 0 || cpu >= smp_ncpus || !smp_cpus[cpu].online) return -1;
	if (smp_wait_done(cpu, timeout_ms)) return -1;
	struct percpu *c = &smp_cpus[cpu];
	c->fn = fn;
	c->arg = arg;
	__atomic_store_n(&c->posted, c->posted + 1, __ATOMIC_RELEASE);
	lapic_icr(c->apic_id, ICR_FIXED | ICR_ASSERT | SMP_WAKE_VECTOR);
	return 0;
}

/* ------------------------------------------------------------- barrier */

void smp_barrier_init(struct smp_barrier *b, u32 count) {
	b->arrived = 0;
	b->sense = 0;
	b->count = count;
}

int smp_barrier_wait(struct smp_barrier *b, u32 *sense, u64 timeout_ms) {
	u32 mine = *sense = !*sense;
	if (__atomic_add_fetch(&b->arrived, 1, __ATOMIC_ACQ_REL) == b->count) {
		b->arrived = 0;
		__atomic_store_n(&b->sense, mine, __ATOMIC_RELEASE);
		return 0;
	}
	u64 t0 = rdtsc_serialized(), span = smp_ms_ticks(timeout_ms);
	while (__atomic_load_n(&b->sense, __ATOMIC_ACQUIRE) != mine) {
		if (rdtsc_serialized() - t0 > span) return -1;
		__asm__ volatile("pause" ::: "memory");
	}
	return 0;
}
