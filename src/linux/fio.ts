/**
 * fio job definitions shared by the guest and the host baseline, and a parser
 * for fio's `--output-format=json` that trusts nothing: guest output arrives
 * over a serial line and may carry warnings, truncation or garbage.
 */

export interface IoJob {
  /** Stable id used in metric labels, e.g. `randread-4k-qd32`. */
  id: string;
  rw: 'read' | 'write' | 'randread' | 'randwrite';
  bs: string;
  iodepth: number;
}

/** The job matrix: sequential 1 MiB, random 4 KiB at queue depth 1 and 32. */
export const IO_JOBS: readonly IoJob[] = [
  { id: 'seqread-1m', rw: 'read', bs: '1m', iodepth: 1 },
  { id: 'seqwrite-1m', rw: 'write', bs: '1m', iodepth: 1 },
  { id: 'randread-4k-qd1', rw: 'randread', bs: '4k', iodepth: 1 },
  { id: 'randread-4k-qd32', rw: 'randread', bs: '4k', iodepth: 32 },
  { id: 'randwrite-4k-qd1', rw: 'randwrite', bs: '4k', iodepth: 1 },
  { id: 'randwrite-4k-qd32', rw: 'randwrite', bs: '4k', iodepth: 32 },
];

export interface FioRunOptions {
  filename: string;
  runtimeSec: number;
  rampSec: number;
  /** Bytes of the file/device the job may touch. */
  sizeBytes: number;
  ioengine: string;
  /**
   * Per-interval logs (src/linux/fio-log.ts): fio writes `PREFIX_bw.1.log`, `PREFIX_iops.1.log`
   * and `PREFIX_clat_hist.1.log`, one line per `intervalMs` after the ramp.
   */
  logPrefix: string;
  intervalMs: number;
}

/** Histogram bins merged in twos (fio's 1 856 bins → 928): about 3 % resolution, half the serial-line bytes. */
export const HIST_COARSENESS = 1;

/** fio argv for one job; the same function builds the guest's and the host's command, so both run the same job. */
export function fioArgs(job: IoJob, o: FioRunOptions): string[] {
  return [
    `--name=${job.id}`,
    `--filename=${o.filename}`,
    `--rw=${job.rw}`,
    `--bs=${job.bs}`,
    `--iodepth=${job.iodepth}`,
    `--ioengine=${o.ioengine}`,
    '--direct=1',
    '--time_based=1',
    `--runtime=${o.runtimeSec}`,
    `--ramp_time=${o.rampSec}`,
    `--size=${o.sizeBytes}`,
    '--numjobs=1',
    '--randrepeat=0',
    '--norandommap=1',
    `--write_bw_log=${o.logPrefix}`,
    `--write_iops_log=${o.logPrefix}`,
    `--write_hist_log=${o.logPrefix}`,
    `--log_avg_msec=${o.intervalMs}`,
    `--log_hist_msec=${o.intervalMs}`,
    `--log_hist_coarseness=${HIST_COARSENESS}`,
    '--output-format=json',
  ];
}

export interface FioSide {
  /** Bytes per second. */
  bwBytes: number;
  iops: number;
  /** Mean completion latency in ns. */
  clatMeanNs: number;
  ioBytes: number;
  runtimeMs: number;
}

export interface FioJobResult {
  jobname: string;
  error: number;
  read: FioSide;
  write: FioSide;
}

export interface FioReport {
  version: string;
  jobs: FioJobResult[];
}

function num(v: unknown, what: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new Error(`fio output: ${what} is not a non-negative number`);
  return v;
}

function obj(v: unknown, what: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error(`fio output: ${what} is not an object`);
  return v as Record<string, unknown>;
}

function side(v: unknown, what: string): FioSide {
  const o = obj(v, what);
  const clat = o.clat_ns === undefined ? { mean: 0 } : obj(o.clat_ns, `${what}.clat_ns`);
  return {
    bwBytes: num(o.bw_bytes, `${what}.bw_bytes`),
    iops: num(o.iops, `${what}.iops`),
    clatMeanNs: num(clat.mean ?? 0, `${what}.clat_ns.mean`),
    ioBytes: num(o.io_bytes, `${what}.io_bytes`),
    runtimeMs: num(o.runtime, `${what}.runtime`),
  };
}

/**
 * Parses fio JSON output. Text before the JSON object (fio prints warnings such
 * as "fio: ... " first) is skipped; anything that is not the expected shape
 * throws an Error saying which field was wrong.
 */
export function parseFioJson(text: string): FioReport {
  if (text.length > 16 << 20) throw new Error('fio output: larger than 16 MiB');
  const start = text.search(/^\{/m);
  const end = text.lastIndexOf('}');
  if (start < 0 || end < start) throw new Error('fio output: no JSON object found');
  let parsed: unknown;
  try {
    parsed = JSON.parse(text.slice(start, end + 1));
  } catch (e) {
    throw new Error(`fio output: invalid JSON (${(e as Error).message})`);
  }
  const root = obj(parsed, 'root');
  const jobsRaw = root.jobs;
  if (!Array.isArray(jobsRaw) || jobsRaw.length === 0) throw new Error('fio output: no jobs');
  const jobs = jobsRaw.map((j, i) => {
    const o = obj(j, `jobs[${i}]`);
    if (typeof o.jobname !== 'string') throw new Error(`fio output: jobs[${i}].jobname is not a string`);
    return {
      jobname: o.jobname,
      error: num(o.error ?? 0, `jobs[${i}].error`),
      read: side(o.read, `jobs[${i}].read`),
      write: side(o.write, `jobs[${i}].write`),
    };
  });
  const version = typeof root['fio version'] === 'string' ? (root['fio version'] as string) : 'unknown';
  return { version, jobs };
}

/** The side a job exercises: reads for read jobs, writes for write jobs. */
export function jobSide(job: IoJob, r: FioJobResult): FioSide {
  return job.rw === 'read' || job.rw === 'randread' ? r.read : r.write;
}
