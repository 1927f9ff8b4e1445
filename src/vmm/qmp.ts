/**
 * A minimal QMP client over one connected stream (a socketpair end QEMU takes as
 * `-chardev socket,fd=N` plus `-mon chardev=ID,mode=control`). It knows the wire
 * protocol (greeting, `qmp_capabilities`, commands matched by `id`, asynchronous
 * events) and nothing of cases. Commands never hang: each has a deadline, and a
 * closed stream rejects everything pending.
 */
import type { Duplex } from 'node:stream';

export interface QmpEvent {
  event: string;
  data?: Record<string, unknown>;
  /** When Node read the event (process.hrtime.bigint()). */
  atNs: bigint;
}

export class QmpError extends Error {
  constructor(
    readonly command: string,
    readonly qmpClass: string,
    desc: string,
  ) {
    super(`QMP ${command}: ${qmpClass}: ${desc}`);
  }
}

interface Pending {
  command: string;
  resolve(v: unknown): void;
  reject(e: Error): void;
  timer: NodeJS.Timeout;
}

const MAX_BUFFER = 4 * 1024 * 1024;

export class QmpClient {
  /** Host time at which QEMU's greeting arrived: its monitor is up. */
  greetingNs?: bigint;
  version?: string;
  private buf = '';
  private nextId = 1;
  private readonly pending = new Map<string, Pending>();
  private readonly eventListeners: Array<(e: QmpEvent) => void> = [];
  private closed = false;
  private readonly ready: Promise<void>;
  private resolveGreeting!: () => void;
  private rejectGreeting!: (e: Error) => void;

  constructor(private readonly stream: Duplex) {
    const greeted = new Promise<void>((res, rej) => {
      this.resolveGreeting = res;
      this.rejectGreeting = rej;
    });
    greeted.catch(() => undefined);
    this.ready = greeted.then(() => this.send('qmp_capabilities', undefined, 5000)).then(() => undefined);
    this.ready.catch(() => undefined);
    stream.on('data', (chunk: Buffer) => this.onData(chunk, process.hrtime.bigint()));
    stream.on('error', () => this.shutdown('QMP stream error'));
    stream.on('close', () => this.shutdown('QEMU closed its monitor'));
    stream.on('end', () => this.shutdown('QEMU closed its monitor'));
  }

  onEvent(listener: (e: QmpEvent) => void): void {
    this.eventListeners.push(listener);
  }

  /** Runs a command once the capabilities handshake is done; rejects on error, close or deadline. */
  async execute<T = unknown>(command: string, args?: Record<string, unknown>, timeoutMs = 5000): Promise<T> {
    await this.ready;
    return (await this.send(command, args, timeoutMs)) as T;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  private send(command: string, args: Record<string, unknown> | undefined, timeoutMs: number): Promise<unknown> {
    if (this.closed) return Promise.reject(new Error(`QMP ${command}: monitor closed`));
    const id = `kvmb-${this.nextId++}`;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`QMP ${command}: no answer within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, { command, resolve, reject, timer });
      this.stream.write(`${JSON.stringify({ execute: command, ...(args ? { arguments: args } : {}), id })}\r\n`);
    });
  }

  private onData(chunk: Buffer, atNs: bigint): void {
    this.buf += chunk.toString('utf8');
    if (this.buf.length > MAX_BUFFER) {
      this.shutdown('QMP message larger than 4 MiB');
      return;
    }
    let nl: number;
    while ((nl = this.buf.indexOf('\n')) >= 0) {
      const text = this.buf.slice(0, nl).trim();
      this.buf = this.buf.slice(nl + 1);
      if (text) this.onMessage(text, atNs);
    }
  }

  private onMessage(text: string, atNs: bigint): void {
    let msg: Record<string, unknown>;
    try {
      msg = JSON.parse(text) as Record<string, unknown>;
    } catch {
      return; // not JSON: nothing a QMP server sends; ignore rather than fail the launch
    }
    if (msg.QMP) {
      this.greetingNs ??= atNs;
      const v = (msg.QMP as { version?: { qemu?: { major?: number; minor?: number; micro?: number } } }).version?.qemu;
      if (v) this.version = `${v.major}.${v.minor}.${v.micro}`;
      this.resolveGreeting();
      return;
    }
    if (typeof msg.event === 'string') {
      const ev: QmpEvent = { event: msg.event, ...(msg.data ? { data: msg.data as Record<string, unknown> } : {}), atNs };
      for (const l of this.eventListeners) l(ev);
      return;
    }
    const id = typeof msg.id === 'string' ? msg.id : undefined;
    const p = id ? this.pending.get(id) : undefined;
    if (!p) return;
    this.pending.delete(id!);
    clearTimeout(p.timer);
    if ('error' in msg) {
      const e = msg.error as { class?: string; desc?: string };
      p.reject(new QmpError(p.command, e.class ?? 'Error', e.desc ?? 'unknown error'));
    } else p.resolve(msg.return);
  }

  private shutdown(why: string): void {
    if (this.closed) return;
    this.closed = true;
    this.rejectGreeting(new Error(why));
    for (const [id, p] of this.pending) {
      clearTimeout(p.timer);
      p.reject(new Error(`QMP ${p.command}: ${why}`));
      this.pending.delete(id);
    }
  }
}

/** One vCPU's KVM statistics from `query-stats` (numbers only; histograms are dropped). */
export type VcpuStats = Record<string, number>;

/**
 * The vCPUs' KVM statistics (QEMU 7.1+, Linux 5.14+ binary stats): `exits`, `io_exits`,
 * `mmio_exits`, `halt_exits`, `insn_emulation`, ... per vCPU, in vCPU order. Undefined when
 * QEMU or the kernel cannot answer (older versions, TCG): callers say so, never invent.
 */
export async function queryVcpuStats(qmp: QmpClient, timeoutMs = 3000): Promise<VcpuStats[] | undefined> {
  try {
    const r = await qmp.execute<
      Array<{ provider?: string; 'qom-path'?: string; stats?: Array<{ name: string; value: unknown }> }>
    >('query-stats', { target: 'vcpu', providers: [{ provider: 'kvm' }] }, timeoutMs);
    if (!Array.isArray(r) || r.length === 0) return undefined;
    return r
      .filter((x) => x.provider === 'kvm' && Array.isArray(x.stats))
      .sort((a, b) => String(a['qom-path'] ?? '').localeCompare(String(b['qom-path'] ?? ''), 'en', { numeric: true }))
      .map((x) =>
        Object.fromEntries(x.stats!.filter((s) => typeof s.value === 'number').map((s) => [s.name, s.value as number])),
      );
  } catch {
    return undefined;
  }
}

/** b − a for every counter present in both (vCPU statistics only grow, except gauges). */
export function statsDelta(a: VcpuStats, b: VcpuStats): VcpuStats {
  const out: VcpuStats = {};
  for (const [k, v] of Object.entries(b)) if (typeof a[k] === 'number') out[k] = v - a[k];
  return out;
}
