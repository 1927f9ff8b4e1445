/* kvmbench micro-guest runtime: console, formatting, arguments, IDT, TSC, exit. */
#include "rt.h"

#define COM1 0x3f8
#define DEBUG_EXIT_PORT 0xf4

u64 rt_entry_tsc;
u32 rt_mb_magic, rt_mb_info;
char rt_vendor[13];
u32 rt_max_leaf, rt_max_hv_leaf;
volatile u64 rt_fixup_rip;
volatile int rt_fault_vector = -1;

/* ---------------------------------------------------------------- console */

static int com1_present;

static void com1_init(void) {
	outb(COM1 + 1, 0x00); /* no interrupts */
	outb(COM1 + 3, 0x80); /* DLAB */
	outb(COM1 + 0, 0x01); /* 115200 baud */
	outb(COM1 + 1, 0x00);
	outb(COM1 + 3, 0x03); /* 8N1 */
	outb(COM1 + 2, 0xc7); /* FIFO on, cleared */
	outb(COM1 + 4, 0x03);
	/* An absent UART reads 0xff everywhere; then write nothing rather than spin. */
	com1_present = inb(COM1 + 5) != 0xff;
}

void con_putc(char c) {
	if (!com1_present) return;
	for (int i = 0; i < 100000 && !(inb(COM1 + 5) & 0x20); i++) {}
	outb(COM1, (u8)c);
}

void con_write(const char *s, u64 n) {
	for (u64 i = 0; i < n; i++) con_putc(s[i]);
}

/* ------------------------------------------------------------- formatting */

struct out { char *buf; u64 size, len; };

static void out_c(struct out *o, char c) {
	if (o->len + 1 < o->size) o->buf[o->len] = c;
	o->len++;
}

static void out_u(struct out *o, u64 v, unsigned base, int width, char pad) {
	char tmp[24];
	int n = 0;
	do { tmp[n++] = "0123456789abcdef"[v % base]; v /= base; } while (v);
	while (n < width--) out_c(o, pad);
	while (n) out_c(o, tmp[--n]);
}

int vsnfmt(char *buf, u64 size, const char *fmt, va_list ap) {
	struct out o = { buf, size, 0 };
	for (; *fmt; fmt++) {
		if (*fmt != '%') { out_c(&o, *fmt); continue; }
		fmt++;
		char pad = ' ';
		int width = 0, lng = 0;
		if (*fmt == '0') { pad = '0'; fmt++; }
		while (*fmt >= '0' && *fmt <= '9') width = width * 10 + (*fmt++ - '0');
		while (*fmt == 'l') { lng++; fmt++; }
		switch (*fmt) {
		case 'd': {
			s64 v = lng ? va_arg(ap, s64) : va_arg(ap, int);
			if (v < 0) { out_c(&o, '-'); v = -v; }
			out_u(&o, (u64)v, 10, width, pad);
			break;
		}
		case 'u': out_u(&o, lng ? va_arg(ap, u64) : va_arg(ap, unsigned), 10, width, pad); break;
		case 'x': out_u(&o, lng ? va_arg(ap, u64) : va_arg(ap, unsigned), 16, width, pad); break;
		case 'c': out_c(&o, (char)va_arg(ap, int)); break;
		case 's': {
			const char *s = va_arg(ap, const char *);
			if (!s) s = "(null)";
			while (*s) out_c(&o, *s++);
			break;
		}
		case '%': out_c(&o, '%'); break;
		case 0: fmt--; break;
		default: out_c(&o, '%'); out_c(&o, *fmt);
		}
	}
	if (size) buf[o.len < size ? o.len : size - 1] = 0;
	return (int)o.len;
}

int snfmt(char *buf, u64 size, const char *fmt, ...) {
	va_list ap;
	va_start(ap, fmt);
	int n = vsnfmt(buf, size, fmt, ap);
	va_end(ap);
	return n;
}

