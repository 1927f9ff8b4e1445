/**
 * Recording of a host snapshot (the format: src/host/snapshot-format.ts; replay:
 * src/host/fixture-reader.ts): `kvmbench doctor --save-host` (redacted) and `--capture`.
 */
import type { RawRunRecord } from '../kvm/bench.js';
import type { KvmProbeResult } from '../kvm/probe.js';
import { qmpQueryKey, type ExaminedHost, type HostActions } from './actions.js';
import type { CommandResult, CpuidRegs, HostIdentity, HostReader, HostStat, RunOptions } from './reader.js';
import { REDACTED_ITEMS, redactSnapshot, type RedactOptions } from './redact.js';
import {
  cpuidKey,
  hostPath,
  writeSnapshot,
  type FixtureCommand,
  type FixtureCpuid,
  type FixtureQmp,
  type RecordedHost,
} from './snapshot-format.js';

/**
 * Wraps a host (a live reader and the live actions, or a snapshot) and remembers everything read
 * and asked through it, then writes it out as a host tree (src/host/snapshot-format.ts): running
 * the doctor through this captures exactly what the doctor looks at.
 */
export class RecordingHostReader implements HostReader, ExaminedHost {
  readonly source: string;
  readonly actions: HostActions = {
    qmpQuery: async (q) => {
      const a = await this.inner.actions.qmpQuery(q);
      const { accel: _accel, durationMs: _ms, ...stored } = a;
      this.qmps.set(qmpQueryKey(q), stored);
      return a;
    },
    runRawGuest: async (device) => {
      this.rawRun = await this.inner.actions.runRawGuest(device);
      return this.rawRun;
    },
  };
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

  constructor(private readonly inner: ExaminedHost) {
    this.source = `recording:${inner.reader.source}`;
  }

  get reader(): HostReader {
    return this;
  }

  async readText(path: string): Promise<string | undefined> {
    return (await this.readFile(path))?.toString('utf8');
  }

  async readFile(path: string): Promise<Buffer | undefined> {
    const b = await this.inner.reader.readFile(path);
    if (b) this.files.set(hostPath(path), b);
    return b;
  }

  async readdir(path: string): Promise<string[] | undefined> {
    const names = await this.inner.reader.readdir(path);
    if (names) this.listings.set(hostPath(path), names);
    return names;
  }

  async exists(path: string): Promise<boolean> {
    return (await this.stat(path)) !== undefined;
  }

  async stat(path: string): Promise<HostStat | undefined> {
    const s = await this.inner.reader.stat(path);
    if (s) this.stats.set(hostPath(path), s);
    return s;
  }

  async realpath(path: string): Promise<string | undefined> {
    const r = await this.inner.reader.realpath(path);
    if (r && r !== hostPath(path)) this.realpaths.set(hostPath(path), r);
    return r;
  }

  async run(argv: string[], opts?: RunOptions): Promise<CommandResult> {
    const r = await this.inner.reader.run(argv, opts);
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
    const v = await this.inner.reader.readMsr(cpu, msr);
    if (v !== undefined) this.msrs.set(`0x${msr.toString(16)}`, `0x${v.toString(16)}`);
    return v;
  }

  async readCpuid(cpu: number, leaf: number, subleaf = 0): Promise<CpuidRegs | undefined> {
    const r = await this.inner.reader.readCpuid(cpu, leaf, subleaf);
    const hex = (x: number): string => `0x${(x >>> 0).toString(16).padStart(8, '0')}`;
    if (r) this.cpuids.set(cpuidKey(leaf, subleaf), { eax: hex(r.eax), ebx: hex(r.ebx), ecx: hex(r.ecx), edx: hex(r.edx) });
    return r;
  }

  probeKvm(device?: string): KvmProbeResult {
    this.probe = this.inner.reader.probeKvm(device);
    return this.probe;
  }

  identity(): HostIdentity {
    this.ident = this.inner.reader.identity();
    return this.ident;
  }

  /** Everything read so far, as it will be written. */
  recorded(): RecordedHost {
    return {
      files: this.files,
      listings: this.listings,
      stats: this.stats,
      commands: this.commands,
      msrs: this.msrs,
      cpuids: this.cpuids,
      qmps: this.qmps,
      realpaths: this.realpaths,
      ...(this.probe ? { probe: this.probe } : {}),
      ...(this.rawRun ? { rawRun: this.rawRun } : {}),
      ...(this.ident ? { ident: this.ident } : {}),
    };
  }

  /**
   * Write the captured tree to `dir` (created if needed). With `redact`, identifying values
   * are removed first (see src/host/redact.ts): what `doctor --save-host` writes for a bug report.
   */
  save(dir: string, description: string, opts: { redact?: RedactOptions; source?: string } = {}): void {
    const rec = opts.redact ? redactSnapshot(this.recorded(), opts.redact) : this.recorded();
    writeSnapshot(dir, rec, description, {
      ...(opts.redact ? { redacted: REDACTED_ITEMS } : {}),
      ...(opts.source ? { source: opts.source } : {}),
    });
  }
}
