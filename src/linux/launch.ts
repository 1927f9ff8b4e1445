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
import { spawn } from 'node:child_process';
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { dirname } from 'node:path';
import type { Readable } from 'node:stream';
import { ProtocolParser, type ConsoleLine, type EventLine } from '../protocol/parser.js';
import type { Accelerator } from '../results/model.js';
import { buildQemuArgs, qemuBinary, type DriveSpec, type MachineType } from '../vmm/qemu.js';
import { guardedSpawn, killGroup, trackQemu, untrackQemu } from '../vmm/processes.js';
import type { LinuxImage } from './image.js';

export const PHASES = ['spawn', 'vmm_ready', 'firmware', 'kernel_entry', 'decompressor', 'kernel_main', 'init_started', 'init_done'] as const;
export type Phase = (typeof PHASES)[number];

/** SeaBIOS's debug output port. */
export const FIRMWARE_DEBUG_PORT = 0x402;
/** The early-console port the kernel is pointed at (COM2's address, no UART there). */
export const KERNEL_MARK_PORT = 0x2f8;

export interface LinuxBootOptions {
  image: LinuxImage;
  machine: MachineType;
  accel: Accelerator;
  vcpus?: number;
  memoryMiB?: number;
  /** Verbose kernel console (for the kept log); timed boots are quiet. */
  verbose?: boolean;
  /** kb.* parameters for /init, e.g. `{mode: 'io', jobs: '...'}`. */
  guestArgs?: Record<string, string | number>;
  drive?: DriveSpec;
  /**
   * `tsc_early_khz=` for the guest. microvm has no HPET or ACPI PM timer, and under
   * TCG the PIT calibration is unreliable ("could not calculate TSC khz", then a
   * stall), so microvm on TCG is told the host's TSC rate (TCG's rdtsc reads the host TSC).
   */
  tscKhz?: number;
  /** More kernel parameters, appended as given (e.g. for tests of the error path). */
  extraCmdline?: string[];
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
  const parts = ['console=ttyS0', `earlyprintk=serial,0x${KERNEL_MARK_PORT.toString(16)},115200`, 'panic=-1', verbose ? 'loglevel=7' : 'quiet'];
  if (tscKhz) parts.push(`tsc_early_khz=${Math.round(tscKhz)}`);
  for (const [k, v] of Object.entries(guestArgs)) {
    const s = String(v);
    if (!/^[A-Za-z0-9_.:,/=+-]*$/.test(s)) throw new Error(`guest argument ${k} has characters the kernel command line cannot carry: ${s}`);
    parts.push(`kb.${k}=${s}`);
  }
  return parts.join(' ');
}

export function buildLinuxArgs(o: LinuxBootOptions): string[] {
  const blk = o.machine === 'microvm' ? 'virtio-blk-device' : 'virtio-blk-pci';
  return buildQemuArgs({
    machine: o.machine,
    machineOptions: machineOptions(o.machine, o.accel),
    accel: o.accel,
    vcpus: o.vcpus ?? 1,
    memoryMiB: o.memoryMiB ?? 256,
    serial: 'none',
    debugExit: false,
    chardevs: ['stdio,id=con', 'socket,id=fw,fd=3', 'socket,id=kmark,fd=4', 'socket,id=qmp,fd=5'],
    devices: [
      'isa-serial,chardev=con',
      `isa-debugcon,iobase=0x${FIRMWARE_DEBUG_PORT.toString(16)},chardev=fw`,
      `isa-debugcon,iobase=0x${KERNEL_MARK_PORT.toString(16)},chardev=kmark`,
      ...(o.drive ? [`${blk},drive=${o.drive.id}`] : []),
    ],
    drives: o.drive ? [o.drive] : [],
    kernel: o.image.kernelPath,
    initrd: o.image.initramfsPath,
    append: [kernelCmdline(o.verbose ?? false, o.guestArgs, o.tscKhz), ...(o.extraCmdline ?? [])].join(' '),
    extraArgs: ['-mon', 'chardev=qmp,mode=control'],
  });
}

export function lastPhaseOf(marks: Partial<Record<Phase, number>>): Phase {
  let last: Phase = 'spawn';
  for (const p of PHASES) if (marks[p] !== undefined) last = p;
  return last;
}

