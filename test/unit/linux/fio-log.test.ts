import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { HIST_COARSENESS, IO_JOBS, fioArgs } from '../../../src/linux/fio.js';
import { coarseBinValue, fioBinValue, parseFioHistLog, parseFioValueLog, wholeWindows } from '../../../src/linux/fio-log.js';
import { ioSamplesPerJob, sideFigures } from '../../../src/cases/io.js';

const histLine = (t: number, ddir: number, fill: (j: number) => number): string => {
  const bins = Array.from({ length: 1856 / 2 ** HIST_COARSENESS }, (_, j) => fill(j));
  return [t, ddir, 4096, ...bins].join(', ');
};

describe("fio's per-interval logs", () => {
  it('reads bw/iops windows of one direction and skips garbage', () => {
    const log = parseFioValueLog(
      ['250, 42432, 0, 0, 0', '400, 31226, 0, 0, 0', 'KVMB1 garbage', '400, 9, 1, 0, 0', '550, 415'],
      0,
    );
    expect(log.windows).toEqual([
      { timeMs: 250, value: 42432 },
      { timeMs: 400, value: 31226 },
    ]);
    expect(log.skipped).toBe(2);
  });
  it('drops windows shorter than half the asked length', () => {
    expect(wholeWindows([{ timeMs: 150 }, { timeMs: 300 }, { timeMs: 330 }, { timeMs: 480 }], 150)).toEqual([
      { timeMs: 150 },
      { timeMs: 300 },
      { timeMs: 480 },
    ]);
  });
  it("decodes fio's latency bins (exact below 128 ns, 64 a power of two above)", () => {
    expect(fioBinValue(100)).toBe(100);
    expect(fioBinValue(128)).toBe(128 + 0.5 * 2);
    expect(fioBinValue(192)).toBe(256 + 0.5 * 4);
    expect(coarseBinValue(64, 1)).toBe((fioBinValue(128) + fioBinValue(129)) / 2);
  });
  it('gives each histogram window its own p50 and p99', () => {
    // 99 completions in bin 10 and 1 in bin 500: p50 is bin 10's value, p99 still bin 10, p99 of 100 → ceil(99).
    const line = histLine(150, 0, (j) => (j === 10 ? 98 : j === 500 ? 2 : 0));
    const { windows, skipped } = parseFioHistLog([line, histLine(300, 0, () => 0), line.slice(0, 40)], 0, HIST_COARSENESS);
    expect(skipped).toBe(1);
    expect(windows).toHaveLength(1);
    expect(windows[0]!.count).toBe(100);
    expect(windows[0]!.p50Ns).toBe(coarseBinValue(10, HIST_COARSENESS));
    expect(windows[0]!.p99Ns).toBe(coarseBinValue(500, HIST_COARSENESS));
  });
  it('counts the samples a job yields (the quick suite gives at least 11)', () => {
    expect(ioSamplesPerJob({ runtime: 2, intervalMs: 125 })).toBe(15);
    expect(ioSamplesPerJob({ runtime: 10, intervalMs: 500 })).toBe(19);
  });
  it("reads the host fio's real logs: one window per interval, p50 agreeing with fio's own within its bin width", () => {
    const dir = mkdtempSync(join(tmpdir(), 'kvmbench-fio-log-'));
    try {
      const file = join(dir, 'f');
      writeFileSync(file, Buffer.alloc(8 << 20, 1));
      const job = IO_JOBS.find((j) => j.id === 'randread-4k-qd1')!;
      let out: string;
      try {
        out = execFileSync(
          'fio',
          fioArgs(job, {
            filename: file,
            runtimeSec: 1,
            rampSec: 0,
            sizeBytes: 8 << 20,
            ioengine: 'psync',
            logPrefix: join(dir, 'j'),
            intervalMs: 100,
          }).filter((a) => a !== '--direct=1'),
          { encoding: 'utf8' },
        );
      } catch {
        return; // no fio here: the synthetic cases above still run
      }
      const read = (k: string): string[] => readFileSync(join(dir, `j_${k}.1.log`), 'utf8').split('\n');
      const f = sideFigures(job, { iops: read('iops'), bw: read('bw'), hist: read('clat_hist') }, 100);
      expect(f.throughput.length).toBeGreaterThanOrEqual(8);
      expect(f.clatP50Us.length).toBeGreaterThanOrEqual(8);
      const fioP50Us =
        (
          JSON.parse(out.slice(out.indexOf('{'))) as {
            jobs: Array<{ read: { clat_ns: { percentile: Record<string, number> } } }>;
          }
        ).jobs[0]!.read.clat_ns.percentile['50.000000']! / 1000;
      const ours = [...f.clatP50Us].sort((a, b) => a - b)[Math.floor(f.clatP50Us.length / 2)]!;
      expect(Math.abs(ours / fioP50Us - 1)).toBeLessThan(0.25);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
