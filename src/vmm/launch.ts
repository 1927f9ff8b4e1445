/**
 * The one place that spawns QEMU (micro guests, the Linux guest, the doctor's boots).
 * It streams the console through the protocol parser, gives each extra byte channel
 * (debug ports, a control serial line) and QMP a pipe of its own with host timestamps,
 * enforces a deadline, and always leaves nothing behind: QEMU runs in its own process
 * group (detached) and the whole group is killed on deadline, abort, early stop or when
 * Node exits.
 *
 * It also ends a guest that can no longer run at once: after a KVM internal error or a
 * failed VM entry QEMU stops the VM and waits forever, so the launcher watches QEMU's
 * stderr (and QMP's STOP / GUEST_PANICKED events when QMP is on) and kills it as soon
 * as the report is complete, with the decoded reason (src/vmm/kvm-error.ts).
 *
 * And a guest that never starts: with a startup budget (the launch's own, else its case's scope,
 * src/vmm/launch-scope.ts) a QEMU that has shown no guest byte by then is ended as "QEMU started
 * but the guest never ran" (src/vmm/startup.ts), and every launch tells its scope how it ended.
 */
import { createWriteStream, existsSync, mkdirSync, type WriteStream } from 'node:fs';
import { dirname } from 'node:path';
import type { Duplex } from 'node:stream';
import { execa, type Options as ExecaOptions } from 'execa';
import { guardedSpawn, killGroup, trackProcessGroup, untrackProcessGroup } from './processes.js';
import { ProtocolParser, type ConsoleLine } from '../protocol/parser.js';
import { Transcript } from '../protocol/transcript.js';
import { buildQemuArgs, qemuBinary, type QemuConfig } from './qemu.js';
import { mapExitStatus, type GuestOutcome } from './status.js';
import { describeKvmFailure, kvmFailureComplete, kvmFailureStart, parseKvmFailure, type KvmFailure } from './kvm-error.js';
import { QmpClient } from './qmp.js';
import { currentLaunchScope } from './launch-scope.js';
import { neverRanReason, startFailureOf, type StartFailure } from './startup.js';

/** A byte stream between host and guest on its own pipe: a `socket,fd=N` chardev named `id`. */
export interface LaunchChannel {
  /** The chardev id; devices in `qemu.devices` refer to it (e.g. `isa-serial,chardev=ID`). */
  id: string;
  /** Bytes from the guest, with the host time Node read them. */
  onData?(bytes: Buffer, atNs: bigint): void;
  /** The host end, for writing to the guest. */
  onOpen?(stream: Duplex): void;
}

/** How long after the first line of a KVM failure report the launcher waits for the rest. */
const FAILURE_REPORT_WAIT_MS = 1000;
/** QMP said the VM stopped on an internal error: wait this long for stderr's report. */
const QMP_STOP_WAIT_MS = 500;

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
  /** Further byte channels, each a chardev on its own pipe (fd 3, 4, ... after the debugcon's). */
  channels?: LaunchChannel[];
  /** Open QMP on its own pipe; `onReady` gets the client once QEMU's monitor greets. */
  qmp?: { onReady?(qmp: QmpClient): void };
  /** Called with the spawn time, before any byte can arrive (timelines measure from it). */
  onSpawn?(atNs: bigint): void;
  /**
   * A command QEMU is started through, which execs it in place, e.g. `ip netns exec NS`
   * (the net suite's namespace: QEMU must open its tap there). Still one process group.
   */
  wrapper?: string[];
  /**
   * Startup budget: ms from spawn to the guest's first byte (console or a channel other than
   * QMP), else QEMU is ended as "the guest never ran". Default: the case's (launch scope); 0: none.
   */
  startupMs?: number;
  /**
   * Progress budget: ms the guest may go without a console byte once it has printed one, else
   * QEMU is ended as stalled (a guest whose vCPUs stopped making progress). Default: none.
   */
  silenceMs?: number;
}

