/* What the exits guest's files share (main.c: the measuring; smp_tests.c: the tests on several vCPUs). */
#ifndef KVMB_EXITS_H
#define KVMB_EXITS_H

#include "../lib/rt.h"

typedef u64 (*loop_fn)(u64 n);

extern u64 tsc_hz;               /* the guest's TSC rate, 0 when unknown */
extern volatile u64 irq_count;   /* interrupts counted by the tests' handlers, on any CPU */
extern u64 irq_per_iteration;    /* interrupts one iteration must deliver (the delivery check) */
void undelivered(u64 got, u64 want) __attribute__((noreturn));
const char *current_test(void); /* the test= this boot runs */
/* Brings up every vCPU for a test that needs `need` of them: SKIP when the VM has fewer, error when one does not start. */
int smp_prepare(const char **reason, u32 need);

/* smp_tests.c */
u64 loop_ipi(u64 n);
u64 loop_ipi_halt(u64 n);
u64 loop_tlb_shootdown(u64 n);
int prep_ipi(const char **reason);
int prep_ipi_halt(const char **reason);
int prep_smp_x2apic(const char **reason);
int prep_tlb_shootdown(const char **reason);

#endif
