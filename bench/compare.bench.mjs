#!/usr/bin/env node
// Times `compare` on two runs of 200 metrics × 100 samples (goal: under 2 s on a 2-core CI
// machine), on 200 metrics × 30 samples full of ties, where the exact conditional
// Mann-Whitney test runs for every metric, and on 200 metrics × 100 samples full of ties,
// where the seeded Monte Carlo permutation test does (same goal for each). Uses the built engine: run
// `npm run build:ts` first (the npm script does).
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { compareRuns } = await import(join(root, 'dist/src/compare/compare.js'));
const { renderComparison, powerLine } = await import(join(root, 'dist/src/report/compare/index.js'));
const powerOf = (p) => powerLine(p);
const { seededRng, normal } = await import(join(root, 'dist/src/stats/random.js'));
const { summarize } = await import(join(root, 'dist/src/stats/summary.js'));

const METRICS = 200;
const SAMPLES = 100;

/** `grid`: round samples to 2 % of the metric's base scale, so a side holds about a dozen distinct values. */
function makeRun(seed, slower, samplesPerMetric = SAMPLES, grid = false) {
  const rng = seededRng(seed);
  const cases = [];
  for (let c = 0; c < METRICS / 10; c++) {
    const metrics = [];
    for (let m = 0; m < 10; m++) {
      const i = c * 10 + m;
      const scale = 1000 * (1 + i) * (slower.has(i) ? 1.1 : 1);
      const step = grid ? 20 * (1 + i) : 1;
      const samples = Array.from(
        { length: samplesPerMetric },
        () => step * Math.round((scale * Math.exp(0.05 * normal(rng))) / step),
      );
      metrics.push({
        name: `m${m}.latency`,
        unit: 'ns',
        better: 'lower',
        interval: 'synthetic',
        method: 'synthetic',
        accelerator: 'kvm',
        samples,
        summary: summarize(samples),
      });
    }
    cases.push({
      id: `bench/c${c}`,
      suite: 'bench',
      status: 'pass',
      startedAt: new Date(0).toISOString(),
      durationMs: 1,
      metrics,
    });
  }
  return {
    schema: 'kvmbench.results/1',
    run: {
      id: seed,
      suite: 'bench',
      start: new Date(0).toISOString(),
      kvmbenchVersion: '0',
      argv: [],
      accelerator: 'kvm',
      quick: false,
      state: 'complete',
    },
    host: { hostname: 'bench', cpuModel: 'synthetic' },
    cases,
  };
}

function time(base, next) {
  const t0 = performance.now();
  const cmp = compareRuns([
    { label: 'base', results: base },
    { label: 'new', results: next },
  ]);
  const text = renderComparison(cmp, 'text');
  return { ms: performance.now() - t0, cmp, text };
}

function verdicts(p) {
  const c = p.counts;
  return `${c.regressed} regressed, ${c.improved} improved, ${c.unchanged} unchanged, ${c.inconclusive} inconclusive, ${c['too-few']} too few`;
}

const slower = new Set([3, 50, 150]);
const big = time(makeRun('base', new Set()), makeRun('new', slower));
console.log(
  `compare: ${METRICS} metrics × ${SAMPLES} samples per side: ${(big.ms / 1000).toFixed(3)} s (test + ${big.cmp.bootstrap}-resample bootstrap + Holm + text render, ${big.text.length} chars)`,
);
console.log(`verdicts: ${verdicts(big.cmp.pairs[0])} (3 metrics were made 10 % slower)`);
const ties = time(makeRun('base-t', new Set(), 30, true), makeRun('new-t', slower, 30, true));
const exact = ties.cmp.pairs[0].metrics.filter((m) => m.test === 'exact').length;
console.log(
  `compare: ${METRICS} metrics × 30 samples per side with ties: ${(ties.ms / 1000).toFixed(3)} s (${exact} exact conditional tests)`,
);
console.log(`verdicts: ${verdicts(ties.cmp.pairs[0])}`);
// Beyond the exact limit with ties: every metric gets the seeded Monte Carlo permutation test.
const mc = time(makeRun('base-mc', new Set(), SAMPLES, true), makeRun('new-mc', slower, SAMPLES, true));
const mcRows = mc.cmp.pairs[0].metrics.filter((m) => m.test === 'monte-carlo');
const perms = mcRows.reduce((s, m) => s + m.permutations, 0);
console.log(
  `compare: ${METRICS} metrics × ${SAMPLES} samples per side with ties: ${(mc.ms / 1000).toFixed(3)} s (${mcRows.length} Monte Carlo tests, ${perms} random splits in all, at most ${Math.max(...mcRows.map((m) => m.permutations))} for one metric)`,
);
console.log(`verdicts: ${verdicts(mc.cmp.pairs[0])}`);
console.log(powerOf(big.cmp.pairs[0]));
process.exitCode = big.ms < 2000 && ties.ms < 2000 && mc.ms < 2000 ? 0 : 1;
