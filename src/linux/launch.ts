/**
 * Boots the Linux guest once and records its timeline from device writes the
 * host timestamps as they arrive (docs/architecture.md, "src/linux"):
 *
 *   spawn        just before spawn() of QEMU
 *   vmm_ready    QMP greeting on its own pipe: QEMU has parsed its options and
 *                created its backends and monitor (board creation follows)
 *   firmware     first byte SeaBIOS writes to its debug port 0x402 (pc, q35;
 *                microvm's qboot writes none, so microvm has no such mark)
 *   kernel_entry first byte on port 0x2f8: the kernel's real-mode setup code
 *                initialising its early serial console (earlyprintk=serial,0x2f8
 *                with an isa-debugcon there: the divisor-latch write is a byte)
 *   decompressor second such byte: the bzImage decompressor starts
 *   kernel_main  third such byte: the decompressed kernel's setup_arch() parses
 *                early parameters (start_kernel() runs just before it)
 *   init_started /init's first protocol line on ttyS0 (the line's last byte)
 *   init_done    /init's `init-done` line: modules loaded, disk found (io mode)
 *
 * Each stream has its own pipe (Node socketpairs, QEMU `socket,fd=N` chardevs),
 * so a byte's timestamp is when Node read it, not when a log was flushed.
 * The console stays quiet (`quiet`) in timed boots; `verbose` boots are for logs.
 */
import type { ConsoleLine, EventLine } from '../protocol/parser.js';
import type { Accelerator, Execution, RunVariant } from '../results/model.js';
import { decideExecution } from '../vmm/execution.js';
import { describeKvmFailure, type KvmFailure } from '../vmm/kvm-error.js';
import { launchQemu } from '../vmm/launch.js';
import { queryVcpuStats, type QmpClient, type VcpuStats } from '../vmm/qmp.js';
import { pinVcpuThreads, type PinOutcome } from '../vmm/pin.js';
import { buildQemuArgs, qemuBinary, variantQemu, type DriveSpec, type MachineType, type QemuConfig } from '../vmm/qemu.js';
import type { LinuxImage } from './image.js';

export const PHASES = [
  'spawn',
  'vmm_ready',
  'firmware',
  'kernel_entry',
  'decompressor',
  'kernel_main',
  'init_started',
  'init_done',
] as const;
export type Phase = (typeof PHASES)[number];

/** SeaBIOS's debug output port. */
export const FIRMWARE_DEBUG_PORT = 0x402;
/** The early-console port the kernel is pointed at (COM2's address, no UART there). */
export const KERNEL_MARK_PORT = 0x2f8;

export interface LinuxBootOptions {
  image: LinuxImage;
  machine: MachineType;
  accel: Accelerator;
  /** QEMU -cpu (the run's choice, src/vmm/smoke.ts); default QEMU's per accelerator. */
  cpu?: string;
  vcpus?: number;
  memoryMiB?: number;
  /** Verbose kernel console (for the kept log); timed boots are quiet. */
  verbose?: boolean;
  /** kb.* parameters for /init, e.g. `{mode: 'io', jobs: '...'}`. */
  guestArgs?: Record<string, string | number>;
  drive?: DriveSpec;
  /** A virtio NIC (the net suite): its backend and, for a tap in kvmbench's namespace, where QEMU runs. */
  nic?: NicSpec;
  /**
   * `tsc_early_khz=` for the guest. microvm has no HPET or ACPI PM timer, and under
   * TCG the PIT calibration is unreliable ("could not calculate TSC khz", then a
   * stall), so microvm on TCG is told the host's TSC rate (TCG's rdtsc reads the host TSC).
   */
  tscKhz?: number;
  /** Pin the vCPU threads once QMP answers (`run --pin`, src/vmm/pin.ts). */
  pin?: boolean;
  /** More kernel parameters, appended as given (e.g. for tests of the error path). */
  extraCmdline?: string[];
  /** `kvmbench ab`: the variant's QEMU binary and extra QEMU arguments (its kernel is `image`'s). */
  variant?: RunVariant;
  deadlineAt?: number;
  timeoutMs?: number;
  signal?: AbortSignal;
  logPath?: string;
  appendLog?: boolean;
  onEvent?(ev: EventLine, atMs: number): void;
}

