#!/usr/bin/env node
// Start-up cost of the CLI, which every CI step pays: `kvmbench --version` and
// `kvmbench doctor --json` against a bare `node -e 0`. Goal: `--version` adds under
// 80 ms (bin/run.js answers it before oclif loads). Prints medians and p95 per command and the overhead over bare node.
//   node bench/startup.mjs [--runs N]
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { Bench } from 'tinybench';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const runIdx = process.argv.indexOf('--runs');
const runs = runIdx > 0 ? Number(process.argv[runIdx + 1]) : 15;
const bin = join(root, 'bin', 'run.js');

const commands = {
  'node -e 0': [process.execPath, ['-e', '0']],
  'kvmbench --version': [process.execPath, [bin, '--version']],
  'kvmbench doctor --json': [process.execPath, [bin, 'doctor', '--json']],
};

const bench = new Bench({ iterations: runs, time: 0, warmupIterations: 2, retainSamples: true });
for (const [name, [cmd, args]] of Object.entries(commands)) {
  bench.add(name, () => {
    const r = spawnSync(cmd, args, { cwd: root, stdio: 'ignore', env: { ...process.env, NO_COLOR: '1' } });
    if (r.error) throw r.error;
  });
}
await bench.run();

const quantile = (xs, q) => {
  const s = [...xs].sort((a, b) => a - b);
  const pos = (s.length - 1) * q,
    lo = Math.floor(pos),
    hi = Math.ceil(pos);
  return s[lo] + (s[hi] - s[lo]) * (pos - lo);
};
const rows = bench.tasks.map((t) => {
  const samples = t.result?.latency?.samples ?? [];
  return { name: t.name, n: samples.length, median: quantile(samples, 0.5), p95: quantile(samples, 0.95) };
});
const base = rows[0].median;
console.log(`interval: process spawn to exit, wall clock (performance.now), ms; ${runs} runs each after 2 warm-ups`);
for (const r of rows) {
  const extra = r.name === 'node -e 0' ? '' : `  overhead ${(r.median - base).toFixed(1)} ms`;
  console.log(`${r.name.padEnd(26)} n=${r.n}  median ${r.median.toFixed(1)} ms  p95 ${r.p95.toFixed(1)} ms${extra}`);
}
const over = rows[1].median - base;
console.log(
  over < 80
    ? `ok: --version adds ${over.toFixed(1)} ms (goal < 80 ms)`
    : `SLOW: --version adds ${over.toFixed(1)} ms (goal < 80 ms)`,
);
