/**
 * `kvmbench ab` below the command line: the seeded balanced A/B order, the variant's way to the
 * launcher (QEMU config and `vm` record), and whole sessions through runArms/runAb with a test
 * executor: two normal results directories, ab.json, the comparison, the exit codes, and an
 * interrupt that keeps both partial runs.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { qemuConfigFor, vmRecord } from '../../../src/cases/micro.js';
import { EnvironmentError } from '../../../src/errors.js';
import { seededRng, normal } from '../../../src/stats/random.js';
import { linuxQemuConfig, buildLinuxArgs } from '../../../src/linux/launch.js';
import { loadResults, validateResults } from '../../../src/results/load.js';
import { summarize } from '../../../src/stats/summary.js';
import { abFirsts, abOrder, splitQemuArgs } from '../../../src/suites/ab.js';
import { variantVmRecord } from '../../../src/results/variant.js';
import { AB_SCHEMA, runAb, type AbRecord } from '../../../src/app/ab.js';
import type { RunnerDeps } from '../../../src/suites/deps.js';
import { loadSuite, type LoadedSuite } from '../../../src/suites/load.js';
import { runArms, type RunReporter } from '../../../src/suites/runner.js';
import type { CaseContext, CaseExecutor, CaseOutcome, CaseSpec, RunVariant } from '../../../src/cases/types.js';
import { caseSpec } from '../../helpers/case-context.js';

const work = mkdtempSync(join(tmpdir(), 'kvmbench-ab-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('the A/B order', () => {
  it('runs both variants of every case back to back, in suite order', () => {
    for (const n of [1, 2, 5, 16, 33]) {
      const steps = abOrder(n, 7);
      expect(steps).toHaveLength(2 * n);
      for (let i = 0; i < n; i++) {
        const pair = steps.slice(2 * i, 2 * i + 2);
        expect(pair.map((s) => s.index)).toEqual([i, i]);
        expect(pair.map((s) => s.arm).sort()).toEqual([0, 1]);
      }
    }
  });

  it("with rounds, runs a case's rounds in a row, both variants each round, the lead alternating (A B, B A, A B)", () => {
    const firsts = abFirsts(4, 3);
    const steps = abOrder(4, 3, 3);
    expect(steps).toHaveLength(4 * 3 * 2);
    for (let i = 0; i < 4; i++) {
      const own = steps.slice(6 * i, 6 * i + 6);
      expect(own.every((st) => st.index === i)).toBe(true);
      expect(own.map((st) => st.round)).toEqual([0, 0, 1, 1, 2, 2]);
      const lead = firsts[i] === 'A' ? 0 : 1;
      expect(own.map((st) => st.arm)).toEqual([lead, 1 - lead, 1 - lead, lead, lead, 1 - lead]);
    }
  });

  it('is balanced: A leads in half the cases (one more for either when odd), for every seed', () => {
    for (let seed = 0; seed < 200; seed++) {
      for (const n of [1, 2, 3, 10, 17]) {
        const firsts = abFirsts(n, seed);
        const a = firsts.filter((f) => f === 'A').length;
        expect(Math.abs(a - (n - a)), `seed ${seed}, ${n} cases`).toBeLessThanOrEqual(1);
      }
    }
    // The odd one out is drawn too: over seeds, A and B both get it.
    const leads = new Set(Array.from({ length: 40 }, (_, s) => abFirsts(1, s)[0]));
    expect([...leads].sort()).toEqual(['A', 'B']);
  });

  it('is seeded: the same seed gives the same order, other seeds other orders, none of them fixed', () => {
    expect(abFirsts(16, 20260101)).toEqual(abFirsts(16, 20260101));
    const orders = new Set(Array.from({ length: 50 }, (_, s) => abFirsts(16, s).join('')));
    expect(orders.size).toBeGreaterThan(40);
    // Position by position, each label leads about half the time over many seeds (no position is biased).
    const leadsA = new Array<number>(8).fill(0);
    for (let s = 0; s < 2000; s++) abFirsts(8, s).forEach((f, i) => (leadsA[i]! += f === 'A' ? 1 : 0));
    for (const c of leadsA) expect(Math.abs(c / 2000 - 0.5)).toBeLessThan(0.05);
  });
});

describe('a variant on its way to QEMU', () => {
  const v: RunVariant = {
    label: 'B',
    qemu: '/opt/qemu/bin/qemu-system-x86_64',
    extraArgs: ['-icount', 'shift=7'],
    kernel: '/k/bzImage',
  };
  const platform = { cpu: 'max', variant: v };

  it('splits the argument string on whitespace only', () => {
    expect(splitQemuArgs('  -icount   shift=7\t-d  in_asm ')).toEqual(['-icount', 'shift=7', '-d', 'in_asm']);
    expect(splitQemuArgs("-name 'a b'")).toEqual(['-name', "'a", "b'"]);
    expect(splitQemuArgs(undefined)).toEqual([]);
  });

  it("sets the micro guests' binary and appends the arguments, and records both in vm", () => {
    const spec = caseSpec({ id: 'cpuid', kind: 'exits', machine: 'q35', args: { firmware: 'qboot' } });
    const cfg = qemuConfigFor(spec, { accel: 'tcg', platform }, '/guest.elf');
    expect(cfg.binary).toBe(v.qemu);
    expect(cfg.extraArgs).toEqual(['-icount', 'shift=7']);
    expect(vmRecord(cfg, {}, {}, v)).toMatchObject({ qemu: v.qemu, extra_args: '-icount shift=7' });
    expect(vmRecord(cfg, {}, {}, v)).not.toHaveProperty('kernel');
    // Outside ab nothing changes.
    const plain = qemuConfigFor(spec, { accel: 'tcg', platform: { cpu: 'max' } }, '/guest.elf');
    expect(plain.binary).toBeUndefined();
    expect(plain.extraArgs).toBeUndefined();
    expect(vmRecord(plain, {})).not.toHaveProperty('qemu');
  });

  it("sets the Linux guests' binary and arguments (QMP still last) and records the variant's kernel", () => {
    const image = { kernelPath: '/k/bzImage', initramfsPath: '/i.cpio' } as Parameters<typeof linuxQemuConfig>[0]['image'];
    const cfg = linuxQemuConfig({ image, machine: 'q35', accel: 'tcg', variant: v });
    expect(cfg.binary).toBe(v.qemu);
    expect(cfg.extraArgs).toEqual(['-icount', 'shift=7']);
    const argv = buildLinuxArgs({ image, machine: 'q35', accel: 'tcg', variant: v });
    expect(argv[0]).toBe(v.qemu);
    expect(argv.slice(-4)).toEqual(['-icount', 'shift=7', '-mon', 'chardev=kvmb_qmp,mode=control']);
    expect(variantVmRecord(v, '/k/bzImage')).toEqual({ qemu: v.qemu, extra_args: '-icount shift=7', kernel: '/k/bzImage' });
    expect(variantVmRecord({ label: 'A', qemu: '/q' }, '/k/bzImage')).toEqual({ qemu: '/q' });
    expect(variantVmRecord(undefined, '/k')).toEqual({});
  });
});

/**
 * A test executor whose figure depends on the variant: `-slow FACTOR` in the extra arguments
 * multiplies its latency. It records the variant and the time each run started.
 */