/* Lines are capped well below the host's limit (docs/protocol.md). */
#define LINE_MAX 512

void con_printf(const char *fmt, ...) {
	char line[LINE_MAX];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnfmt(line, sizeof line, fmt, ap);
	va_end(ap);
	if (n > LINE_MAX - 1) n = LINE_MAX - 1;
	con_write(line, (u64)n);
}

void proto(const char *type, const char *fmt, ...) {
	char line[LINE_MAX];
	int n = snfmt(line, sizeof line, KVMB_PREFIX "%s", type);
	if (fmt && *fmt && n < LINE_MAX - 2) {
		line[n++] = ' ';
		va_list ap;
		va_start(ap, fmt);
		n += vsnfmt(line + n, sizeof line - (u64)n, fmt, ap);
		va_end(ap);
	}
	if (n > LINE_MAX - 2) n = LINE_MAX - 2;
	line[n++] = '\n';
	con_write(line, (u64)n);
}

/* -------------------------------------------------------------- arguments */

static const char *cmdline = "";

/* Finds `key=` as a whole token; returns the value start, its length in *len. */
static const char *arg_find(const char *key, u64 *len) {
	u64 klen = 0;
	while (key[klen]) klen++;
	const char *p = cmdline;
	/* The first token is the kernel path QEMU prepends; it never matches key=. */
	while (*p) {
		while (*p == ' ') p++;
		const char *tok = p;
		while (*p && *p != ' ') p++;
		u64 tlen = (u64)(p - tok);
		if (tlen >= klen) {
			u64 i = 0;
			while (i < klen && tok[i] == key[i]) i++;
			if (i == klen) {
				if (tlen == klen) { *len = 0; return tok + klen; }
				if (tok[klen] == '=') { *len = tlen - klen - 1; return tok + klen + 1; }
			}
		}
	}
	return 0;
}

int arg_present(const char *key) {
	u64 len;
	return arg_find(key, &len) != 0;
}

const char *arg_str(const char *key, char *buf, u64 size) {
	u64 len;
	const char *v = arg_find(key, &len);
	if (!v || !size) return 0;
	if (len > size - 1) len = size - 1;
	for (u64 i = 0; i < len; i++) buf[i] = v[i];
	buf[len] = 0;
	return buf;
}

u64 arg_u64(const char *key, u64 dflt) {
	u64 len;
	const char *v = arg_find(key, &len);
	if (!v || !len) return dflt;
	u64 r = 0, base = 10, i = 0;
	if (len > 2 && v[0] == '0' && (v[1] == 'x' || v[1] == 'X')) { base = 16; i = 2; }
	for (; i < len; i++) {
		char c = v[i];
		u64 d;
		if (c >= '0' && c <= '9') d = (u64)(c - '0');
		else if (base == 16 && c >= 'a' && c <= 'f') d = (u64)(c - 'a' + 10);
		else if (base == 16 && c >= 'A' && c <= 'F') d = (u64)(c - 'A' + 10);
		else return dflt;
		r = r * base + d;
	}
	return r;
}

/* ------------------------------------------------------------ interrupts */

struct idt_entry { u16 off0, sel; u8 ist, type; u16 off1; u32 off2, zero; } __attribute__((packed));
static struct idt_entry idt[256] __attribute__((aligned(16)));
static irq_handler handlers[256];
extern char isr_table[];

void idt_init(void) {
	for (int v = 0; v < 256; v++) {
		u64 a = (u64)isr_table + 16 * (u64)v;
		idt[v] = (struct idt_entry){ (u16)a, 0x08, 0, 0x8e, (u16)(a >> 16), (u32)(a >> 32), 0 };
	}
	idt_load();
}

/* Loads the shared IDT on this CPU (the BSP in idt_init, each AP as it starts). */
void idt_load(void) {
	struct { u16 limit; u64 base; } __attribute__((packed)) ptr = { sizeof idt - 1, (u64)idt };
	__asm__ volatile("lidt %0" ::"m"(ptr));
}

