/**
 * The host snapshot format: a captured host tree, so the doctor and the fingerprint can be
 * tested against hosts we do not have (bare-metal Intel, BIOS-disabled AMD, containers,
 * paravirtualized KVM), and a user's host replayed for a bug report. Replay is
 * src/host/fixture-reader.ts (FixtureHostReader), recording src/host/snapshot-record.ts.
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
 * what the doctor may see. SnapshotRecorder writes this format from a live host, redacted
 * (src/host/redact.ts) when it is a snapshot meant to leave the machine (`doctor --save-host`).
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, posix } from 'node:path';
import type { RawRunRecord } from '../kvm/bench.js';
import { KVM_DEVICE, type KvmProbeResult, type KvmProbeStage } from '../kvm/probe.js';
import type { QmpAnswer } from './actions.js';
import type { CpuidRegs, HostIdentity, HostStat } from './reader.js';

export const FIXTURE_META_FILES = [
  'host.json',
  'probe.json',
  'stat.json',
  'commands.json',
  'identity.json',
  'msr.json',
  'cpuid.json',
  'qmp.json',
  'dirs.json',
  'realpath.json',
  'rawrun.json',
] as const;
export const KEEP = '.keep'; // keeps otherwise-empty directories in git; never listed

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

export function cpuidKey(leaf: number, subleaf: number): string {
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

export function readJson<T>(file: string, fallback: T): T {
  if (!existsSync(file)) return fallback;
  return JSON.parse(readFileSync(file, 'utf8')) as T;
}

export function hostPath(path: string): string {
  const p = posix.normalize(path);
  if (!p.startsWith('/')) throw new Error(`fixture host paths are absolute, got ${path}`);
  return p;
}

/** What a SnapshotRecorder holds: everything the doctor read or asked, keyed as the tree stores it. */
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
  rawRun?: RawRunRecord;
  ident?: HostIdentity;
}

/**
 * Writes a recorded host as a tree in `dir` (created if needed); `redacted` lists what was taken
 * out first (src/host/redact.ts), recorded in host.json.
 */
export function writeSnapshot(
  dir: string,
  rec: RecordedHost,
  description: string,
  opts: { redacted?: readonly string[]; source?: string } = {},
): void {
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
  put(
    'host.json',
    json({
      description,
      source: opts.source ?? 'captured with `kvmbench doctor --capture`',
      capturedAt: new Date().toISOString(),
      ...(opts.redacted ? { redacted: opts.redacted } : {}),
    }),
  );
  if (Object.keys(stats).length) put('stat.json', json(stats));
  if (rec.commands.size) put('commands.json', json(Object.fromEntries(rec.commands)));
  if (rec.msrs.size) put('msr.json', json(Object.fromEntries(rec.msrs)));
  if (rec.cpuids.size) put('cpuid.json', json(Object.fromEntries(rec.cpuids)));
  if (rec.qmps.size) put('qmp.json', json(Object.fromEntries(rec.qmps)));
  if (rec.listings.size) put('dirs.json', json(Object.fromEntries(rec.listings)));
  if (rec.realpaths.size) put('realpath.json', json(Object.fromEntries(rec.realpaths)));
  if (rec.probe) {
    const { stage, device, errno, apiVersion, capabilities, elapsedMs } = rec.probe;
    put(
      'probe.json',
      json({
        stage,
        ...(device !== KVM_DEVICE ? { device } : {}),
        ...(errno ? { errno } : {}),
        ...(apiVersion !== undefined ? { apiVersion } : {}),
        capabilities,
        ...(elapsedMs !== undefined ? { elapsedMs } : {}),
      }),
    );
  }
  if (rec.rawRun) put('rawrun.json', json(rec.rawRun));
  if (rec.ident) put('identity.json', json(rec.ident));
}