const ran: Array<{ id: string; label?: string; at: number; ctx: CaseContext }> = [];
const variantSleeper: CaseExecutor = {
  kind: 'ab-test',
  async run(spec: CaseSpec, ctx: CaseContext): Promise<CaseOutcome> {
    const v = ctx.platform.variant;
    ran.push({ id: spec.id, label: v?.label, at: Date.now(), ctx });
    const ms = Number(spec.args.ms ?? 5);
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(resolve, ms);
      ctx.signal.addEventListener(
        'abort',
        () => {
          clearTimeout(t);
          reject(new Error('guest killed'));
        },
        { once: true },
      );
    });
    if (spec.args.fail === v?.label) return { status: 'fail', reason: 'planted failure', metrics: [] };
    const k = v?.extraArgs?.indexOf('-slow') ?? -1;
    const factor = k >= 0 ? Number(v!.extraArgs![k + 1]) : 1;
    const rng = seededRng(`${spec.id}:${v?.label}:${ran.length}`);
    const samples = Array.from({ length: spec.repeat }, () => 1000 * factor * Math.exp(0.03 * normal(rng)));
    return {
      status: 'pass',
      vm: { machine: spec.machine, ...variantVmRecord(v) },
      metrics: [
        {
          name: `${spec.id}.latency`,
          unit: 'ns',
          better: 'lower',
          interval: 'test',
          method: 'test',
          accelerator: ctx.accel,
          samples,
          summary: summarize(samples),
        },
      ],
    };
  },
};
const registry = (k: string) => (k === 'ab-test' ? variantSleeper : undefined);

function deps(over: Partial<RunnerDeps> = {}): RunnerDeps {
  return {
    resolveAccel: async () => ({ accel: 'tcg', warnings: [] }),
    fingerprint: async () => ({ hostname: 'test', cpuModel: 'test cpu' }),
    ...over,
  };
}

function suite(name: string, body: string): LoadedSuite {
  const f = join(work, `${name}.yaml`);
  writeFileSync(f, `suite: ${name}\ndefaults:\n  kind: ab-test\n  machine: pc\n  repeat: 12\n${body}`);
  return loadSuite(f);
}

