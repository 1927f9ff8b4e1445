/**
 * `kvm.run`: the probe proves /dev/kvm opens and creates a VM; this runs guest code on it,
 * through kvmbench's own VMM (src/kvm/, no QEMU): a VM with memory and a vCPU in real mode runs
 * a few instructions that compute a value and write it to a port. It reports how long VM
 * creation to that first exit took, step by step. Without usable KVM it is a skip with the
 * probe's reason.
 */
import type { RawRunRecord } from '../../kvm/bench.js';
import { RAW } from '../../kvm/layout.js';
import type { CheckDef, CheckOutcome } from '../types.js';
import { fail, pass, skip } from './outcome.js';

const f = (v: number): string => (v >= 10 ? v.toFixed(1) : v.toFixed(2));

/** The evidence lines of a successful run. */
export function rawRunEvidence(r: RawRunRecord): string[] {
  const s = r.split!;
  return [
    `guest code ran: the real-mode blob ${r.blob ?? 'raw-real.bin'} computed 0x2a + 1 and wrote 0x${(r.exit?.value ?? RAW.REAL_VALUE).toString(16)} to port 0x${(r.exit?.port ?? RAW.REAL_PORT).toString(16)} (${r.exit?.name ?? 'KVM_EXIT_IO'}), through kvmbench's own VMM on ${r.device} (no QEMU)`,
    `VM create → first guest instruction: ${f(s.totalMs)} ms (median of ${r.runs ?? 1}): KVM_CREATE_VM ${f(s.createVmMs)} ms, memory ${f(s.memoryMs)} ms, vCPU ${f(s.vcpuMs)} ms, first KVM_RUN return ${f(s.firstRunMs)} ms${r.firstTotalMs !== undefined ? `; the first run of this process took ${f(r.firstTotalMs)} ms` : ''}`,
  ];
}

export const kvmRun: CheckDef = {
  id: 'kvm.run',
  title: "KVM runs guest code (kvmbench's own VMM, no QEMU)",
  profile: 'kvm',
  async run(ctx): Promise<CheckOutcome> {
    const p = ctx.probe;
    if (!p.usable) {
      return skip(
        [`not attempted: ${p.reason ?? `the probe stopped at ${p.stage}`}`],
        p.fix ?? 'make the KVM probe pass first (see kvm.dev-open and kvm.create-vm)',
      );
    }
    const r = await ctx.actions.runRawGuest(p.device);
    if (!r)
      return skip(
        [`not known: ${ctx.reader.source} holds no record of a raw guest run (rawrun.json)`],
        'capture the host again with `kvmbench doctor --capture DIR` to record one',
      );
    if (r.ok && r.split) return pass(rawRunEvidence(r));
    if (r.stage === 'setup') {
      return skip(
        [`not attempted: ${r.reason ?? 'the raw VMM could not be set up'}`],
        "rebuild kvmbench's guests (`npm run build:guests`, needs gcc and binutils) or reinstall dependencies (`npm ci`)",
      );
    }
    const ev = [r.call ? `${r.call} → ${r.errno}` : 'the guest did not run as written', `reason: ${r.reason ?? 'unknown'}`];
    const fix =
      r.call === 'KVM_RUN' || !r.call
        ? 'KVM opens and creates VMs but does not run guest code: read `sudo dmesg | grep -i kvm` for the kernel side; on nested or paravirtualized hosts check that the outer hypervisor exposes virtualization (PVM or nested VT-x/AMD-V); until then use `--accel tcg`'
        : `${r.call} failed: read \`sudo dmesg | grep -i kvm\`; ENOMEM or EMFILE point at this process's limits (memory cgroup, \`ulimit -n\`), EPERM/EACCES at a seccomp or LSM policy`;
    return fail(ev, fix);
  },
};
