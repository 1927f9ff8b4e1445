/**
 * `runDoctor`: runs every check against one HostReader and judges the selected profile.
 * All checks always run (the report shows the whole host); `profile` only decides which
 * of them set the verdict and so the exit code.
 */
import { hostFacts } from '../host/facts.js';
import { kvmFlavor } from '../host/flavor.js';
import type { ExaminedHost } from '../host/actions.js';
import { BENCH_CHECKS } from './checks/bench.js';
import { CONFORM_CHECKS } from './checks/conform.js';
import { CVM_CHECKS } from './checks/cvm.js';
import { cgroups, iommuKernel, tun } from './checks/host-validate.js';
import { KVM_CHECKS } from './checks/kvm.js';
import { kvmRun } from './checks/kvm-run.js';
import { NET_CHECKS } from './checks/net.js';
import { IO_CHECKS, NESTED_CHECKS, VMM_CHECKS } from './checks/vmm-io.js';
import {
  DOCTOR_PROFILES,
  type CheckDef,
  type CheckStatus,
  type DoctorCheck,
  type DoctorReport,
  type ProfileSelection,
  type Verdict,
} from './types.js';

export * from './types.js';

/**
 * Every built-in check, in the order they run and print (kvm first: others read its results;
 * kvm.run after the probe's), each profile's checks together. cvm comes last: it reads kvm's
 * results, and starts QEMU only on hosts with SEV or TDX hardware.
 */
export const DEFAULT_CHECKS: readonly CheckDef[] = [
  ...KVM_CHECKS,
  kvmRun,
  ...BENCH_CHECKS,
  ...VMM_CHECKS,
  cgroups,
  ...NESTED_CHECKS,
  ...IO_CHECKS,
  tun,
  ...NET_CHECKS,
  iommuKernel,
  ...CVM_CHECKS,
  ...CONFORM_CHECKS,
];

export interface DoctorOptions {
  /** Which profile decides the verdict (default `kvm`). */
  profile?: ProfileSelection;
  /** Checks appended after the built-in ones (e.g. `kvm.boot-smoke` for `doctor --boot`). */
  extraChecks?: readonly CheckDef[];
}

export function isProfileSelection(v: string): v is ProfileSelection {
  return v === 'all' || (DOCTOR_PROFILES as readonly string[]).includes(v);
}

const RANK: Record<CheckStatus, number> = { skip: 0, pass: 0, warn: 1, fail: 2 };

/** The worst status among checks that belong to the selected profile. */
export function verdictOf(checks: readonly DoctorCheck[], profile: ProfileSelection): Verdict {
  let worst = 0;
  for (const c of checks) if (profile === 'all' || c.profile === profile) worst = Math.max(worst, RANK[c.status]);
  return worst === 2 ? 'fail' : worst === 1 ? 'warn' : 'pass';
}

/** `host`: what is examined, its reader and the actions a check may take there (src/app/host-actions.ts live). */
export async function runDoctor(host: ExaminedHost, opts: DoctorOptions = {}): Promise<DoctorReport> {
  const t0 = performance.now();
  const { reader, actions } = host;
  const profile = opts.profile ?? 'kvm';
  const defs = [...DEFAULT_CHECKS, ...(opts.extraChecks ?? [])];
  const ids = new Set<string>();
  for (const d of defs) {
    if (ids.has(d.id)) throw new Error(`duplicate doctor check id ${d.id}`);
    ids.add(d.id);
  }
  const facts = hostFacts(reader);
  // Start the slow reads (dmesg, two QEMU runs) before the synchronous probe so the child
  // processes run while koffi loads; checks then find every fact memoized.
  const prefetch = Promise.all([
    facts.qemu(),
    facts.kernelLog(),
    facts.cpu(),
    facts.modules(),
    facts.virtualization(),
    facts.container(),
  ]);
  const probe = facts.probe();
  await prefetch;

  const results = new Map<string, DoctorCheck>();
  for (const def of defs) {
    const c0 = performance.now();
    let check: DoctorCheck;
    try {
      const out = await def.run({ reader, actions, facts, probe, results });
      check = {
        id: def.id,
        title: def.title,
        profile: def.profile,
        status: out.status,
        evidence: out.evidence,
        ...(out.fix ? { fix: out.fix } : {}),
      };
    } catch (err) {
      // A broken check must not read as a pass.
      check = {
        id: def.id,
        title: def.title,
        profile: def.profile,
        status: 'fail',
        evidence: [`the check itself failed: ${err instanceof Error ? err.message : String(err)}`],
        fix: 'this is a kvmbench bug; please report it with `kvmbench doctor --json`',
      };
    }
    check.durationMs = Math.round((performance.now() - c0) * 100) / 100;
    results.set(def.id, check);
  }
  const checks = [...results.values()];
  const flavor = await kvmFlavor(facts);
  const counts: Record<CheckStatus, number> = { pass: 0, warn: 0, fail: 0, skip: 0 };
  for (const c of checks) counts[c.status]++;
  return {
    kvm: {
      usable: probe.usable,
      device: probe.device,
      stage: probe.stage,
      ...(probe.errno ? { errno: probe.errno } : {}),
      ...(probe.apiVersion !== undefined ? { apiVersion: probe.apiVersion } : {}),
      ...(probe.reason ? { reason: probe.reason } : {}),
      ...(probe.fix
        ? { fix: results.get('kvm.dev-open')?.status === 'fail' ? results.get('kvm.dev-open')!.fix : probe.fix }
        : {}),
      capabilities: probe.capabilities,
      flavor: {
        name: flavor.flavor,
        ...(flavor.module ? { module: flavor.module } : {}),
        meaning: flavor.meaning,
        evidence: flavor.evidence,
      },
    },
    verdict: verdictOf(checks, profile),
    profile,
    source: reader.source,
    counts,
    checks,
    durationMs: Math.round(performance.now() - t0),
  };
}
