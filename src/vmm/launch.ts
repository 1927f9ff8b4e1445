/**
 * Launches one QEMU process, streams its console through the protocol parser,
 * enforces a deadline, and always leaves nothing behind: QEMU runs in its own
 * process group (detached) and the whole group is killed on deadline, abort,
 * early stop or when Node exits.
 */
import { createWriteStream, existsSync, mkdirSync, type WriteStream } from 'node:fs';
import { dirname } from 'node:path';
import type { Readable } from 'node:stream';
import { execa, type Options as ExecaOptions } from 'execa';
import { guardedSpawn, killGroup, trackQemu, untrackQemu } from './processes.js';
import { ProtocolParser, type ConsoleLine } from '../protocol/parser.js';
import { Transcript } from '../protocol/transcript.js';
import { buildQemuArgs, qemuBinary, type QemuConfig } from './qemu.js';
import { mapExitStatus, type GuestOutcome } from './status.js';

export interface LaunchOptions {
  qemu: QemuConfig;
  /** Absolute epoch ms after which the guest is killed; the earlier of this and timeoutMs applies. */
  deadlineAt?: number;
  timeoutMs?: number;
  signal?: AbortSignal;
  /** Full console (and QEMU's stderr) is written here; directories are created. */
  logPath?: string;
  /** Appends to logPath instead of truncating it (several boots in one case log). */
  appendLog?: boolean;
  /** Called for every console line, with the host time it arrived (process.hrtime.bigint()). */
  onLine?(line: ConsoleLine, atNs: bigint): void;
  /** Stop (kill QEMU) as soon as this returns true for a line. */
  stopWhen?(line: ConsoleLine): boolean;
  /**
   * Timestamped bytes the guest writes to an isa-debugcon port (default 0xe9).
   * When set, the launcher adds the device and a chardev on a pipe (fd 3).
   */
  onDebugBytes?(bytes: Uint8Array, atNs: bigint): void;
  debugconIobase?: number;
}

export interface LaunchTimeline {
  /** Just before the process was spawned. */
  spawnNs: bigint;
  /** First console byte. */
  firstByteNs?: bigint;
  /** First debugcon byte (when onDebugBytes was given). */
  firstDebugByteNs?: bigint;
  /** The process was seen to exit. */
  exitNs: bigint;
}

export interface LaunchResult {
  argv: string[];
  status: GuestOutcome;
  /** Why status is not pass; for errors it includes where the guest stopped and its last lines. */
  reason?: string;
  exitCode: number | null;
  signal: string | null;
  timedOut: boolean;
  aborted: boolean;
  stoppedEarly: boolean;
  transcript: Transcript;
  consoleBytes: number;
  timeline: LaunchTimeline;
  stderr: string;
  durationMs: number;
}

const STDERR_CAP = 64 * 1024;
/**
 * mkdir -p that gives up instead of throwing. Not mkdirSync({recursive}): on Node 20 that
 * loops forever on paths under /proc, where mkdir answers ENOENT for an existing parent.
 */
function ensureDir(dir: string): boolean {
  try {
    if (existsSync(dir)) return true;
    const parent = dirname(dir);
    if (parent === dir || !ensureDir(parent)) return false;
    mkdirSync(dir);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EEXIST';
  }
}

/** The guest's own words for a non-pass verdict: its reason plus any detail fields (vector, rip...). */
function verdictReason(t: Transcript): string | undefined {
  const v = t.verdict;
  if (!v || v.status === 'pass') return undefined;
  const extra = Object.entries(v.fields).filter(([k]) => k !== 'reason' && k !== 'test').map(([k, val]) => `${k}=${val}`);
  const parts = [v.reason, ...extra].filter(Boolean);
  return parts.length ? parts.join(' ') : undefined;
}

