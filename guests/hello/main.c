/*
 * The smallest guest: enter, say hello, stamp the TSC, exit. Used for boot
 * timing (boot-micro) and the calibration boot (doctor --boot, the start of a KVM
 * run); its whole runtime is the shared entry (long-mode switch) plus two protocol
 * lines. With `calib` it first times an empty loop, which tells native execution
 * (a few TSC ticks an iteration) from emulated (thousands). With `smp` it starts every other
 * vCPU before its end line (boot-micro with several vCPUs: the boot includes their bring-up).
 */
#include "../lib/rt.h"
#include "../lib/smp.h"

const char guest_name[] = "hello";

static void __attribute__((noinline)) loop_null(u64 n) {
	for (u64 i = 0; i < n; i++) __asm__ volatile("" ::: "memory");
}

int guest_main(void) {
	if (arg_present("hang=after-hello")) rt_spin_forever();
	if (arg_present("calib")) {
		/* Best of three: a host preemption stretches a run, it never shortens one. */
		const u64 n = 1ul << 12;
		u64 best = ~0ul;
		loop_null(64);
		for (int i = 0; i < 3; i++) {
			u64 t0 = rdtsc_serialized();
			loop_null(n);
			u64 t = rdtsc_serialized() - t0;
			if (t < best) best = t;
		}
		proto("calib", "iters=%lu ticks=%lu", n, best);
	}
	if (arg_present("smp")) {
		const char *why = "", *source = "";
		u64 t0 = rdtsc_serialized();
		u32 n = smp_start(2000, &why, &source);
		if (!n) {
			proto("FAIL", "reason=\"%s\" smp=ap-not-started", why);
			return EXIT_CRASH;
		}
		proto("smp", "cpus=%u source=%s bringup_ticks=%lu", n, source, rdtsc_serialized() - t0);
	}
	proto("end", "status=pass tsc=%lu", rdtsc_serialized());
	return EXIT_PASS;
}
