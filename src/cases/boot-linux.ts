/**
 * Boot-time timeline of the Linux guest (suites/boot-linux.yaml): one verbose
 * boot whose console is kept as the case log, then `repeat` quiet timed boots;
 * every interval between the marks of src/linux/launch.ts becomes a metric.
 */
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { variantVmRecord } from '../results/variant.js';
import type { CaseContext, CaseExecutor, CaseOutcome, CaseSpec } from './types.js';
import type { Accelerator, Metric } from '../results/model.js';
import { quantileSorted, summarize } from '../stats/summary.js';
import { buildLinuxImage, imageFacts, type LinuxImage } from '../linux/image.js';
import { bootLinux, buildLinuxArgs, hostTscKhz, type LinuxBootResult, type Phase } from '../linux/launch.js';
import { kvmFailureHint, linuxBootBlocked, rememberKernelFailure } from './linux-policy.js';
import { withExecution } from './micro.js';
import { LINUX_GUEST_ARGS, VcpuSweepArg, caseArgs } from './args.js';
import { vcpuLabel } from './smp.js';
import { runVcpuSweep } from './vcpu-sweep.js';
import type { MachineType } from '../vmm/qemu.js';
import { packageRoot } from '../version.js';
import { PIN_RECORD } from '../vmm/pin.js';
import { bootSampling, bootStop, planBoots } from './boot-sampling.js';
import type { Sampling } from '../stats/precision.js';

/** Kept before the deadline for one more Linux boot and its teardown when --precision boots on (TCG: about 2–3 s a boot). */
const DEADLINE_RESERVE_MS = 30_000;

const PHASE_DEF: Record<Phase, string> = {
  spawn: 'the host calls spawn() for QEMU',
  vmm_ready: "QEMU's QMP greeting arrives on its pipe (options parsed, backends and monitor created; board and firmware not yet)",
  firmware: 'first byte SeaBIOS writes to its debug port 0x402',
  kernel_entry:
    "first byte on port 0x2f8: the kernel's real-mode setup code initialises its early console (the firmware has handed over)",
  decompressor: 'second byte on port 0x2f8: the bzImage decompressor starts',
  kernel_main:
    "third byte on port 0x2f8: the decompressed kernel's setup_arch() parses early parameters, shortly after start_kernel()",
  init_started: "/init's first protocol line (init-start) has arrived on ttyS0",
  init_done: "/init's init-done line: virtio modules loaded",
};

/** The intervals reported for a machine, in timeline order. microvm's qboot leaves no firmware mark. */
export function intervalsFor(machine: string): Array<[Phase, Phase]> {
  const fw: Array<[Phase, Phase]> =
    machine === 'microvm'
      ? [['vmm_ready', 'kernel_entry']]
      : [
          ['vmm_ready', 'firmware'],
          ['firmware', 'kernel_entry'],
        ];
  return [
    ['spawn', 'vmm_ready'],
    ...fw,
    ['kernel_entry', 'kernel_main'],
    ['kernel_main', 'init_started'],
    ['init_started', 'init_done'],
    ['spawn', 'init_done'],
  ];
}

/** One metric per timeline interval over the boots in `runs`; stops at the first interval some boot lacks. */
function timelineMetrics(
  runs: ReadonlyArray<Partial<Record<Phase, number>>>,
  machine: string,
  planned: number,
  accel: Accelerator,
  vcpus = 1,
): { metrics: Metric[]; p90: Record<string, number>; missing?: Phase } {
  const metrics: Metric[] = [];
  const p90: Record<string, number> = {};
  if (runs.length === 0) return { metrics, p90 };
  for (const [from, to] of intervalsFor(machine)) {
    const samples = runs.map((m) => (m[to] ?? NaN) - (m[from] ?? NaN));
    if (samples.some((v) => !Number.isFinite(v))) return { metrics, p90, missing: to };
    const name = `boot.${from}_to_${to}`;
    const q90 = quantileSorted(
      [...samples].sort((a, b) => a - b),
      0.9,
    );
    p90[name] = q90;
    metrics.push({
      name,
      unit: 'ms',
      better: 'lower',
      ...(from === 'spawn' && to === 'init_done' ? { headline: true } : {}),
      interval: `from ${from} (${PHASE_DEF[from]}) to ${to} (${PHASE_DEF[to]})`,
      method: `host clock (process.hrtime) when Node reads each mark from its own pipe; one sample per quiet boot, ${runs.length} of ${planned} boots, after one untimed verbose boot`,
      accelerator: accel,
      samples,
      perGuest: true,
      summary: summarize(samples),
      // Labels are identity (compare pairs on them); the measured p90 lives in facts.p90Ms.
      labels: { machine, from, to, ...vcpuLabel(vcpus, false) },
    });
  }
  return { metrics, p90 };
}

