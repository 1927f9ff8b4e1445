/**
 * `kvmbench ab` end to end through the built CLI under TCG: a small exits subset against the
 * same QEMU with an argument that really slows TCG's vCPU (one guest instruction per translated
 * block: `-one-insn-per-tb` from QEMU 8.1, `-singlestep` before; `-icount shift=7` where neither
 * exists, which slows the guest's own clock instead) must come out regressed in B, exit 4 under
 * --fail-on-regression; two identical argument sets must exit 0 at the default noise band. Both
 * run ab's default seven rounds a case and variant, so compare tests guest against guest (one
 * guest a side made identical variants differ: docs/compare.md, "Rounds"). The sessions leave
 * a/ and b/ that `kvmbench compare` re-reads to the same verdicts; a SIGINT keeps both partial
 * runs (130), with the rounds that finished.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packageRoot } from '../../src/version.js';
import { runCli } from '../helpers/cli.js';

const root = packageRoot();
const bin = join(root, 'bin/run.js');
const qemu = ['/usr/bin/qemu-system-x86_64', '/usr/local/bin/qemu-system-x86_64'].find(existsSync);
// CI installs QEMU (scripts/setup-host.sh), so there its absence is a failure, not a skip.
const suite = qemu || process.env.CI ? describe : describe.skip;

interface Cmp {
  regressions: number;
  pairs: Array<{
    vmDiffs: Array<{ key: string; base?: string; new?: string }>;
    onlyBase: string[];
    onlyNew: string[];
    metrics: Array<{ key: string; name: string; verdict: string; change: number }>;
    power: { line: string };
  }>;
}

const cli = (args: string[]) => runCli(args, {}, 120_000);

/** The argument that slows TCG's vCPU on this QEMU. */
function slowArgs(): string {
  const help = spawnSync(qemu ?? 'qemu-system-x86_64', ['-help'], { encoding: 'utf8' }).stdout ?? '';
  if (/^-one-insn-per-tb\b/m.test(help)) return '-one-insn-per-tb';
  if (/^-singlestep\b/m.test(help)) return '-singlestep';
  return '-icount shift=7';
}

const SUBSET = ['exits', '--quick', '--accel', 'tcg', '--only', 'cpuid', '--only', 'inl_from_qemu', '--fail-on-regression'];