/** Boots once; never throws for guest trouble (that is `ok: false` with a reason). */
export async function bootLinux(o: LinuxBootOptions): Promise<LinuxBootResult> {
  const binary = qemuBinary();
  const args = buildLinuxArgs(o);
  const argv = [binary, ...args];
  let log: WriteStream | undefined;
  if (o.logPath) {
    mkdirSync(dirname(o.logPath), { recursive: true });
    log = createWriteStream(o.logPath, { flags: o.appendLog ? 'a' : 'w' });
    log.write(`# kvmbench: ${new Date().toISOString()} ${o.verbose ? 'verbose' : 'timed'} boot: ${argv.map((a) => (/[\s"']/.test(a) ? JSON.stringify(a) : a)).join(' ')}\n`);
  }
  const marks: Partial<Record<Phase, number>> = {};
  const lines: TimedLine[] = [];
  const parser = new ProtocolParser();
  let stderr = '';
  let kernelMarks = 0;
  let timedOut = false;
  let aborted = false;

  const t0 = process.hrtime.bigint();
  const now = (): number => Number(process.hrtime.bigint() - t0) / 1e6;
  marks.spawn = 0;
  const [command, commandArgs] = guardedSpawn(binary, args);
  const child = spawn(command, commandArgs, { stdio: ['ignore', 'pipe', 'pipe', 'pipe', 'pipe', 'pipe'], detached: true, env: { ...process.env, LC_ALL: 'C' } });
  trackQemu(child.pid);
  const kill = (): void => killGroup(child.pid);

  const onLines = (ls: ConsoleLine[], at: number): void => {
    for (const line of ls) {
      lines.push({ line, atMs: at });
      if (line.kind !== 'event') {
        // A mark line that a kernel message broke into (see the end line below) still marks.
        const m = /^KVMB1 (init-start|init-done)\b/.exec(line.text);
        if (m?.[1] === 'init-start') marks.init_started ??= at;
        if (m?.[1] === 'init-done') marks.init_done ??= at;
        continue;
      }
      if (line.type === 'init-start') marks.init_started ??= at;
      if (line.type === 'init-done') marks.init_done ??= at;
      o.onEvent?.(line, at);
    }
  };
  child.stdout!.on('data', (chunk: Buffer) => {
    const at = now();
    log?.write(chunk);
    onLines(parser.push(chunk), at);
  });
  child.stderr!.on('data', (chunk: Buffer) => {
    if (stderr.length < 65536) stderr += chunk.toString('utf8');
  });
  const [fw, kmark, qmp] = [3, 4, 5].map((i) => child.stdio[i] as Readable);
  fw!.once('data', () => {
    marks.firmware ??= now();
  });
  kmark!.on('data', (chunk: Buffer) => {
    const at = now();
    for (const b of chunk) {
      if (b !== 0x01) continue;
      kernelMarks++;
      if (kernelMarks === 1) marks.kernel_entry = at;
      else if (kernelMarks === 2) marks.decompressor = at;
      else if (kernelMarks === 3) marks.kernel_main = at;
    }
  });
  qmp!.once('data', () => {
    marks.vmm_ready ??= now();
  });
  for (const s of [fw, kmark, qmp]) s!.on('error', () => {});

  const limits: number[] = [];
  if (o.timeoutMs !== undefined) limits.push(o.timeoutMs);
  if (o.deadlineAt !== undefined) limits.push(o.deadlineAt - Date.now());
  const timer = limits.length
    ? setTimeout(() => {
        timedOut = true;
        kill();
      }, Math.max(0, Math.min(...limits)))
    : undefined;
  const onAbort = (): void => {
    aborted = true;
    kill();
  };
  if (o.signal?.aborted) onAbort();
  else o.signal?.addEventListener('abort', onAbort, { once: true });

  const exitCode = await new Promise<number | null>((resolve) => {
    child.on('error', (e) => {
      stderr += `\nkvmbench: cannot run ${binary}: ${e.message}`;
      resolve(null);
    });
    child.on('close', (code) => resolve(code));
  });
  const exitMs = now();
  if (timer) clearTimeout(timer);
  o.signal?.removeEventListener('abort', onAbort);
  kill();
  untrackQemu(child.pid);
  onLines(parser.end(), exitMs);

  let end = lines.find((l) => l.line.kind === 'event' && l.line.type === 'end')?.line as EventLine | undefined;
  // The kernel console shares ttyS0 with /init: a kernel message can land in the middle of
  // the end line ("KVMB1 end status=pass[    2.02] clocksource: ..."), which then parses as
  // text. Such a line still says the guest finished.
  if (!end && lines.some((l) => l.line.kind === 'text' && /^KVMB1 end status=pass\b/.test(l.line.text))) {
    end = { kind: 'event', text: 'KVMB1 end status=pass', version: 1, type: 'end', fields: { status: 'pass' } };
  }
  const lastPhase = lastPhaseOf(marks);
  let reason: string | undefined;
  if (aborted) reason = 'aborted';
  else if (timedOut) reason = 'deadline expired';
  else if (end?.fields.status && end.fields.status !== 'pass') reason = `guest reported ${end.fields.status}${end.fields.reason ? `: ${end.fields.reason}` : ''}`;
  else if (!end) reason = `QEMU exited (status ${exitCode ?? 'none'}) before the guest said it was done`;
  else if (exitCode !== 0) reason = `QEMU exit status ${exitCode ?? 'none'}`;
  const ok = reason === undefined;
  if (!ok) {
    const tail = lines.slice(-8).map((l) => l.line.text).join('\n');
    const err = stderr.trim().split('\n').slice(-3).join(' | ');
    // A panic's own line is often above the last lines (a stack trace follows it): name it.
    const panic = [...lines].reverse().find((l) => /Kernel panic|BUG:|Oops:/.test(l.line.text))?.line.text;
    reason = `${reason}; last phase reached: ${lastPhase}` + (panic ? `; guest kernel: ${panic.replace(/^\[[^\]]*\]\s*/, '')}` : '') + (tail ? `; last console lines:\n${tail}` : '; no console output') + (err ? `\nQEMU stderr: ${err}` : '');
  }
  if (log) {
    log.write(`\n# kvmbench: exit ${exitCode ?? 'none'} after ${exitMs.toFixed(1)} ms; marks ${JSON.stringify(marks)}${ok ? '' : `; ${reason!.split('\n')[0]}`}\n`);
    if (stderr) log.write(`# kvmbench: QEMU stderr:\n${stderr}\n`);
    await new Promise<void>((r) => log!.end(r));
  }
  return { argv, ok, reason, marks, lastPhase, lines, exitCode, exitMs, timedOut, aborted, stderr };
}
