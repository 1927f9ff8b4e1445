/*
 * A stand-in for a kvm-unit-tests test, so the `kut` suite's whole path (cfg, launch, verdict,
 * sub-checks, views) runs in CI without a kvm-unit-tests tree. It speaks that project's
 * conventions, not kvmbench's protocol: one "PASS: ", "FAIL: ", "SKIP: " or "XFAIL: " line per
 * sub-check, a "SUMMARY: " line, and its code through isa-debug-exit (0 pass, 1 fail, 38 for
 * "all skipped", which QEMU turns into 77). What it does comes from its command line (the
 * stanza's test_args): fail, skip, xfail, abort, hang, flood; nothing is a pass. It also checks
 * that the devices kvm-unit-tests' runner gives are there (pc-testdev's port answers) and
 * reports the vCPU count it was given.
 */
#include "../lib/rt.h"

const char guest_name[] = "conform";

static int tests, failures, skipped, xfailures;

static void report(const char *status, const char *name) {
	tests++;
	if (status[0] == 'F') failures++;
	if (status[0] == 'S') skipped++;
	if (status[0] == 'X') xfailures++;
	con_printf("%s: conform: %s\n", status, name);
}

static int summary(void) {
	con_printf("SUMMARY: %d tests", tests);
	if (failures) con_printf(", %d unexpected failures", failures);
	if (xfailures) con_printf(", %d expected failures", xfailures);
	if (skipped) con_printf(", %d skipped", skipped);
	con_printf("\n");
	if (tests == skipped) return EXIT_SKIP;
	return failures ? EXIT_FAIL : EXIT_PASS;
}

int guest_main(void) {
	if (arg_present("skip")) {
		report("SKIP", "feature not offered by this CPU");
		report("SKIP", "second feature not offered either");
		return summary();
	}
	u32 a, b, c, d;
	cpuid(1, 0, &a, &b, &c, &d);
	report("PASS", "cpuid leaf 1 answers");
	/* pc-testdev's 32-bit port at 0xe0 reads back what was written; without the device it floats. */
	outl(0xe0, 0x4b564d42);
	if (inl(0xe0) == 0x4b564d42) report("PASS", "pc-testdev present");
	else report("FAIL", "pc-testdev present");
	cpuid(0xb, 1, &a, &b, &c, &d);
	con_printf("INFO: conform: %u logical processors in the package\n", b & 0xffff);
	if (arg_present("fail")) report("FAIL", "planted failure");
	if (arg_present("xfail")) report("XFAIL", "known erratum");
	if (arg_present("abort")) {
		con_printf("ABORT: conform: planted abort\n");
		return 63; /* kvm-unit-tests' abort(): QEMU status 127 */
	}
	if (arg_present("hang")) rt_spin_forever();
	if (arg_present("flood")) {
		for (u64 i = 0;; i++) con_printf("PASS: conform: flood line %lu with some padding to make it longer than short\n", i);
	}
	report("PASS", "end reached");
	return summary();
}
