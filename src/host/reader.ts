/**
 * The one seam for everything kvmbench reads from the host: files under /proc, /sys, /dev
 * and /etc, directory listings, device node metadata, a few commands (argv, never a shell,
 * always with a timeout), MSRs and the functional KVM probe. The doctor and the host
 * fingerprint read only through a HostReader, so they run unchanged against a captured
 * host tree (FixtureHostReader) in tests and live (LiveHostReader) everywhere else.
 * A reader only reads: starting QEMU or a raw VM for a check is a HostAction (actions.ts),
 * which the composition root passes in.
 */
import { execFile } from 'node:child_process';
import { open, readdir, readFile, realpath, stat } from 'node:fs/promises';
import { userInfo } from 'node:os';
import { probeKvm, type KvmProbeResult } from '../kvm/probe.js';

export type HostFileType = 'file' | 'dir' | 'char' | 'block' | 'symlink' | 'fifo' | 'socket' | 'other';

export interface HostStat {
  type: HostFileType;
  /** Permission bits only (e.g. 0o660). */
  mode: number;
  uid: number;
  gid: number;
  /** `major:minor` for device nodes. */
  rdev?: string;
}

export interface CommandResult {
  argv: string[];
  /** Exit status; null when killed (timeout) or never started. */
  exitCode: number | null;
  stdout: string;
  stderr: string;
  /** The program was not found on PATH (ENOENT from exec). */
  notFound?: boolean;
  timedOut?: boolean;
  durationMs: number;
}

export interface RunOptions {
  /** Kill the command after this long (default 2000 ms): a doctor must never hang. */
  timeoutMs?: number;
}

/** Who is asking: decides EACCES explanations and whether MSRs can be read. */
export interface HostIdentity {
  uid: number;
  gid: number;
  groups: number[];
  user?: string;
  /** The few environment variables that tell containers and WSL apart. */
  env: Record<string, string>;
}

/** The four registers of one CPUID leaf. */
export interface CpuidRegs {
  eax: number;
  ebx: number;
  ecx: number;
  edx: number;
}

export interface HostReader {
  /** `live` or `fixture:<name>`; shown in evidence so a reader knows what was examined. */
  readonly source: string;
  /** File contents as UTF-8, or undefined when absent or unreadable (never throws). */
  readText(path: string): Promise<string | undefined>;
  readFile(path: string): Promise<Buffer | undefined>;
  /** Entry names, sorted; undefined when the directory is absent or unreadable. */
  readdir(path: string): Promise<string[] | undefined>;
  exists(path: string): Promise<boolean>;
  /** Metadata of the path (symlinks followed), undefined when absent. */
  stat(path: string): Promise<HostStat | undefined>;
  realpath(path: string): Promise<string | undefined>;
  /** Run argv[0] with arguments (no shell), LC_ALL=C, with a timeout; never throws. */
  run(argv: string[], opts?: RunOptions): Promise<CommandResult>;
  /** Read an MSR through /dev/cpu/<cpu>/msr (root and the msr module needed); undefined otherwise. */
  readMsr(cpu: number, msr: number): Promise<bigint | undefined>;
  /** One CPUID leaf of a CPU through /dev/cpu/<cpu>/cpuid (root and the cpuid module needed); undefined otherwise. */
  readCpuid(cpu: number, leaf: number, subleaf?: number): Promise<CpuidRegs | undefined>;
  /** The functional /dev/kvm probe (src/kvm/probe.ts). */
  probeKvm(device?: string): KvmProbeResult;
  identity(): HostIdentity;
}

/** Environment variables worth recording (container runtimes, WSL); nothing else leaves the process. */
export const IDENTITY_ENV_KEYS = ['container', 'WSL_DISTRO_NAME', 'WSL_INTEROP', 'KUBERNETES_SERVICE_HOST'] as const;

function fileType(s: import('node:fs').Stats): HostFileType {
  if (s.isFile()) return 'file';
  if (s.isDirectory()) return 'dir';
  if (s.isCharacterDevice()) return 'char';
  if (s.isBlockDevice()) return 'block';
  if (s.isSymbolicLink()) return 'symlink';
  if (s.isFIFO()) return 'fifo';
  if (s.isSocket()) return 'socket';
  return 'other';
}

export class LiveHostReader implements HostReader {
  readonly source = 'live';

  async readText(path: string): Promise<string | undefined> {
    try {
      return await readFile(path, 'utf8');
    } catch {
      return undefined;
    }
  }

  async readFile(path: string): Promise<Buffer | undefined> {
    try {
      return await readFile(path);
    } catch {
      return undefined;
    }
  }

