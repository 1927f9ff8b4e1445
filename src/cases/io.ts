/**
 * virtio-blk I/O of the Linux guest beside the host's (suites/io.yaml): a raw
 * backing file in a scratch directory, the same fio jobs run in the guest on
 * /dev/vda and on the host on the file, and a guest/host ratio for each job.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, openSync, closeSync, readFileSync, rmSync, statfsSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { variantVmRecord } from '../results/variant.js';
import { LINUX_GUEST_ARGS, NamesArg, NumberArg, OneOfArg, TextArg, caseArgs, numberArg, textArg } from './args.js';
import type { CaseExecutor, CaseOutcome } from './types.js';
import type { Metric } from '../results/model.js';
import { median, summarize } from '../stats/summary.js';
import { DEFAULT_MAX_SAMPLES, MIN_ADAPTIVE_SAMPLES, fixedSampling, type Sampling, type StopRule } from '../stats/precision.js';
import { followSampling, nextSegment } from './segments.js';
import { ratioOfMediansInterval } from '../stats/ratio.js';
import { buildLinuxImage, imageFacts } from '../linux/image.js';
import { bootLinux } from '../linux/launch.js';
import { kvmFailureHint, linuxBootBlocked, rememberKernelFailure } from './linux-policy.js';
import { IO_JOBS, fioArgs, jobSide, parseFioJson, type IoJob } from '../linux/fio.js';
import { HIST_COARSENESS } from '../linux/fio.js';
import { parseFioHistLog, parseFioValueLog, wholeWindows } from '../linux/fio-log.js';
import { findHostFio } from '../linux/sources.js';
import type { MachineType } from '../vmm/qemu.js';
import { guestInfo, linuxCaseBase, linuxVmOptions } from './boot-linux.js';

const execFileP = promisify(execFile);

/** statfs f_type values of filesystems where O_DIRECT opens fail (tmpfs, ramfs). */
const NO_ODIRECT_FS: Record<number, string> = { 0x01021994: 'tmpfs', 0x858458f6: 'ramfs' };

export async function filesystemType(dir: string): Promise<string> {
  try {
    return (await execFileP('stat', ['-f', '-c', '%T', dir])).stdout.trim();
  } catch {
    return 'unknown';
  }
}

export const IO_ARGS = caseArgs({
  ...LINUX_GUEST_ARGS,
  cache: TextArg('QEMU -drive cache, e.g. none'),
  aio: TextArg('QEMU -drive aio, e.g. threads'),
  ioengine: TextArg('fio ioengine, e.g. libaio'),
  runtime: NumberArg('seconds a job runs'),
  ramp: NumberArg('seconds of ramp before a job is measured'),
  sizeMiB: NumberArg('MiB of the backing file'),
  jobs: NamesArg('io job ids to run'),
  scratchDir: TextArg('directory of the backing file'),
  tool: OneOfArg(['fio', 'dd'], 'the guest tool'),
  intervalMs: NumberArg('ms of one fio log window (one sample)'),
  driveOptions: TextArg('extra QEMU -drive options, comma-separated, e.g. throttling.bps-total=8388608'),
});

/** Default window of fio's per-interval logs: the quick suite asks a shorter one (suites/io.yaml). */
export const DEFAULT_INTERVAL_MS = 500;

/**
 * Samples a fio job yields per side: one per whole window after the ramp. fio's first window
 * ends a little late and the last is cut by the end of the run, so one is counted off.
 */
export function ioSamplesPerJob(args: Record<string, unknown>): number {
  const runtimeSec = numberArg(args.runtime, 5);
  const intervalMs = numberArg(args.intervalMs, DEFAULT_INTERVAL_MS);
  return Math.floor((runtimeSec * 1000) / intervalMs) - 1;
}

type Side = 'guest' | 'host' | 'ratio';

interface Figure {
  name: string;
  unit: string;
  better: 'higher' | 'lower';
  samples: number[];
  side: Side;
  interval: string;
  method: string;
  sampling?: Sampling;
  ratio?: Metric['ratio'];
}

