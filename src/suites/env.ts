/**
 * What the runner needs from the rest of kvmbench, in one place: the accelerator to use,
 * the host fingerprint, the doctor's verdict on `requires:` checks, and the report writer.
 * The runner takes these as injectable dependencies so its tests can replace them.
 */
import { hostname } from 'node:os';
import { resolveAccelerator, type AccelRequest } from '../vmm/accel.js';
import type { Accelerator, HostFingerprint, Results } from '../results/model.js';
import { gitRevision, kvmbenchVersion } from '../version.js';

export type { AccelRequest } from '../vmm/accel.js';

export interface RunAccel {
  accel: Accelerator;
  /** E.g. the `auto` fallback to TCG, shown to the user and stored in run.warnings. */
  warnings: string[];
}

/** The doctor's answer for one check id: ok, or why not. */
export interface RequirementStatus {
  ok: boolean;
  reason: string;
}

export interface RunnerDeps {
  resolveAccel(requested: AccelRequest): Promise<RunAccel>;
  fingerprint(): Promise<HostFingerprint>;
  /**
   * Status of the given doctor check ids; undefined when no doctor is available, in which
   * case the runner records a warning and runs the cases anyway.
   */
  checkRequirements?(ids: readonly string[]): Promise<Map<string, RequirementStatus>>;
  writeReports?(results: Results, dir: string): Promise<string[]>;
}

/** src/vmm/accel.ts decides (functional KVM probe; exit 3 for `kvm` without KVM). */
export async function resolveAccelDefault(requested: AccelRequest): Promise<RunAccel> {
  const choice = resolveAccelerator(requested);
  return { accel: choice.accel, warnings: choice.warning ? [choice.warning] : [] };
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
 * The real dependencies. The doctor, fingerprint and report modules are imported when a run
 * starts (not at CLI load, to keep `kvmbench --version` fast); an import failure is a bug and
 * surfaces as one. A fingerprint that fails on an odd host falls back to the minimal record.
 */
export async function defaultDeps(): Promise<RunnerDeps> {
  const [fp, doctor, report] = await Promise.all([import('../host/fingerprint.js'), import('../doctor/index.js'), import('../report/index.js')]);
  return {
    resolveAccel: resolveAccelDefault,
    fingerprint: () => fp.collectFingerprint().catch(() => fingerprintFallback()),
    checkRequirements: async (ids) => requirementsFromDoctor(await doctor.runDoctor(), ids),
    writeReports: report.writeReports,
  };
}