  async readdir(path: string): Promise<string[] | undefined> {
    try {
      return (await readdir(path)).sort();
    } catch {
      return undefined;
    }
  }

  async exists(path: string): Promise<boolean> {
    return (await this.stat(path)) !== undefined;
  }

  async stat(path: string): Promise<HostStat | undefined> {
    try {
      const s = await stat(path);
      const st: HostStat = { type: fileType(s), mode: s.mode & 0o7777, uid: s.uid, gid: s.gid };
      if (st.type === 'char' || st.type === 'block')
        st.rdev = `${Math.floor(s.rdev / 256) & 0xfff}:${(s.rdev & 0xff) | ((s.rdev >> 12) & 0xfff00)}`;
      return st;
    } catch {
      return undefined;
    }
  }

  async realpath(path: string): Promise<string | undefined> {
    try {
      return await realpath(path);
    } catch {
      return undefined;
    }
  }

  run(argv: string[], opts: RunOptions = {}): Promise<CommandResult> {
    const t0 = performance.now();
    const timeoutMs = opts.timeoutMs ?? 2000;
    return new Promise((resolve) => {
      execFile(
        argv[0]!,
        argv.slice(1),
        {
          timeout: timeoutMs,
          killSignal: 'SIGKILL',
          maxBuffer: 16 * 1024 * 1024,
          encoding: 'utf8',
          env: { ...process.env, LC_ALL: 'C' },
        },
        (err, stdout, stderr) => {
          const durationMs = Math.round(performance.now() - t0);
          const e = err as (NodeJS.ErrnoException & { killed?: boolean; code?: string | number }) | null;
          if (e && e.code === 'ENOENT') {
            resolve({ argv, exitCode: null, stdout: '', stderr: String(e.message), notFound: true, durationMs });
            return;
          }
          const timedOut = Boolean(e?.killed) && durationMs >= timeoutMs - 5;
          const exitCode = e ? (typeof e.code === 'number' ? e.code : null) : 0;
          resolve({ argv, exitCode, stdout: stdout ?? '', stderr: stderr ?? '', ...(timedOut ? { timedOut } : {}), durationMs });
        },
      );
    });
  }

  async readMsr(cpu: number, msr: number): Promise<bigint | undefined> {
    // The msr driver maps the file offset to the MSR index; one 8-byte pread reads it.
    let fh: import('node:fs/promises').FileHandle | undefined;
    try {
      fh = await open(`/dev/cpu/${cpu}/msr`, 'r');
      const buf = Buffer.alloc(8);
      const { bytesRead } = await fh.read(buf, 0, 8, msr);
      return bytesRead === 8 ? buf.readBigUInt64LE(0) : undefined;
    } catch {
      return undefined;
    } finally {
      await fh?.close().catch(() => undefined);
    }
  }

  async readCpuid(cpu: number, leaf: number, subleaf = 0): Promise<CpuidRegs | undefined> {
    // The cpuid driver maps the file offset to the leaf (low 32 bits) and subleaf (high 32 bits).
    let fh: import('node:fs/promises').FileHandle | undefined;
    try {
      fh = await open(`/dev/cpu/${cpu}/cpuid`, 'r');
      const buf = Buffer.alloc(16);
      const { bytesRead } = await fh.read(buf, 0, 16, subleaf * 2 ** 32 + (leaf >>> 0));
      if (bytesRead !== 16) return undefined;
      return { eax: buf.readUInt32LE(0), ebx: buf.readUInt32LE(4), ecx: buf.readUInt32LE(8), edx: buf.readUInt32LE(12) };
    } catch {
      return undefined;
    } finally {
      await fh?.close().catch(() => undefined);
    }
  }

  probeKvm(device?: string): KvmProbeResult {
    return probeKvm(device);
  }

  identity(): HostIdentity {
    const env: Record<string, string> = {};
    for (const k of IDENTITY_ENV_KEYS) {
      const v = process.env[k];
      if (v !== undefined) env[k] = v;
    }
    let user: string | undefined;
    try {
      user = userInfo().username;
    } catch {
      user = undefined;
    }
    return {
      uid: process.getuid?.() ?? -1,
      gid: process.getgid?.() ?? -1,
      groups: process.getgroups?.() ?? [],
      ...(user ? { user } : {}),
      env,
    };
  }
}

let shared: LiveHostReader | undefined;

/**
 * The live host, one instance per process: facts are memoized per reader, so a run's
 * `runDoctor()` and `collectFingerprint()` share one QEMU and one dmesg run. Construct a
 * `new LiveHostReader()` where fresh readings are needed.
 */
export function liveHost(): HostReader {
  shared ??= new LiveHostReader();
  return shared;
}
