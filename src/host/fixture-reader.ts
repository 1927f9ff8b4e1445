/**
 * Captured host trees, so the doctor and the fingerprint can be tested against hosts we do
 * not have (bare-metal Intel, BIOS-disabled AMD, containers, paravirtualized KVM).
 *
 * A fixture is a directory that mirrors the host's paths (`proc/cpuinfo`,
 * `sys/module/kvm_intel/parameters/nested`...) plus a few JSON files for what a plain file
 * cannot hold:
 *   host.json      what the host is and whether it was captured or written by hand
 *   probe.json     the KVM probe outcome: {stage, errno?, apiVersion?, capabilities?}
 *   stat.json      {path: {type, mode: "0660", uid, gid, rdev?}} for device nodes and overrides
 *   commands.json  {"argv joined by spaces": {exitCode, stdout, stderr?, notFound?}}
 *   identity.json  {uid, gid, groups, user?, env}
 *   msr.json       {"0x3a": "0x5"} MSR values (any CPU)
 *   cpuid.json     {"0x8000001f": {eax, ebx, ecx, edx}} CPUID leaves (any CPU; "0x7.1" for subleaf 1)
 *   qmp.json       {"kvm: query-sev-capabilities": {answered, replies, error?}} QEMU's QMP answers
 *   dirs.json      {path: [entries]} listings recorded live (added to the tree's own entries)
 *   realpath.json  {path: resolved}
 *   rawrun.json    the raw VMM's guest run (src/kvm/bench.ts RawRunRecord); absent: not known
 * A missing file reads as absent, a missing command as not found: the fixture holds exactly
 * what the doctor may see. RecordingHostReader writes this format from a live host, redacted
 * (src/host/redact.ts) when it is a snapshot meant to leave the machine (`doctor --save-host`).
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, normalize, posix } from 'node:path';
import type { RawRunRecord } from '../kvm/bench.js';
import { explainProbe, KVM_DEVICE, type KvmProbeResult, type KvmProbeStage } from '../kvm/probe.js';
import {
  qmpQueryKey,
  type CommandResult, type CpuidRegs, type HostIdentity, type HostReader, type HostStat, type QmpAnswer, type QmpQuery, type RunOptions,
} from './reader.js';
import { REDACTED_ITEMS, redactSnapshot, type RedactOptions } from './redact.js';

export const FIXTURE_META_FILES = [
  'host.json', 'probe.json', 'stat.json', 'commands.json', 'identity.json', 'msr.json', 'cpuid.json', 'qmp.json', 'dirs.json', 'realpath.json', 'rawrun.json',
] as const;
const KEEP = '.keep'; // keeps otherwise-empty directories in git; never listed

export interface FixtureStat {
  type: HostStat['type'];
  /** Octal string ("0660") or number. */
  mode: string | number;
  uid: number;
  gid: number;
  rdev?: string;
}

export interface FixtureCommand {
  exitCode: number | null;
  stdout?: string;
  stderr?: string;
  notFound?: boolean;
  timedOut?: boolean;
}

/** A CPUID leaf as stored: hex strings (or numbers). */
export type FixtureCpuid = Record<keyof CpuidRegs, string | number>;

/** A QMP answer as stored (QmpAnswer without its timing). */
export type FixtureQmp = Omit<QmpAnswer, 'accel' | 'durationMs'>;

function cpuidKey(leaf: number, subleaf: number): string {
  return `0x${(leaf >>> 0).toString(16)}${subleaf ? `.${subleaf}` : ''}`;
}

export interface FixtureProbe {
  stage: KvmProbeStage;
  /** The device probed, when not /dev/kvm (KVMBENCH_KVM_DEVICE at capture time). */
  device?: string;
  errno?: string;
  apiVersion?: number;
  capabilities?: Record<string, number>;
  elapsedMs?: number;
}

function readJson<T>(file: string, fallback: T): T {
  if (!existsSync(file)) return fallback;
  return JSON.parse(readFileSync(file, 'utf8')) as T;
}