suite('kvmbench ab under TCG', () => {
  let tmp: string;
  beforeAll(() => {
    tmp = mkdtempSync(join(tmpdir(), 'kvmbench-e2e-ab-'));
  });
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it('finds B regressed when its QEMU arguments slow the vCPU (exit 4), and compare re-reads the runs to the same verdicts', () => {
    const out = join(tmp, 'slow');
    const slow = slowArgs();
    const t0 = Date.now();
    const r = cli(['ab', ...SUBSET, '--b-args', slow, '-o', out, '--format', 'json']);
    const wall = (Date.now() - t0) / 1000;
    expect(r.status, r.stderr).toBe(4);
    const cmp = JSON.parse(r.stdout) as Cmp;
    const p = cmp.pairs[0]!;
    const cpuid = p.metrics.find((m) => m.name === 'cpuid.latency')!;
    expect(cpuid.verdict, JSON.stringify(cpuid)).toBe('regressed');
    expect(cmp.regressions).toBeGreaterThan(0);
    expect(p.metrics.every((m) => m.verdict !== 'improved' || m.name.endsWith('.ticks'))).toBe(true);
    expect(p.onlyBase).toEqual([]);
    expect(p.onlyNew).toEqual([]);
    expect(new Set(p.vmDiffs.map((d) => `${d.key}: ${d.base ?? '—'} → ${d.new}`))).toEqual(new Set([`extra_args: — → ${slow}`]));
    expect(p.power.line).toMatch(/^power: with \d+ tested metrics and 7 rounds \(fresh guests\) a side/);
    expect(r.stderr).toMatch(/\[1\/28\] pass {2}[AB] round 1\/7 exits\/cpuid/);
    for (const f of [
      'a/results.json',
      'a/junit.xml',
      'a/report.html',
      'b/results.json',
      'ab.json',
      'compare.json',
      'compare.txt',
      'compare.html',
    ])
      expect(existsSync(join(out, f)), f).toBe(true);
    const rec = JSON.parse(readFileSync(join(out, 'ab.json'), 'utf8')) as {
      seed: number;
      order: Array<{ case: string; first: string }>;
      exitCode: number;
      variants: Array<{ label: string; extraArgs?: string[] }>;
    };
    expect(rec.seed).toBe(20260101);
    expect(rec.order.map((o) => o.case)).toEqual(['exits/cpuid', 'exits/inl_from_qemu']);
    expect(rec.exitCode).toBe(4);
    expect(rec.variants[1]!.extraArgs).toEqual(slow.split(' '));
    // The two directories are normal runs: compare reads them and comes to the same verdicts.
    const again = cli(['compare', join(out, 'a'), join(out, 'b'), '--format', 'json', '--fail-on-regression']);
    expect(again.status).toBe(4);
    const re = JSON.parse(again.stdout) as Cmp;
    expect(re.pairs[0]!.metrics.map((m) => [m.key, m.verdict])).toEqual(p.metrics.map((m) => [m.key, m.verdict]));
    console.log(
      `ab B ${slow}: ${p.metrics
        .map(
          (m) =>
            `${m.key
              .split('/')
              .slice(1)
              .join('/')
              .replace(/\{.*\}/, '')} ${m.change >= 0 ? '+' : ''}${(m.change * 100).toFixed(0)} % ${m.verdict}`,
        )
        .join(', ')}; ${wall.toFixed(1)} s wall`,
    );
  });

  it('finds no difference between two identical argument sets (exit 0)', () => {
    const out = join(tmp, 'same');
    const t0 = Date.now();
    const r = cli([
      'ab',
      ...SUBSET,
      '--a-args',
      '-name kvmbench-ab',
      '--b-args',
      '-name kvmbench-ab',
      '-o',
      out,
      '--format',
      'json',
    ]);
    const wall = (Date.now() - t0) / 1000;
    const cmp = JSON.parse(r.stdout) as Cmp;
    const p = cmp.pairs[0]!;
    const summary = p.metrics
      .map((m) => `${m.name} ${m.change >= 0 ? '+' : ''}${(m.change * 100).toFixed(0)} % ${m.verdict}`)
      .join(', ');
    console.log(`ab with identical arguments: ${summary}; ${wall.toFixed(1)} s wall`);
    expect(r.status, `${r.stderr}\n${summary}`).toBe(0);
    expect(cmp.regressions).toBe(0);
    expect(p.vmDiffs).toEqual([]);
    expect(p.metrics.length).toBeGreaterThan(0);
    expect(p.metrics.every((m) => m.verdict !== 'regressed' && m.verdict !== 'not-comparable')).toBe(true);
  });

  it('on SIGINT keeps both partial runs, still writes the comparison, and exits 130', async () => {
    const out = join(tmp, 'intr');
    const child = spawn(
      process.execPath,
      [
        bin,
        'ab',
        'exits',
        '--quick',
        '--accel',
        'tcg',
        '--only',
        'cpuid',
        '--only',
        'inl_from_qemu',
        '--only',
        'mov_to_cr8',
        '-o',
        out,
      ],
      {
        cwd: root,
        env: { ...process.env, NO_COLOR: '1', CI: '1' },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stderr = '';
    const code = await new Promise<number | null>((resolve) => {
      child.stderr.on('data', (b: Buffer) => {
        stderr += b.toString();
        // After the first case of the session has finished in both variants.
        if (/\[2\/42\] pass/.test(stderr) && !child.killed) child.kill('SIGINT');
      });
      child.stdout.resume();
      child.on('close', (c) => resolve(c));
    });
    expect(code, stderr).toBe(130);
    for (const side of ['a', 'b']) {
      const r = JSON.parse(readFileSync(join(out, side, 'results.json'), 'utf8')) as {
        run: { state: string };
        cases: Array<{ id: string; rounds?: Array<{ status: string }> }>;
      };
      expect(r.run.state).toBe('interrupted');
      const cpuid = r.cases.find((c) => c.id === 'exits/cpuid');
      expect(cpuid?.rounds?.[0]?.status).toBe('pass'); // its first round finished in both before the interrupt
    }
    const rec = JSON.parse(readFileSync(join(out, 'ab.json'), 'utf8')) as { state: string; exitCode: number };
    expect(rec).toMatchObject({ state: 'interrupted', exitCode: 130 });
    expect(existsSync(join(out, 'compare.json'))).toBe(true);
  });

  it('exits 3 for a QEMU binary that is not there, before anything is written', () => {
    const out = join(tmp, 'missing');
    const r = cli(['ab', 'exits', '--accel', 'tcg', '--b-qemu', join(tmp, 'no-such-qemu'), '-o', out]);
    expect(r.status).toBe(3);
    expect(r.stderr).toMatch(/--b-qemu .*no-such-qemu: not an executable file/);
    expect(existsSync(out)).toBe(false);
  });
});
