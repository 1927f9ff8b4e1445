/**
 * Micro-guest boot time: N boots of the smallest guest (guests/hello) on one
 * machine type, timed from the host. Each boot is a tinybench iteration (every
 * sample retained); the launcher's timestamps split each boot into intervals:
 *   spawn → entry: Node spawns QEMU → the guest's first instruction block writes
 *     a byte to the debug port (isa-debugcon 0xe9), as received by the host;
 *   entry → exit: that byte → QEMU's exit is observed (guest run + QEMU teardown);
 *   spawn → exit: the whole boot.
 * The guest's own TSC stamps (entry and end line) give its in-guest run time.
 */
import { Bench } from 'tinybench';
import { guestImage, guestInfo } from '../guests/index.js';
import type { Metric } from '../results/model.js';
import { summarize } from '../stats/summary.js';
import { MICRO_GUEST_ARGS, VcpuSweepArg, caseArgs } from './args.js';
import type { CaseContext, CaseExecutor, CaseOutcome, CaseSpec } from './types.js';
import { launchQemu, type LaunchResult } from '../vmm/launch.js';
import { PIN_RECORD, pinVcpuThreads, type PinOutcome } from '../vmm/pin.js';
import {
  argString,
  baseOutcome,
  firmwareOf,
  launchFacts,
  machineOf,
  qemuConfigFor,
  runExecution,
  vmRecord,
  withExecution,
} from './micro.js';
import { vcpuLabel } from './smp.js';
import { runVcpuSweep } from './vcpu-sweep.js';
import { bootSampling, bootStop, planBoots } from './boot-sampling.js';
import type { Sampling } from '../stats/precision.js';

/** Kept before the deadline for the last boot and teardown when --precision boots on. */
const DEADLINE_RESERVE_MS = 5_000;

const nsToMs = (ns: bigint): number => Number(ns) / 1e6;

function metric(m: Omit<Metric, 'summary'>): Metric {
  return { ...m, summary: summarize(m.samples) };
}

export const bootMicroExecutor: CaseExecutor = {
  kind: 'boot-micro',
  args: caseArgs({ ...MICRO_GUEST_ARGS, vcpu_sweep: VcpuSweepArg('boot with each of these vCPU counts') }),
  async run(spec: CaseSpec, ctx: CaseContext): Promise<CaseOutcome> {
    return (await runVcpuSweep(spec, ctx, bootMicro)) ?? bootMicro(spec, ctx);
  },
};

