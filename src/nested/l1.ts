/**
 * Boots the nested lab's L1 (docs/nested.md): the `l1` Linux image (Debian's standard kernel,
 * src/linux/image.ts) under QEMU through the one launcher, with the host's shares and the
 * writable channel as 9p devices, and an AMD-V or VT-x CPU for L1's KVM. L1's /init
 * (`guests/linux/init`, mode l1) loads KVM, builds its root from the shares and runs
 * `kvmbench nested-l1` on the channel's plan; this module follows its console and nothing else:
 * what the plan's steps measured is read from the channel afterwards.
 */
import { hostname } from 'node:os';
import { launchQemu, type LaunchResult } from '../vmm/launch.js';
import type { ConsoleLine } from '../protocol/parser.js';
import type { Accelerator } from '../results/model.js';
import type { LinuxImage } from '../linux/image.js';
import { virtfsArgs, type L1Layout } from './layout.js';

/**
 * The CPU L1 gets under TCG: QEMU 7.2's TCG emulates AMD-V (svm, npt; not nrip-save), not VT-x.
 * EPYC is an AMD model, so L1 loads kvm_amd whatever the host's vendor.
 */
export const TCG_L1_CPU = 'EPYC';

/**
 * L1's vCPUs: as many as the run's cases need, at most two and at most this host's CPUs. An L2
 * guest with two vCPUs then has an L1 vCPU for each, so an IPI costs the exits it costs on a host
 * with a CPU per vCPU; runs of one-vCPU cases keep L1 at one, since under TCG an L1 with two vCPUs
 * is the less stable (measured: docs/nested.md, "Several vCPUs at layer 2").
 */
export const L1_MAX_VCPUS = 2;
export function l1VcpuCount(hostCpus: number, needed: number): number {
  return Math.max(1, Math.min(L1_MAX_VCPUS, Math.floor(hostCpus), Math.floor(needed)));
}

/** L1's memory: Node and kvmbench, QEMU for one small L2 guest at a time, the shares' page cache. */
export const L1_MEMORY_MIB = 2048;

export interface L1Events {
  /** `l1-kvm`: which vendor module loaded and whether /dev/kvm appeared. */
  kvm?: { module: string; dev: boolean };
  ready: boolean;
  doctor?: Record<string, string>;
  stepsBegun: string[];
  stepsEnded: Map<string, number>;
  /** `end` from /init: L1 finished the plan and powers off. */
  ended: boolean;
}

export interface BootL1Options {
  image: LinuxImage;
  layout: L1Layout;
  /** The channel directory (plan, layout, results); shared read-write. */
  channelDir: string;
  accel: Accelerator;
  cpu: string;
  memoryMiB?: number;
  vcpus?: number;
  timeoutMs: number;
  /** Progress budget: L1 is ended as stalled after this long without a console line. */
  silenceMs?: number;
  signal?: AbortSignal;
  logPath: string;
  /** Every console line (L1's /init and kvmbench at layer 1), as it arrives. */
  onLine?(line: ConsoleLine): void;
}

export interface L1Boot {
  launch: LaunchResult;
  events: L1Events;
}

/** L1's hostname: this host's with `-l1`, in the letters a hostname and a kernel command-line word both allow. */
export function l1Hostname(host: string): string {
  const base = host.replace(/[^A-Za-z0-9.-]/g, '-').slice(0, 60) || 'host';
  return `${base}-l1`;
}

/**
 * L1's kernel command line. quiet: the console carries L1's own lines; panic=-1: a panic ends the
 * VM at once. kb.hostname: L1's name (l1Hostname), so that layer-2 runs in the history say where
 * they ran instead of Linux's `(none)`. tsc=reliable under TCG with several vCPUs: every L1 vCPU
 * reads the one counter QEMU derives from this host's TSC, so L1's TSCs are synchronized and
 * constant by construction, but Linux takes an AMD CPU without invariant TSC and with more than
 * one CPU for an unsynchronized multi-socket box and marks the TSC unstable. KVM in L1 then rewinds each L2 vCPU's TSC to where
 * it stopped whenever the vCPU is loaded again, and L2's TSC no longer measures time (docs/nested.md).
 */
export function l1Append(accel: Accelerator, smp: boolean, host = hostname()): string {
  return [
    'console=ttyS0',
    'panic=-1',
    'quiet',
    'kb.mode=l1',
    `kb.hostname=${l1Hostname(host)}`,
    accel === 'tcg' && smp ? 'tsc=reliable' : '',
  ]
    .filter(Boolean)
    .join(' ');
}

/**
 * L1's vCPUs under TCG share one host thread (`thread=single`) when there are several. With a
 * thread each (QEMU 7.2's default), a two-vCPU L1 stalled in about one boot of three: both vCPU
 * threads in TCG's interrupt path, taking and dropping QEMU's big lock thousands of times a
 * second, no console line for minutes (docs/nested.md). Under an outer KVM it does not apply.
 */
export function l1TcgThread(accel: Accelerator, vcpus: number): 'single' | undefined {
  return accel === 'tcg' && vcpus > 1 ? 'single' : undefined;
}

export async function bootL1(o: BootL1Options): Promise<L1Boot> {
  const events: L1Events = { ready: false, stepsBegun: [], stepsEnded: new Map(), ended: false };
  const vcpus = o.vcpus ?? 1;
  const tcgThread = l1TcgThread(o.accel, vcpus);
  const launch = await launchQemu({
    qemu: {
      machine: 'q35',
      accel: o.accel,
      ...(tcgThread ? { tcgThread } : {}),
      cpu: o.cpu,
      memoryMiB: o.memoryMiB ?? L1_MEMORY_MIB,
      vcpus,
      kernel: o.image.kernelPath,
      initrd: o.image.initramfsPath,
      append: l1Append(o.accel, vcpus > 1),
      extraArgs: virtfsArgs(o.layout, o.channelDir),
    },
    timeoutMs: o.timeoutMs,
    ...(o.silenceMs ? { silenceMs: o.silenceMs } : {}),
    signal: o.signal,
    logPath: o.logPath,
    onLine(line) {
      if (line.kind === 'event') {
        const f = line.fields;
        if (line.type === 'l1-kvm') events.kvm = { module: f.module ?? 'none', dev: f.dev === 'yes' };
        else if (line.type === 'l1-ready') events.ready = true;
        else if (line.type === 'l1-doctor') events.doctor = { ...f };
        else if (line.type === 'step-begin' && f.id) events.stepsBegun.push(f.id);
        else if (line.type === 'step-end' && f.id) events.stepsEnded.set(f.id, Number(f.exit));
        else if (line.type === 'end') events.ended = true;
      }
      o.onLine?.(line);
    },
    stopWhen: (line) => line.kind === 'event' && line.type === 'end',
  });
  return { launch, events };
}
