/**
 * The runner's real dependencies (the interfaces are src/suites/deps.ts): the accelerator choice
 * with its calibration boot, the host fingerprint, the doctor's verdict on `requires:` checks and
 * the report writer. Only the composition root binds the engine to the doctor and the views.
 */
import { hostname } from 'node:os';
import { EnvironmentError } from '../errors.js';
import { resolveAccelerator, type AccelRequest } from '../vmm/accel.js';
import { smokeBoot, TCG_CPU } from '../vmm/smoke.js';
import type { HostFingerprint } from '../results/model.js';
import type { RequirementStatus, RunAccel, RunnerDeps } from '../suites/deps.js';
import { gitRevision, kvmbenchVersion } from '../version.js';
import { runDoctor } from '../doctor/index.js';
import { collectFingerprint } from '../host/fingerprint.js';
import { writeReports } from '../report/index.js';
import { liveExaminedHost, liveHostActions } from './host-actions.js';

/** How long the calibration boot may take (a micro guest on microvm: 0.1 s emulated, 0.05 s native). */
const CALIBRATION_TIMEOUT_MS = 20_000;

/**
 * src/vmm/accel.ts decides on the functional probe (exit 3 for `kvm` without KVM); under KVM a
 * calibration boot (src/vmm/smoke.ts) then proves a guest runs, picks the `-cpu` QEMU accepts
 * here and measures whether guest code runs natively or emulated. A KVM that opens but cannot
 * run a guest is exit 3 for `--accel kvm` and a TCG fallback with a warning for `auto`.
 */
export async function resolveAccelDefault(requested: AccelRequest, qemu?: string): Promise<RunAccel> {
  const choice = resolveAccelerator(requested, undefined, qemu === undefined ? undefined : () => qemu);
  const warnings = choice.warning ? [choice.warning] : [];
  if (choice.accel === 'tcg') return { accel: 'tcg', warnings, cpu: TCG_CPU };
  // The calibration boot uses the binary the guests will use: the -cpu it picks must be one that QEMU accepts.
  const boot = await smokeBoot({
    accel: 'kvm',
    timeoutMs: CALIBRATION_TIMEOUT_MS,
    ...(qemu === undefined ? {} : { binary: qemu }),
  });
  if (!boot.ok) {
    if (requested === 'kvm') {
      throw new EnvironmentError(
        `--accel kvm: /dev/kvm opens, but QEMU cannot run a guest under KVM here: ${boot.detail}`,
        'run `kvmbench doctor --boot` for the details, or use --accel tcg',
      );
    }
    return {
      accel: 'tcg',
      cpu: TCG_CPU,
      warnings: [
        ...warnings,
        `KVM opens but QEMU cannot run a guest under it (${boot.detail}); running under TCG: figures are software emulation`,
      ],
    };
  }
  if (boot.execution?.mode === 'emulated') {
    warnings.push(
      `guest code runs emulated under this host's KVM (${boot.execution.evidence[0]}): exit and boot figures are KVM instruction-emulator costs, not hardware virtualization`,
    );
  }
  return {
    accel: 'kvm',
    warnings,
    cpu: boot.cpu!,
    ...(boot.cpuNote ? { cpuNote: boot.cpuNote } : {}),
    ...(boot.execution ? { execution: boot.execution } : {}),
  };
}

/** Minimal record used when src/host/fingerprint.ts cannot be loaded. */
export async function fingerprintFallback(): Promise<HostFingerprint> {
  const fp: HostFingerprint = {
    hostname: hostname(),
    nodeVersion: process.versions.node,
    kvmbenchVersion: kvmbenchVersion(),
  };
  const rev = gitRevision();
  if (rev) fp.gitRevision = rev;
  return fp;
}

/** The part of the doctor's report that `requires:` reads (src/doctor/types.ts DoctorReport). */
interface DoctorLike {
  checks: { id: string; status: 'pass' | 'warn' | 'fail' | 'skip'; evidence: string[]; fix?: string }[];
}

/**
 * A `requires:` id is met when the doctor check with that id passes or only warns; a `fail`
 * or `skip` is unmet with the check's first evidence line (and fix) as the reason; an id the
 * doctor does not know is unmet, so a typo skips visibly instead of running unchecked.
 */
export function requirementsFromDoctor(report: DoctorLike, ids: readonly string[]): Map<string, RequirementStatus> {
  const byId = new Map(report.checks.map((c) => [c.id, c]));
  const out = new Map<string, RequirementStatus>();
  for (const id of ids) {
    const c = byId.get(id);
    if (!c) {
      out.set(id, { ok: false, reason: `the doctor has no check '${id}'` });
    } else if (c.status === 'pass' || c.status === 'warn') {
      out.set(id, { ok: true, reason: '' });
    } else {
      const what = c.evidence[0] ?? `check ${c.status}`;
      out.set(id, { ok: false, reason: `${c.status === 'skip' ? 'skipped: ' : ''}${what}${c.fix ? ` (fix: ${c.fix})` : ''}` });
    }
  }
  return out;
}

/**
 * The real dependencies. A fingerprint that fails on an odd host falls back to the minimal record.
 * This module is loaded only by the commands that run suites, so its imports cost nothing elsewhere.
 */
export function defaultDeps(): RunnerDeps {
  return {
    resolveAccel: resolveAccelDefault,
    fingerprint: () => collectFingerprint().catch(() => fingerprintFallback()),
    checkRequirements: async (ids) => requirementsFromDoctor(await runDoctor(liveExaminedHost()), ids),
    hostActions: liveHostActions,
    writeReports,
  };
}
