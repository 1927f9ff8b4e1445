/**
 * `kvm.boot-smoke` (doctor --boot): the probe proves /dev/kvm opens and creates a VM;
 * this proves a real guest runs on it. It boots the smallest micro guest under
 * `-accel kvm` once. Without usable KVM it boots under TCG instead, so the evidence
 * still says whether QEMU and the guest images work, and the check is a skip.
 */
import { smokeBoot, type SmokeBootResult } from '../../vmm/smoke.js';
import type { CheckDef, CheckOutcome } from '../types.js';

const BOOT_TIMEOUT_MS = 20_000;

function evidenceLines(r: SmokeBootResult): string[] {
  const e = r.evidence;
  const lines = [r.detail];
  if (e.image) lines.push(`guest image: ${String(e.image)} sha256=${String(e.sha256 ?? '?').slice(0, 16)}`);
  if (e.exitCode !== undefined)
    lines.push(
      `QEMU exit status ${String(e.exitCode)} (${String(e.status)}), ${String(e.consoleBytes ?? 0)} console bytes, ${String(e.durationMs)} ms`,
    );
  if (r.execution) lines.push(...r.execution.evidence.map((l) => `execution ${r.execution!.mode}: ${l}`));
  if (r.cpuNote) lines.push(`-cpu ${r.cpu}: ${r.cpuNote}`);
  if (Array.isArray(e.argv)) lines.push(`argv: ${(e.argv as string[]).join(' ')}`);
  return lines;
}

export function bootSmokeCheck(boot: typeof smokeBoot = smokeBoot): CheckDef {
  return {
    id: 'kvm.boot-smoke',
    title: 'A micro guest boots under KVM',
    profile: 'kvm',
    async run(ctx): Promise<CheckOutcome> {
      if (!ctx.probe.usable) {
        const tcg = await boot({ accel: 'tcg', timeoutMs: BOOT_TIMEOUT_MS });
        return {
          status: 'skip',
          evidence: [
            `not attempted under KVM: ${ctx.probe.reason ?? `probe stopped at ${ctx.probe.stage}`}`,
            ...evidenceLines(tcg).map((l) => `TCG instead: ${l}`),
          ],
          fix: ctx.probe.fix ?? 'make the KVM probe pass first (see kvm.dev-open and kvm.create-vm)',
        };
      }
      const r = await boot({ accel: 'kvm', timeoutMs: BOOT_TIMEOUT_MS });
      if (r.ok) return { status: 'pass', evidence: evidenceLines(r) };
      return {
        status: 'fail',
        evidence: evidenceLines(r),
        fix: 'KVM opens but a guest does not run: check `dmesg` for kvm errors, try `kvmbench run exits --accel kvm` for the console log, and compare with `--accel tcg`; on nested hosts check the outer hypervisor exposes virtualization',
      };
    },
  };
}
