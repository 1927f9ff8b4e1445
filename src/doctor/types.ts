/**
 * The doctor's vocabulary. A check has a stable id (scripts, suites' `requires` and CI
 * dashboards key on it), belongs to one profile, and reports what it read (evidence) and,
 * when not `pass`, what a person can do (fix).
 */
import type { HostFacts } from '../host/facts.js';
import type { KvmProbeResult } from '../kvm/probe.js';
import type { HostReader } from '../host/reader.js';
import type { HostActions } from '../host/actions.js';

export const DOCTOR_PROFILES = ['kvm', 'bench', 'vmm', 'nested', 'io', 'cvm', 'conform'] as const;
export type DoctorProfile = (typeof DOCTOR_PROFILES)[number];
/** What `--profile` accepts: one profile, or `all` (every check decides). */
export type ProfileSelection = DoctorProfile | 'all';

export type CheckStatus = 'pass' | 'warn' | 'fail' | 'skip';

export interface DoctorCheck {
  id: string;
  title: string;
  profile: DoctorProfile;
  status: CheckStatus;
  /** What was read, one fact a line: paths with values, ioctl results, command output. */
  evidence: string[];
  /** What to do about a non-pass status: a command, a BIOS setting, a group, a module option. */
  fix?: string;
  durationMs?: number;
}

export type CheckOutcome = Pick<DoctorCheck, 'status' | 'evidence' | 'fix'>;

export interface CheckContext {
  reader: HostReader;
  /** Starting QEMU or a raw VM for a check: given by the caller (src/app/host-actions.ts live). */
  actions: HostActions;
  facts: HostFacts;
  probe: KvmProbeResult;
  /** Outcomes of the checks that ran before this one, by id (checks run in list order). */
  results: ReadonlyMap<string, DoctorCheck>;
}

/** A check definition. Later code adds its own (e.g. `kvm.boot-smoke`) through `extraChecks`. */
export interface CheckDef {
  id: string;
  title: string;
  profile: DoctorProfile;
  run(ctx: CheckContext): Promise<CheckOutcome> | CheckOutcome;
}

export type Verdict = 'pass' | 'warn' | 'fail';

export interface DoctorReport {
  /** The functional probe's answer, the single source of truth for "can KVM run here". */
  kvm: {
    usable: boolean;
    device: string;
    stage: KvmProbeResult['stage'];
    errno?: string;
    apiVersion?: number;
    reason?: string;
    fix?: string;
    capabilities: Record<string, number>;
    /** What kind of KVM this is (src/host/flavor.ts), from modules and flags even when the probe fails. */
    flavor: { name: string; module?: string; meaning: string; evidence: string[] };
  };
  /** Worst status among the checks of the selected profile (skip counts as pass). */
  verdict: Verdict;
  profile: ProfileSelection;
  /** Where the facts came from: `live` or `fixture:<name>`. */
  source: string;
  counts: Record<CheckStatus, number>;
  checks: DoctorCheck[];
  durationMs: number;
}
