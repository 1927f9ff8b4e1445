#!/usr/bin/env node
// Times the history store on the goals of docs/history.md, on the embedded file and, when
// KVMBENCH_BENCH_POSTGRES_URL (or KVMBENCH_TEST_POSTGRES_URL) names a server, PostgreSQL:
//   import of one run of 1,000 metrics × 30 samples   (goal ≤ 0.2 s)
//   `history trend` of one metric over 10,000 runs     (goal ≤ 1 s)
//   `history check` over 200 metrics × 500 runs        (goal ≤ 5 s)
// Each figure is the median of REPEAT wall-clock timings (performance.now) of the engine call
// the command makes (store open and close included, CLI start-up not: see bench/startup.mjs).
// Uses the built engine: run `npm run build:ts` first (the npm script does).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { openStore } = await import(join(root, 'dist/src/history/open.js'));
const app = await import(join(root, 'dist/src/history/app.js'));
const { DEFAULT_CHANGE_POINT_OPTIONS } = await import(join(root, 'dist/src/history/change-points.js'));
const { seededRng, normal } = await import(join(root, 'dist/src/stats/random.js'));
const { summarize } = await import(join(root, 'dist/src/stats/summary.js'));

const REPEAT = Number(process.env.REPEAT ?? 5);
const pgUrl = process.env.KVMBENCH_BENCH_POSTGRES_URL ?? process.env.KVMBENCH_TEST_POSTGRES_URL;
const host = { hostname: 'bench-1', cpuModel: 'Bench CPU', kernelRelease: '6.1.0', qemuVersion: '7.2.0' };

function run(id, i, metricsPerRun, samplesPerMetric, rng, level = 1) {
  const start = new Date(Date.UTC(2026, 0, 1) + i * 60_000).toISOString();
  const metrics = [];
  for (let m = 0; m < metricsPerRun; m++) {
    const samples = Array.from({ length: samplesPerMetric }, () => 1000 * (1 + m) * level * Math.exp(0.03 * normal(rng)));
    metrics.push({
      name: `m${m}.latency`,
      unit: 'ns',
      better: 'lower',
      interval: 'bench',
      method: 'bench',
      accelerator: 'kvm',
      samples,
      summary: summarize(samples),
    });
  }
  return {
    schema: 'kvmbench.results/1',
    run: {
      id,
      suite: 'bench',
      start,
      end: start,
      kvmbenchVersion: '0.1.0',
      argv: [],
      accelerator: 'kvm',
      quick: false,
      state: 'complete',
    },
    host,
    cases: [{ id: 'bench/case', suite: 'bench', status: 'pass', startedAt: start, durationMs: 1, metrics }],
  };
}

async function time(fn) {
  const t = [];
  for (let i = 0; i < REPEAT; i++) {
    const t0 = performance.now();
    await fn(i);
    t.push(performance.now() - t0);
  }
  t.sort((a, b) => a - b);
  return { median: t[Math.floor(t.length / 2)], min: t[0], max: t[t.length - 1] };
}

async function seed(location, runs, metricsPerRun, samplesPerMetric) {
  const store = await openStore(location, { write: true });
  const rng = seededRng(`seed-${runs}-${metricsPerRun}`);
  const t0 = performance.now();
  for (let i = 0; i < runs; i += 250) {
    const batch = [];
    for (let j = i; j < Math.min(runs, i + 250); j++)
      batch.push({ results: run(`r${j}`, j, metricsPerRun, samplesPerMetric, rng, j >= runs - 5 ? 1.2 : 1) });
    await store.importRuns(batch);
  }
  await store.close();
  return performance.now() - t0;
}

async function freshLocation(lane, name) {
  if (lane === 'embedded') return join(mkdtempSync(join(tmpdir(), 'kvmbench-bench-')), `${name}.db`);
  const pg = (await import('pg')).default;
  const schema = `bench_${name}_${process.pid}`;
  const c = new pg.Client({ connectionString: pgUrl });
  await c.connect();
  await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await c.query(`CREATE SCHEMA ${schema}`);
  await c.end();
  const u = new URL(pgUrl);
  u.searchParams.set('options', `-c search_path=${schema}`);
  return u.toString();
}

const fmt = (r) =>
  `${(r.median / 1000).toFixed(3)} s (median of ${REPEAT}; min ${(r.min / 1000).toFixed(3)}, max ${(r.max / 1000).toFixed(3)})`;
const lanes = ['embedded', ...(pgUrl ? ['postgres'] : [])];
if (!pgUrl)
  console.log(
    'postgres: skipped (set KVMBENCH_BENCH_POSTGRES_URL or KVMBENCH_TEST_POSTGRES_URL; scripts/ci-postgres.sh starts one)',
  );
console.log(`node ${process.version}; wall-clock medians of ${REPEAT} timings`);
for (const lane of lanes) {
  // 1. import of one run of 1,000 metrics × 30 samples, into a store that exists
  const loc1 = await freshLocation(lane, 'import');
  const store = await openStore(loc1, { write: true });
  await store.close();
  const rng = seededRng('import');
  const runs = Array.from({ length: REPEAT }, (_, i) => run(`big${i}`, i, 1000, 30, rng));
  const imp = await time(async (i) => {
    const s = await openStore(loc1, { write: true });
    await s.importRun(runs[i]);
    await s.close();
  });
  console.log(`${lane}: import 1 run × 1,000 metrics × 30 samples: ${fmt(imp)}  (goal ≤ 0.2 s)`);

  // 2. trend of one metric over 10,000 runs
  const loc2 = await freshLocation(lane, 'trend');
  const seeded2 = await seed(loc2, 10_000, 2, 10);
  const tr = await time(() => app.trend(loc2, ['m0.latency'], {}, DEFAULT_CHANGE_POINT_OPTIONS));
  const t = await app.trend(loc2, ['m0.latency'], {}, DEFAULT_CHANGE_POINT_OPTIONS);
  console.log(
    `${lane}: trend of 1 metric over 10,000 runs: ${fmt(tr)}  (goal ≤ 1 s; ${t.series[0].points.length} points, ${t.series[0].changes.length} change points; seeding took ${(seeded2 / 1000).toFixed(1)} s)`,
  );

  // 3. check over 200 metrics × 500 runs
  const loc3 = await freshLocation(lane, 'check');
  const seeded3 = await seed(loc3, 500, 200, 10);
  const ch = await time(() => app.check(loc3, {}, DEFAULT_CHANGE_POINT_OPTIONS, 10));
  const c = await app.check(loc3, {}, DEFAULT_CHANGE_POINT_OPTIONS, 10);
  console.log(
    `${lane}: check over 200 metrics × 500 runs: ${fmt(ch)}  (goal ≤ 5 s; ${c.series} series, ${c.findings.length} change points found, the +20 % step planted 5 runs from the end; seeding took ${(seeded3 / 1000).toFixed(1)} s)`,
  );
  if (lane === 'embedded') for (const l of [loc1, loc2, loc3]) rmSync(dirname(l), { recursive: true, force: true });
}
