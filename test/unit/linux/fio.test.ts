import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { HIST_COARSENESS, IO_JOBS, fioArgs, jobSide, parseFioJson } from '../../../src/linux/fio.js';
import { initSourcePath } from '../../../src/linux/image.js';

const sample = {
  'fio version': 'fio-3.33',
  jobs: [
    {
      jobname: 'randread-4k-qd32',
      error: 0,
      read: { io_bytes: 4096000, bw_bytes: 2048000, iops: 500.5, runtime: 2000, clat_ns: { mean: 12345.6 } },
      write: { io_bytes: 0, bw_bytes: 0, iops: 0, runtime: 0, clat_ns: { mean: 0 } },
    },
  ],
};

describe('parseFioJson', () => {
  it('reads the figures of a job, skipping warnings printed before the JSON', () => {
    const r = parseFioJson(`fio: note: both iodepth >= 1 and synchronous I/O engine\n${JSON.stringify(sample, null, 2)}\n`);
    expect(r.version).toBe('fio-3.33');
    const s = jobSide(
      IO_JOBS.find((j) => j.id === 'randread-4k-qd32')!,
      r.jobs[0]!,
    );
    expect(s).toEqual({ bwBytes: 2048000, iops: 500.5, clatMeanNs: 12345.6, ioBytes: 4096000, runtimeMs: 2000 });
  });
  it.each([
    ['empty', ''],
    ['not JSON', 'Segmentation fault\n'],
    ['truncated', JSON.stringify(sample).slice(0, 80)],
    ['no jobs', '{"jobs": []}'],
    ['jobs not an array', '{"jobs": {"0": 1}}'],
    ['negative iops', JSON.stringify({ jobs: [{ ...sample.jobs[0], read: { ...sample.jobs[0]!.read, iops: -1 } }] })],
    ['string bandwidth', JSON.stringify({ jobs: [{ ...sample.jobs[0], read: { ...sample.jobs[0]!.read, bw_bytes: '1e9' } }] })],
    ['null read side', JSON.stringify({ jobs: [{ ...sample.jobs[0], read: null }] })],
    ['missing jobname', JSON.stringify({ jobs: [{ ...sample.jobs[0], jobname: 7 }] })],
    ['__proto__ pollution attempt', '{"__proto__": {"jobs": [1]}, "jobs": null}'],
  ])('rejects hostile input: %s', (_name, text) => {
    expect(() => parseFioJson(text)).toThrow(/fio output/);
  });
  it('parses real output of the host fio when it is installed', () => {
    let out: string;
    try {
      out = execFileSync(
        'fio',
        ['--name=t', '--ioengine=null', '--size=1m', '--rw=randread', '--bs=4k', '--output-format=json'],
        { encoding: 'utf8' },
      );
    } catch {
      return; // no fio here: the synthetic cases above still run
    }
    const r = parseFioJson(out);
    expect(r.jobs[0]!.jobname).toBe('t');
    expect(r.jobs[0]!.read.ioBytes).toBe(1 << 20);
  });
});

describe('guest and host run the same job', () => {
  it('every option fioArgs gives the host is also on the guest /init fio command line', () => {
    const init = readFileSync(initSourcePath(), 'utf8');
    for (const a of fioArgs(IO_JOBS[0]!, {
      filename: 'f',
      runtimeSec: 1,
      rampSec: 1,
      sizeBytes: 1,
      ioengine: 'libaio',
      logPrefix: 'p',
      intervalMs: 100,
    })) {
      expect(init).toContain(`${a.split('=')[0]}=`);
    }
  });
  it('the guest merges histogram bins as the host parser expects', () => {
    expect(readFileSync(initSourcePath(), 'utf8')).toContain(`--log_hist_coarseness=${HIST_COARSENESS}`);
  });
});