/** One vCPU count: with more than one the guest starts every AP before its end line, so the boot includes their bring-up. */
async function bootMicro(spec: CaseSpec, ctx: CaseContext): Promise<CaseOutcome> {
  const machine = machineOf(spec);
  const img = await guestImage(spec.guest ?? 'hello');
  const qemu = qemuConfigFor(spec, ctx, img.path, spec.vcpus > 1 ? `smp cpus=${spec.vcpus}` : undefined);
  // `--pin`: the threads are pinned once QMP answers, which can be after a short guest has ended (facts.pin counts).
  const pin = spec.args.pin === true;
  const pinned: PinOutcome[] = [];
  // A boot is over before anything could ask KVM how it ran: the run's calibration boot of the
  // same guest, -cpu and accelerator says (src/vmm/smoke.ts).
  const execution = runExecution(ctx);
  const base = {
    ...baseOutcome(spec, ctx.accel, guestInfo(img)),
    execution,
    vm: vmRecord(
      qemu,
      ctx.host,
      { ...(spec.vcpus > 1 ? { vcpus: String(spec.vcpus) } : {}), ...(pin ? { pin: PIN_RECORD } : {}) },
      ctx.platform.variant,
    ),
  };
  // `repeat` boots, or with --precision boots until the headline's median is known that well (./boot-sampling.ts).
  const plan = planBoots(spec.repeat, ctx, DEADLINE_RESERVE_MS);
  const boots = plan.boots;
  const planned = plan.rule ? `${spec.repeat}+` : String(boots);
  // Ends tinybench's iterations once the stop rule is met; tinybench keeps the samples of an aborted task.
  const enough = new AbortController();
  let stop: Sampling | undefined;
  const spawnToEntry: number[] = [];
  const entryToExit: number[] = [];
  const spawnToExit: number[] = [];
  const guestTicks: number[] = [];
  const bringupTicks: number[] = [];
  let failure: LaunchResult | undefined;
  let last: LaunchResult | undefined;
  let n = 0;

  const bench = new Bench({
    name: `boot-micro/${machine}`,
    iterations: boots,
    time: 0,
    warmup: false,
    retainSamples: true,
    throws: true,
    signal: AbortSignal.any([ctx.signal, enough.signal]),
  });
  bench.add('boot', async () => {
    n++;
    ctx.onPhase(`boot ${n}/${planned}`);
    const r = await launchQemu({
      qemu,
      deadlineAt: ctx.deadlineAt,
      signal: ctx.signal,
      logPath: ctx.logPath,
      appendLog: n > 1,
      // Only the first byte's arrival matters; the launcher timestamps it.
      onDebugBytes: () => {},
      ...(pin
        ? {
            qmp: {
              onReady: (q) => {
                void pinVcpuThreads(q).then((o) => pinned.push(o));
              },
            },
          }
        : {}),
    });
    last = r;
    if (r.status !== 'pass') {
      failure = r;
      throw new Error(r.reason ?? r.status);
    }
    const tl = r.timeline;
    spawnToExit.push(nsToMs(tl.exitNs - tl.spawnNs));
    if (tl.firstDebugByteNs !== undefined) {
      spawnToEntry.push(nsToMs(tl.firstDebugByteNs - tl.spawnNs));
      entryToExit.push(nsToMs(tl.exitNs - tl.firstDebugByteNs));
    }
    const entry = Number(r.transcript.hello?.entry_tsc),
      end = Number(r.transcript.end?.tsc);
    if (end > entry) guestTicks.push(end - entry);
    const smp = r.transcript.events.find((e) => e.type === 'smp');
    if (smp && Number(smp.fields.bringup_ticks) > 0) bringupTicks.push(Number(smp.fields.bringup_ticks));
    stop = bootStop(plan, spawnToExit);
    if (stop) enough.abort();
  });

  let stopped: string | undefined;
  try {
    await bench.run();
  } catch (err) {
    if (!failure) stopped = ctx.signal.aborted ? 'aborted' : `boot ${n}/${planned}: ${(err as Error).message}`;
  }
  if (!stopped && !failure && ctx.signal.aborted) stopped = 'aborted';
  const booted = spawnToExit.length;
  const sampling = bootSampling(
    plan,
    spawnToExit,
    stop,
    stopped || failure ? `boot ${n}: ${stopped ?? failure?.reason ?? failure?.status}` : undefined,
  );
  const facts: Record<string, unknown> = { boots: booted, sampling, ...(last ? launchFacts(last) : {}) };
  if (pin)
    facts.pin = {
      boots: booted,
      pinned: pinned.filter((o) => o.applied).length,
      errors: [...new Set(pinned.flatMap((o) => (o.error ? [o.error] : [])))],
    };
  // tinybench keeps samples only for a completed task; the per-boot arrays below hold every
  // boot that finished, so a failed or aborted case still reports what it measured.
  const task = stopped || failure ? undefined : bench.getTask('boot');
  const tr = task?.result;
  const tinySamples = tr && 'latency' in tr && tr.latency.samples ? [...tr.latency.samples] : [];

  const labels: Record<string, string> = { machine, guest: img.name, ...vcpuLabel(spec.vcpus, false) };
  const mo = argString(spec, 'machine_options');
  if (mo) labels.machine_options = mo;
  const fw = firmwareOf(spec);
  if (machine !== 'microvm' && fw !== 'seabios') labels.firmware = fw;
  const tcg =
    ctx.accel === 'tcg'
      ? ' Accelerator TCG: guest code is emulated.'
      : execution.mode === 'emulated'
        ? " Guest code ran in KVM's instruction emulator (see execution)."
        : '';
  const hostClock = `host clock process.hrtime.bigint(); ${booted} ${plan.rule ? `boots (at least ${spec.repeat}, ${sampling.reason})` : `of ${boots} planned boots`}, one QEMU process each, run one after another.${tcg}`;
  const metrics: Metric[] = withExecution(execution.mode, [
    metric({
      name: 'boot.spawn_to_entry',
      unit: 'ms',
      better: 'lower',
      interval:
        'from just before Node spawns QEMU to the arrival at the host of the byte the guest writes to the debug port (isa-debugcon 0xe9) in its first instructions (QEMU start, firmware, multiboot load)',
      method: hostClock,
      perGuest: true,
      accelerator: ctx.accel,
      samples: spawnToEntry,
      labels,
    }),
    metric({
      name: 'boot.entry_to_exit',
      unit: 'ms',
      better: 'lower',
      interval:
        "from the arrival of the guest's entry byte to the host seeing QEMU exit (long-mode switch, hello/end lines on COM1, isa-debug-exit, QEMU teardown)",
      method: hostClock,
      perGuest: true,
      accelerator: ctx.accel,
      samples: entryToExit,
      labels,
    }),
    metric({
      name: 'boot.spawn_to_exit',
      unit: 'ms',
      better: 'lower',
      headline: true,
      interval: 'from just before Node spawns QEMU to the host seeing QEMU exit after the guest wrote isa-debug-exit',
      method: hostClock,
      perGuest: true,
      accelerator: ctx.accel,
      samples: spawnToExit,
      labels,
    }),
  ]);
  if (tinySamples.length) {
    metrics.push(
      ...withExecution(execution.mode, [
        metric({
          name: 'boot.launch_call',
          unit: 'ms',
          better: 'lower',
          interval: 'one whole launch call as tinybench times it: argument building, spawn, boot, exit, log flush',
          method: `tinybench 6 (${tinySamples.length} iterations, no warm-up, every sample retained; tinybench returns them sorted).${tcg}`,
          perGuest: true,
          accelerator: ctx.accel,
          samples: tinySamples,
          labels,
        }),
      ]),
    );
  }
  if (guestTicks.length) {
    metrics.push(
      ...withExecution(execution.mode, [
        metric({
          name: 'guest.entry_to_end',
          unit: 'tsc_ticks',
          better: 'lower',
          interval: "guest TSC from its first instruction (entry stamp) to its end line, i.e. the guest's own run time",
          method: `guest rdtsc at entry (before paging is set up) and serialized rdtsc at the end line.${tcg}`,
          perGuest: true,
          accelerator: ctx.accel,
          samples: guestTicks,
          labels,
        }),
      ]),
    );
  }
  if (bringupTicks.length) {
    metrics.push(
      ...withExecution(execution.mode, [
        metric({
          name: 'guest.ap_bringup',
          unit: 'tsc_ticks',
          better: 'lower',
          interval: `guest TSC from the BSP's first INIT IPI to the last of the ${spec.vcpus - 1} APs reporting itself online (INIT-SIPI-SIPI, real mode to long mode, per-CPU setup)`,
          method: `serialized rdtsc on the BSP around smp_start() (guests/lib/smp.c).${tcg}`,
          perGuest: true,
          accelerator: ctx.accel,
          samples: bringupTicks,
          labels,
        }),
      ]),
    );
  }
  const all = metrics.map((m) => ({ ...m, sampling }));
  const kept = all.filter((m) => m.samples.length > 0);
  if (stopped) return { ...base, status: 'error', reason: stopped, metrics: kept, facts };
  if (failure) {
    return {
      ...base,
      status: failure.status === 'skip' ? 'error' : failure.status,
      reason: `boot ${n}/${planned}: ${failure.reason ?? failure.status}`,
      metrics: kept,
      facts,
    };
  }
  return { ...base, status: 'pass', metrics: all, facts };
}
