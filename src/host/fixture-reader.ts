/**
 * Replay of a host snapshot (the format: src/host/snapshot-format.ts): FixtureHostReader reads a
 * captured host tree as a HostReader, and its `actions` answer QMP queries and the raw VM run
 * from what the tree recorded, so the doctor runs against it as against the host it came from.
 */
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join, normalize, posix } from 'node:path';
import type { RawRunRecord } from '../kvm/bench.js';
import { explainProbe, KVM_DEVICE, type KvmProbeResult } from '../kvm/probe.js';
import { qmpQueryKey, type ExaminedHost, type HostActions, type QmpAnswer, type QmpQuery } from './actions.js';
import type { CommandResult, CpuidRegs, HostIdentity, HostReader, HostStat, RunOptions } from './reader.js';
import {
  FIXTURE_META_FILES,
  KEEP,
  cpuidKey,
  hostPath,
  readJson,
  type FixtureCommand,
  type FixtureCpuid,
  type FixtureProbe,
  type FixtureQmp,
  type FixtureStat,
} from './snapshot-format.js';

/** A snapshot is both what the doctor reads and what its actions answered: it is an ExaminedHost itself. */
export class FixtureHostReader implements HostReader, ExaminedHost {
  readonly source: string;
  readonly actions: HostActions = {
    qmpQuery: (q) => this.qmpQuery(q),
    runRawGuest: (device) => this.runRawGuest(device),
  };
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

  get reader(): HostReader {
    return this;
  }

  private async qmpQuery(q: QmpQuery): Promise<QmpAnswer> {
    // Like an unlisted command: a query the tree did not record reads as QEMU not found.
    const a = this.qmps[qmpQueryKey(q)];
    if (!a)
      return {
        accel: q.accel,
        answered: false,
        replies: [],
        notFound: true,
        error: 'QEMU not found (no answer recorded in this host tree)',
        durationMs: 0,
      };
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

  private async runRawGuest(device: string = KVM_DEVICE): Promise<RawRunRecord | undefined> {
    return this.rawRun ? { ...this.rawRun, device } : undefined;
  }

  identity(): HostIdentity {
    return { ...this.ident, env: { ...this.ident.env } };
  }
}