void irq_set_handler(u8 vector, irq_handler h) { handlers[vector] = h; }

void rt_isr_dispatch(struct isr_frame *f) {
	if (f->vector < 32) {
		if (rt_fixup_rip) {
			rt_fault_vector = (int)f->vector;
			f->rip = rt_fixup_rip;
			rt_fixup_rip = 0;
			return;
		}
		u64 cr2;
		__asm__ volatile("mov %%cr2, %0" : "=r"(cr2));
		proto("FAIL", "reason=\"unexpected exception\" vector=%lu error=0x%lx rip=0x%lx cr2=0x%lx",
		      f->vector, f->error, f->rip, cr2);
		rt_exit(EXIT_CRASH);
	}
	if (handlers[f->vector]) handlers[f->vector](f);
}

/* -------------------------------------------------------------------- TSC */

/*
 * PIT channel 2 calibration (gate through port 0x61), as Linux does: count
 * TSC ticks over 10 ms of the 1.193182 MHz PIT. Needs a PIT and the port 0x61
 * speaker gate (pc, q35); returns 0 where they are missing (reads of 0xff).
 */
static u64 pit_calibrate(void) {
	const u32 pit_hz = 1193182, latch = pit_hz / 100; /* 10 ms */
	u8 gate = inb(0x61);
	if (gate == 0xff) return 0;
	outb(0x61, (u8)((gate & ~0x02) | 0x01));
	outb(0x43, 0xb0); /* channel 2, lobyte/hibyte, mode 0, binary */
	outb(0x42, latch & 0xff);
	outb(0x42, (u8)(latch >> 8));
	u64 t0 = rdtsc_serialized(), t1 = t0;
	u64 spins = 0;
	while (!(inb(0x61) & 0x20)) {
		if (++spins > 50000000ull) return 0;
	}
	t1 = rdtsc_serialized();
	outb(0x61, gate);
	if (t1 - t0 < 10000 || spins == 0) return 0; /* implausible: no real PIT behind the port */
	return (t1 - t0) * pit_hz / latch;
}

/*
 * ACPI PM timer calibration: the PM timer (3.579545 MHz, 24 bits) runs free, so only the
 * two end points matter and a preemption between them is harmless. Each end point is the
 * tightest of several (TSC, PM, TSC) brackets, so a preemption inside one is discarded too.
 */
#define PMTIMER_HZ 3579545ul
static void pm_point(u16 port, u64 *tsc, u32 *pm) {
	u64 best = ~0ul;
	for (int i = 0; i < 8; i++) {
		u64 a = rdtsc_serialized();
		u32 p = inl(port) & 0xffffff;
		u64 b = rdtsc_serialized();
		if (b - a < best) { best = b - a; *tsc = a + (b - a) / 2; *pm = p; }
	}
}

u64 pmtimer_tsc_hz(u16 port) {
	u64 t0, t1;
	u32 p0, p1;
	/* An absent timer reads a constant: give up after 100k reads without a tick. */
	u32 first = inl(port) & 0xffffff;
	for (int i = 0; (inl(port) & 0xffffff) == first; i++)
		if (i > 100000) return 0;
	pm_point(port, &t0, &p0);
	/* ~20 ms of PM timer ticks. */
	for (u64 spins = 0; ((inl(port) - p0) & 0xffffff) < PMTIMER_HZ / 50; spins++)
		if (spins > 100000000ul) return 0;
	pm_point(port, &t1, &p1);
	u64 dpm = (p1 - p0) & 0xffffff;
	if (!dpm || t1 <= t0) return 0;
	return (t1 - t0) * PMTIMER_HZ / dpm;
}

