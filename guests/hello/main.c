/*
 * The smallest guest: enter, say hello, stamp the TSC, exit. Used for boot
 * timing (boot-micro) and the doctor's smoke boot; its whole runtime is the
 * shared entry (long-mode switch) plus two protocol lines.
 */
#include "../lib/rt.h"

const char guest_name[] = "hello";

int guest_main(void) {
	if (arg_present("hang=after-hello")) rt_spin_forever();
	proto("end", "status=pass tsc=%lu", rdtsc_serialized());
	return EXIT_PASS;
}
