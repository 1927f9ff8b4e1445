/**
 * Enough samples behind every figure, through the built CLI under TCG:
 * - exits with `--precision`: each test stops for a reason it records, and views show it;
 * - I/O: one sample per fio window (≥ 11 per metric in a 3 s job), every ratio with its
 *   interval, and a disk throttled to half (a QEMU `-drive` throttle in a suite file) compares
 *   as regressed on the guest's throughput rows (exit 4) once the user gives the drift between
 *   identical runs for them (--threshold), while an identical run regresses nothing; without
 *   it, windows of one run a side stay inconclusive (docs/compare.md, "Windows of one job").
 *
 * The disk is throttled in the base runs too (at twice the slow run's rate): the throttle, not
 * this shared machine's load, then sets the guest's throughput, so two identical runs measure
 * the same thing. The host's own fio rows are not throttled and follow the load: no --threshold
 * is given for them, so they stay inconclusive.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Results } from '../../src/results/model.js';
import { runCli } from '../helpers/cli.js';

let tmp: string;
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'kvmb-e2e-sampling-'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const load = (dir: string): Results => JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8')) as Results;

describe('adaptive sampling of the exits suite', () => {
  it('run exits --precision 3% --max-time 20s stops each test for a recorded reason, shown in every view', () => {
    const out = join(tmp, 'exits');
    const r = runCli(
      [
        'run',
        'exits',
        '--accel',
        'tcg',
        '--precision',
        '3%',
        '--max-time',
        '20s',
        '--only',
        'cpuid',
        '--only',
        'hlt_lapic_timer',
        '-o',
        out,
      ],
      {},
      240_000,
    );
    expect(r.status, r.stderr + r.stdout).toBe(0);
    const res = load(out);
    expect(res.cases.map((c) => c.id)).toEqual(['exits/cpuid', 'exits/hlt_lapic_timer']);
    for (const c of res.cases) {
      const head = c.metrics.find((m) => m.headline)!;
      expect(head.sampling, c.id).toBeDefined();
      expect(['precision', 'max-samples', 'max-time']).toContain(head.sampling!.reason);
      expect(head.sampling!.n).toBe(head.summary.n);
      expect(head.summary.n).toBeGreaterThanOrEqual(11);
      expect(head.sampling!.elapsedMs!).toBeLessThan(21_000);
      if (head.sampling!.reason === 'precision') expect(head.sampling!.precision!).toBeLessThanOrEqual(0.03);
      else expect(head.sampling!.precision!).toBeGreaterThan(0.03);
      expect(head.sampling!.note).toMatch(/^(precision \d+\.\d % reached after \d+ samples|cap of .* reached at .*)$/);
      // Every metric of the case carries the same record.
      for (const m of c.metrics) expect(m.sampling?.reason).toBe(head.sampling!.reason);
    }
    const md = runCli(['report', out, '--format', 'md']);
    expect(md.status).toBe(0);
    for (const c of res.cases) expect(md.stdout).toContain(c.metrics.find((m) => m.headline)!.sampling!.note);
  });

  it('caps without a precision, or a precision that is not one, are usage errors (exit 2)', () => {
    const a = runCli(['run', 'exits', '--accel', 'tcg', '--max-time', '5s', '-o', join(tmp, 'bad-a')]);
    expect(a.status).toBe(2);
    expect(a.stderr).toMatch(/give --precision too/);
    const b = runCli(['run', 'exits', '--accel', 'tcg', '--precision', 'fast', '-o', join(tmp, 'bad-b')]);
    expect(b.status).toBe(2);
    expect(b.stderr).toMatch(/not a percentage/);
  });
});

/** A one-case I/O suite file named `name` with these fio args (a flow-style YAML map). */
function ioSuite(dir: string, name: string, args: string): string {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${name}.yaml`);
  writeFileSync(
    file,
    [
      `suite: ${name}`,
      'defaults:',
      '  kind: io',
      '  guest: linux',
      '  machine: q35',
      '  accel: [kvm, tcg]',
      '  memory: 512',
      '  deadline: 300',
      `  args: { cache: none, aio: threads, ioengine: libaio, ramp: 1, sizeMiB: 128, ${args} }`,
      'cases:',
      '  - id: virtio-blk',
      '',
    ].join('\n'),
  );
  return file;
}

/** A suite of one seqread job, unthrottled. */
function oneJobSuite(dir: string, o: { runtime: number; intervalMs: number }): string {
  return ioSuite(dir, 'io-one', `runtime: ${o.runtime}, intervalMs: ${o.intervalMs}, jobs: [seqread-1m]`);
}

describe('how many windows an I/O job takes', () => {
  it('run io --precision 0.05% --max-samples 40: a further segment runs, the cap is kept, and every figure says why it stopped', () => {
    const dir = join(tmp, 'io-adaptive');
    const suite = oneJobSuite(dir, { runtime: 2, intervalMs: 125 });
    const out = join(dir, 'out');
    const r = runCli(['run', suite, '--accel', 'tcg', '--precision', '0.05%', '--max-samples', '40', '-o', out], {}, 300_000);
    expect(r.status, r.stderr + r.stdout).toBe(0);
    const c = load(out).cases[0]!;
    const head = c.metrics.find((m) => m.name === 'io.seqread-1m.guest')!;
    // 15 windows from the first 2 s run; 0.05 % is out of reach for any fio windows (1 % was reached once on a quiet
    // machine, CV 2 %), so the cap ends it.
    expect(head.sampling?.reason, head.sampling?.note).toBe('max-samples');
    expect(head.summary.n).toBe(40);
    expect(head.interval).toMatch(/of 2 runs of the job \(2 \+ \d+ s, each after a 1 s ramp\)/);
    for (const m of c.metrics) {
      expect(m.sampling?.n, m.name).toBe(m.summary.n);
      expect(m.summary.n, m.name).toBeLessThanOrEqual(40);
      expect(m.summary.n, m.name).toBeGreaterThan(30); // the host ran the same segments
      expect(m.sampling?.reason, m.name).toBe('max-samples');
    }
  });
});

/** A two-job I/O suite with the guest's disk throttled to `bps` bytes/s and `iops` requests/s. */
function throttledSuite(dir: string, bps: number, iops: number): string {
  return ioSuite(
    dir,
    'io-throttled',
    `runtime: 3, intervalMs: 200, jobs: [seqread-1m, randread-4k-qd1], driveOptions: "throttling.bps-total=${bps},throttling.iops-total=${iops}"`,
  );
}

interface Row {
  name: string;
  verdict: string;
  notes: string[];
}
function compareRows(a: string, b: string, extra: string[] = []): { code: number; rows: Row[]; warnings: string[] } {
  const r = runCli(['compare', a, b, '--format', 'json', '--fail-on-regression', ...extra]);
  const c = JSON.parse(r.stdout) as { pairs: Array<{ metrics: Row[]; warnings: string[] }> };
  return { code: r.status ?? -1, rows: c.pairs.flatMap((p) => p.metrics), warnings: c.pairs.flatMap((p) => p.warnings) };
}

describe('I/O samples per window, ratios with intervals, a planted slower disk', () => {
  const THROUGHPUT = ['io.seqread-1m.guest', 'io.randread-4k-qd1.guest'];
  // The drift the user vouches for on the throughput rows: fio windows of one run cannot bound it.
  const DRIFT = THROUGHPUT.flatMap((n) => ['--threshold', `${n}=30`]);
  let base = '',
    again = '',
    slow = '';
  beforeAll(() => {
    const run = (name: string, bps: number, iops: number): string => {
      const out = join(tmp, `run-${name}`);
      const r = runCli(['run', throttledSuite(join(tmp, name), bps, iops), '--accel', 'tcg', '-o', out], {}, 330_000);
      if (r.status !== 0) throw new Error(`run ${name} exited ${r.status}: ${r.stderr}${r.stdout}`);
      return out;
    };
    base = run('base', 16 << 20, 100);
    again = run('again', 16 << 20, 100);
    slow = run('slow', 8 << 20, 50);
  }, 1_000_000);

  it('every I/O metric has at least 11 samples, is marked as windows of one job, and every ratio has a 95 % interval around its median', () => {
    for (const dir of [base, again, slow]) {
      const c = load(dir).cases[0]!;
      expect(c.status, c.reason).toBe('pass');
      expect(c.metrics.length).toBe(2 * 7);
      for (const m of c.metrics) {
        expect(m.summary.n, `${m.name} in ${dir}`).toBeGreaterThanOrEqual(11);
        expect(m.sampling?.n).toBe(m.summary.n);
        expect(m.windows?.basis, m.name).toMatch(/fio windows of one job/);
        if (m.labels?.side !== 'ratio') continue;
        expect(m.ratio, m.name).toBeDefined();
        expect(m.ratio!.low).toBeLessThanOrEqual(m.summary.median);
        expect(m.ratio!.high).toBeGreaterThanOrEqual(m.summary.median);
        expect(m.ratio!.method).toMatch(/bootstrap of the ratio of medians/);
      }
    }
  });

  it('half the disk rate, with the drift given for the throughput rows, compares as regressed on them, exit 4', () => {
    const { code, rows } = compareRows(base, slow, DRIFT);
    expect(code).toBe(4);
    for (const name of THROUGHPUT) expect(rows.find((r) => r.name === name)?.verdict, name).toBe('regressed');
  });

  it('an identical run, with the same drift given, regresses nothing: exit 0', () => {
    const { code, rows } = compareRows(base, again, DRIFT);
    expect(code, JSON.stringify(rows.filter((r) => r.verdict === 'regressed').map((r) => r.name))).toBe(0);
    for (const name of THROUGHPUT) expect(rows.find((r) => r.name === name)?.verdict, name).not.toBe('regressed');
  });

  it('without a drift for them, windows of one run a side stay inconclusive and the warning says what gives a verdict', () => {
    const { code, rows, warnings } = compareRows(base, slow);
    expect(code).toBe(0);
    for (const r of rows) expect(r.verdict, r.name).toBe('inconclusive');
    expect(warnings.join(' ')).toMatch(/14 rows are windows of one job .* --rounds \d+ or more .* --threshold ROW=PCT/);
  });
});