const A: RunVariant = { label: 'A', qemu: '/usr/bin/qemu-system-x86_64' };
const B = (args: string[] = []): RunVariant => ({
  label: 'B',
  qemu: '/usr/bin/qemu-system-x86_64',
  ...(args.length ? { extraArgs: args } : {}),
});

describe('runArms', () => {
  it('interleaves the arms in the given order, each into its own valid results directory with its variant', async () => {
    ran.length = 0;
    const s = suite('arms', 'cases:\n  - id: one\n  - id: two\n  - id: three\n');
    const order = abOrder(3, 1);
    const events: string[] = [];
    const reporter: RunReporter = {
      begin: (i) => events.push(`begin ${i.label} ${i.total}`),
      caseStart: (i, n, spec, label) => events.push(`start ${i + 1}/${n} ${label} ${spec.id}`),
      phase: () => undefined,
      caseEnd: () => undefined,
      warning: () => undefined,
      close: () => undefined,
    };
    const [a, b] = await runArms({
      arms: [
        { suite: s, cases: s.cases, output: join(work, 'arms/a'), argv: ['ab'], variant: A },
        { suite: s, cases: s.cases, output: join(work, 'arms/b'), argv: ['ab'], variant: B(['-slow', '2']) },
      ],
      order,
      accel: 'tcg',
      quick: false,
      deps: deps(),
      executorFor: registry,
      reporter,
    });
    expect(ran.map((r) => `${r.label} ${r.id}`)).toEqual(
      order.map((st) => `${st.arm === 0 ? 'A' : 'B'} ${s.cases[st.index]!.id}`),
    );
    expect(events.slice(0, 2)).toEqual(['begin A 6', 'begin B 6']);
    expect(events[2]).toMatch(/^start 1\/6 [AB] one$/);
    for (const [sum, v] of [
      [a!, A],
      [b!, B(['-slow', '2'])],
    ] as const) {
      expect(sum.outcome).toBe('ok');
      expect(sum.results.run.variant).toEqual(v);
      expect(sum.results.cases.map((c) => c.id)).toEqual(['arms/one', 'arms/two', 'arms/three']);
      validateResults(JSON.parse(readFileSync(join(sum.dir, 'results.json'), 'utf8')));
      expect((await loadResults(join(sum.dir, 'results.jsonl'))).results.cases).toHaveLength(3);
    }
    expect(ran.find((r) => r.label === 'B')!.ctx.platform.variant).toEqual(B(['-slow', '2']));
  });

  it('resolves the accelerator per variant with its binary, and refuses variants that would run under different ones', async () => {
    const asked: Array<string | undefined> = [];
    const s = suite('accels', 'cases:\n  - id: one\n');
    const out = join(work, 'accels');
    const attempt = runArms({
      arms: [
        { suite: s, cases: s.cases, output: join(out, 'a'), argv: [], variant: { label: 'A', qemu: '/kvm-capable' } },
        { suite: s, cases: s.cases, output: join(out, 'b'), argv: [], variant: { label: 'B', qemu: '/tcg-only' } },
      ],
      order: abOrder(1, 1),
      accel: 'auto',
      quick: false,
      executorFor: registry,
      deps: deps({
        resolveAccel: async (_req, qemu) => {
          asked.push(qemu);
          return { accel: qemu === '/kvm-capable' ? 'kvm' : 'tcg', warnings: [] };
        },
      }),
    });
    await expect(attempt).rejects.toThrow(EnvironmentError);
    await expect(attempt).rejects.toThrow(/A: kvm, B: tcg/);
    expect(asked).toEqual(['/kvm-capable', '/tcg-only']);
    expect(existsSync(out)).toBe(false);
  });
});

