/**
 * `ab --precision` through runAb with a test executor: rounds are added to a case (both variants,
 * the lead still alternating) until every tested row is decided or --max-rounds is reached, each
 * metric records why, and ab.json and the outcome say how many rounds each case got and which
 * rows were left undecided.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runAb, type AbRecord } from '../../../src/app/ab.js';
import { normal, seededRng } from '../../../src/stats/random.js';
import { summarize } from '../../../src/stats/summary.js';
import { loadSuite } from '../../../src/suites/load.js';
import type { CaseExecutor, RunVariant } from '../../../src/cases/types.js';

const work = mkdtempSync(join(tmpdir(), 'kvmbench-ab-precision-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** Each run is a guest whose level is drawn (args.spread between guests); `-slow F` in B's arguments multiplies it. */
const runs: Array<{ id: string; label: string }> = [];
const guest: CaseExecutor = {
  kind: 'ab-guest',
  async run(spec, ctx) {
    const v = ctx.platform.variant!;
    runs.push({ id: spec.id, label: v.label });
    const k = v.extraArgs?.indexOf('-slow') ?? -1;
    const factor = k >= 0 ? Number(v.extraArgs![k + 1]) : 1;
    const rng = seededRng(`${spec.id}:${v.label}:${runs.length}`);
    const level = 1000 * factor * Math.exp(Number(spec.args.spread) * normal(rng));
    const samples = Array.from({ length: 11 }, () => level * Math.exp(0.01 * normal(rng)));
    return {
      status: 'pass',
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

const variant = (label: 'A' | 'B', args: string[] = []): RunVariant => ({
  label,
  qemu: '/usr/bin/qemu-system-x86_64',
  ...(args.length ? { extraArgs: args } : {}),
});

async function session(name: string, spread: number, bArgs: string[], maxRounds: number) {
  const f = join(work, `${name}.yaml`);
  writeFileSync(
    f,
    `suite: ${name}\ndefaults:\n  kind: ab-guest\n  machine: pc\ncases:\n  - id: one\n    args: {spread: ${spread}}\n`,
  );
  const s = loadSuite(f);
  runs.length = 0;
  return runAb({
    a: { suite: s, cases: s.cases, variant: variant('A') },
    b: { suite: s, cases: s.cases, variant: variant('B', bArgs) },
    output: join(work, name),
    argv: ['ab', name],
    seed: 11,
    accel: 'tcg',
    quick: false,
    rounds: 3,
    sampling: { precision: 0.05 },
    maxRounds,
    deps: {
      resolveAccel: async () => ({ accel: 'tcg', warnings: [] }),
      fingerprint: async () => ({ hostname: 'h', cpuModel: 'c' }),
    },
    executorFor: (k) => (k === 'ab-guest' ? guest : undefined),
  });
}

describe('ab --precision', () => {
  it('adds rounds until a clear slowdown is decided, the lead alternating in the added rounds too', async () => {
    const o = await session('clear', 0.02, ['-slow', '1.5'], 12);
    const rows = o.comparison!.pairs[0]!.metrics;
    expect(rows.map((r) => r.verdict)).toEqual(['regressed']);
    const c = o.adaptive!.cases[0]!;
    // Three rounds a side cannot reach p < 0.05 two-sided with the exact test (minimum 0.1): more were added.
    expect(c.rounds).toBeGreaterThan(3);
    expect(c.stopped).toMatchObject({ reason: 'decided', n: c.rounds });
    expect(o.a.results.cases[0]!.metrics[0]!.rounds).toHaveLength(c.rounds);
    expect(o.b.results.cases[0]!.metrics[0]!.roundSampling).toMatchObject({ reason: 'decided' });
    // Rounds 2k and 2k+1 are led by different variants, so every pair of runs in a round has both.
    const labels = runs.map((r) => r.label);
    for (let i = 0; i < labels.length; i += 2) expect(new Set(labels.slice(i, i + 2))).toEqual(new Set(['A', 'B']));
    expect(labels.slice(0, 4)).not.toEqual([labels[0], labels[1], labels[0], labels[1]]);
    expect(o.undecided).toEqual([]);
    const rec = JSON.parse(readFileSync(join(o.dir, 'ab.json'), 'utf8')) as AbRecord;
    expect(rec.adaptive).toMatchObject({ precision: 0.05, maxRounds: 12, cases: [{ case: 'clear/one', rounds: c.rounds }] });
  });

  it('stops once no round within --max-rounds could decide a row, and names the rows left undecided', async () => {
    const o = await session('noisy', 0.3, ['-slow', '1.08'], 6);
    const c = o.adaptive!.cases[0]!;
    // Too-few at 3 rounds, then inconclusive with a need far beyond the cap: it stops early, without running to 6.
    expect(c.stopped.reason).toBe('max-rounds');
    expect(c.rounds).toBeLessThan(6);
    expect(c.stopped.note).toMatch(
      /rows undecided \(noisy\/one\/one\.latency inconclusive, needs about \d+\), beyond the cap of 6 rounds/,
    );
    expect(o.undecided!.map((u) => [u.key, u.verdict])).toEqual([['noisy/one/one.latency', 'inconclusive']]);
    expect(o.undecided![0]!.notes.join(' ')).toMatch(/rounds a side .* would confirm/);
    expect(runs).toHaveLength(2 * c.rounds);
  });
});