function relToRoot(p: string): string {
  const r = relative(packageRoot(), p);
  return r.startsWith('..') ? p : r;
}

/**
 * What every Linux case tells bootLinux about its VM: the image, machine, accelerator and `-cpu`,
 * the ab variant, vCPUs and memory, and on microvm under TCG the host's TSC rate (the guest
 * cannot calibrate it there).
 */
export function linuxVmOptions(spec: CaseSpec, ctx: CaseContext, image: LinuxImage) {
  const machine = spec.machine as MachineType;
  return {
    image,
    machine,
    accel: ctx.accel,
    cpu: ctx.platform.cpu,
    variant: ctx.platform.variant,
    vcpus: spec.vcpus,
    memoryMiB: spec.memoryMiB,
    tscKhz: machine === 'microvm' && ctx.accel === 'tcg' ? hostTscKhz(readFileSync('/proc/cpuinfo', 'utf8')) : undefined,
  };
}

/** The fields of a Linux case's outcome that come from its spec. */
export function linuxCaseBase(spec: CaseSpec, ctx: CaseContext) {
  return { title: spec.title, accelerator: ctx.accel, machine: spec.machine as MachineType, tags: spec.tags };
}

export function guestInfo(img: LinuxImage) {
  return {
    name: 'linux',
    image: relToRoot(img.initramfsPath),
    sha256: img.initramfsSha256,
    mode: 'linux',
    extra: {
      kernel: relToRoot(img.kernelPath),
      kernelSha256: img.kernelSha256,
      kernelRelease: img.kernel.release ?? 'unknown',
      kernelOrigin: img.kernel.origin,
    },
  };
}

export const bootLinuxExecutor: CaseExecutor = {
  kind: 'boot-linux',
  args: caseArgs({ ...LINUX_GUEST_ARGS, vcpu_sweep: VcpuSweepArg('boot with each of these vCPU counts') }),
  async run(spec, ctx): Promise<CaseOutcome> {
    return (await runVcpuSweep(spec, ctx, bootLinuxCase)) ?? bootLinuxCase(spec, ctx);
  },
};

