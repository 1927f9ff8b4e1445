/**
 * `kvmbench run SUITE --nested` (docs/nested.md): the suite one level down. kvmbench boots an L1
 * Linux guest that offers hardware virtualization (KVM with nesting where this host has it, else
 * TCG's AMD-V), and the same kvmbench, Node.js and QEMU run inside it against L2 guests. The host
 * shares only what that needs, read-only (src/nested/layout.ts); the plan goes in and the results
 * come back through one writable channel directory, `<run dir>/layer1/`. The run directory then
 * holds a normal results directory of the L2 run: every figure labelled `layer: 2`, and
 * `run.nested` describing L1 (its kernel, -cpu, the outer accelerator, L1's doctor verdict and
 * flavour). Ctrl-C kills L1's QEMU (the launcher's process group), and with it everything in L1.
 */
import { existsSync, lstatSync, readFileSync, readlinkSync, realpathSync, writeFileSync, mkdirSync } from 'node:fs';
import { availableParallelism, homedir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { EnvironmentError, ExitCode, UsageError, type Outcome } from '../errors.js';
import type { LoadedSuite } from '../suites/load.js';
import { KUT_SUITE } from '../suites/kut.js';
import { DEFAULT_MAX_ROUNDS } from '../suites/adaptive-rounds.js';
import type { CaseSpec } from '../cases/types.js';
import type { SamplingRequest } from '../stats/precision.js';
import { buildLinuxImage, imageFacts } from '../linux/image.js';
import { bootL1, l1VcpuCount, L1_MEMORY_MIB, TCG_L1_CPU, type L1Boot } from '../nested/l1.js';
import { layoutFile, planLayout, type L1Layout, type LayoutFs } from '../nested/layout.js';
import { CHANNEL_FILES, NESTED_PLAN_SCHEMA, type NestedPlan, type NestedStep } from '../nested/plan.js';
import { prepareOutputDir } from '../results/outdir.js';
import { loadResults } from '../results/load.js';
import { writeJsonAtomic } from '../results/writer.js';
import { RESULTS_SCHEMA, type Accelerator, type CaseResult, type NestedInfo, type Results } from '../results/model.js';
import { qemuBinary } from '../vmm/qemu.js';
import { packageRoot, kvmbenchVersion, gitRevision } from '../version.js';

/** The step of a kvm-unit-tests tree given with another suite (`run SUITE --nested --kut-dir DIR`). */
const KUT_STEP = 'kut';

/** The kut step's selection: the whole tree (the main suite's --only/--skip, --repeat and --machine are the main suite's). */
function kutStepFlags(flags: NestedRunOptions['flags']): NestedRunOptions['flags'] {
  const { only: _only, skip: _skip, repeat: _repeat, machine: _machine, ...rest } = flags;
  return rest;
}

/** Case kinds that do not run at layer 2 (yet), with why. */
const LAYER2_UNSUPPORTED: Record<string, (outer: Accelerator) => string | undefined> = {
  'boot-linux': (outer) =>
    outer === 'tcg'
      ? 'a Linux boot under nested KVM inside TCG takes minutes per boot: run --nested on a host with nested VT-x/AMD-V for Linux boots at layer 2'
      : undefined,
  io: () => 'I/O at layer 2 needs a disk-backed scratch directory inside L1, which the nested lab does not provide yet',
  net: () => 'the net suite at layer 2 needs network namespaces and iperf3 inside L1, which the nested lab does not provide yet',
  doctor: () => 'the doctor runs at layer 1 in every nested run: see run.nested.l1Doctor and layer1/doctor.json',
};

/** The vCPUs a case's L2 guest needs: its own, its exit test's (tests.def `cpus`), two for every-vCPU and sweep cases. */
export function vcpusNeeded(
  c: Pick<CaseSpec, 'id' | 'kind' | 'vcpus' | 'args'>,
  rows: ReadonlyMap<string, { cpus: number }>,
): number {
  const test = typeof c.args.test === 'string' ? c.args.test : c.id;
  const sweep: unknown[] = Array.isArray(c.args.vcpu_sweep) ? c.args.vcpu_sweep : [];
  return Math.max(
    c.vcpus,
    c.kind === 'exits' ? (rows.get(test)?.cpus ?? 1) : 1,
    c.args.parallel === true || c.kind === 'exits-scaling' ? 2 : 1,
    ...sweep.map((v) => (Number.isFinite(Number(v)) ? Number(v) : 2)),
  );
}

/**
 * Why a case does not run at layer 2 for want of vCPUs. More than L1 has and the L2 vCPUs would
 * share L1's: the sender is descheduled for its receiver to run, one more exit per IPI than any
 * host with a CPU per vCPU shows (measured: docs/nested.md, "Several vCPUs at layer 2").
 */
export function severalVcpus(
  c: Pick<CaseSpec, 'id' | 'kind' | 'vcpus' | 'args'>,
  rows: ReadonlyMap<string, { cpus: number }>,
  l1Vcpus: number,
): string | undefined {
  const need = vcpusNeeded(c, rows);
  return need > l1Vcpus
    ? `the case needs ${need} vCPUs and L1 has ${l1Vcpus}: the L2 vCPUs would share L1's, and each IPI would cost an exit for the descheduled sender (docs/nested.md)`
    : undefined;
}

/**
 * Case deadlines at layer 2 under an outer TCG: an L2 exit there costs 40-400 µs (measured, docs/nested.md)
 * against 1-10 µs on hardware, and a quick exits case's 20 s was cut short on a loaded 2-core host.
 */
const TCG_DEADLINE_SCALE = 4;

/** Booting L1 to its kvmbench (kernel, modules, 9p, Node start) under TCG: about 10 s measured here; 5 minutes is a hang. */
const L1_BOOT_BUDGET_MS = 300_000;
/**
 * The longest L1 may stay silent outside a case: its root assembly, Node.js starting under TCG, the
 * doctor. Inside a case the case's own bound is added, so a stalled L1 (its vCPUs spinning in TCG,
 * seen with two L1 vCPUs: docs/nested.md) ends within minutes instead of at the whole plan's deadline.
 */
const L1_QUIET_MS = 120_000;

export interface NestedRunOptions {
  suite: string;
  flags: {
    quick: boolean;
    repeat?: number;
    machine?: string;
    only?: string[];
    skip?: string[];
    accel: string;
    rounds: number;
    /** Suite kut: the kvm-unit-tests tree, shared with L1 read-only (docs/kut.md, "At layer 2"). */
    'kut-dir'?: string;
    jobs?: number;
  };
  output?: string;
  argv: string[];
  signal?: AbortSignal;
  /** Progress for a person (stderr). */
  log(line: string): void;
  /** `run`'s suite selection (the command layer lends it: suite name or file, overrides, --only/--skip). */
  select(name: string, flags: NestedRunOptions['flags']): { suite: LoadedSuite; cases: CaseSpec[] };
  /** `run`'s adaptive sampling for the selected suite (its flags, else the suite's `sampling:`), which L1 applies. */
  sampling?(suite: LoadedSuite): { sampling?: SamplingRequest; maxRounds?: number };
}

export interface NestedRunSummary {
  results: Results;
  dir: string;
  reports: string[];
  outcome: Exclude<Outcome, 'regression'>;
}

/** The outer layer: how this host runs L1. */
export interface OuterChoice {
  accel: Accelerator;
  cpu: string;
  note: string;
  l0Host: Record<string, string>;
}

/** KVM with nesting on (the doctor's nested.state passes) runs L1 under KVM; anything else under TCG's AMD-V. */
export async function chooseOuter(): Promise<OuterChoice> {
  const { doctorSession } = await import('./doctor.js');
  const { report, host: fp } = await doctorSession({ profile: 'nested', boot: false });
  const flavor = report.kvm.flavor.name;
  const nested = report.checks.find((c) => c.id === 'nested.state');
  const l0Host: Record<string, string> = { kvmFlavor: flavor };
  if (fp.cpuModel) l0Host.cpuModel = fp.cpuModel;
  if (fp.kernelRelease) l0Host.kernelRelease = fp.kernelRelease;
  if (fp.qemuVersion) l0Host.qemuVersion = fp.qemuVersion;
  if (report.kvm.usable && (flavor === 'bare-metal' || flavor === 'nested') && nested?.status === 'pass') {
    return {
      accel: 'kvm',
      cpu: 'host',
      note: `this host's KVM (${report.kvm.flavor.module ?? flavor}) passes VT-x/AMD-V through to L1 (nested.state passes)`,
      l0Host,
    };
  }
  const why = !report.kvm.usable
    ? `no usable KVM here (${report.kvm.stage})`
    : flavor === 'pvm'
      ? "this host's KVM is PVM, which cannot run a stock L1 kernel"
      : `this host's KVM does not offer nesting (${nested?.evidence.at(-1) ?? 'nested.state did not pass'})`;
  return {
    accel: 'tcg',
    cpu: TCG_L1_CPU,
    note: `${why}: L1 runs under TCG with an emulated AMD-V CPU (${TCG_L1_CPU}); timings are TCG's, exit counts are L1's KVM's own`,
    l0Host,
  };
}

/** The live file system, as the layout rules see it. */
const liveLayoutFs: LayoutFs = {
  kind(path) {
    try {
      const st = lstatSync(path);
      if (st.isSymbolicLink()) return { type: 'link', target: readlinkSync(path) };
      return st.isDirectory() ? { type: 'dir' } : undefined;
    } catch {
      return undefined;
    }
  },
  realpath: (p) => realpathSync(p),
};

/** A suite given as a file outside the shared tree is shared too: its directory, read-only. */
function suitePathForL1(suite: string, layout: L1Layout): string {
  if (!/[/.]/.test(suite) || !existsSync(suite)) return suite; // a shipped suite's name
  const abs = realpathSync(resolve(suite));
  const shared = layout.shares.some((s) => !relative(s.path, abs).startsWith('..'));
  if (!shared)
    throw new UsageError(
      `${suite}: a suite file for --nested must lie inside kvmbench's directory or a shared system directory (L1 sees nothing else)`,
      `copy it under ${packageRoot()}, e.g. into suites/`,
    );
  return abs;
}

/**
 * Runs the plan in one L1 boot and returns what came back. Shared by `run --nested` and the
 * nested exit-cost table (`--beside`).
 */
export async function runNested(opts: NestedRunOptions): Promise<NestedRunSummary> {
  if (opts.flags.accel === 'tcg')
    throw new UsageError(
      "--nested runs L2 guests under L1's KVM: --accel tcg does not apply",
      'drop --accel, or run without --nested for TCG',
    );
  if ((opts.flags.jobs ?? 1) > 1)
    throw new UsageError(
      `--nested runs the cases one at a time: L1 has one vCPU, so --jobs ${opts.flags.jobs} would only share it`,
      'drop --jobs with --nested',
    );
  // The suite and selection are checked here first: a mistake is exit 2 before anything boots.
  // --kut-dir with another suite: the tree's stanzas are a second step of the same L1 boot (the CI lane's conformance path).
  const alsoKut = opts.flags['kut-dir'] !== undefined && opts.suite !== KUT_SUITE;
  const { suite, cases } = opts.select(opts.suite, alsoKut ? { ...opts.flags, 'kut-dir': undefined } : opts.flags);
  const kutCases = alsoKut ? opts.select(KUT_SUITE, kutStepFlags(opts.flags)).cases : [];
  // The tree as the selection read it (absolute, links resolved): L1 mounts it at the same path.
  const kutDir = opts.flags['kut-dir'] !== undefined ? realpathSync(resolve(opts.flags['kut-dir'])) : undefined;
  const sampling = opts.sampling?.(suite) ?? {};
  // The most rounds a case may take in L1: --precision with --rounds above 1 adds rounds up to --max-rounds.
  const roundsBound =
    sampling.sampling?.precision !== undefined && opts.flags.rounds > 1
      ? Math.max(opts.flags.rounds, sampling.maxRounds ?? DEFAULT_MAX_ROUNDS)
      : Math.max(1, opts.flags.rounds);
  const outer = await chooseOuter();
  opts.log(`nested: L1 under ${outer.accel.toUpperCase()} (-cpu ${outer.cpu}): ${outer.note}`);

  const unsupported = new Map<CaseSpec, string>();
  const { exitTests } = await import('../cases/exits.js');
  const rows = new Map(exitTests().map((t) => [t.name, t]));
  for (const c of [...cases, ...kutCases]) {
    const why = LAYER2_UNSUPPORTED[c.kind]?.(outer.accel);
    if (why) unsupported.set(c, why);
  }
  // L1 gets a second vCPU only when a case of the run's own suite needs it (docs/nested.md,
  // "Several vCPUs at layer 2"); a --kut-dir step's stanzas fit what that gives or skip.
  const need = Math.max(1, ...cases.filter((c) => !unsupported.has(c)).map((c) => vcpusNeeded(c, rows)));
  const l1Vcpus = l1VcpuCount(availableParallelism(), need);
  for (const c of [...cases, ...kutCases]) {
    const why = unsupported.has(c) ? undefined : severalVcpus(c, rows, l1Vcpus);
    if (why) unsupported.set(c, why);
  }
  const runnable = cases.filter((c) => !unsupported.has(c));
  const kutRunnable = kutCases.filter((c) => !unsupported.has(c));

  // Everything L1 runs must exist before it boots: L1 sees kvmbench's tree read-only.
  const { buildAllGuests } = await import('../guests/index.js');
  await buildAllGuests();
  opts.log("nested: building the L1 image (Debian's standard kernel, 9p and KVM modules)");
  const image = await buildLinuxImage({ variant: 'l1', onProgress: (m) => opts.log(`nested: l1 image: ${m}`) });

  const layout = planLayout({
    fs: liveLayoutFs,
    packageRoot: packageRoot(),
    nodeBinary: process.execPath,
    qemuBinary: qemuBinary(),
    home: homedir(),
    env: process.env.KVMBENCH_QEMU ? { KVMBENCH_QEMU: process.env.KVMBENCH_QEMU } : {},
    ...(kutDir ? { extra: [{ path: kutDir, why: 'the kvm-unit-tests tree of suite kut (--kut-dir)' }] } : {}),
  });
  const suiteForL1 = suitePathForL1(opts.suite, layout);

  const out = await prepareOutputDir({ output: opts.output });
  const channel = join(out.dir, 'layer1');
  mkdirSync(join(channel, CHANNEL_FILES.steps), { recursive: true });
  const step: NestedStep = {
    id: 'main',
    suite: suiteForL1,
    quick: opts.flags.quick,
    ...(opts.flags.only ? { only: opts.flags.only } : {}),
    skip: [...(opts.flags.skip ?? []), ...cases.filter((c) => unsupported.has(c)).map((c) => `${c.suite}/${c.id}`)],
    ...(opts.flags.repeat ? { repeat: opts.flags.repeat } : {}),
    ...(opts.flags.machine ? { machine: opts.flags.machine } : {}),
    rounds: opts.flags.rounds,
    ...(sampling.sampling ? { sampling: sampling.sampling } : {}),
    ...(sampling.maxRounds !== undefined ? { maxRounds: sampling.maxRounds } : {}),
    ...(outer.accel === 'tcg' ? { deadlineScale: TCG_DEADLINE_SCALE } : {}),
    ...(kutDir && !alsoKut ? { kutDir } : {}),
  };
  if (step.skip?.length === 0) delete step.skip;
  const steps: NestedStep[] = runnable.length ? [step] : [];
  if (kutDir && alsoKut && kutRunnable.length) {
    const skipped = kutCases.filter((c) => unsupported.has(c)).map((c) => `${c.suite}/${c.id}`);
    steps.push({
      id: KUT_STEP,
      suite: KUT_SUITE,
      quick: opts.flags.quick,
      ...(skipped.length ? { skip: skipped } : {}),
      ...(step.deadlineScale ? { deadlineScale: step.deadlineScale } : {}),
      kutDir,
    });
  }
  const plan: NestedPlan = { schema: NESTED_PLAN_SCHEMA, argv: opts.argv, steps };
  const started = new Date().toISOString();
  let boot: L1Boot | undefined;
  try {
    if (steps.length) {
      writeFileSync(join(channel, CHANNEL_FILES.layout), layoutFile(layout));
      await writeJsonAtomic(join(channel, CHANNEL_FILES.plan), plan);
      // The deadline bounds L1 as a whole: its boot and every case's own deadline (each rounds times).
      const timeoutMs =
        L1_BOOT_BUDGET_MS +
        [...runnable, ...kutRunnable].reduce((s, c) => s + c.deadlineSec * 1000, 0) * roundsBound * (step.deadlineScale ?? 1);
      const silenceMs =
        L1_QUIET_MS +
        Math.max(0, ...[...runnable, ...kutRunnable].map((c) => c.deadlineSec * 1000)) * roundsBound * (step.deadlineScale ?? 1);
      opts.log(`nested: booting L1 (${layout.shares.length} read-only shares: ${layout.shares.map((s) => s.path).join(', ')})`);
      boot = await bootL1({
        image,
        layout,
        channelDir: channel,
        accel: outer.accel,
        cpu: outer.cpu,
        vcpus: l1Vcpus,
        timeoutMs,
        silenceMs,
        signal: opts.signal,
        logPath: join(channel, 'console.log'),
        onLine(line) {
          if (line.kind === 'event') {
            if (line.type === 'l1-kvm')
              opts.log(
                `nested: L1 kernel up; KVM module ${line.fields.module}, /dev/kvm ${line.fields.dev === 'yes' ? 'present' : 'MISSING'}`,
              );
            else if (line.type === 'l1-ready') opts.log('nested: L1 root assembled; starting kvmbench at layer 1');
            else if (line.type === 'l1-doctor')
              opts.log(
                `nested: L1 doctor: ${line.fields.verdict}, KVM usable ${line.fields.usable}, flavour ${line.fields.flavor} (${line.fields.module})`,
              );
          } else if (line.text.trim()) opts.log(`  L1 │ ${line.text}`);
        },
      });
    }
  } finally {
    await out.release();
  }
  const interrupted = opts.signal?.aborted === true;
  return finishNested({
    dir: out.dir,
    runId: out.runId,
    channel,
    boot,
    outer,
    l1Vcpus,
    image: imageFacts(image),
    unsupported,
    planned: steps.length ? [...runnable, ...kutRunnable] : [],
    stepIds: steps.map((s) => s.id),
    suiteName: suite.name,
    argv: opts.argv,
    quick: opts.flags.quick,
    started,
    interrupted,
    interruptReason: interrupted ? String(opts.signal?.reason) : undefined,
  });
}

interface FinishInput {
  dir: string;
  runId: string;
  channel: string;
  boot?: L1Boot;
  outer: OuterChoice;
  l1Vcpus: number;
  image: Record<string, string>;
  unsupported: Map<CaseSpec, string>;
  /** The cases L1 was to run, every step's, in plan order. */
  planned: CaseSpec[];
  /** The plan's steps, in order: the first is the run's own, the others' cases follow its cases. */
  stepIds: string[];
  suiteName: string;
  argv: string[];
  quick: boolean;
  started: string;
  interrupted: boolean;
  interruptReason?: string;
}

/** The tail of L1's console, for an error that says where L1 stopped. */
function consoleTail(channel: string, lines = 15): string {
  try {
    return readFileSync(join(channel, 'console.log'), 'utf8')
      .split('\n')
      .filter((l) => l.trim())
      .slice(-lines)
      .join('\n');
  } catch {
    return '(no console log)';
  }
}

async function finishNested(f: FinishInput): Promise<NestedRunSummary> {
  const { boot } = f;
  const back: Array<{ dir: string; results: Results }> = [];
  for (const id of f.stepIds) {
    const dir = join(f.channel, CHANNEL_FILES.steps, id);
    if (!existsSync(join(dir, 'results.json')) && !existsSync(join(dir, 'results.jsonl'))) continue;
    try {
      back.push({ dir, results: (await loadResults(dir)).results });
    } catch {
      // a torn file from a killed L1: reported below as nothing measured
    }
  }
  const inner: Results | undefined = back[0]?.results;
  if (boot && !inner && !f.interrupted) {
    const why = !boot.events.kvm
      ? "L1's kernel never reached its /init"
      : !boot.events.kvm.dev
        ? `L1 has no /dev/kvm (KVM module ${boot.events.kvm.module})`
        : !boot.events.ready
          ? "L1's /init could not assemble its root from the shares"
          : `kvmbench at layer 1 measured nothing (exit ${readExit(f.channel) ?? 'unknown'})`;
    throw new EnvironmentError(
      `nested: ${why}; L1 ${boot.launch.timedOut ? 'ran past its deadline' : `ended: ${boot.launch.reason ?? boot.launch.status}`}\n${consoleTail(f.channel)}`,
      `L1's console is ${join(f.channel, 'console.log')}`,
    );
  }
  const doctor = readDoctor(f.channel);
  const nested: NestedInfo = {
    outerAccelerator: f.outer.accel,
    l1Cpu: f.outer.cpu,
    l1MemoryMiB: L1_MEMORY_MIB,
    l1Vcpus: f.l1Vcpus,
    l1Kernel: Object.fromEntries(
      Object.entries({ release: f.image.kernelRelease, package: f.image.kernelPackage, sha256: f.image.kernelSha256 }).filter(
        (e): e is [string, string] => e[1] !== undefined,
      ),
    ),
    l1Doctor: doctor.summary,
    ...(doctor.cpuFeatures.length ? { l1CpuFeatures: doctor.cpuFeatures } : {}),
    l0Host: f.outer.l0Host,
    ...(inner ? { l2RunId: inner.run.id } : {}),
    outerNote: f.outer.note,
  };
  const cases: CaseResult[] = back.flatMap((b) => b.results.cases.map((c) => labelLayer2(c, relative(f.dir, b.dir))));
  for (const [c, why] of f.unsupported) {
    cases.push({
      id: `${c.suite}/${c.id}`,
      suite: c.suite,
      kind: c.kind,
      status: 'skip',
      reason: `not run at layer 2: ${why}`,
      startedAt: f.started,
      durationMs: 0,
      metrics: [],
      tags: c.tags,
    });
  }
  // L1 died or stalled part-way: the cases it never reached are errors of their own, so JUnit and
  // the HTML show each one and a rerun knows what is missing (an interrupted run just stops).
  if (boot && !boot.events.ended && !f.interrupted) cases.push(...casesNotReached(f.planned, cases, l1EndedWhy(boot), f.started));
  const state = f.interrupted
    ? 'interrupted'
    : !inner
      ? f.unsupported.size
        ? 'complete'
        : 'partial'
      : back.every((b) => b.results.run.state === 'complete') && back.length === f.stepIds.length && boot?.events.ended
        ? 'complete'
        : back.some((b) => b.results.run.state === 'interrupted')
          ? 'interrupted'
          : 'partial';
  const warnings = [
    ...back.flatMap((b) => b.results.run.warnings ?? []),
    `layer 2: every guest ran under KVM inside L1, itself under ${f.outer.accel.toUpperCase()} on this host (${f.outer.note})`,
  ];
  if (boot && !boot.events.ended && !f.interrupted)
    warnings.push(`L1 did not finish its plan: ${l1EndedWhy(boot)}; the cases it finished are kept`);
  const rev = gitRevision();
  const results: Results = {
    schema: RESULTS_SCHEMA,
    run: {
      ...(inner?.run ?? { kvmbenchVersion: kvmbenchVersion(), accelerator: 'kvm' as const, quick: f.quick }),
      id: f.runId,
      suite: f.suiteName,
      start: f.started,
      end: new Date().toISOString(),
      argv: f.argv,
      state,
      ...(rev ? { gitRevision: rev } : {}),
      warnings,
      layer: 2,
      nested,
    },
    host: inner?.host ?? {},
    cases,
  };
  const { validateResults } = await import('../results/load.js');
  validateResults(results, 'nested results');
  await writeJsonAtomic(join(f.dir, 'results.json'), results);
  const { writeReports } = await import('../report/index.js');
  const reports = await writeReports(results, f.dir);
  const failed = cases.some((c) => c.status === 'fail' || c.status === 'error');
  const outcome: NestedRunSummary['outcome'] =
    f.interrupted || state === 'interrupted' ? 'interrupted' : failed || state === 'partial' ? 'failed' : 'ok';
  return { results, dir: f.dir, reports, outcome };
}

/** The planned cases L1 never reached, each an `error` that says why L1 stopped. */
export function casesNotReached(
  planned: readonly CaseSpec[],
  done: ReadonlyArray<{ id: string }>,
  why: string,
  startedAt: string,
): CaseResult[] {
  const seen = new Set(done.map((c) => c.id));
  return planned
    .filter((c) => !seen.has(`${c.suite}/${c.id}`))
    .map((c) => ({
      id: `${c.suite}/${c.id}`,
      suite: c.suite,
      kind: c.kind,
      status: 'error' as const,
      reason: `not run at layer 2: L1 stopped before this case (${why}); L1's console is layer1/console.log`,
      startedAt,
      durationMs: 0,
      metrics: [],
      tags: c.tags,
    }));
}

/** Why L1 ended before its plan did, in one line. */
function l1EndedWhy(boot: L1Boot): string {
  if (boot.launch.timedOut) return 'it ran past its deadline';
  return (boot.launch.reason ?? boot.launch.status).split('\n')[0]!.replace(/;\s*$/, '');
}

function readExit(channel: string): number | undefined {
  try {
    const n = Number(readFileSync(join(channel, CHANNEL_FILES.exit), 'utf8').trim());
    return Number.isInteger(n) ? n : undefined;
  } catch {
    return undefined;
  }
}

/** L1's doctor verdict, KVM usability, flavour and the CPU's virtualization features, from doctor.json. */
function readDoctor(channel: string): { summary: Record<string, string>; cpuFeatures: string[] } {
  try {
    const d = JSON.parse(readFileSync(join(channel, CHANNEL_FILES.doctor), 'utf8')) as {
      verdict?: string;
      kvm?: { usable?: boolean; flavor?: { name?: string; module?: string } };
      checks?: Array<{ id: string; status: string; evidence?: string[] }>;
    };
    const run = d.checks?.find((c) => c.id === 'kvm.run');
    const summary: Record<string, string> = {
      verdict: d.verdict ?? 'unknown',
      kvmUsable: String(d.kvm?.usable ?? false),
      flavor: d.kvm?.flavor?.name ?? 'unknown',
      module: d.kvm?.flavor?.module ?? 'none',
      kvmRun: run ? `${run.status}${run.evidence?.[0] ? `: ${run.evidence[0]}` : ''}` : 'absent',
    };
    const flags = d.checks?.find((c) => c.id === 'kvm.cpu-flags')?.evidence ?? [];
    return { summary, cpuFeatures: flags.slice(0, 4) };
  } catch {
    return { summary: { verdict: 'unknown', note: 'L1 wrote no doctor report' }, cpuFeatures: [] };
  }
}

/** An L2 case as the L0 run records it: every metric labelled `layer: 2`, logs relative to the L0 run directory. */
export function labelLayer2(c: CaseResult, innerDirRel: string): CaseResult {
  const relLog = (p: string | undefined): string | undefined => (p === undefined ? undefined : join(innerDirRel, p));
  return {
    ...c,
    ...(c.log ? { log: relLog(c.log) } : {}),
    ...(c.rounds ? { rounds: c.rounds.map((r) => (r.log ? { ...r, log: relLog(r.log) } : r)) } : {}),
    metrics: c.metrics.map((m) => ({ ...m, labels: { ...(m.labels ?? {}), layer: '2' } })),
  };
}

export function nestedExitCode(outcome: NestedRunSummary['outcome']): number {
  return outcome === 'ok' ? ExitCode.OK : outcome === 'interrupted' ? ExitCode.INTERRUPTED : ExitCode.FAILED;
}

export interface BesideSummary {
  nested: NestedRunSummary;
  layer1: { results: Results; dir: string; outcome: string };
  table: import('../compare/nested-costs.js').NestedCostTable;
  files: string[];
}

/**
 * `run SUITE --nested --beside`: the suite at layer 2 (as `--nested`), then the same cases at layer 1,
 * directly on this host under the accelerator that ran L1, into `<run dir>/layer1-run/`, and the
 * exit-cost table of the two (nested-costs.json, nested-costs.html).
 */
export async function runNestedBeside(
  opts: NestedRunOptions & { reporter?: import('../suites/runner.js').RunReporter },
): Promise<BesideSummary> {
  const nested = await runNested(opts);
  const [{ executeRun }, { nestedCostTable }, views] = await Promise.all([
    import('./run.js'),
    import('../compare/nested-costs.js'),
    import('../report/nested-costs.js'),
  ]);
  const outer = nested.results.run.nested?.outerAccelerator ?? 'tcg';
  const { suite, cases } = opts.select(
    opts.suite,
    opts.suite === KUT_SUITE ? opts.flags : { ...opts.flags, 'kut-dir': undefined },
  );
  const l1Dir = join(nested.dir, 'layer1-run');
  opts.log(`nested: the same cases at layer 1, on this host under ${outer.toUpperCase()} → ${l1Dir}`);
  const l1 = await executeRun({
    suite,
    cases: cases.filter((c) => !LAYER2_UNSUPPORTED[c.kind]),
    accel: outer,
    quick: opts.flags.quick,
    rounds: opts.flags.rounds,
    argv: opts.argv,
    output: l1Dir,
    signal: opts.signal,
    ...(opts.reporter ? { reporter: opts.reporter } : {}),
  });
  const table = nestedCostTable(l1.results, relative(nested.dir, l1Dir), nested.results, '.');
  const json = join(nested.dir, 'nested-costs.json'),
    html = join(nested.dir, 'nested-costs.html');
  await writeJsonAtomic(json, table);
  writeFileSync(html, views.nestedCostsHtml(table));
  return { nested, layer1: { results: l1.results, dir: l1.dir, outcome: l1.outcome }, table, files: [json, html] };
}