/** fio's windows of one job (Metric.windows); measured drift between identical runs is in docs/compare.md. */
const FIO_WINDOWS: NonNullable<Metric['windows']> = {
  basis: "fio windows of one job follow the disk's state and the host's load over that run, which one run cannot measure",
};

function metric(job: IoJob, f: Figure, extra: Record<string, string>, accel: Metric['accelerator']): Metric {
  return {
    name: f.name,
    unit: f.unit,
    better: f.better,
    interval: f.interval,
    method: f.method,
    accelerator: accel,
    samples: f.samples,
    summary: summarize(f.samples),
    labels: { side: f.side, job: job.id, ...extra },
    ...(f.sampling ? { sampling: f.sampling } : {}),
    ...(f.ratio ? { ratio: f.ratio } : {}),
    // A dd run is one sample, not windows; every fio figure (ratios too) is built from windows.
    ...(extra.tool === 'dd' ? {} : { windows: FIO_WINDOWS }),
  };
}

/** What one side's fio run of a job gave: per-window throughput and latency percentiles. */
interface SideFigures {
  throughput: number[];
  clatP50Us: number[];
  clatP99Us: number[];
  skipped: number;
}

/** The figures of one job from its logs' lines (bw or iops by the job's kind; clat from the histogram log). */
export function sideFigures(job: IoJob, logs: { iops: string[]; bw: string[]; hist: string[] }, intervalMs: number): SideFigures {
  const seq = job.rw === 'read' || job.rw === 'write';
  const ddir = job.rw === 'read' || job.rw === 'randread' ? 0 : 1;
  const tp = parseFioValueLog(seq ? logs.bw : logs.iops, ddir);
  const hist = parseFioHistLog(logs.hist, ddir, HIST_COARSENESS);
  const lat = wholeWindows(hist.windows, intervalMs);
  return {
    // bw logs are in KiB/s.
    throughput: wholeWindows(tp.windows, intervalMs).map((w) => (seq ? w.value / 1024 : w.value)),
    clatP50Us: lat.map((w) => w.p50Ns / 1000),
    clatP99Us: lat.map((w) => w.p99Ns / 1000),
    skipped: tp.skipped + hist.skipped,
  };
}

/** A guest job's figures from its output sections. */
function guestSideFigures(job: IoJob, o: GuestJobOutput, intervalMs: number): SideFigures {
  return sideFigures(job, { iops: o.sections.iops ?? [], bw: o.sections.bw ?? [], hist: o.sections.clat_hist ?? [] }, intervalMs);
}

/**
 * Several runs' figures of one job, windows in the order they were taken, at most `cap` of each
 * (--max-samples: a segment runs whole seconds, so its last windows may pass the cap).
 */
function joinFigures(parts: readonly SideFigures[], cap = Number.POSITIVE_INFINITY): SideFigures {
  return {
    throughput: parts.flatMap((p) => p.throughput).slice(0, cap),
    clatP50Us: parts.flatMap((p) => p.clatP50Us).slice(0, cap),
    clatP99Us: parts.flatMap((p) => p.clatP99Us).slice(0, cap),
    skipped: parts.reduce((n, p) => n + p.skipped, 0),
  };
}

/** Further runs of a job, without --precision, whose windows came out too few (a stalling disk). */
export const MAX_TOP_UPS = 2;

function readLog(path: string): string[] {
  try {
    return readFileSync(path, 'utf8').split('\n');
  } catch {
    return [];
  }
}

/** The guest's output of one job: the text of each section its `job-log` lines open. */
interface GuestJobOutput {
  sections: Record<string, string[]>;
  section: string;
  beginMs?: number;
  endMs?: number;
  rc?: string;
  tool?: string;
  bytes?: number;
}