function hostPath(path: string): string {
  const p = posix.normalize(path);
  if (!p.startsWith('/')) throw new Error(`fixture host paths are absolute, got ${path}`);
  return p;
}

export class FixtureHostReader implements HostReader {
  readonly source: string;
  private readonly stats: Record<string, FixtureStat>;
  private readonly commands: Record<string, FixtureCommand>;
  private readonly msrs: Record<string, string>;
  private readonly cpuids: Record<string, FixtureCpuid>;
  private readonly qmps: Record<string, FixtureQmp>;
  private readonly dirs: Record<string, string[]>;
  private readonly realpaths: Record<string, string>;
  private readonly probe: FixtureProbe | undefined;
  private readonly rawRun: RawRunRecord | undefined;
  private readonly ident: HostIdentity;

  constructor(readonly dir: string) {
    if (!existsSync(dir)) throw new Error(`no fixture host tree at ${dir}`);
    this.source = `fixture:${dir.split('/').filter(Boolean).pop()}`;
    this.stats = readJson(join(dir, 'stat.json'), {});
    this.commands = readJson(join(dir, 'commands.json'), {});
    this.msrs = readJson(join(dir, 'msr.json'), {});
    this.cpuids = readJson(join(dir, 'cpuid.json'), {});
    this.qmps = readJson(join(dir, 'qmp.json'), {});
    this.dirs = readJson(join(dir, 'dirs.json'), {});
    this.realpaths = readJson(join(dir, 'realpath.json'), {});
    this.probe = readJson<FixtureProbe | undefined>(join(dir, 'probe.json'), undefined);
    this.rawRun = readJson<RawRunRecord | undefined>(join(dir, 'rawrun.json'), undefined);
    this.ident = readJson<HostIdentity>(join(dir, 'identity.json'), { uid: 0, gid: 0, groups: [0], user: 'root', env: {} });
  }

  private local(path: string): string {
    // normalize() has already removed '..' above the root, so this cannot leave the fixture.
    return join(this.dir, normalize(hostPath(path)));
  }

  private isMeta(path: string): boolean {
    return (FIXTURE_META_FILES as readonly string[]).includes(hostPath(path).slice(1));
  }

  async readText(path: string): Promise<string | undefined> {
    return (await this.readFile(path))?.toString('utf8');
  }

  async readFile(path: string): Promise<Buffer | undefined> {
    if (this.isMeta(path)) return undefined;
    try {
      return readFileSync(this.local(path));
    } catch {
      return undefined;
    }
  }

  async readdir(path: string): Promise<string[] | undefined> {
    const p = hostPath(path);
    const names = new Set<string>(this.dirs[p] ?? []);
    let found = p in this.dirs;
    try {
      for (const n of readdirSync(this.local(p))) {
        if (n === KEEP || (p === '/' && (FIXTURE_META_FILES as readonly string[]).includes(n))) continue;
        names.add(n);
      }
      found = true;
    } catch {
      // not in the tree; stat.json may still hold children
    }
    const prefix = p === '/' ? '/' : `${p}/`;
    for (const s of Object.keys(this.stats)) {
      if (s.startsWith(prefix)) {
        names.add(s.slice(prefix.length).split('/')[0]!);
        found = true;
      }
    }
    return found ? [...names].sort() : undefined;
  }

  async exists(path: string): Promise<boolean> {
    return (await this.stat(path)) !== undefined;
  }