describe('runAb', () => {
  const session = async (
    name: string,
    bArgs: string[],
    extra: Partial<Parameters<typeof runAb>[0]> = {},
    body = 'cases:\n  - id: one\n  - id: two\n',
  ) => {
    ran.length = 0;
    const s = suite(name, body);
    return runAb({
      a: { suite: s, cases: s.cases, variant: A },
      b: { suite: s, cases: s.cases, variant: B(bArgs) },
      output: join(work, name),
      argv: ['ab', name],
      seed: 5,
      accel: 'tcg',
      quick: false,
      deps: deps(),
      executorFor: registry,
      ...extra,
    });
  };

  it('writes a/ and b/, ab.json with the seed, variants and order, and the comparison as JSON, text and HTML', async () => {
    const o = await session('same', []);
    expect(o.outcome).toBe('ok');
    for (const f of [
      'a/results.json',
      'a/results.jsonl',
      'b/results.json',
      'b/results.jsonl',
      'ab.json',
      'compare.json',
      'compare.txt',
      'compare.html',
    ])
      expect(existsSync(join(o.dir, f)), f).toBe(true);
    const rec = JSON.parse(readFileSync(join(o.dir, 'ab.json'), 'utf8')) as AbRecord;
    expect(rec).toMatchObject({
      schema: AB_SCHEMA,
      suite: 'same',
      seed: 5,
      rounds: 7,
      state: 'complete',
      exitCode: 0,
      comparison: 'compare.json',
      regressions: 0,
    });
    expect(rec.variants.map((v) => [v.label, v.dir])).toEqual([
      ['A', 'a'],
      ['B', 'b'],
    ]);
    expect(rec.order).toEqual(abFirsts(2, 5).map((first, i) => ({ case: ['same/one', 'same/two'][i], first })));
    // Seven rounds a case by default, the lead alternating: A B, B A, A B, ...
    expect(ran.map((r) => r.label).join('')).toBe(
      rec.order.map((o2) => (o2.first === 'A' ? 'ABBAABBAABBAAB' : 'BAABBAABBAABBA')).join(''),
    );
    expect(o.a.results.cases.map((c) => c.metrics[0]!.rounds)).toEqual([Array(7).fill(12), Array(7).fill(12)]);
    const cmp = JSON.parse(readFileSync(join(o.dir, 'compare.json'), 'utf8')) as {
      seed: number;
      pairs: Array<{
        base: { label: string };
        new: { label: string };
        onlyBase: string[];
        onlyNew: string[];
        metrics: unknown[];
        power: { line: string };
      }>;
    };
    expect(cmp.seed).toBe(5);
    expect(cmp.pairs[0]).toMatchObject({ base: { label: 'A' }, new: { label: 'B' }, onlyBase: [], onlyNew: [] });
    expect(cmp.pairs[0]!.metrics).toHaveLength(2);
    expect(cmp.pairs[0]!.power.line).toMatch(/^power: with 2 tested metrics and 7 rounds \(fresh guests\) a side/);
    expect((cmp.pairs[0]!.metrics as Array<{ replicate: string }>).every((m) => m.replicate === 'round')).toBe(true);
    expect(readFileSync(join(o.dir, 'compare.txt'), 'utf8')).toContain('A (');
  });

  it('confirms a planted slowdown of B (exit 4 only with failOnRegression) and names what differs', async () => {
    const plain = await session('slow', ['-slow', '1.5']);
    expect(plain.outcome).toBe('ok');
    expect(plain.comparison!.regressions).toBe(2);
    const strict = await session('slow-strict', ['-slow', '1.5'], { failOnRegression: true });
    expect(strict.outcome).toBe('regression');
    expect(strict.comparison!.pairs[0]!.vmDiffs.map((d) => [d.key, d.base, d.new])).toEqual([
      ['extra_args', undefined, '-slow 1.5'],
      ['extra_args', undefined, '-slow 1.5'],
    ]);
  });

  it('exits 1 when a case fails in either run, before any regression', async () => {
    const o = await session(
      'fails',
      ['-slow', '1.5'],
      { failOnRegression: true },
      'cases:\n  - id: one\n    args: {fail: B}\n  - id: two\n',
    );
    expect(o.outcome).toBe('failed');
    expect(o.b.results.cases[0]!.status).toBe('fail');
  });

  it('on interrupt keeps both partial runs, compares what both finished, and exits 130', async () => {
    const ac = new AbortController();
    const reporter: RunReporter = {
      begin: () => undefined,
      caseStart: (i) => {
        if (i === 2) setTimeout(() => ac.abort('SIGINT'), 50);
      },
      phase: () => undefined,
      caseEnd: () => undefined,
      warning: () => undefined,
      close: () => undefined,
    };
    const o = await session(
      'intr',
      [],
      { signal: ac.signal, reporter, rounds: 1 },
      'cases:\n  - id: one\n  - id: two\n    args: {ms: 5000}\n  - id: three\n',
    );
    expect(o.outcome).toBe('interrupted');
    for (const s of [o.a, o.b]) {
      expect(s.results.run.state).toBe('interrupted');
      expect((await loadResults(s.dir)).results.run.state).toBe('interrupted');
    }
    // Case one ran in both; case two was cut in whichever ran it first; three never started.
    expect([...o.a.results.cases, ...o.b.results.cases].map((c) => `${c.id} ${c.status}`).sort()).toEqual([
      'intr/one pass',
      'intr/one pass',
      'intr/two error',
    ]);
    expect(o.comparison!.pairs[0]!.metrics.map((m) => m.caseId)).toEqual(['intr/one']);
    const rec = JSON.parse(readFileSync(join(o.dir, 'ab.json'), 'utf8')) as AbRecord;
    expect(rec).toMatchObject({ state: 'interrupted', exitCode: 130 });
  });
});