/** One vCPU count (`vcpus` in every figure's identity when more than one). */
async function bootLinuxCase(spec: CaseSpec, ctx: CaseContext): Promise<CaseOutcome> {
  const machine = spec.machine as MachineType;
  const base = linuxCaseBase(spec, ctx);
  const pin = spec.args.pin === true;
  const given = typeof spec.args.kernel === 'string' ? spec.args.kernel : undefined;
  const vm = {
    machine,
    cpu: ctx.platform.cpu,
    firmware: machine === 'microvm' ? 'qboot' : 'seabios',
    ...(spec.vcpus > 1 ? { vcpus: String(spec.vcpus) } : {}),
    ...(pin ? { pin: PIN_RECORD } : {}),
    ...variantVmRecord(ctx.platform.variant, given),
  };
  // Before the image is built: a stock kernel this KVM cannot run costs no download.
  const early = linuxBootBlocked(ctx, { given: given !== undefined });
  if (early) return { ...base, vm, status: 'skip', reason: early, metrics: [] };
  ctx.onPhase('image');
  const img = await buildLinuxImage({ variant: 'base', kernel: given });
  const common = { ...linuxVmOptions(spec, ctx, img), signal: ctx.signal, deadlineAt: ctx.deadlineAt, logPath: ctx.logPath, pin };
  const pinned: Array<NonNullable<LinuxBootResult['pin']>> = [];
  const facts: Record<string, unknown> = {
    ...imageFacts(img),
    imageBuildMs: Math.round(img.buildMs),
    imageCached: img.cached,
    marks: PHASE_DEF,
  };
  const guest = guestInfo(img);
  const blocked = linuxBootBlocked(ctx, { given: given !== undefined, sha256: img.kernelSha256 });
  if (blocked) return { ...base, guest, vm, status: 'skip', reason: blocked, metrics: [], facts };
  const failed = (what: string, r: LinuxBootResult, metrics: Metric[] = []): CaseOutcome => {
    if (r.kvmFailure) rememberKernelFailure(ctx, img, r.kvmFailure, kvmFailureHint(ctx.host.kvmFlavor));
    const hint = r.kvmFailure ? `; ${kvmFailureHint(ctx.host.kvmFlavor)}` : '';
    return {
      ...base,
      guest,
      vm,
      ...(r.execution ? { execution: r.execution } : {}),
      status: 'error',
      reason: `${what}: ${r.reason}${hint}`,
      metrics,
      facts,
    };
  };

  // The kept console log comes from a boot of its own, so timed boots stay quiet.
  ctx.onPhase('verbose boot');
  // One boot's limit (the case deadline still applies): `args.boot_timeout` seconds, default 120.
  const bootTimeoutMs =
    (typeof spec.args.boot_timeout === 'number' && spec.args.boot_timeout > 0 ? spec.args.boot_timeout : 120) * 1000;
  const verbose = await bootLinux({ ...common, verbose: true, timeoutMs: bootTimeoutMs });
  if (!verbose.ok) return failed('verbose boot', verbose);

  // How the kernel's code ran, from KVM's counters over the verbose boot (tcg under TCG).
  const execution = verbose.execution ?? {
    mode: 'unknown' as const,
    evidence: ['KVM statistics not available for this boot (QMP query-stats)'],
  };
  if (verbose.kvmStats) facts.kvmStatsVerboseBoot = verbose.kvmStats;
  const runs: Array<Partial<Record<Phase, number>>> = [];
  facts.qemuArgv = buildLinuxArgs({ ...common, verbose: false });
  // `repeat` quiet boots, or with --precision boots until spawn → init done is known that well (./boot-sampling.ts).
  const plan = planBoots(spec.repeat, ctx, DEADLINE_RESERVE_MS);
  const planned = plan.rule ? `${spec.repeat}+` : String(plan.boots);
  const headline = (): number[] => runs.map((m) => (m.init_done ?? NaN) - (m.spawn ?? NaN)).filter(Number.isFinite);
  let stop: Sampling | undefined;
  for (let i = 0; i < plan.boots && !stop; i++) {
    ctx.onPhase(`boot ${i + 1}/${planned}`);
    const r = await bootLinux({ ...common, appendLog: true, timeoutMs: bootTimeoutMs });
    if (!r.ok) {
      // Keep the boots already measured: the case is an error, but its figures stand.
      const done = timelineMetrics(runs, machine, plan.boots, ctx.accel, spec.vcpus);
      const sampling = bootSampling(plan, headline(), undefined, `timed boot ${i + 1} failed`);
      facts.sampling = sampling;
      return failed(
        `timed boot ${i + 1}`,
        r,
        withExecution(execution.mode, done.metrics).map((m) => ({ ...m, sampling })),
      );
    }
    runs.push(r.marks);
    if (r.pin) pinned.push(r.pin);
    stop = bootStop(plan, headline());
  }
  const sampling = bootSampling(plan, headline(), stop);
  facts.sampling = sampling;
  const timeline = timelineMetrics(runs, machine, plan.rule ? runs.length : plan.boots, ctx.accel, spec.vcpus);
  const metrics = withExecution(execution.mode, timeline.metrics).map((m) => ({ ...m, sampling }));
  if (timeline.missing) {
    return {
      ...base,
      guest,
      vm,
      execution,
      status: 'error',
      reason: `timeline incomplete: no ${timeline.missing} mark in some boot (markers: ${JSON.stringify(runs)})`,
      metrics,
      facts,
    };
  }
  facts.p90Ms = timeline.p90;
  if (pin)
    facts.pin = {
      boots: runs.length,
      pinned: pinned.filter((p) => p.applied).length,
      errors: [...new Set(pinned.flatMap((p) => (p.error ? [p.error] : [])))],
    };
  return { ...base, guest, vm, execution, status: 'pass', metrics, facts };
}
