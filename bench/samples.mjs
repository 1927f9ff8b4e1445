#!/usr/bin/env node
// How many samples a figure needs, and what they cost (docs/compare.md, "Adaptive sampling").
//
//   node bench/samples.mjs exits [--accel tcg] [--precision 2%] [--max-time 30s] [--only TEST]...
//     Runs the exits suite once with --precision at the tighter target and prints, per test, the
//     samples and sampling wall time to reach ± 2 % and ± 5 % (the looser target is found by
//     replaying the stopping rule over the same samples in their order; its time is the run's
//     sampling time × the share of samples, each window costing about the same).
//   node bench/samples.mjs io [--runs 3] [RESULTS_DIR...]
//     Runs `run io --quick` N times (or reads earlier runs' directories) and prints, per job and
//     side, the CV of the fio windows within a run (the samples now) against the CV across runs
//     of each run's whole-job figure (the one sample a job gave before: the mean of its windows).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { shouldStop, parsePrecision } = await import(join(root, 'dist/src/stats/precision.js'));
const { summarize } = await import(join(root, 'dist/src/stats/summary.js'));

const [mode, ...rest] = process.argv.slice(2);
const opt = (name, d) => {
  const i = rest.indexOf(name);
  return i >= 0 ? rest[i + 1] : d;
};
const many = (name) => rest.flatMap((a, i) => (a === name ? [rest[i + 1]] : []));
const pct = (f) => (Number.isFinite(f) ? `${(f * 100).toFixed(1)} %` : '–');
const secs = (ms) => `${(ms / 1000).toFixed(1)} s`;
const kvmbench = (args) =>
  spawnSync(process.execPath, [join(root, 'bin/run.js'), ...args], {
    cwd: root,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, NO_COLOR: '1', CI: '1' },
  });
const load = (dir) => JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8'));

function table(head, rows) {
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
  const line = (r) => `| ${r.map((c, i) => String(c).padEnd(w[i])).join(' | ')} |`;
  return [line(head), `| ${w.map((n) => '-'.repeat(n)).join(' | ')} |`, ...rows.map(line)].join('\n');
}

if (mode === 'exits') {
  const accel = opt('--accel', 'tcg');
  const tight = opt('--precision', '2%');
  const loose = opt('--loose', '5%');
  const maxTime = opt('--max-time', '30s');
  const out = mkdtempSync(join(tmpdir(), 'kvmbench-bench-samples-'));
  const only = many('--only').flatMap((t) => ['--only', t]);
  const t0 = performance.now();
  const r = kvmbench([
    'run',
    'exits',
    '--accel',
    accel,
    '--precision',
    tight,
    '--max-samples',
    '1000',
    '--max-time',
    maxTime,
    ...only,
    '-o',
    out,
  ]);
  const wall = performance.now() - t0;
  if (r.status !== 0 && r.status !== 1) throw new Error(`run exits exited ${r.status}`);
  const res = load(out);
  const looseF = parsePrecision(loose);
  const rows = [];
  for (const c of res.cases) {
    const m = c.metrics.find((x) => x.headline);
    if (!m?.sampling) {
      rows.push([c.id.replace('exits/', ''), c.status, '', '', '', '', '']);
      continue;
    }
    const s = m.sampling;
    // Replay the rule over the samples in the order they came: where the looser target was met.
    let nLoose;
    for (let k = 1; k <= m.samples.length && nLoose === undefined; k++)
      if (shouldStop(m.samples.slice(0, k), 0, { precision: looseF, maxSamples: 1e9 })?.reason === 'precision') nLoose = k;
    const perSample = (s.elapsedMs ?? 0) / s.n;
    rows.push([
      c.id.replace('exits/', ''),
      `${pct(summarize(m.samples).cv)}`,
      nLoose ?? `> ${s.n}`,
      nLoose ? secs(perSample * nLoose) : '–',
      s.reason === 'precision' ? s.n : `> ${s.n} (${s.reason}, ${pct(s.precision)})`,
      secs(s.elapsedMs ?? 0),
      secs(c.durationMs),
    ]);
  }
  console.log(
    `exits under ${res.run.accelerator} (${res.run.execution?.mode ?? res.run.accelerator}), one boot a test, --precision ${tight} --max-time ${maxTime} --max-samples 1000; ${loose} replayed on the same samples; whole run ${secs(wall)}`,
  );
  console.log(
    table(['test', 'CV', `n to ${loose}`, `time to ${loose}`, `n to ${tight}`, `time to ${tight}`, 'case wall time'], rows),
  );
  rmSync(out, { recursive: true, force: true });
} else if (mode === 'io') {
  const dirs = rest.filter((a, i) => !a.startsWith('--') && rest[i - 1] !== '--runs');
  const made = [];
  if (dirs.length === 0) {
    const runs = Number(opt('--runs', '3'));
    for (let i = 0; i < runs; i++) {
      const out = mkdtempSync(join(tmpdir(), 'kvmbench-bench-io-'));
      const r = kvmbench(['run', 'io', '--quick', '--accel', opt('--accel', 'tcg'), '-o', out]);
      if (r.status !== 0) throw new Error(`run io exited ${r.status}`);
      dirs.push(out);
      made.push(out);
    }
  }
  const byKey = new Map();
  for (const d of dirs) {
    for (const c of load(d).cases) {
      for (const m of c.metrics) {
        if (!/\.(guest|host)$/.test(m.name) || m.name.includes('.clat_')) continue;
        const list = byKey.get(m.name) ?? [];
        list.push(m);
        byKey.set(m.name, list);
      }
    }
  }
  const rows = [];
  for (const [name, ms] of byKey) {
    const within = ms.map((m) => m.summary.cv).sort((a, b) => a - b);
    const wholeJob = ms.map((m) => m.summary.mean);
    rows.push([
      name.replace(/^io\./, ''),
      ms[0].unit,
      ms.length,
      ms.map((m) => m.summary.n).join('/'),
      pct(within[Math.floor(within.length / 2)]),
      ms.length > 1 ? pct(summarize(wholeJob).cv) : '–',
      ms.map((m) => m.summary.median.toFixed(0)).join('/'),
    ]);
  }
  console.log(
    `I/O (${dirs.length} runs): windows within a run, the samples now, against each run's whole-job figure, the one sample a job gave before`,
  );
  console.log(
    table(
      [
        'job.side',
        'unit',
        'runs',
        'n windows per run',
        'CV of windows (median over runs)',
        'CV across runs of the whole-job figure',
        'median per run',
      ],
      rows,
    ),
  );
  for (const d of made) rmSync(d, { recursive: true, force: true });
} else {
  console.error('usage: node bench/samples.mjs exits|io [options] (see the header of bench/samples.mjs)');
  process.exit(2);
}
