/**
 * Synthetic run directories for the history tests: schema-valid results.json files of one
 * metric (exits/cpuid cpuid.latency) whose run-level level follows a given function, with
 * run-to-run noise and within-run noise, an hour apart, on a named host.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { normal, seededRng } from '../../src/stats/random.js';
import type { Results } from '../../src/results/model.js';
import { caseResult, makeResults, metric, samplesAround } from './results-fixture.js';

export const HOST = { cpuModel: 'Test CPU 9000', kernelRelease: '6.1.0', qemuVersion: '7.2.0', microcode: '0xb4' };

export interface SeriesSpec {
  host?: string;
  runs: number;
  /** Level of run i before noise (ns). */
  level: (i: number) => number;
  /** Run-to-run noise as a coefficient of variation. */
  runNoise?: number;
  seed?: string;
  /** Index of the first run (run ids and times continue from it). */
  from?: number;
}

export function seriesRuns(spec: SeriesSpec): Results[] {
  const rng = seededRng(spec.seed ?? 'series');
  const host = spec.host ?? 'ci-01';
  return Array.from({ length: spec.runs }, (_, k) => {
    const i = (spec.from ?? 0) + k;
    const level = spec.level(i) * (1 + (spec.runNoise ?? 0.03) * normal(rng));
    const start = new Date(Date.UTC(2026, 10, 1) + i * 3600_000).toISOString();
    return makeResults(
      [
        caseResult('exits/cpuid', {
          metrics: [
            metric('cpuid.latency', samplesAround(`${spec.seed}-${host}-${i}`, level, 15, 0.01), { labels: { machine: 'q35' } }),
          ],
        }),
      ],
      {
        run: { id: `2026-${host}-${String(i).padStart(3, '0')}`, suite: 'exits', start, end: start, gitRevision: `rev${i}` },
        host: { ...HOST, hostname: host },
      },
    );
  });
}

/** Writes each run as DIR/<run id>/results.json; the directories, in order. */
export function writeRuns(dir: string, runs: readonly Results[]): string[] {
  return runs.map((r) => {
    const d = join(dir, r.run.id);
    mkdirSync(d, { recursive: true });
    writeFileSync(join(d, 'results.json'), JSON.stringify(r));
    return d;
  });
}
