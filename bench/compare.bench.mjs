#!/usr/bin/env node
// Times `compare` on two runs of 200 metrics × 100 samples (goal: under 2 s on a 2-core CI
// machine). Uses the built engine: run `npm run build:ts` first (the npm script does).
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { compareRuns } = await import(join(root, 'dist/src/compare/compare.js'));
const { renderComparison } = await import(join(root, 'dist/src/compare/render.js'));
const { seededRng, normal } = await import(join(root, 'dist/src/compare/random.js'));
const { summarize } = await import(join(root, 'dist/src/stats/summary.js'));

const METRICS = 200;
const SAMPLES = 100;

function makeRun(seed, slower) {
  const rng = seededRng(seed);
  const cases = [];
  for (let c = 0; c < METRICS / 10; c++) {
    const metrics = [];
    for (let m = 0; m < 10; m++) {
      const i = c * 10 + m;
      const scale = 1000 * (1 + i) * (slower.has(i) ? 1.1 : 1);
      const samples = Array.from({ length: SAMPLES }, () => Math.round(scale * Math.exp(0.05 * normal(rng))));
      metrics.push({ name: `m${m}.latency`, unit: 'ns', better: 'lower', interval: 'synthetic', method: 'synthetic', accelerator: 'kvm', samples, summary: summarize(samples) });
    }
    cases.push({ id: `bench/c${c}`, suite: 'bench', status: 'pass', startedAt: new Date(0).toISOString(), durationMs: 1, metrics });
  }
  return {
    schema: 'kvmbench.results/1',
    run: { id: seed, suite: 'bench', start: new Date(0).toISOString(), kvmbenchVersion: '0', argv: [], accelerator: 'kvm', quick: false, state: 'complete' },
    host: { hostname: 'bench', cpuModel: 'synthetic' },
    cases,
  };
}

const base = makeRun('base', new Set());
const next = makeRun('new', new Set([3, 50, 150]));
const t0 = performance.now();
const cmp = compareRuns([{ label: 'base', results: base }, { label: 'new', results: next }]);
const text = renderComparison(cmp, 'text');
const ms = performance.now() - t0;
const p = cmp.pairs[0];
console.log(`compare: ${METRICS} metrics × ${SAMPLES} samples per side: ${(ms / 1000).toFixed(3)} s (test + ${cmp.bootstrap}-resample bootstrap + Holm + text render, ${text.length} chars)`);
console.log(`verdicts: ${p.counts.regressed} regressed, ${p.counts.improved} improved, ${p.counts.unchanged} unchanged, ${p.counts['too-few']} too few (3 metrics were made 10 % slower)`);
process.exitCode = ms < 2000 ? 0 : 1;