export const ioExecutor: CaseExecutor = {
  kind: 'io',
  args: IO_ARGS,
  async run(spec, ctx): Promise<CaseOutcome> {
    const machine = spec.machine as MachineType;
    const base = linuxCaseBase(spec, ctx);
    const cache = textArg(spec.args.cache, 'none');
    const aio = textArg(spec.args.aio, 'threads');
    const ioengine = textArg(spec.args.ioengine, 'libaio');
    const runtimeSec = numberArg(spec.args.runtime, 5);
    const rampSec = numberArg(spec.args.ramp, 1);
    const sizeMiB = numberArg(spec.args.sizeMiB, 256);
    const intervalMs = numberArg(spec.args.intervalMs, DEFAULT_INTERVAL_MS);
    // Extra -drive options from the suite, e.g. a throttle (`throttling.bps-total=…`) to plant a slower disk.
    const driveOptions =
      typeof spec.args.driveOptions === 'string' && spec.args.driveOptions ? spec.args.driveOptions.split(',') : [];
    const only = Array.isArray(spec.args.jobs) ? spec.args.jobs : undefined;
    const jobs = IO_JOBS.filter((j) => !only || only.includes(j.id));
    const scratch = textArg(spec.args.scratchDir, ctx.scratchDir);
    mkdirSync(scratch, { recursive: true });
    const fsType = await filesystemType(scratch);
    const badOption = driveOptions.find(
      (kv) => !/^[a-z][a-z0-9.-]*=[A-Za-z0-9._-]+$/.test(kv) || /^(id|file|format|if|cache|aio)=/.test(kv),
    );
    if (badOption)
      return {
        ...base,
        status: 'error',
        reason: `args.driveOptions: '${badOption}' is not a key=value -drive option kvmbench passes on (e.g. throttling.bps-total=52428800; id, file, format, if, cache and aio are set by the case)`,
        metrics: [],
        facts: {},
      };
    const facts: Record<string, unknown> = {
      scratchDir: scratch,
      scratchFs: fsType,
      cache,
      aio,
      ioengine,
      runtimeSec,
      rampSec,
      sizeMiB,
      intervalMs,
      ...(driveOptions.length ? { driveOptions } : {}),
    };

    const sf = statfsSync(scratch);
    const noDirect = NO_ODIRECT_FS[sf.type];
    if (noDirect)
      return {
        ...base,
        status: 'error',
        reason: `scratch directory ${scratch} is on ${noDirect}, where O_DIRECT (fio direct=1, QEMU cache=none) cannot work; pass scratchDir on a disk filesystem`,
        metrics: [],
        facts,
      };
    const free = sf.bavail * sf.bsize;
    if (free < (sizeMiB + 64) * 2 ** 20)
      return {
        ...base,
        status: 'error',
        reason: `scratch directory ${scratch} has ${Math.floor(free / 2 ** 20)} MiB free, ${sizeMiB + 64} MiB needed`,
        metrics: [],
        facts,
      };

    const given = typeof spec.args.kernel === 'string' ? spec.args.kernel : undefined;
    const vm = {
      machine,
      cpu: ctx.platform.cpu,
      firmware: machine === 'microvm' ? 'qboot' : 'seabios',
      cache,
      aio,
      ...(driveOptions.length ? { drive_options: driveOptions.join(',') } : {}),
      ...variantVmRecord(ctx.platform.variant, given),
    };
    // Before the image is built and the backing file written: a stock kernel this KVM cannot run costs nothing.
    const early = linuxBootBlocked(ctx, { given: given !== undefined });
    if (early) return { ...base, vm, status: 'skip', reason: early, metrics: [], facts };
    ctx.onPhase('image');
    const img = await buildLinuxImage({ variant: 'fio', kernel: given, noFio: spec.args.tool === 'dd' });
    Object.assign(facts, imageFacts(img));
    const guest = guestInfo(img);
    const blocked = linuxBootBlocked(ctx, { given: given !== undefined, sha256: img.kernelSha256 });
    if (blocked) return { ...base, guest, vm, status: 'skip', reason: blocked, metrics: [], facts };
    const file = join(scratch, `kvmbench-io-${process.pid}-${Date.now()}.raw`);
    try {
      // Real data, not a sparse file: reads of holes never touch the disk.
      ctx.onPhase('backing file');
      const fd = openSync(file, 'w');
      try {
        const chunk = randomBytes(1 << 20);
        for (let i = 0; i < sizeMiB; i++) writeSync(fd, chunk);
      } finally {
        closeSync(fd);
      }
      const sizeBytes = sizeMiB * 2 ** 20;
      // One guest boot running `segment`'s jobs, each for its own runtime; the output of each job
      // is the text between its begin and end lines, in arrival order.
      const runGuest = async (segment: ReadonlyArray<{ job: IoJob; runtimeSec: number }>) => {
        const outputs = new Map<string, GuestJobOutput>();
        let current: string | undefined;
        const r = await bootLinux({
          ...linuxVmOptions(spec, ctx, img),
          guestArgs: {
            mode: 'io',
            jobs: segment.map(({ job: j, runtimeSec: rt }) => `${j.id}:${j.rw}:${j.bs}:${j.iodepth}:${rt}`).join(','),
            runtime: runtimeSec,
            ramp: rampSec,
            size: sizeBytes,
            ioengine,
            interval: intervalMs,
          },
          drive: { id: 'd0', file, format: 'raw', cache, aio, ...(driveOptions.length ? { options: driveOptions } : {}) },
          signal: ctx.signal,
          deadlineAt: ctx.deadlineAt,
          logPath: ctx.logPath,
          onEvent: (ev, at) => {
            if (ev.type === 'job-begin' && ev.fields.id) {
              ctx.onPhase(`guest ${ev.fields.id}`);
              outputs.set(ev.fields.id, {
                sections: { json: [] },
                section: 'json',
                beginMs: at,
                tool: ev.fields.tool,
                bytes: ev.fields.bytes ? Number(ev.fields.bytes) : undefined,
              });
            } else if (ev.type === 'job-log' && ev.fields.id) {
              ctx.onPhase(`guest ${ev.fields.id}: ${ev.fields.log ?? '?'} log`);
            } else if (ev.type === 'job-end' && ev.fields.id) {
              const o = outputs.get(ev.fields.id);
              if (o) Object.assign(o, { endMs: at, rc: ev.fields.rc });
            }
          },
        });
        for (const { line } of r.lines) {
          if (line.kind === 'event') {
            if (line.type === 'job-begin') current = line.fields.id;
            else if (line.type === 'job-end') current = undefined;
            else if (line.type === 'job-log' && current !== undefined && line.fields.log) {
              const o = outputs.get(current);
              if (o) {
                o.section = line.fields.log;
                o.sections[o.section] = [];
              }
            }
          } else if (current !== undefined) {
            const o = outputs.get(current);
            o?.sections[o.section]?.push(line.text);
          }
        }
        return { r, outputs };
      };
      ctx.onPhase('guest jobs');
      const samplingStart = Date.now();
      const { r, outputs } = await runGuest(jobs.map((job) => ({ job, runtimeSec })));
      facts.guestBootMarks = r.marks;
      facts.qemuArgv = r.argv;
      // A guest that stopped part-way (deadline, interrupt, crash) still reports the jobs it
      // finished; their host baselines are skipped, since the run is being cut short.
      if (r.kvmFailure) rememberKernelFailure(ctx, img, r.kvmFailure, kvmFailureHint(ctx.host.kvmFlavor));
      const guestFailure = r.ok ? undefined : r.kvmFailure ? `${r.reason}; ${kvmFailureHint(ctx.host.kvmFlavor)}` : r.reason;
      const execution = r.execution ?? {
        mode: 'unknown' as const,
        evidence: ['KVM statistics not available for this boot (QMP query-stats)'],
      };
      const done = { ...base, guest, vm, execution };

      // --precision: more segments (each a boot running the jobs that need them) until each job's
      // guest throughput windows pin their median, or a cap. `extended` holds each job's later
      // segments: their runtimes (the host runs the same) and what the guest gave.
      const extended = new Map<string, Array<{ runtimeSec: number; output: GuestJobOutput }>>();
      const stops = new Map<string, Sampling>();
      const want = ctx.sampling;
      const sampleCap = want?.precision !== undefined ? (want.maxSamples ?? DEFAULT_MAX_SAMPLES) : undefined;
      const windowsOf = (job: IoJob): number[] => {
        const parts = [outputs.get(job.id), ...(extended.get(job.id) ?? []).map((x) => x.output)];
        // Capped as the figure is (joinFigures): the stop is decided on the windows reported.
        return parts
          .flatMap((o) => (o && o.rc === '0' ? guestSideFigures(job, o, intervalMs).throughput : []))
          .slice(0, sampleCap);
      };
      if (want?.precision !== undefined && r.ok && img.ioTool !== 'dd') {
        const rule: StopRule = {
          precision: want.precision,
          maxSamples: want.maxSamples ?? DEFAULT_MAX_SAMPLES,
          ...(want.maxTimeMs !== undefined ? { maxTimeMs: want.maxTimeMs } : {}),
        };
        let segment = 1;
        // What stage one cost beyond its jobs' runtimes and ramps: the boot, the image, the lines.
        const overheadMs = Math.max(0, Date.now() - samplingStart - jobs.length * (runtimeSec + rampSec) * 1000);
        // The host runs every segment again (same job, same runtime) once the guest is done.
        let hostOwedMs = jobs.length * (runtimeSec + rampSec) * 1000;
        for (;;) {
          const spentMs = Date.now() - samplingStart + hostOwedMs;
          const needy = jobs.filter((job) => !stops.has(job.id) && outputs.get(job.id)?.rc === '0');
          // The time cap shared out: each job of the next segment runs in the guest and on the host.
          const budgetSec =
            rule.maxTimeMs === undefined || needy.length === 0
              ? undefined
              : (rule.maxTimeMs - spentMs - overheadMs) / 1000 / (2 * needy.length) - rampSec;
          const next: Array<{ job: IoJob; runtimeSec: number }> = [];
          for (const job of needy) {
            const step = nextSegment(windowsOf(job), spentMs, rule, {
              intervalMs,
              ...(budgetSec !== undefined ? { budgetSec } : {}),
            });
            if ('stop' in step) stops.set(job.id, step.stop);
            else next.push({ job, runtimeSec: step.runtimeSec });
          }
          if (next.length === 0) break;
          ctx.onPhase(`guest jobs, segment ${++segment}: ${next.map(({ job }) => job.id).join(', ')}`);
          hostOwedMs += next.reduce((ms, x) => ms + (x.runtimeSec + rampSec) * 1000, 0);
          const more = await runGuest(next);
          for (const { job, runtimeSec: rt } of next) {
            const o = more.outputs.get(job.id);
            if (o?.rc === '0') extended.set(job.id, [...(extended.get(job.id) ?? []), { runtimeSec: rt, output: o }]);
          }
          if (!more.r.ok) {
            // What arrived before stands; the job stops where its windows ended.
            for (const { job } of next)
              stops.set(job.id, {
                ...fixedSampling(windowsOf(job), { cutShort: true, why: `a further segment's guest stopped: ${more.r.reason}` }),
                ...(rule.precision !== undefined ? { target: rule.precision } : {}),
              });
            break;
          }
        }
      }

      // Without --precision: a job whose windows came out fewer than compare's minimum (fio's
      // windows stretch while the disk stalls: 2 in a 2 s job was seen on this shared disk) runs
      // again, up to MAX_TOP_UPS times, so every figure has enough samples to be judged.
      if (want?.precision === undefined && r.ok && img.ioTool !== 'dd') {
        for (let k = 0; k < MAX_TOP_UPS; k++) {
          const short = jobs.filter((job) => outputs.get(job.id)?.rc === '0' && windowsOf(job).length < MIN_ADAPTIVE_SAMPLES);
          if (short.length === 0) break;
          ctx.onPhase(`guest jobs, top-up ${k + 1}: ${short.map((j) => j.id).join(', ')}`);
          const more = await runGuest(short.map((job) => ({ job, runtimeSec })));
          for (const job of short) {
            const o = more.outputs.get(job.id);
            if (o?.rc === '0') extended.set(job.id, [...(extended.get(job.id) ?? []), { runtimeSec, output: o }]);
          }
          if (!more.r.ok) break;
        }
      }

      const hostFio = await findHostFio();
      facts.hostFio = hostFio ? hostFio.version : 'none: no host baseline';
      const metrics: Metric[] = [];
      const jobFacts: Record<string, unknown> = {};
      const hostLogDir = mkdtempSync(join(ctx.scratchDir, 'fio-host-'));
      for (const job of jobs) {
        const o = outputs.get(job.id);
        const seq = job.rw === 'read' || job.rw === 'write';
        const extra = { tool: o?.tool ?? 'none', cache, aio, machine };
        if (!o && img.ioTool === 'dd' && !seq) {
          jobFacts[`${job.id}.skipped`] = 'busybox dd does sequential jobs only';
          continue;
        }
        // A job whose end line never came (deadline, interrupt, crash) keeps the windows that arrived.
        const cutShort = o !== undefined && o.rc === undefined && guestFailure !== undefined;
        if (!o && guestFailure) break;
        if (!o || (o.rc !== '0' && !cutShort))
          return {
            ...done,
            status: 'error',
            reason: `guest job ${job.id} ${o ? `exited ${o.rc}: ${(o.sections.json ?? []).slice(-3).join(' | ')}` : 'did not run'}`,
            metrics,
            facts,
          };
        const tpUnit = seq ? 'MiB/s' : 'IOPS';
        const what = `one ${job.rw} job, bs=${job.bs}, iodepth=${job.iodepth}, direct I/O`;
        const guestWhere = `in the guest on /dev/vda (virtio-blk, cache=${cache}, aio=${aio}${driveOptions.length ? `, ${driveOptions.join(',')}` : ''})`;
        let guest: SideFigures;
        if (o.tool === 'dd') {
          const v = (o.bytes ?? 0) / 2 ** 20 / (((o.endMs ?? 0) - (o.beginMs ?? 0)) / 1000);
          guest = { throughput: Number.isFinite(v) ? [v] : [], clatP50Us: [], clatP99Us: [], skipped: 0 };
        } else {
          guest = joinFigures(
            [o, ...(extended.get(job.id) ?? []).map((x) => x.output)].map((x) => guestSideFigures(job, x, intervalMs)),
            sampleCap,
          );
          if (guest.skipped) jobFacts[`${job.id}.guest.skippedLogLines`] = guest.skipped;
          try {
            jobFacts[`${job.id}.guest.clatMeanUs`] =
              jobSide(job, parseFioJson((o.sections.json ?? []).join('\n')).jobs[0]!).clatMeanNs / 1000;
          } catch (err) {
            // The summary JSON is not a sample; without it the windows still stand.
            jobFacts[`${job.id}.guest.json`] = (err as Error).message;
          }
        }
        if (guest.throughput.length === 0) {
          if (cutShort) break;
          return {
            ...done,
            status: 'error',
            reason: `guest job ${job.id} gave no ${seq ? 'bandwidth' : 'IOPS'} windows (fio log empty or garbled)`,
            metrics,
            facts,
          };
        }
        const stop = stops.get(job.id);
        const segments = [runtimeSec, ...(extended.get(job.id) ?? []).map((x) => x.runtimeSec)];
        const fixedWhy = (runs: number): string =>
          runs > 1
            ? `${runs} runs of ${runtimeSec} s in ${intervalMs} ms windows (run again: fio gave fewer than ${MIN_ADAPTIVE_SAMPLES} windows)`
            : `${runtimeSec} s job in ${intervalMs} ms windows`;
        const sampling = (xs: number[], runs = segments.length): Sampling =>
          stop
            ? followSampling(stop, xs, guest.throughput)
            : cutShort
              ? fixedSampling(xs, {
                  cutShort: true,
                  expected: ioSamplesPerJob(spec.args),
                  why: 'the guest stopped before the job ended',
                })
              : fixedSampling(xs, { why: o.tool === 'dd' ? 'one dd run' : fixedWhy(runs) });
        if (cutShort)
          jobFacts[`${job.id}.guest.note`] =
            `output cut short: ${guest.throughput.length} windows arrived before the guest stopped`;
        const windowText =
          o.tool === 'dd'
            ? `${what}, the whole dd run`
            : segments.length > 1
              ? `${what}, one ${intervalMs} ms window of ${segments.length} runs of the job (${segments.join(' + ')} s, each after a ${rampSec} s ramp)`
              : `${what}, one ${intervalMs} ms window of a ${runtimeSec} s job after a ${rampSec} s ramp`;
        metrics.push(
          metric(
            job,
            {
              name: `io.${job.id}.guest`,
              unit: tpUnit,
              better: 'higher',
              side: 'guest',
              samples: guest.throughput,
              sampling: sampling(guest.throughput),
              interval: `${windowText}, ${guestWhere}`,
              method:
                o.tool === 'dd'
                  ? 'busybox dd in the guest, timed on the host from the arrival of its begin and end lines (includes about 1 ms of line latency)'
                  : `fio's ${seq ? 'bandwidth' : 'IOPS'} log in the guest (--log_avg_msec=${intervalMs}: the window's average), one sample per whole window`,
            },
            extra,
            ctx.accel,
          ),
        );
        const latMethod = (where: string): string =>
          `fio's completion-latency histogram log ${where} (--log_hist_msec=${intervalMs}, bins merged in ${2 ** HIST_COARSENESS}s, about 3 % resolution): the window's percentile`;
        for (const [q, xs] of [
          ['p50', guest.clatP50Us],
          ['p99', guest.clatP99Us],
        ] as const) {
          if (xs.length)
            metrics.push(
              metric(
                job,
                {
                  name: `io.${job.id}.clat_${q}.guest`,
                  unit: 'µs',
                  better: 'lower',
                  side: 'guest',
                  samples: xs,
                  sampling: sampling(xs),
                  interval: `${q} of the completion latency (submission to completion) of the I/Os in ${windowText}, ${guestWhere}`,
                  method: latMethod('in the guest'),
                },
                extra,
                ctx.accel,
              ),
            );
        }
        // dd figures get no fio baseline: the two tools would not be running the same job.
        if (!hostFio || o.tool === 'dd' || guestFailure) continue;
        ctx.onPhase(`host ${job.id}`);
        // The same segments as the guest's, so the two sides' windows are alike.
        const hostParts: SideFigures[] = [];
        let hostTopUps = 0;
        const hostRun = async (name: string, rt: number): Promise<{ figures: SideFigures; stdout: string }> => {
          const prefix = join(hostLogDir, `${job.id}-${name}`);
          const { stdout } = await execFileP(
            hostFio.path,
            fioArgs(job, { filename: file, runtimeSec: rt, rampSec, sizeBytes, ioengine, logPrefix: prefix, intervalMs }),
            { signal: ctx.signal, maxBuffer: 16 << 20 },
          );
          const logs = {
            iops: readLog(`${prefix}_iops.1.log`),
            bw: readLog(`${prefix}_bw.1.log`),
            hist: readLog(`${prefix}_clat_hist.1.log`),
          };
          return { figures: sideFigures(job, logs, intervalMs), stdout };
        };
        for (const [k, rt] of segments.entries()) {
          const { figures, stdout } = await hostRun(String(k), rt);
          if (k === 0) jobFacts[`${job.id}.host.clatMeanUs`] = jobSide(job, parseFioJson(stdout).jobs[0]!).clatMeanNs / 1000;
          hostParts.push(figures);
        }
        // The host's windows stretch on a stalling disk too: top up the same way (host only).
        for (let k = 0; want?.precision === undefined && k < MAX_TOP_UPS; k++) {
          if (joinFigures(hostParts).throughput.length >= MIN_ADAPTIVE_SAMPLES) break;
          ctx.onPhase(`host ${job.id}, top-up ${k + 1}`);
          hostParts.push((await hostRun(`top-${k}`, runtimeSec)).figures);
          hostTopUps = k + 1;
        }
        const host = joinFigures(hostParts, sampleCap);
        if (host.throughput.length === 0)
          return {
            ...done,
            status: 'error',
            reason: `host fio job ${job.id} gave no ${seq ? 'bandwidth' : 'IOPS'} windows`,
            metrics,
            facts,
          };
        const hostWhere = 'on the host on the backing file';
        const hostExtra = { ...extra, tool: 'fio' };
        metrics.push(
          metric(
            job,
            {
              name: `io.${job.id}.host`,
              unit: tpUnit,
              better: 'higher',
              side: 'host',
              samples: host.throughput,
              sampling: sampling(host.throughput, segments.length + hostTopUps),
              interval: `${windowText}, ${hostWhere}`,
              method: `fio's ${seq ? 'bandwidth' : 'IOPS'} log on the host, same job options and window as the guest`,
            },
            hostExtra,
            ctx.accel,
          ),
        );
        for (const [q, xs] of [
          ['p50', host.clatP50Us],
          ['p99', host.clatP99Us],
        ] as const) {
          if (xs.length)
            metrics.push(
              metric(
                job,
                {
                  name: `io.${job.id}.clat_${q}.host`,
                  unit: 'µs',
                  better: 'lower',
                  side: 'host',
                  samples: xs,
                  sampling: sampling(xs, segments.length + hostTopUps),
                  interval: `${q} of the completion latency of the I/Os in ${windowText}, ${hostWhere}`,
                  method: latMethod('on the host'),
                },
                hostExtra,
                ctx.accel,
              ),
            );
        }
        metrics.push(
          ratioMetric(
            job,
            guest.throughput,
            host.throughput,
            extra,
            ctx.accel,
            `guest ${job.id} ${tpUnit} over the host's, same job and window on the same file`,
            stop ? (xs) => followSampling(stop, xs, guest.throughput) : undefined,
          ),
        );
      }
      rmSync(hostLogDir, { recursive: true, force: true });
      facts.jobs = jobFacts;
      // Guest figures ran on the guest's kernel; host baselines ran on the host, natively.
      const tagged = metrics.map((m) => (m.labels?.side === 'host' ? m : { ...m, execution: execution.mode }));
      if (guestFailure) return { ...done, status: 'error', reason: guestFailure, metrics: tagged, facts };
      // A benchmark case that measured nothing has not passed, whatever else went right.
      if (tagged.length === 0)
        return {
          ...done,
          status: 'error',
          reason: `no job gave a figure (jobs: ${jobs.map((j) => j.id).join(', ') || 'none selected'})`,
          metrics: tagged,
          facts,
        };
      return { ...done, status: 'pass', metrics: tagged, facts };
    } finally {
      rmSync(file, { force: true });
    }
  },
};

/**
 * A guest/host ratio: each guest window over the host's median, so the metric's median is
 * the ratio of the medians and compare tests it like any other metric; its 95 % interval,
 * which carries the host's spread too, is a bootstrap of the ratio of medians (src/stats/ratio.ts).
 */
export function ratioMetric(
  job: IoJob,
  guest: number[],
  host: number[],
  extra: Record<string, string>,
  accel: Metric['accelerator'],
  interval: string,
  samplingOf?: (samples: number[]) => Sampling,
): Metric {
  const hm = median(host);
  const samples = hm > 0 ? guest.map((g) => g / hm) : [];
  const ci = ratioOfMediansInterval(guest, host);
  return metric(
    job,
    {
      name: `io.${job.id}.ratio`,
      unit: 'ratio',
      better: 'higher',
      side: 'ratio',
      samples,
      interval,
      method: `each guest window over the median of the host's ${host.length} windows; 95 % interval: ${ci?.method ?? 'none (no host median)'}`,
      sampling:
        samplingOf?.(samples) ??
        fixedSampling(samples, { why: `${guest.length} guest windows over ${host.length} host windows` }),
      ...(ci ? { ratio: ci } : {}),
    },
    extra,
    accel,
  );
}
