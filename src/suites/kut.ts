/**
 * The `kut` suite: a user's kvm-unit-tests tree as a suite, one `conformance` case per stanza of
 * its `x86/unittests.cfg`, in file order (src/cases/conformance.ts runs them). Built here instead
 * of from a YAML file because the tree is the user's and its stanzas are the data; the cases then
 * go through the same selection (`--only`, groups as tags), runner, results and views as any other.
 */
import { readKutTree, type KutTree } from '../kut/tree.js';
import { timeoutSeconds, type Stanza } from '../kut/cfg.js';
import type { Accelerator } from '../results/model.js';
import type { LoadedSuite } from './load.js';
import type { CaseSpec } from '../cases/types.js';

export const KUT_SUITE = 'kut';
export const CONFORMANCE_KIND = 'conformance';
/** Added to a stanza's own timeout for QEMU's start and teardown: the runner's deadline, not the test's. */
const DEADLINE_SLACK_SEC = 30;

function accelOf(s: Stanza): Accelerator[] {
  // `accel = kvm` (or `tcg`) limits the stanza; the runner skips it with the reason elsewhere.
  const a = s.accel?.trim();
  if (a === 'kvm' || a === 'tcg') return [a];
  return ['kvm', 'tcg'];
}

/** One stanza as a case. `explicit`: the user named cases (--only), so `nodefault` stanzas may run. */
export function stanzaCase(tree: KutTree, s: Stanza, explicit: boolean): CaseSpec {
  const smp = s.smp?.trim() ?? '1';
  const timeout = timeoutSeconds(s.timeout);
  const args: CaseSpec['args'] = {
    kut_dir: tree.dir,
    tree_arch: tree.arch,
    file: `x86/${s.file}`,
    cfg_line: `${tree.cfgPath}:${s.line}`,
    smp,
    groups: s.groups,
  };
  if (tree.efi) args.efi = true;
  if (s.qemuParams !== undefined) args.qemu_params = s.qemuParams;
  if (s.testArgs !== undefined) args.test_args = s.testArgs;
  if (s.arch) args.arch = s.arch;
  if (s.machine) args.stanza_machine = s.machine;
  if (s.accel) args.accel = s.accel;
  if (s.check) args.check = s.check;
  if (s.disabledIf) args.disabled_if = s.disabledIf;
  if (s.timeout !== undefined) args.timeout = s.timeout;
  if (!explicit && s.groups.includes('nodefault')) args.nodefault = true;
  return {
    id: s.name,
    suite: KUT_SUITE,
    title: `${s.file}${s.testArgs ? ` ${s.testArgs}` : ''}`,
    kind: CONFORMANCE_KIND,
    machine: s.machine === 'q35' ? 'q35' : 'pc',
    accel: accelOf(s),
    vcpus: /^\d+$/.test(smp) && Number(smp) >= 1 ? Number(smp) : 1,
    memoryMiB: 128,
    args,
    repeat: 1,
    deadlineSec: (timeout ?? 90) + DEADLINE_SLACK_SEC,
    tags: s.groups,
    requires: [],
  };
}

/**
 * A stanza's own timeout multiplied by `scale` (the nested lab's deadline scale under an outer TCG,
 * where every L2 exit costs tens of microseconds): the stanza then times out for being stuck, not
 * for running one level down. Other cases are returned as they are.
 */
export function scaleStanzaTimeout(c: CaseSpec, scale: number): CaseSpec {
  if (c.kind !== CONFORMANCE_KIND || scale === 1) return c;
  const own = timeoutSeconds(typeof c.args.timeout === 'string' ? c.args.timeout : undefined);
  if (own === undefined) return c; // not a duration: the executor skips it with the reason
  return { ...c, args: { ...c.args, timeout: `${Math.ceil(own * scale)}s` } };
}

/** The tree at `dir` as a suite (UsageError for a bad tree or cfg, with the line). */
export function loadKutSuite(dir: string, opts: { explicit: boolean; cwd?: string }): LoadedSuite {
  const tree = readKutTree(dir, opts.cwd);
  const cases = tree.cfg.stanzas.map((s) => stanzaCase(tree, s, opts.explicit));
  return {
    name: KUT_SUITE,
    file: tree.cfgPath,
    description: `kvm-unit-tests stanzas of ${tree.cfgPath}`,
    cases,
    origins: Object.fromEntries(tree.cfg.stanzas.map((s) => [`${KUT_SUITE}/${s.name}`, `${tree.cfgPath}:${s.line}`])),
    ...(tree.cfg.warnings.length ? { warnings: tree.cfg.warnings } : {}),
  };
}