export interface TimedLine {
  line: ConsoleLine;
  /** ms after spawn when the line's last byte arrived. */
  atMs: number;
}

export interface LinuxBootResult {
  argv: string[];
  ok: boolean;
  reason?: string;
  /** ms after spawn at which each phase was seen. */
  marks: Partial<Record<Phase, number>>;
  lastPhase: Phase;
  lines: TimedLine[];
  exitCode: number | null;
  exitMs: number;
  timedOut: boolean;
  aborted: boolean;
  stderr: string;
  /** KVM could no longer run the guest (QEMU's report, decoded); the boot ended at once. */
  kvmFailure?: KvmFailure;
  /** ms after spawn when QEMU's report of the KVM failure began. */
  kvmFailureMs?: number;
  /** How the kernel's code ran, from KVM's counters over the boot (under TCG: tcg). */
  execution?: Execution;
  /** KVM's vCPU counters at the last mark, when QMP answered. */
  kvmStats?: VcpuStats;
  /** What pinning did, when `pin` was asked. */
  pin?: PinOutcome;
}

/** The guest's network card: virtio-net on a tap (vhost on or off) or on QEMU's user networking. */
export type NicSpec =
  | { backend: 'tap'; ifname: string; vhost: boolean; mac: string; netns?: string }
  | { backend: 'user'; mac: string; hostfwd: string[] };

/** `-netdev` and `-device` for a NIC (the same on every machine type but the device's bus). */
export function nicArgs(nic: NicSpec, machine: MachineType): { netdev: string; device: string } {
  const dev = machine === 'microvm' ? 'virtio-net-device' : 'virtio-net-pci';
  const device = `${dev},netdev=n0,mac=${nic.mac}`;
  if (nic.backend === 'tap') {
    if (!/^[A-Za-z0-9_.-]{1,15}$/.test(nic.ifname))
      throw new Error(`tap name ${JSON.stringify(nic.ifname)} is not an interface name`);
    return { netdev: `tap,id=n0,ifname=${nic.ifname},script=no,downscript=no,vhost=${nic.vhost ? 'on' : 'off'}`, device };
  }
  for (const f of nic.hostfwd) if (!/^(tcp|udp):127\.0\.0\.1:\d+-:\d+$/.test(f)) throw new Error(`bad hostfwd ${f}`);
  return { netdev: ['user,id=n0,net=10.0.2.0/24', ...nic.hostfwd.map((f) => `hostfwd=${f}`)].join(','), device };
}

/** QEMU machine properties: the fastest documented microvm settings that boot here. */
export function machineOptions(machine: MachineType, _accel: Accelerator): Record<string, string> {
  if (machine !== 'microvm') return {};
  // rtc=off (in the documented fastest set) is left out: Debian's kernel probes the
  // CMOS clock anyway and waits about 2 s under TCG before calling it broken.
  const o: Record<string, string> = { pic: 'off', 'isa-serial': 'off', 'x-option-roms': 'off', acpi: 'on' };
  // With pit=off Linux has no timer to calibrate the TSC against: fine under KVM
  // (kvmclock), and under TCG only with tsc_early_khz (see LinuxBootOptions.tscKhz).
  o.pit = 'off';
  return o;
}

/** The host's TSC rate in kHz from /proc/cpuinfo when the TSC is constant, else undefined. */
export function hostTscKhz(cpuinfo: string): number | undefined {
  if (!/^flags\s*:.*\bconstant_tsc\b/m.test(cpuinfo)) return undefined;
  const m = /^cpu MHz\s*:\s*([0-9.]+)/m.exec(cpuinfo);
  return m ? Math.round(Number(m[1]) * 1000) : undefined;
}

