/*
 * kvmbench's C harness for the raw VMM's exit loop, loaded by src/kvm/harness.ts through
 * koffi (build/guests/kvmraw.so). Node sets the VM up (src/kvm/vm.ts); this only runs the
 * vCPU through a window of exits without returning to JavaScript per exit, because one
 * koffi call and the JavaScript around it per exit cost more than the whole loop does in C
 * (docs/architecture.md, "The raw-KVM floor", has the figures).
 *
 * The device model is the same as the JavaScript loop's (src/kvm/harness.ts handleExitJs): any
 * port but RAW_CTL_PORT and any MMIO address is an empty device (reads give zeros, writes are
 * dropped); RAW_CTL_PORT ends the window.
 */
#include <errno.h>
#include <linux/kvm.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include "../layout.h"

static uint64_t now_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

/* 0: handled, run again; 1: the window ends here (control port or an exit for the caller). */
static inline int handle_exit(struct kvm_run *run)
{
	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		if (run->io.port == RAW_CTL_PORT)
			return 1;
		if (run->io.direction == KVM_EXIT_IO_IN)
			memset((char *)run + run->io.data_offset, 0, (size_t)run->io.size * run->io.count);
		return 0;
	case KVM_EXIT_MMIO:
		if (!run->mmio.is_write)
			memset(run->mmio.data, 0, sizeof(run->mmio.data));
		return 0;
	default:
		return 1;
	}
}

/*
 * Runs the vCPU until it ends a window. Returns the exit reason that ended it (KVM_EXIT_IO for
 * the control port) or -errno of a failed KVM_RUN; *handled counts the exits handled here. An
 * EINTR before deadline_ns (CLOCK_MONOTONIC) is a stray signal and the vCPU is run again; after
 * it, it is the watchdog (src/kvm/sys.ts) and the window ends with -EINTR.
 */
int kvmraw_run(int vcpu_fd, struct kvm_run *run, uint64_t deadline_ns, uint64_t *handled)
{
	uint64_t n = 0;
	for (;;) {
		if (ioctl(vcpu_fd, KVM_RUN, 0) < 0) {
			int e = errno;
			if (e == EINTR && now_ns() < deadline_ns)
				continue;
			*handled = n;
			return -e;
		}
		if (handle_exit(run))
			break;
		n++;
	}
	*handled = n;
	return (int)run->exit_reason;
}

/* Stands in for ioctl(KVM_RUN) when the harness's own cost is measured. */
__attribute__((noinline)) int kvmraw_nop(int fd, unsigned long req, unsigned long arg)
{
	__asm__ volatile("" : : "r"(fd), "r"(req), "r"(arg) : "memory");
	return 0;
}

/*
 * The C harness's own cost per exit: n turns of kvmraw_run's loop with KVM_RUN replaced by a
 * call of kvmraw_nop (through a volatile pointer, so it stays a call), on a kvm_run the caller
 * set up as an I/O read of RAW_PIO_PORT. Nanoseconds for all n.
 */
uint64_t kvmraw_overhead(int vcpu_fd, struct kvm_run *run, uint64_t n)
{
	int (*volatile call)(int, unsigned long, unsigned long) = kvmraw_nop;
	uint64_t t0 = now_ns();
	for (uint64_t i = 0; i < n; i++) {
		if (call(vcpu_fd, KVM_RUN, 0) < 0)
			return 0;
		if (handle_exit(run))
			return 0;
	}
	return now_ns() - t0;
}

/* The header's view of the ABI, for src/kvm/harness.ts to check its own numbers against at load. */
int kvmraw_abi(uint64_t *out, int n)
{
	const uint64_t v[] = {
		KVM_RUN, KVM_SET_USER_MEMORY_REGION, KVM_SET_SREGS, KVM_SET_REGS,
		sizeof(struct kvm_sregs), sizeof(struct kvm_regs),
		offsetof(struct kvm_run, exit_reason), offsetof(struct kvm_run, io.port),
		offsetof(struct kvm_run, io.data_offset), offsetof(struct kvm_run, mmio.data),
	};
	int count = (int)(sizeof(v) / sizeof(v[0]));
	for (int i = 0; i < n && i < count; i++)
		out[i] = v[i];
	return count;
}