export interface LaunchTimeline {
  /** Just before the process was spawned. */
  spawnNs: bigint;
  /** First console byte. */
  firstByteNs?: bigint;
  /** First debugcon byte (when onDebugBytes was given). */
  firstDebugByteNs?: bigint;
  /** QMP greeting (when qmp was asked for): QEMU's monitor is up. */
  qmpGreetingNs?: bigint;
  /** The first line of a KVM failure report on stderr. */
  kvmFailureNs?: bigint;
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
  /** KVM could no longer run the guest (internal error, failed VM entry): parsed from QEMU's report. */
  kvmFailure?: KvmFailure;
  /** QMP's run state when the VM stopped on its own (`internal-error`, `guest-panicked`...). */
  stoppedState?: string;
  /** The launch never got to its guest (src/vmm/startup.ts); absent when the guest ran. */
  startFailure?: StartFailure;
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
  const extra = Object.entries(v.fields)
    .filter(([k]) => k !== 'reason' && k !== 'test')
    .map(([k, val]) => `${k}=${val}`);
  const parts = [v.reason, ...extra].filter(Boolean);
  return parts.length ? parts.join(' ') : undefined;
}

export async function launchQemu(opts: LaunchOptions): Promise<LaunchResult> {
  const cfg: QemuConfig = { ...opts.qemu };
  const channels: LaunchChannel[] = [];
  const timeline: LaunchTimeline = { spawnNs: 0n, exitNs: 0n };
  if (typeof opts.onDebugBytes === 'function') {
    // The debug port's own pipe gives its bytes their own timestamps.
    const onDebugBytes = opts.onDebugBytes;
    channels.push({
      id: 'kvmb_dbg',
      onData: (chunk, at) => {
        timeline.firstDebugByteNs ??= at;
        onDebugBytes(chunk, at);
      },
    });
    cfg.debugcon = { iobase: opts.debugconIobase, chardev: 'kvmb_dbg' };
  }
  channels.push(...(opts.channels ?? []));
  let qmp: QmpClient | undefined;
  if (opts.qmp) {
    channels.push({
      id: 'kvmb_qmp',
      onOpen: (stream) => {
        qmp = new QmpClient(stream);
      },
    });
    cfg.extraArgs = [...(cfg.extraArgs ?? []), '-mon', 'chardev=kvmb_qmp,mode=control'];
  }
  // Node's 'pipe' beyond stdio is a socketpair: QEMU takes it as a connected socket chardev.
  cfg.chardevs = [...(cfg.chardevs ?? []), ...channels.map((c, i) => `socket,id=${c.id},fd=${3 + i}`)];
  const binary = cfg.binary ?? qemuBinary();
  const args = buildQemuArgs(cfg);
  const argv = [binary, ...args];

  let stderr = '';
  let log: WriteStream | undefined;
  if (opts.logPath && ensureDir(dirname(opts.logPath))) {
    log = createWriteStream(opts.logPath, { flags: opts.appendLog ? 'a' : 'w' });
    // A log that cannot be written must not crash the run; the console is still parsed.
    log.on('error', (err) => {
      stderr += `\nkvmbench: cannot write ${opts.logPath}: ${err.message}`;
    });
    log.write(
      `# kvmbench: ${new Date().toISOString()} launching: ${argv.map((a) => (/[\s"']/.test(a) ? JSON.stringify(a) : a)).join(' ')}\n`,
    );
  }

  const transcript = new Transcript();
  const parser = new ProtocolParser();
  let timedOut = false;
  let aborted = false;
  let stoppedEarly = false;
  let failureKill = false;
  let stoppedState: string | undefined;
  const scope = currentLaunchScope();
  const startupMs = opts.startupMs ?? scope?.startupMs ?? 0;
  let guestRan = false;
  let startupTimer: NodeJS.Timeout | undefined;
  let neverRan: { qmpStatus?: string } | undefined;
  let lastConsoleMs = 0;
  let stalledMs: number | undefined;
  const onGuestByte = (): void => {
    guestRan = true;
    if (startupTimer) clearTimeout(startupTimer);
  };

  const t0 = performance.now();
  timeline.spawnNs = process.hrtime.bigint();
  opts.onSpawn?.(timeline.spawnNs);
  const execOpts: ExecaOptions = {
    // stdin 'ignore': QEMU's stdio chardev must never wait on our terminal.
    stdio: ['ignore', 'pipe', 'pipe', ...channels.map(() => 'pipe' as const)],
    reject: false,
    detached: true,
    buffer: false,
    cleanup: false,
    env: { ...process.env, LC_ALL: 'C' },
  };
  const [command, commandArgs] = opts.wrapper?.length
    ? guardedSpawn(opts.wrapper[0]!, [...opts.wrapper.slice(1), binary, ...args])
    : guardedSpawn(binary, args);
  const child = execa(command, commandArgs, execOpts);
  const pid = child.pid;
  trackProcessGroup(pid);

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

  // A guest KVM cannot run any more: QEMU stops the VM and waits. Kill it once the report is in.
  let failureTimer: NodeJS.Timeout | undefined;
  const endOnFailure = (waitMs: number): void => {
    if (failureKill) return;
    if (waitMs <= 0) {
      failureKill = true;
      if (failureTimer) clearTimeout(failureTimer);
      kill();
      return;
    }
    failureTimer ??= setTimeout(() => endOnFailure(0), waitMs);
  };

  child.stdout?.on('data', (chunk: Buffer) => {
    const at = process.hrtime.bigint();
    timeline.firstByteNs ??= at;
    lastConsoleMs = performance.now();
    onGuestByte();
    log?.write(chunk);
    handleLines(parser.push(chunk), at);
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    if (stderr.length < STDERR_CAP) stderr += chunk.toString('utf8').slice(0, STDERR_CAP - stderr.length);
    if (timeline.kvmFailureNs === undefined && kvmFailureStart(stderr) >= 0) timeline.kvmFailureNs = process.hrtime.bigint();
    if (timeline.kvmFailureNs !== undefined) endOnFailure(kvmFailureComplete(stderr) ? 0 : FAILURE_REPORT_WAIT_MS);
  });
  const stdio = (child as unknown as { stdio: Duplex[] }).stdio;
  channels.forEach((c, i) => {
    const stream = stdio[3 + i];
    if (!stream) return;
    stream.on('error', () => {});
    // QMP's bytes are QEMU's, not the guest's; every other channel's are the guest's.
    if (c.id !== 'kvmb_qmp') stream.on('data', onGuestByte);
    if (c.onData) stream.on('data', (chunk: Buffer) => c.onData!(chunk, process.hrtime.bigint()));
    c.onOpen?.(stream);
  });
  if (qmp) {
    const client = qmp;
    client.onEvent((ev) => {
      if (ev.event === 'GUEST_PANICKED') {
        stoppedState = 'guest-panicked';
        endOnFailure(QMP_STOP_WAIT_MS);
      } else if (ev.event === 'STOP') {
        // STOP carries no reason; the run state says whether the VM can go on.
        client.execute<{ status?: string }>('query-status', undefined, 2000).then(
          (st) => {
            if (st?.status === 'internal-error' || st?.status === 'guest-panicked' || st?.status === 'shutdown') {
              stoppedState = st.status;
              if (st.status !== 'shutdown') endOnFailure(QMP_STOP_WAIT_MS);
            }
          },
          () => undefined,
        );
      }
    });
    // The greeting is the QMP mark (monitor up); the handshake runs in the background.
    void client.execute('query-status', undefined, 10_000).then(
      () => {
        timeline.qmpGreetingNs = client.greetingNs;
        opts.qmp?.onReady?.(client);
      },
      () => {
        timeline.qmpGreetingNs ??= client.greetingNs;
      },
    );
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
  if (startupMs > 0) {
    startupTimer = setTimeout(() => {
      if (guestRan) return;
      neverRan = {};
      // Where QMP answers, its run state says what QEMU was doing (e.g. prelaunch, paused).
      const ask = qmp
        ? qmp.execute<{ status?: string; running?: boolean }>('query-status', undefined, 1000).catch(() => undefined)
        : Promise.resolve(undefined);
      void ask.then((st) => {
        if (st?.status) neverRan!.qmpStatus = `${st.status}${st.running === false ? ' (not running)' : ''}`;
        kill();
      });
    }, startupMs);
  }
  // Polled rather than re-armed per chunk: a chatty guest writes thousands of chunks a second.
  const silenceMs = opts.silenceMs ?? 0;
  const silenceTimer =
    silenceMs > 0
      ? setInterval(
          () => {
            if (!lastConsoleMs || stalledMs !== undefined) return;
            const quiet = performance.now() - lastConsoleMs;
            if (quiet < silenceMs) return;
            stalledMs = quiet;
            kill();
          },
          Math.min(5000, Math.max(50, silenceMs / 4)),
        )
      : undefined;
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
    if (startupTimer) clearTimeout(startupTimer);
    if (silenceTimer) clearInterval(silenceTimer);
    if (failureTimer) clearTimeout(failureTimer);
    opts.signal?.removeEventListener('abort', onAbort);
    // QEMU may have left helpers in its group; the group goes whatever happened.
    kill();
    untrackProcessGroup(pid);
  }
  handleLines(parser.end(), timeline.exitNs);
  timeline.qmpGreetingNs ??= qmp?.greetingNs;

  if (result.code === 'ENOENT') {
    stderr += `\nkvmbench: cannot execute ${binary}: not found`;
  }
  const exitCode = typeof result.exitCode === 'number' ? result.exitCode : null;
  const signal = result.signal ?? null;
  const kvmFailure = parseKvmFailure(stderr);
  const killedByUs = timedOut || aborted || failureKill || neverRan !== undefined || stalledMs !== undefined;
  let mapped =
    stoppedEarly && !killedByUs
      ? { status: 'pass' as GuestOutcome, reason: undefined as string | undefined }
      : mapExitStatus({
          exitCode: killedByUs ? null : exitCode,
          signal,
          timedOut,
          aborted,
          endPass: transcript.end?.status === 'pass',
          guestReason: verdictReason(transcript),
        });
  if (kvmFailure && !aborted) {
    mapped = { status: 'error', reason: `${describeKvmFailure(kvmFailure)}; QEMU stopped the VM and was ended by kvmbench` };
  } else if (neverRan && !aborted && !timedOut) {
    mapped = { status: 'error', reason: neverRanReason(startupMs, neverRan.qmpStatus) };
  } else if (stalledMs !== undefined && !aborted && !timedOut) {
    mapped = {
      status: 'error',
      reason: `the guest printed nothing for ${(stalledMs / 1000).toFixed(0)} s (progress budget ${(silenceMs / 1000).toFixed(0)} s): it stopped making progress and was ended by kvmbench`,
    };
  } else if (failureKill && stoppedState) {
    mapped = { status: 'error', reason: `the VM stopped in state ${stoppedState} (QMP) and was ended by kvmbench` };
  }

  let reason = mapped.reason;
  if (mapped.status === 'error') {
    // A guest that never ran stopped nowhere: the reason says so already.
    const where = neverRan ? '' : transcript.whereStopped(parser.totalBytes);
    const tail = transcript.tailText(6);
    // A KVM report's first lines say what happened; its register dump goes to the log.
    const err = kvmFailure ? '' : stderr.trim().split('\n').slice(-3).join(' | ');
    reason =
      `${mapped.reason}${where ? `; ${where}` : ''}` +
      (tail ? `; last console lines:\n${tail}` : '') +
      (err ? `\nQEMU stderr: ${err}` : '');
  }

  const startFailure = startFailureOf({
    binary,
    ...(result.code === 'ENOENT' || result.code === 'EACCES' ? { execError: result.message ?? result.code } : {}),
    ...(neverRan && !aborted && !timedOut ? { neverRanMs: startupMs } : {}),
    guestRan,
    killedByUs,
    exitCode,
    signal,
    stderr,
    ...(kvmFailure ? { kvmFailure: describeKvmFailure(kvmFailure) } : {}),
  });
  scope?.onLaunch?.({ binary, accel: cfg.accel, ...(startFailure ? { startFailure } : {}) });

  if (log) {
    log.write(
      `\n# kvmbench: QEMU exit status ${exitCode ?? 'none'}${signal ? ` signal ${signal}` : ''}` +
        `${timedOut ? ' (killed at deadline)' : ''}${aborted ? ' (aborted)' : ''}${failureKill ? ' (ended after the VM stopped)' : ''}${neverRan ? ' (ended at the startup budget)' : ''}${stalledMs !== undefined ? ' (ended at the progress budget)' : ''} → ${mapped.status}${reason ? `: ${reason.split('\n')[0]}` : ''}\n`,
    );
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
    ...(kvmFailure ? { kvmFailure } : {}),
    ...(stoppedState ? { stoppedState } : {}),
    ...(startFailure ? { startFailure } : {}),
  };
}

export { liveQemuPids } from './processes.js';