export function kernelCmdline(verbose: boolean, guestArgs: Record<string, string | number> = {}, tscKhz?: number): string {
  const parts = [
    'console=ttyS0',
    `earlyprintk=serial,0x${KERNEL_MARK_PORT.toString(16)},115200`,
    'panic=-1',
    verbose ? 'loglevel=7' : 'quiet',
  ];
  if (tscKhz) parts.push(`tsc_early_khz=${Math.round(tscKhz)}`);
  for (const [k, v] of Object.entries(guestArgs)) {
    const s = String(v);
    if (!/^[A-Za-z0-9_.:,/=+-]*$/.test(s))
      throw new Error(`guest argument ${k} has characters the kernel command line cannot carry: ${s}`);
    parts.push(`kb.${k}=${s}`);
  }
  return parts.join(' ');
}

/** The chardevs the timeline marks arrive on (each its own pipe, see launchQemu's channels). */
const FIRMWARE_CHANNEL = 'fw';
const KERNEL_MARK_CHANNEL = 'kmark';

export function linuxQemuConfig(o: LinuxBootOptions): QemuConfig {
  const blk = o.machine === 'microvm' ? 'virtio-blk-device' : 'virtio-blk-pci';
  return {
    machine: o.machine,
    machineOptions: machineOptions(o.machine, o.accel),
    accel: o.accel,
    ...(o.cpu ? { cpu: o.cpu } : {}),
    vcpus: o.vcpus ?? 1,
    memoryMiB: o.memoryMiB ?? 256,
    serial: 'none',
    debugExit: false,
    chardevs: ['stdio,id=con'],
    devices: [
      'isa-serial,chardev=con',
      `isa-debugcon,iobase=0x${FIRMWARE_DEBUG_PORT.toString(16)},chardev=${FIRMWARE_CHANNEL}`,
      `isa-debugcon,iobase=0x${KERNEL_MARK_PORT.toString(16)},chardev=${KERNEL_MARK_CHANNEL}`,
      ...(o.drive ? [`${blk},drive=${o.drive.id}`] : []),
      ...(o.nic ? [nicArgs(o.nic, o.machine).device] : []),
    ],
    drives: o.drive ? [o.drive] : [],
    kernel: o.image.kernelPath,
    initrd: o.image.initramfsPath,
    append: [kernelCmdline(o.verbose ?? false, o.guestArgs, o.tscKhz), ...(o.extraCmdline ?? [])].join(' '),
    ...withNetdev(variantQemu(o.variant), o),
  };
}

function withNetdev(v: Partial<QemuConfig>, o: LinuxBootOptions): Partial<QemuConfig> {
  if (!o.nic) return v;
  return { ...v, extraArgs: ['-netdev', nicArgs(o.nic, o.machine).netdev, ...(v.extraArgs ?? [])] };
}

/** The command QEMU is started through: `ip netns exec NS` for a tap inside kvmbench's namespace. */
export function linuxWrapper(o: Pick<LinuxBootOptions, 'nic'>): string[] | undefined {
  return o.nic?.backend === 'tap' && o.nic.netns ? ['ip', 'netns', 'exec', o.nic.netns] : undefined;
}

/** QEMU's argument list for a boot as launchQemu builds it (the mark and QMP pipes included), for facts. */
export function buildLinuxArgs(o: LinuxBootOptions): string[] {
  const cfg = linuxQemuConfig(o);
  const channels = [FIRMWARE_CHANNEL, KERNEL_MARK_CHANNEL, 'kvmb_qmp'];
  return [
    ...(linuxWrapper(o) ?? []),
    cfg.binary ?? qemuBinary(),
    ...buildQemuArgs({
      ...cfg,
      chardevs: [...(cfg.chardevs ?? []), ...channels.map((id, i) => `socket,id=${id},fd=${3 + i}`)],
      extraArgs: [...(cfg.extraArgs ?? []), '-mon', 'chardev=kvmb_qmp,mode=control'],
    }),
  ];
}