export async function launchQemu(opts: LaunchOptions): Promise<LaunchResult> {
  const cfg: QemuConfig = { ...opts.qemu };
  const wantDebug = typeof opts.onDebugBytes === 'function';
  if (wantDebug) {
    // A chardev on fd 3 gives the debug port its own pipe, so its bytes get their own timestamps.
    // Node's 'pipe' is a socketpair: QEMU takes it as a connected socket chardev.
    cfg.chardevs = [...(cfg.chardevs ?? []), 'socket,id=kvmb_dbg,fd=3'];
    cfg.debugcon = { iobase: opts.debugconIobase, chardev: 'kvmb_dbg' };
  }
  const binary = cfg.binary ?? qemuBinary();
  const args = buildQemuArgs(cfg);
  const argv = [binary, ...args];

  let stderr = '';
  let log: WriteStream | undefined;
  if (opts.logPath && ensureDir(dirname(opts.logPath))) {
    log = createWriteStream(opts.logPath, { flags: opts.appendLog ? 'a' : 'w' });
    // A log that cannot be written must not crash the run; the console is still parsed.
    log.on('error', (err) => { stderr += `\nkvmbench: cannot write ${opts.logPath}: ${err.message}`; });
    log.write(`# kvmbench: ${new Date().toISOString()} launching: ${argv.map((a) => (/[\s"']/.test(a) ? JSON.stringify(a) : a)).join(' ')}\n`);
  }

  const transcript = new Transcript();
  const parser = new ProtocolParser();
  let timedOut = false;
  let aborted = false;
  let stoppedEarly = false;
  const timeline: LaunchTimeline = { spawnNs: 0n, exitNs: 0n };

  const t0 = performance.now();
  timeline.spawnNs = process.hrtime.bigint();
  const execOpts: ExecaOptions = {
    // stdin 'ignore': QEMU's stdio chardev must never wait on our terminal.
    stdio: wantDebug ? ['ignore', 'pipe', 'pipe', 'pipe'] : ['ignore', 'pipe', 'pipe'],
    reject: false,
    detached: true,
    buffer: false,
    cleanup: false,
    env: { ...process.env, LC_ALL: 'C' },
  };
  const [command, commandArgs] = guardedSpawn(binary, args);
  const child = execa(command, commandArgs, execOpts);
  const pid = child.pid;
  trackQemu(pid);

  const kill = (): void => killGroup(pid);

  const handleLines = (lines: ConsoleLine[], at: bigint): void => {
    for (const line of lines) {
      transcript.add(line);
      opts.onLine?.(line, at);
      if (!stoppedEarly && opts.stopWhen?.(line)) {
        stoppedEarly = true;
        kill();
      }
    }
  };

  child.stdout?.on('data', (chunk: Buffer) => {
    const at = process.hrtime.bigint();
    timeline.firstByteNs ??= at;
    log?.write(chunk);
    handleLines(parser.push(chunk), at);
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    if (stderr.length < STDERR_CAP) stderr += chunk.toString('utf8').slice(0, STDERR_CAP - stderr.length);
  });
  if (wantDebug) {
    const dbg = (child as unknown as { stdio: Readable[] }).stdio[3];
    dbg?.on('data', (chunk: Buffer) => {
      const at = process.hrtime.bigint();
      timeline.firstDebugByteNs ??= at;
      opts.onDebugBytes?.(chunk, at);
    });
    dbg?.on('error', () => {});
  }

  let timer: NodeJS.Timeout | undefined;
  const limits: number[] = [];
  if (opts.timeoutMs !== undefined) limits.push(opts.timeoutMs);
  if (opts.deadlineAt !== undefined) limits.push(opts.deadlineAt - Date.now());
  if (limits.length) {
    const ms = Math.max(0, Math.min(...limits));
    timer = setTimeout(() => {
      timedOut = true;
      kill();
    }, ms);
  }
  const onAbort = (): void => {
    aborted = true;
    kill();
  };
  if (opts.signal?.aborted) onAbort();
  else opts.signal?.addEventListener('abort', onAbort, { once: true });

  let result: { exitCode?: number; signal?: string; failed?: boolean; code?: string; message?: string };
  try {
    result = (await child) as unknown as typeof result;
  } finally {
    timeline.exitNs = process.hrtime.bigint();
    if (timer) clearTimeout(timer);
    opts.signal?.removeEventListener('abort', onAbort);
    // QEMU may have left helpers in its group; the group goes whatever happened.
    kill();
    untrackQemu(pid);
  }
  handleLines(parser.end(), timeline.exitNs);

  if (result.code === 'ENOENT') {
    stderr += `\nkvmbench: cannot execute ${binary}: not found`;
  }
  const exitCode = typeof result.exitCode === 'number' ? result.exitCode : null;
  const signal = result.signal ?? null;
  const killedByUs = timedOut || aborted;
  const mapped = stoppedEarly && !killedByUs
    ? { status: 'pass' as GuestOutcome, reason: undefined }
    : mapExitStatus({
        exitCode: killedByUs ? null : exitCode,
        signal,
        timedOut,
        aborted,
        endPass: transcript.end?.status === 'pass',
        guestReason: verdictReason(transcript),
      });

  let reason = mapped.reason;
  if (mapped.status === 'error') {
    const where = transcript.whereStopped(parser.totalBytes);
    const tail = transcript.tailText(6);
    const err = stderr.trim().split('\n').slice(-3).join(' | ');
    reason = `${mapped.reason}; ${where}` +
      (tail ? `; last console lines:\n${tail}` : '') +
      (err ? `\nQEMU stderr: ${err}` : '');
  }

  if (log) {
    log.write(`\n# kvmbench: QEMU exit status ${exitCode ?? 'none'}${signal ? ` signal ${signal}` : ''}` +
      `${timedOut ? ' (killed at deadline)' : ''}${aborted ? ' (aborted)' : ''} → ${mapped.status}${reason ? `: ${reason.split('\n')[0]}` : ''}\n`);
    if (stderr) log.write(`# kvmbench: QEMU stderr:\n${stderr}\n`);
    await new Promise<void>((resolve) => {
      log!.once('error', () => resolve());
      log!.end(resolve);
    });
  }

  return {
    argv,
    status: mapped.status,
    reason,
    exitCode,
    signal,
    timedOut,
    aborted,
    stoppedEarly,
    transcript,
    consoleBytes: parser.totalBytes,
    timeline,
    stderr,
    durationMs: performance.now() - t0,
  };
}

export { liveQemuPids } from './processes.js';
