/**
 * virtio-blk I/O of the Linux guest beside the host's (suites/io.yaml): a raw
 * backing file in a scratch directory, the same fio jobs run in the guest on
 * /dev/vda and on the host on the file, and a guest/host ratio for each job.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, openSync, closeSync, rmSync, statfsSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { variantVmRecord } from '../results/variant.js';
import { LINUX_GUEST_ARGS, NamesArg, NumberArg, OneOfArg, TextArg, caseArgs, numberArg, textArg } from './args.js';
import type { CaseExecutor, CaseOutcome } from './types.js';
import type { Metric } from '../results/model.js';
import { summarize } from '../stats/summary.js';
import { buildLinuxImage, imageFacts } from '../linux/image.js';
import { bootLinux } from '../linux/launch.js';
import { kvmFailureHint, linuxBootBlocked, rememberKernelFailure } from './linux-policy.js';
import { IO_JOBS, fioArgs, jobSide, parseFioJson, type IoJob } from '../linux/fio.js';
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
});

function metric(job: IoJob, side: 'guest' | 'host' | 'ratio', value: number, extra: Record<string, string>, accel: Metric['accelerator'], interval: string, method: string): Metric {
  const seq = job.rw === 'read' || job.rw === 'write';
  return {
    name: `io.${job.id}.${side}`,
    unit: side === 'ratio' ? 'ratio' : seq ? 'MiB/s' : 'IOPS',
    better: 'higher',
    interval,
    method,
    accelerator: accel,
    samples: [value],
    summary: summarize([value]),
    labels: { side, job: job.id, ...extra },
  };
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
    const only = Array.isArray(spec.args.jobs) ? spec.args.jobs : undefined;
    const jobs = IO_JOBS.filter((j) => !only || only.includes(j.id));
    const scratch = textArg(spec.args.scratchDir, ctx.scratchDir);
    mkdirSync(scratch, { recursive: true });
    const fsType = await filesystemType(scratch);
    const facts: Record<string, unknown> = { scratchDir: scratch, scratchFs: fsType, cache, aio, ioengine, runtimeSec, rampSec, sizeMiB };

    const sf = statfsSync(scratch);
    const noDirect = NO_ODIRECT_FS[sf.type];
    if (noDirect) return { ...base, status: 'error', reason: `scratch directory ${scratch} is on ${noDirect}, where O_DIRECT (fio direct=1, QEMU cache=none) cannot work; pass scratchDir on a disk filesystem`, metrics: [], facts };
    const free = sf.bavail * sf.bsize;
    if (free < (sizeMiB + 64) * 2 ** 20) return { ...base, status: 'error', reason: `scratch directory ${scratch} has ${Math.floor(free / 2 ** 20)} MiB free, ${sizeMiB + 64} MiB needed`, metrics: [], facts };

    const given = typeof spec.args.kernel === 'string' ? spec.args.kernel : undefined;
    const vm = { machine, cpu: ctx.platform.cpu, firmware: machine === 'microvm' ? 'qboot' : 'seabios', cache, aio, ...variantVmRecord(ctx.platform.variant, given) };
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
      const jobSpec = jobs.map((j) => `${j.id}:${j.rw}:${j.bs}:${j.iodepth}`).join(',');
      ctx.onPhase('guest jobs');
      const outputs = new Map<string, { text: string[]; beginMs?: number; endMs?: number; rc?: string; tool?: string; bytes?: number }>();
      let current: string | undefined;
      const r = await bootLinux({
        ...linuxVmOptions(spec, ctx, img),
        guestArgs: { mode: 'io', jobs: jobSpec, runtime: runtimeSec, ramp: rampSec, size: sizeBytes, ioengine },
        drive: { id: 'd0', file, format: 'raw', cache, aio },
        signal: ctx.signal,
        deadlineAt: ctx.deadlineAt,
        logPath: ctx.logPath,
        onEvent: (ev, at) => {
          if (ev.type === 'job-begin' && ev.fields.id) {
            ctx.onPhase(`guest ${ev.fields.id}`);
            outputs.set(ev.fields.id, { text: [], beginMs: at, tool: ev.fields.tool, bytes: ev.fields.bytes ? Number(ev.fields.bytes) : undefined });
          } else if (ev.type === 'job-end' && ev.fields.id) {
            const o = outputs.get(ev.fields.id);
            if (o) Object.assign(o, { endMs: at, rc: ev.fields.rc });
          }
        },
      });
      // Each job's output is the text between its begin and end lines, in arrival order.
      for (const { line } of r.lines) {
        if (line.kind === 'event') {
          if (line.type === 'job-begin') current = line.fields.id;
          else if (line.type === 'job-end') current = undefined;
        } else if (current !== undefined) outputs.get(current)?.text.push(line.text);
      }
      facts.guestBootMarks = r.marks;
      facts.qemuArgv = r.argv;
      // A guest that stopped part-way (deadline, interrupt, crash) still reports the jobs it
      // finished; their host baselines are skipped, since the run is being cut short.
      if (r.kvmFailure) rememberKernelFailure(ctx, img, r.kvmFailure, kvmFailureHint(ctx.host.kvmFlavor));
      const guestFailure = r.ok ? undefined : r.kvmFailure ? `${r.reason}; ${kvmFailureHint(ctx.host.kvmFlavor)}` : r.reason;
      const execution = r.execution ?? { mode: 'unknown' as const, evidence: ['KVM statistics not available for this boot (QMP query-stats)'] };
      const done = { ...base, guest, vm, execution };

      const hostFio = await findHostFio();
      facts.hostFio = hostFio ? hostFio.version : 'none: no host baseline';
      const metrics: Metric[] = [];
      const jobFacts: Record<string, unknown> = {};
      for (const job of jobs) {
        const o = outputs.get(job.id);
        const seq = job.rw === 'read' || job.rw === 'write';
        const extra = { tool: o?.tool ?? 'none', cache, aio, machine };
        if (!o && img.ioTool === 'dd' && !seq) {
          jobFacts[`${job.id}.skipped`] = 'busybox dd does sequential jobs only';
          continue;
        }
        if ((!o || o.rc !== '0') && guestFailure) break;
        if (!o || o.rc !== '0') return { ...done, status: 'error', reason: `guest job ${job.id} ${o ? `exited ${o.rc}: ${o.text.slice(-3).join(' | ')}` : 'did not run'}`, metrics, facts };
        let guestValue: number;
        if (o.tool === 'dd') {
          guestValue = (o.bytes ?? 0) / 2 ** 20 / (((o.endMs ?? 0) - (o.beginMs ?? 0)) / 1000);
        } else {
          const rep = parseFioJson(o.text.join('\n'));
          const s = jobSide(job, rep.jobs[0]!);
          guestValue = seq ? s.bwBytes / 2 ** 20 : s.iops;
          jobFacts[`${job.id}.guest.clatMeanUs`] = s.clatMeanNs / 1000;
        }
        const interval = `one ${job.rw} job, bs=${job.bs}, iodepth=${job.iodepth}, direct I/O, ${runtimeSec} s after ${rampSec} s ramp`;
        metrics.push(metric(job, 'guest', guestValue, extra, ctx.accel, `${interval}, in the guest on /dev/vda (virtio-blk, cache=${cache}, aio=${aio})`,
          o.tool === 'dd' ? 'busybox dd in the guest, timed on the host from the arrival of its begin and end lines (includes about 1 ms of line latency)' : 'fio JSON from the guest (bw_bytes or iops of the job)'));
        // dd figures get no fio baseline: the two tools would not be running the same job.
        if (!hostFio || o.tool === 'dd' || guestFailure) continue;
        ctx.onPhase(`host ${job.id}`);
        const { stdout } = await execFileP(hostFio.path, fioArgs(job, { filename: file, runtimeSec, rampSec, sizeBytes, ioengine }), { signal: ctx.signal, maxBuffer: 16 << 20 });
        const hs = jobSide(job, parseFioJson(stdout).jobs[0]!);
        const hostValue = seq ? hs.bwBytes / 2 ** 20 : hs.iops;
        jobFacts[`${job.id}.host.clatMeanUs`] = hs.clatMeanNs / 1000;
        metrics.push(metric(job, 'host', hostValue, { ...extra, tool: 'fio' }, ctx.accel, `${interval}, on the host on the backing file`, 'fio JSON on the host, same job options as the guest'));
        metrics.push(metric(job, 'ratio', hostValue > 0 ? guestValue / hostValue : 0, extra, ctx.accel, `guest ${job.id} figure divided by the host's on the same file`, 'ratio of the two single runs above'));
      }
      facts.jobs = jobFacts;
      // Guest figures ran on the guest's kernel; host baselines ran on the host, natively.
      const tagged = metrics.map((m) => (m.labels?.side === 'host' ? m : { ...m, execution: execution.mode }));
      if (guestFailure) return { ...done, status: 'error', reason: guestFailure, metrics: tagged, facts };
      return { ...done, status: 'pass', metrics: tagged, facts };
    } finally {
      rmSync(file, { force: true });
    }
  },
};
