#!/usr/bin/env node
// What adaptive stopping does to the figures (docs/compare.md, "Adaptive sampling"): simulated,
// seeded, no guests. Needs `npm run build:ts` (reads dist/).
//
//   node bench/stopping.mjs [--trials 400] [--sessions 200]
//
// 1. Median bias of the stop rule (src/stats/precision.ts shouldStop) as boots use it (every boot
//    a sample, at least 11) and as rounds use it (every round median a value, at least 6), on
//    lognormal noise: the mean error of the stopped median against the true one, beside a fixed
//    count of the same mean size.
// 2. `ab --precision` on identical variants (A/A) and on a planted +30 % slowdown: how often a
//    session claims a change (regressed or improved) and how many rounds it takes, adding rounds
//    with src/compare/decide-rounds.ts nextRounds after each look, against ab's fixed 7 rounds.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = (p) => import(join(root, 'dist/src', p));
const { shouldStop, MIN_INTERVAL_REPLICATES } = await dist('stats/precision.js');
const { seededRng, normal } = await dist('stats/random.js');
const { median, summarize } = await dist('stats/summary.js');
const { compareRuns } = await dist('compare/compare.js');
const { nextRounds } = await dist('compare/decide-rounds.js');

const args = process.argv.slice(2);
const opt = (name, d) => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : d;
};
const TRIALS = opt('--trials', 400);
const SESSIONS = opt('--sessions', 200);
const pct = (f, d = 2) => `${f >= 0 ? '+' : ''}${(f * 100).toFixed(d)} %`;

// 1. Bias -------------------------------------------------------------------------------------
const sigmaOf = (cv) => Math.sqrt(Math.log(1 + cv * cv));
function bias(label, { cv, precision, min, floor, max }) {
  const rng = seededRng(`bias:${label}:${cv}:${precision}`);
  const s = sigmaOf(cv);
  const draw = () => 100 * Math.exp(s * normal(rng));
  let nSum = 0;
  let errSum = 0;
  let byPrecision = 0;
  for (let t = 0; t < TRIALS; t++) {
    const xs = [];
    let stop;
    while (!stop) {
      xs.push(draw());
      stop = shouldStop(xs, 0, { precision, maxSamples: max, minSamples: min, floor });
    }
    if (stop.reason === 'precision') byPrecision++;
    nSum += xs.length;
    errSum += median(xs) / 100 - 1;
  }
  const n = Math.round(nSum / TRIALS);
  let fixedErr = 0;
  for (let t = 0; t < TRIALS; t++) fixedErr += median(Array.from({ length: n }, draw)) / 100 - 1;
  console.log(
    `| ${label} | ${(cv * 100).toFixed(0)} % | ${(precision * 100).toFixed(0)} % | ${(nSum / TRIALS).toFixed(1)} | ${byPrecision}/${TRIALS} | ${pct(errSum / TRIALS)} | ${pct(fixedErr / TRIALS)} |`,
  );
}
console.log(`Median bias of the stop rule (lognormal, true median 100, ${TRIALS} trials each)\n`);
console.log('| replicates | CV | precision | mean n | stopped by precision | mean error, stopped | mean error, fixed n |');
console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: |');
for (const [cv, p] of [
  [0.15, 0.05],
  [0.45, 0.1],
  [0.45, 0.05],
])
  bias('boots (≥ 11)', { cv, precision: p, min: 11, floor: 11, max: 1000 });
for (const [cv, p] of [
  [0.1, 0.05],
  [0.4, 0.1],
  [0.4, 0.05],
])
  bias(`rounds (≥ ${MIN_INTERVAL_REPLICATES})`, { cv, precision: p, min: 3, floor: MIN_INTERVAL_REPLICATES, max: 1000 });

// 2. ab --precision ---------------------------------------------------------------------------
const HOST = { hostname: 'sim', cpuModel: 'sim cpu' };
function results(label, rounds) {
  const samples = rounds.flat();
  return {
    schema: 'kvmbench.results/1',
    run: {
      id: `sim-${label}`,
      suite: 'sim',
      start: '2026-01-01T00:00:00Z',
      kvmbenchVersion: '0',
      argv: [],
      accelerator: 'tcg',
      quick: false,
      state: 'complete',
    },
    host: HOST,
    cases: [
      {
        id: 'sim/case',
        suite: 'sim',
        status: 'pass',
        accelerator: 'tcg',
        machine: 'q35',
        startedAt: '2026-01-01T00:00:00Z',
        durationMs: 1,
        metrics: [
          {
            name: 'x.latency',
            unit: 'ns',
            better: 'lower',
            interval: 'sim',
            method: 'sim',
            accelerator: 'tcg',
            samples,
            summary: summarize(samples),
            rounds: rounds.map((r) => r.length),
          },
        ],
      },
    ],
  };
}
function session(seed, { shift, between, adaptive }) {
  const rng = seededRng(`ab:${seed}`);
  const guest = (factor) => {
    const level = 1000 * factor * Math.exp(sigmaOf(between) * normal(rng));
    return Array.from({ length: 11 }, () => level * Math.exp(0.02 * normal(rng)));
  };
  const a = [];
  const b = [];
  const add = (k) => {
    for (let i = 0; i < k; i++) {
      a.push(guest(1));
      b.push(guest(1 + shift));
    }
  };
  add(7);
  for (;;) {
    const cmp = compareRuns(
      [
        { label: 'A', results: results('a', a) },
        { label: 'B', results: results('b', b) },
      ],
      { seed },
    );
    const row = cmp.pairs[0].metrics[0];
    if (!adaptive) return { verdict: row.verdict, rounds: a.length };
    const step = nextRounds([row], a.length, 0, { maxRounds: 20 });
    if (step.more === 0) return { verdict: row.verdict, rounds: a.length };
    add(step.more);
  }
}
console.log(`\nab on one case, 11 samples a guest (2 % within), guests differing by CV 'between'; ${SESSIONS} sessions each\n`);
console.log(
  '| variants | between guests | rounds | sessions claiming a change | regressed | mean rounds | undecided at the end |',
);
console.log('| --- | ---: | --- | ---: | ---: | ---: | ---: |');
for (const [name, shift] of [
  ['A/A', 0],
  ['B +30 %', 0.3],
]) {
  for (const between of [0.05, 0.2]) {
    for (const adaptive of [false, true]) {
      let claims = 0;
      let regressed = 0;
      let rounds = 0;
      let open = 0;
      for (let s = 0; s < SESSIONS; s++) {
        const r = session(`${name}:${between}:${s}`, { shift, between, adaptive });
        if (r.verdict === 'regressed' || r.verdict === 'improved') claims++;
        if (r.verdict === 'regressed') regressed++;
        if (r.verdict === 'inconclusive' || r.verdict === 'too-few') open++;
        rounds += r.rounds;
      }
      console.log(
        `| ${name} | ${(between * 100).toFixed(0)} % | ${adaptive ? '7, then nextRounds (≤ 20)' : 'fixed 7'} | ${claims}/${SESSIONS} | ${regressed} | ${(rounds / SESSIONS).toFixed(1)} | ${open} |`,
      );
    }
  }
}
