/**
 * `--precision` beyond the exits' windows, through the built CLI under TCG, each kept small:
 * - boots: `run boot-micro --precision` keeps booting until the headline's interval is narrow
 *   or the time cap is hit, and every boot metric records why;
 * - rounds: `run --rounds 3 --precision` adds fresh guests up to the six an interval needs
 *   (capped by --max-rounds), recorded per metric as roundSampling;
 * - ab: `ab --precision` adds rounds of both variants until a planted slowdown is decided
 *   (exit 4), and says how many rounds the case got and why.
 * Each test prints its wall time.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Results } from '../../src/results/model.js';
import { runCli } from '../helpers/cli.js';

let tmp: string;
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'kvmb-e2e-precision-'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const load = (dir: string): Results => JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8')) as Results;
const qemu = ['/usr/bin/qemu-system-x86_64', '/usr/local/bin/qemu-system-x86_64'].find(existsSync);
const suite = qemu || process.env.CI ? describe : describe.skip;

/** The argument that slows TCG's vCPU on this QEMU (as test/e2e/ab.test.ts). */
function slowArgs(): string {
  const help = spawnSync(qemu ?? 'qemu-system-x86_64', ['-help'], { encoding: 'utf8' }).stdout ?? '';
  if (/^-one-insn-per-tb\b/m.test(help)) return '-one-insn-per-tb';
  if (/^-singlestep\b/m.test(help)) return '-singlestep';
  return '-icount shift=7';
}

function timed(args: string[], limitMs: number) {
  const t0 = Date.now();
  const r = runCli(args, {}, limitMs);
  return { ...r, wall: (Date.now() - t0) / 1000 };
}

suite('--precision for boots, rounds and ab under TCG', () => {
  it('run boot-micro --precision 10% --max-time 8s boots until a recorded reason, on every boot metric', () => {
    const out = join(tmp, 'boots');
    const r = timed(
      [
        'run',
        'boot-micro',
        '--quick',
        '--accel',
        'tcg',
        '--only',
        'microvm',
        '--precision',
        '10%',
        '--max-time',
        '8s',
        '-o',
        out,
      ],
      120_000,
    );
    expect(r.status, r.stderr + r.stdout).toBe(0);
    const c = load(out).cases[0]!;
    const head = c.metrics.find((m) => m.headline)!;
    expect(head.name).toBe('boot.spawn_to_exit');
    expect(['precision', 'max-time']).toContain(head.sampling!.reason);
    expect(head.sampling!.n).toBe(head.summary.n);
    // --quick's 11 boots are the fewest; the time cap bounds the rest.
    expect(head.summary.n).toBeGreaterThanOrEqual(11);
    if (head.sampling!.reason === 'precision') expect(head.sampling!.precision!).toBeLessThanOrEqual(0.1);
    else expect(head.sampling!.elapsedMs!).toBeGreaterThanOrEqual(8000);
    expect(head.sampling!.note).toMatch(/ boots/);
    for (const m of c.metrics) expect(m.sampling, m.name).toEqual(head.sampling);
    expect(c.facts!.boots).toBe(head.summary.n);
    console.log(`boots: ${head.sampling!.note}; ${r.wall.toFixed(1)} s wall`);
  });

  it('run --rounds 3 --precision 5% --max-rounds 6 adds fresh guests and records why it stopped', () => {
    const out = join(tmp, 'rounds');
    const r = timed(
      [
        'run',
        'exits',
        '--quick',
        '--accel',
        'tcg',
        '--only',
        'inl_from_qemu',
        '--rounds',
        '3',
        '--precision',
        '5%',
        '--max-rounds',
        '6',
        '-o',
        out,
      ],
      180_000,
    );
    expect(r.status, r.stderr + r.stdout).toBe(0);
    const c = load(out).cases[0]!;
    // Six rounds are the fewest with a sign-test interval of the round medians, and the cap here.
    expect(c.rounds).toHaveLength(6);
    for (const m of c.metrics) {
      expect(m.rounds, m.name).toHaveLength(6);
      expect(['precision', 'max-rounds']).toContain(m.roundSampling!.reason);
      expect(m.roundSampling!.n).toBe(6);
    }
    expect(r.stderr).toMatch(/round 6\/6 exits\/inl_from_qemu/);
    console.log(`rounds: ${c.metrics[0]!.roundSampling!.note}; ${r.wall.toFixed(1)} s wall`);
  });

  it('ab --precision adds rounds until a planted slowdown is decided, and says so (exit 4)', () => {
    const out = join(tmp, 'ab');
    const r = timed(
      [
        'ab',
        'exits',
        '--quick',
        '--accel',
        'tcg',
        '--only',
        'cpuid',
        '--b-args',
        slowArgs(),
        '--rounds',
        '3',
        '--precision',
        '5%',
        '--max-samples',
        '11',
        '--max-rounds',
        '8',
        '--fail-on-regression',
        '-o',
        out,
      ],
      240_000,
    );
    expect(r.status, r.stderr + r.stdout).toBe(4);
    const rec = JSON.parse(readFileSync(join(out, 'ab.json'), 'utf8')) as {
      adaptive: { maxRounds: number; cases: Array<{ case: string; rounds: number; stopped: { reason: string; note: string } }> };
    };
    const c = rec.adaptive.cases[0]!;
    expect(c.case).toBe('exits/cpuid');
    // Three rounds a side cannot give any verdict (exact test: p ≥ 0.1), so rounds were added.
    expect(c.rounds).toBeGreaterThan(3);
    expect(c.rounds).toBeLessThanOrEqual(8);
    expect(c.stopped.reason).toBe('decided');
    expect(load(join(out, 'b')).cases[0]!.metrics[0]!.rounds).toHaveLength(c.rounds);
    expect(r.stdout).toMatch(/rounds \(--precision, at most 8 a case\):\n {2}exits\/cpuid: \d+ rounds, every tested row decided/);
    console.log(`ab: ${c.rounds} rounds, ${c.stopped.note}; ${r.wall.toFixed(1)} s wall`);
  });
});