  async stat(path: string): Promise<HostStat | undefined> {
    const p = hostPath(path);
    const s = this.stats[p];
    if (s) {
      const mode = typeof s.mode === 'string' ? parseInt(s.mode, 8) : s.mode;
      return { type: s.type, mode, uid: s.uid, gid: s.gid, ...(s.rdev ? { rdev: s.rdev } : {}) };
    }
    if (this.isMeta(p)) return undefined;
    try {
      const st = statSync(this.local(p));
      return { type: st.isDirectory() ? 'dir' : 'file', mode: st.isDirectory() ? 0o755 : 0o644, uid: 0, gid: 0 };
    } catch {
      // listed by a parent's recorded listing, or a directory implied by stat.json children
      const parent = posix.dirname(p);
      if (this.dirs[parent]?.includes(posix.basename(p))) return { type: 'dir', mode: 0o755, uid: 0, gid: 0 };
      if (Object.keys(this.stats).some((k) => k.startsWith(`${p}/`))) return { type: 'dir', mode: 0o755, uid: 0, gid: 0 };
      return undefined;
    }
  }

  async realpath(path: string): Promise<string | undefined> {
    const p = hostPath(path);
    if (this.realpaths[p]) return this.realpaths[p];
    return (await this.exists(p)) ? p : undefined;
  }

  async run(argv: string[], _opts: RunOptions = {}): Promise<CommandResult> {
    const c = this.commands[argv.join(' ')];
    if (!c) return { argv, exitCode: null, stdout: '', stderr: `${argv[0]}: not found (fixture)`, notFound: true, durationMs: 0 };
    return {
      argv,
      exitCode: c.exitCode,
      stdout: c.stdout ?? '',
      stderr: c.stderr ?? '',
      ...(c.notFound ? { notFound: true } : {}),
      ...(c.timedOut ? { timedOut: true } : {}),
      durationMs: 0,
    };
  }

  async readMsr(_cpu: number, msr: number): Promise<bigint | undefined> {
    const v = this.msrs[`0x${msr.toString(16)}`];
    return v === undefined ? undefined : BigInt(v);
  }

  async readCpuid(_cpu: number, leaf: number, subleaf = 0): Promise<CpuidRegs | undefined> {
    const v = this.cpuids[cpuidKey(leaf, subleaf)];
    if (!v) return undefined;
    const n = (x: string | number): number => Number(x) >>> 0;
    return { eax: n(v.eax), ebx: n(v.ebx), ecx: n(v.ecx), edx: n(v.edx) };
  }

  async qmpQuery(q: QmpQuery): Promise<QmpAnswer> {
    // Like an unlisted command: a query the tree did not record reads as QEMU not found.
    const a = this.qmps[qmpQueryKey(q)];
    if (!a) return { accel: q.accel, answered: false, replies: [], notFound: true, error: 'QEMU not found (no answer recorded in this host tree)', durationMs: 0 };
    return { ...a, accel: q.accel, replies: a.replies ?? [], durationMs: 0 };
  }

  probeKvm(asked?: string): KvmProbeResult {
    // Without probe.json the node's absence decides: the live probe would say ENOENT too.
    const p: FixtureProbe = this.probe ?? { stage: 'open', errno: 'ENOENT' };
    const device = asked ?? p.device ?? KVM_DEVICE;
    const r: KvmProbeResult = { usable: p.stage === 'ok', device, stage: p.stage, capabilities: p.capabilities ?? {} };
    if (p.errno) r.errno = p.errno;
    if (p.apiVersion !== undefined) r.apiVersion = p.apiVersion;
    const why = explainProbe(p.stage, p.errno, device, p.apiVersion);
    if (why.reason) r.reason = why.reason;
    if (why.fix) r.fix = why.fix;
    r.elapsedMs = p.elapsedMs ?? 0;
    return r;
  }

  async runRawGuest(device: string = KVM_DEVICE): Promise<RawRunRecord | undefined> {
    return this.rawRun ? { ...this.rawRun, device } : undefined;
  }

  identity(): HostIdentity {
    return { ...this.ident, env: { ...this.ident.env } };
  }
}

/** What a RecordingHostReader holds: everything the doctor read, keyed as the tree stores it. */
export interface RecordedHost {
  files: ReadonlyMap<string, Buffer>;
  listings: ReadonlyMap<string, string[]>;
  stats: ReadonlyMap<string, HostStat>;
  commands: ReadonlyMap<string, FixtureCommand>;
  msrs: ReadonlyMap<string, string>;
  cpuids: ReadonlyMap<string, FixtureCpuid>;
  qmps: ReadonlyMap<string, FixtureQmp>;
  realpaths: ReadonlyMap<string, string>;
  probe?: KvmProbeResult;
  ident?: HostIdentity;
}

