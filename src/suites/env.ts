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

/**
 * INTEGRATION: `collectFingerprint()` from src/host/fingerprint.ts (doctor engineer) replaces
 * this minimal record when it lands.
 */
export async function fingerprintDefault(): Promise<HostFingerprint> {
  const fp: HostFingerprint = {
    hostname: hostname(),
    nodeVersion: process.versions.node,
    kvmbenchVersion: kvmbenchVersion(),
  };
  const rev = gitRevision();
  if (rev) fp.gitRevision = rev;
  return fp;
}

export async function defaultDeps(): Promise<RunnerDeps> {
  const deps: RunnerDeps = { resolveAccel: resolveAccelDefault, fingerprint: fingerprintDefault };
  try {
    const report = await import('../report/index.js');
    deps.writeReports = report.writeReports;
  } catch {
    // Reports are a view; a run without them still has results.json.
  }
  return deps;
}