struct tsc_freq tsc_frequency(int allow_pit, u16 pmtimer_port) {
	u32 a, b, c, d;
	if (rt_max_hv_leaf >= 0x40000010) {
		cpuid(0x40000010, 0, &a, &b, &c, &d);
		if (a) return (struct tsc_freq){ (u64)a * 1000, "cpuid-0x40000010" };
	}
	if (rt_max_leaf >= 0x15) {
		cpuid(0x15, 0, &a, &b, &c, &d);
		if (a && b && c) return (struct tsc_freq){ (u64)c * b / a, "cpuid-0x15" };
	}
	if (pmtimer_port) {
		u64 hz = pmtimer_tsc_hz(pmtimer_port);
		if (hz) return (struct tsc_freq){ hz, "pmtimer-calibration" };
	}
	if (allow_pit) {
		/* Median of five: one run can be stretched by the host preempting the vCPU. */
		u64 r[5];
		int ok = 1;
		for (int i = 0; i < 5 && ok; i++) ok = (r[i] = pit_calibrate()) != 0;
		if (ok) {
			for (int i = 1; i < 5; i++)
				for (int j = i; j > 0 && r[j - 1] > r[j]; j--) { u64 t = r[j]; r[j] = r[j - 1]; r[j - 1] = t; }
			return (struct tsc_freq){ r[2], "pit-calibration" };
		}
	}
	if (rt_max_leaf >= 0x16) {
		cpuid(0x16, 0, &a, &b, &c, &d);
		if (a & 0xffff) return (struct tsc_freq){ (u64)(a & 0xffff) * 1000000, "cpuid-0x16" };
	}
	return (struct tsc_freq){ 0, "none" };
}

/* ------------------------------------------------------------------- exit */

void rt_exit(int code) {
	outl(DEBUG_EXIT_PORT, (u32)code);
	/* No isa-debug-exit device: stop here; the host's deadline ends it. */
	for (;;) __asm__ volatile("cli; hlt");
}

void rt_spin_forever(void) {
	for (;;) __asm__ volatile("pause");
}

/* ------------------------------------------------------------------ start */

struct mb_info { u32 flags, mem_lower, mem_upper, boot_device, cmdline; };

void rt_start(void) {
	com1_init();
	/* Keep the BIOS's PIC interrupts (remapped onto exception vectors) away. */
	outb(0x21, 0xff);
	outb(0xa1, 0xff);
	idt_init();
	if (rt_mb_magic == 0x2BADB002 && rt_mb_info) {
		struct mb_info *mbi = (struct mb_info *)(u64)rt_mb_info;
		if (mbi->flags & 4) cmdline = (const char *)(u64)mbi->cmdline;
	}
	u32 a, b, c, d;
	cpuid(0, 0, &a, &b, &c, &d);
	rt_max_leaf = a;
	*(u32 *)&rt_vendor[0] = b;
	*(u32 *)&rt_vendor[4] = d;
	*(u32 *)&rt_vendor[8] = c;
	rt_vendor[12] = 0;
	cpuid(1, 0, &a, &b, &c, &d);
	if (c & (1u << 31)) {
		cpuid(0x40000000, 0, &a, &b, &c, &d);
		if (a >= 0x40000000 && a < 0x40010000) rt_max_hv_leaf = a;
	}
	/* Stop before any output: lets tests check "no output after firmware". */
	if (arg_present("hang=entry")) rt_spin_forever();
	proto("hello", "guest=%s proto=%d mode=long64 entry_tsc=%lu tsc=%lu", guest_name, KVMB_PROTO_VERSION,
	      rt_entry_tsc, rdtsc_serialized());
	/* For the harness's own tests: an unexpected exception (#UD). */
	if (arg_present("crash")) __asm__ volatile("ud2");
	/*
	 * For the harness's own tests: jump into unassigned MMIO space. Under KVM the fetch
	 * leaves KVM unable to emulate the instruction (KVM_EXIT_INTERNAL_ERROR, emulation
	 * failure) and QEMU stops the VM without exiting: the launcher must end it.
	 */
	if (arg_present("exec_mmio")) ((void (*)(void))0xfeb00000ul)();
	int code = guest_main();
	rt_exit(code);
}