/**
 * Wraps a live reader and remembers everything read through it, then writes it out as a
 * fixture tree: running the doctor through this captures exactly what the doctor looks at.
 */
export class RecordingHostReader implements HostReader {
  readonly source: string;
  private readonly files = new Map<string, Buffer>();
  private readonly listings = new Map<string, string[]>();
  private readonly stats = new Map<string, HostStat>();
  private readonly commands = new Map<string, FixtureCommand>();
  private readonly msrs = new Map<string, string>();
  private readonly cpuids = new Map<string, FixtureCpuid>();
  private readonly qmps = new Map<string, FixtureQmp>();
  private readonly realpaths = new Map<string, string>();
  private probe: KvmProbeResult | undefined;
  private rawRun: RawRunRecord | undefined;
  private ident: HostIdentity | undefined;

  constructor(private readonly inner: HostReader) {
    this.source = `recording:${inner.source}`;
  }

  async readText(path: string): Promise<string | undefined> {
    return (await this.readFile(path))?.toString('utf8');
  }

  async readFile(path: string): Promise<Buffer | undefined> {
    const b = await this.inner.readFile(path);
    if (b) this.files.set(hostPath(path), b);
    return b;
  }

  async readdir(path: string): Promise<string[] | undefined> {
    const names = await this.inner.readdir(path);
    if (names) this.listings.set(hostPath(path), names);
    return names;
  }

  async exists(path: string): Promise<boolean> {
    return (await this.stat(path)) !== undefined;
  }

  async stat(path: string): Promise<HostStat | undefined> {
    const s = await this.inner.stat(path);
    if (s) this.stats.set(hostPath(path), s);
    return s;
  }

  async realpath(path: string): Promise<string | undefined> {
    const r = await this.inner.realpath(path);
    if (r && r !== hostPath(path)) this.realpaths.set(hostPath(path), r);
    return r;
  }

  async run(argv: string[], opts?: RunOptions): Promise<CommandResult> {
    const r = await this.inner.run(argv, opts);
    this.commands.set(argv.join(' '), {
      exitCode: r.exitCode,
      stdout: r.stdout,
      ...(r.stderr ? { stderr: r.stderr } : {}),
      ...(r.notFound ? { notFound: true } : {}),
      ...(r.timedOut ? { timedOut: true } : {}),
    });
    return r;
  }

  async readMsr(cpu: number, msr: number): Promise<bigint | undefined> {
    const v = await this.inner.readMsr(cpu, msr);
    if (v !== undefined) this.msrs.set(`0x${msr.toString(16)}`, `0x${v.toString(16)}`);
    return v;
  }

  async readCpuid(cpu: number, leaf: number, subleaf = 0): Promise<CpuidRegs | undefined> {
    const r = await this.inner.readCpuid(cpu, leaf, subleaf);
    const hex = (x: number): string => `0x${(x >>> 0).toString(16).padStart(8, '0')}`;
    if (r) this.cpuids.set(cpuidKey(leaf, subleaf), { eax: hex(r.eax), ebx: hex(r.ebx), ecx: hex(r.ecx), edx: hex(r.edx) });
    return r;
  }

  async qmpQuery(q: QmpQuery): Promise<QmpAnswer> {
    const a = await this.inner.qmpQuery(q);
    const { accel: _accel, durationMs: _ms, ...stored } = a;
    this.qmps.set(qmpQueryKey(q), stored);
    return a;
  }

  probeKvm(device?: string): KvmProbeResult {
    this.probe = this.inner.probeKvm(device);
    return this.probe;
  }

  async runRawGuest(device?: string): Promise<RawRunRecord | undefined> {
    this.rawRun = await this.inner.runRawGuest(device);
    return this.rawRun;
  }