export function lastPhaseOf(marks: Partial<Record<Phase, number>>): Phase {
  let last: Phase = 'spawn';
  for (const p of PHASES) if (marks[p] !== undefined) last = p;
  return last;
}

/** Boots once; never throws for guest trouble (that is `ok: false` with a reason). */
export async function bootLinux(o: LinuxBootOptions): Promise<LinuxBootResult> {
  const marks: Partial<Record<Phase, number>> = {};
  const lines: TimedLine[] = [];
  let kernelMarks = 0;
  let spawnNs = 0n;
  const msAt = (at: bigint): number => Number(at - spawnNs) / 1e6;
  // KVM's counters, read at each mark while the guest still runs (it powers off right after init-done).
  let qmp: QmpClient | undefined;
  let kvmStats: VcpuStats | undefined;
  const reads: Promise<void>[] = [];
  let pinned: PinOutcome | undefined;
  const readStats = (): void => {
    if (qmp && o.accel === 'kvm')
      reads.push(
        queryVcpuStats(qmp, 2000).then((s) => {
          if (s?.[0]) kvmStats = s[0];
        }),
      );
  };

  const onLine = (line: ConsoleLine, at: bigint): void => {
    const ms = msAt(at);
    lines.push({ line, atMs: ms });
    if (line.kind !== 'event') {
      // A mark line that a kernel message broke into (see the end line below) still marks.
      const m = /^KVMB1 (init-start|init-done)\b/.exec(line.text);
      if (m?.[1] === 'init-start') marks.init_started ??= ms;
      if (m?.[1] === 'init-done') marks.init_done ??= ms;
      return;
    }
    if (line.type === 'init-start') {
      marks.init_started ??= ms;
      readStats();
    }
    if (line.type === 'init-done') marks.init_done ??= ms;
    o.onEvent?.(line, ms);
  };
  let r;
  let logHead: string | undefined;
  try {
    r = await launchQemu({
      qemu: linuxQemuConfig(o),
      deadlineAt: o.deadlineAt,
      timeoutMs: o.timeoutMs,
      signal: o.signal,
      logPath: o.logPath,
      appendLog: o.appendLog,
      onLine,
      channels: [
        {
          id: FIRMWARE_CHANNEL,
          onData: (_b, at) => {
            marks.firmware ??= msAt(at);
          },
        },
        {
          id: KERNEL_MARK_CHANNEL,
          onData: (chunk, at) => {
            for (const b of chunk) {
              if (b !== 0x01) continue;
              kernelMarks++;
              if (kernelMarks === 1) marks.kernel_entry = msAt(at);
              else if (kernelMarks === 2) marks.decompressor = msAt(at);
              else if (kernelMarks === 3) {
                marks.kernel_main = msAt(at);
                readStats();
              }
            }
          },
        },
      ],
      qmp: {
        onReady: (q) => {
          qmp = q;
          if (o.pin)
            reads.push(
              pinVcpuThreads(q).then((p) => {
                pinned = p;
              }),
            );
        },
      },
      onSpawn: (at) => {
        spawnNs = at;
      },
      wrapper: linuxWrapper(o),
    });
  } catch (err) {
    // QEMU missing or arguments refused before a process existed.
    logHead = (err as Error).message;
  }
  await Promise.allSettled(reads);
  if (!r) {
    return {
      argv: buildLinuxArgs(o),
      ok: false,
      reason: `QEMU could not start: ${logHead}; last phase reached: spawn; no console output`,
      marks: { spawn: 0 },
      lastPhase: 'spawn',
      lines,
      exitCode: null,
      exitMs: 0,
      timedOut: false,
      aborted: false,
      stderr: logHead ?? '',
    };
  }
  marks.spawn = 0;
  if (r.timeline.qmpGreetingNs !== undefined) marks.vmm_ready = msAt(r.timeline.qmpGreetingNs);
  const exitMs = msAt(r.timeline.exitNs);
  const exitCode = r.exitCode;

  let end = lines.find((l) => l.line.kind === 'event' && l.line.type === 'end')?.line as EventLine | undefined;
  // The kernel console shares ttyS0 with /init: a kernel message can land in the middle of
  // the end line ("KVMB1 end status=pass[    2.02] clocksource: ..."), which then parses as
  // text. Such a line still says the guest finished.
  if (!end && lines.some((l) => l.line.kind === 'text' && /^KVMB1 end status=pass\b/.test(l.line.text))) {
    end = { kind: 'event', text: 'KVMB1 end status=pass', version: 1, type: 'end', fields: { status: 'pass' } };
  }
  const lastPhase = lastPhaseOf(marks);
  let reason: string | undefined;
  if (r.aborted) reason = 'aborted';
  else if (r.kvmFailure) {
    const at = r.timeline.kvmFailureNs !== undefined ? msAt(r.timeline.kvmFailureNs) : undefined;
    reason = `${describeKvmFailure(r.kvmFailure)}${at !== undefined ? ` (QEMU reported it ${(at / 1000).toFixed(1)} s after spawn; the boot ended ${(exitMs - at).toFixed(0)} ms later)` : ''}`;
  }
  // The launcher's own words (its first line: QEMU's stderr is added below, as for every failure).
  else if (r.startFailure?.kind === 'never-ran') reason = r.reason?.split('\n')[0];
  else if (r.timedOut) reason = 'deadline expired';
  else if (r.stoppedState) reason = `the VM stopped (${r.stoppedState})`;
  else if (end?.fields.status && end.fields.status !== 'pass')
    reason = `guest reported ${end.fields.status}${end.fields.reason ? `: ${end.fields.reason}` : ''}`;
  else if (!end) reason = `QEMU exited (status ${exitCode ?? 'none'}) before the guest said it was done`;
  else if (exitCode !== 0) reason = `QEMU exit status ${exitCode ?? 'none'}`;
  const ok = reason === undefined;
  if (!ok) {
    const tail = lines
      .slice(-8)
      .map((l) => l.line.text)
      .join('\n');
    // A KVM report's register dump is in the log; its first lines are in the reason already.
    const err = r.kvmFailure ? '' : r.stderr.trim().split('\n').slice(-3).join(' | ');
    // A panic's own line is often above the last lines (a stack trace follows it): name it.
    const panic = [...lines].reverse().find((l) => /Kernel panic|BUG:|Oops:/.test(l.line.text))?.line.text;
    reason =
      `${reason}; last phase reached: ${lastPhase}` +
      (panic ? `; guest kernel: ${panic.replace(/^\[[^\]]*\]\s*/, '')}` : '') +
      (tail ? `; last console lines:\n${tail}` : '; no console output') +
      (err ? `\nQEMU stderr: ${err}` : '');
  }
  const execution =
    o.accel === 'tcg'
      ? decideExecution({ accel: 'tcg' })
      : kvmStats && typeof kvmStats.insn_emulation === 'number' && typeof kvmStats.exits === 'number'
        ? decideExecution({
            accel: 'kvm',
            totals: { insnEmulation: kvmStats.insn_emulation, exits: kvmStats.exits },
            source: `KVM's counters of this boot up to ${marks.init_started !== undefined ? 'init started' : 'kernel main'}`,
          })
        : undefined;
  return {
    argv: r.argv,
    ok,
    reason,
    marks,
    lastPhase,
    lines,
    exitCode,
    exitMs,
    timedOut: r.timedOut,
    aborted: r.aborted,
    stderr: r.stderr,
    ...(r.kvmFailure ? { kvmFailure: r.kvmFailure } : {}),
    ...(r.timeline.kvmFailureNs !== undefined ? { kvmFailureMs: msAt(r.timeline.kvmFailureNs) } : {}),
    ...(execution ? { execution } : {}),
    ...(kvmStats ? { kvmStats } : {}),
    ...(pinned ? { pin: pinned } : {}),
  };
}