  identity(): HostIdentity {
    this.ident = this.inner.identity();
    return this.ident;
  }

  /** Everything read so far, as it will be written. */
  recorded(): RecordedHost {
    return {
      files: this.files, listings: this.listings, stats: this.stats, commands: this.commands, msrs: this.msrs,
      cpuids: this.cpuids, qmps: this.qmps, realpaths: this.realpaths,
      ...(this.probe ? { probe: this.probe } : {}), ...(this.ident ? { ident: this.ident } : {}),
    };
  }

  /**
   * Write the captured tree to `dir` (created if needed). With `redact`, identifying values
   * are removed first (see src/host/redact.ts): what `doctor --save-host` writes for a bug report.
   */
  save(dir: string, description: string, opts: { redact?: RedactOptions; source?: string } = {}): void {
    const rec = opts.redact ? redactSnapshot(this.recorded(), opts.redact) : this.recorded();
    mkdirSync(dir, { recursive: true });
    const put = (rel: string, data: string | Buffer): void => {
      const f = join(dir, rel);
      mkdirSync(dirname(f), { recursive: true });
      writeFileSync(f, data);
    };
    const json = (v: unknown): string => `${JSON.stringify(v, null, 2)}\n`;
    for (const [p, b] of rec.files) put(p.slice(1), b);
    const stats: Record<string, FixtureStat> = {};
    for (const [p, s] of rec.stats) {
      if (s.type === 'file' && rec.files.has(p)) continue; // the tree itself says it is a file
      if (s.type === 'dir') {
        // Plain directories become directories in the tree (a .keep holds empty ones in git).
        const d = join(dir, p.slice(1));
        mkdirSync(d, { recursive: true });
        if (readdirSync(d).length === 0) writeFileSync(join(d, KEEP), '');
        continue;
      }
      stats[p] = { type: s.type, mode: `0${s.mode.toString(8)}`, uid: s.uid, gid: s.gid, ...(s.rdev ? { rdev: s.rdev } : {}) };
    }
    for (const [p] of rec.listings) {
      const d = join(dir, p.slice(1));
      if (!existsSync(d)) mkdirSync(d, { recursive: true });
    }
    // Directories created for listings that turned out empty still need to survive git.
    for (const [p] of rec.listings) {
      const d = join(dir, p.slice(1));
      if (statSync(d).isDirectory() && readdirSync(d).length === 0) writeFileSync(join(d, KEEP), '');
    }
    put('host.json', json({
      description,
      source: opts.source ?? 'captured with `kvmbench doctor --capture`',
      capturedAt: new Date().toISOString(),
      ...(opts.redact ? { redacted: REDACTED_ITEMS } : {}),
    }));
    if (Object.keys(stats).length) put('stat.json', json(stats));
    if (rec.commands.size) put('commands.json', json(Object.fromEntries(rec.commands)));
    if (rec.msrs.size) put('msr.json', json(Object.fromEntries(rec.msrs)));
    if (rec.cpuids.size) put('cpuid.json', json(Object.fromEntries(rec.cpuids)));
    if (rec.qmps.size) put('qmp.json', json(Object.fromEntries(rec.qmps)));
    if (rec.listings.size) put('dirs.json', json(Object.fromEntries(rec.listings)));
    if (rec.realpaths.size) put('realpath.json', json(Object.fromEntries(rec.realpaths)));
    if (rec.probe) {
      const { stage, device, errno, apiVersion, capabilities, elapsedMs } = rec.probe;
      put('probe.json', json({ stage, ...(device !== KVM_DEVICE ? { device } : {}), ...(errno ? { errno } : {}), ...(apiVersion !== undefined ? { apiVersion } : {}), capabilities, ...(elapsedMs !== undefined ? { elapsedMs } : {}) }));
    }
    if (this.rawRun) put('rawrun.json', json(this.rawRun));
    if (rec.ident) put('identity.json', json(rec.ident));
  }
}
