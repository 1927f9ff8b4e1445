/**
 * The net suite's jobs (src/cases/net.ts): iperf3 and ping command lines shared by the guest
 * runs and the host baseline, and parsers for their output that trust nothing. The client
 * always runs on the host side (in kvmbench's network namespace) and the server on the far
 * side (the guest, or the baseline's peer namespace), so every figure is read from the same
 * host process's `--json` output; the guest's serial line never carries it.
 */

export type NetJobKind = 'tcp' | 'udp' | 'rr';

export interface NetJob {
  /** Stable id used in metric names and labels, e.g. `tcp-g2h-4`. */
  id: string;
  kind: NetJobKind;
  /** Who sends: guest to host (`g2h`, iperf3 `--reverse` from the host's client) or host to guest. */
  direction: 'g2h' | 'h2g' | 'both';
  streams: number;
  /** UDP datagram payload in bytes. */
  length?: number;
}

/** The issue's job matrix: TCP both ways with 1 and 4 streams, UDP 64-byte packets, ping round trips. */
export const NET_JOBS: readonly NetJob[] = [
  { id: 'tcp-g2h-1', kind: 'tcp', direction: 'g2h', streams: 1 },
  { id: 'tcp-g2h-4', kind: 'tcp', direction: 'g2h', streams: 4 },
  { id: 'tcp-h2g-1', kind: 'tcp', direction: 'h2g', streams: 1 },
  { id: 'tcp-h2g-4', kind: 'tcp', direction: 'h2g', streams: 4 },
  { id: 'udp-g2h-64', kind: 'udp', direction: 'g2h', streams: 1, length: 64 },
  { id: 'rr-ping', kind: 'rr', direction: 'both', streams: 1 },
];

/** The TCP port the iperf3 server listens on (inside kvmbench's namespaces, or the guest). */
export const IPERF3_PORT = 5201;

export interface NetRunOptions {
  /** The server's address (the guest's, or the baseline peer's). */
  server: string;
  port?: number;
  runtimeSec: number;
  /** Whole seconds at the start left out of the figures (iperf3 --omit). */
  rampSec: number;
  /** Seconds per reported interval; each interval becomes one sample. */
  intervalSec: number;
  /** Seconds to wait for the connection (a guest's server between jobs restarts). */
  connectTimeoutMs?: number;
}

/** iperf3 client argv (without the binary) for one job; the guest run and the baseline use the same. */
export function iperf3ClientArgs(job: NetJob, o: NetRunOptions): string[] {
  if (job.kind === 'rr') throw new Error(`job ${job.id} is not an iperf3 job`);
  const a = [
    '--client',
    o.server,
    '--port',
    String(o.port ?? IPERF3_PORT),
    '--time',
    String(o.runtimeSec),
    '--omit',
    String(Math.round(o.rampSec)),
    '--interval',
    String(o.intervalSec),
    '--parallel',
    String(job.streams),
    '--json',
    '--connect-timeout',
    String(o.connectTimeoutMs ?? 3000),
  ];
  if (job.kind === 'udp') a.push('--udp', '--length', String(job.length ?? 64), '--bitrate', '0');
  if (job.direction === 'g2h') a.push('--reverse');
  return a;
}

/** iperf3 server argv for one test: it exits after one client (`--one-off`). */
export function iperf3ServerArgs(o: { bind?: string; port?: number } = {}): string[] {
  return ['--server', '--one-off', '--port', String(o.port ?? IPERF3_PORT), ...(o.bind ? ['--bind', o.bind] : [])];
}

/** How many pings the rr job sends: one per sample plus the ramp's, at `intervalSec`. */
export function pingCount(o: Pick<NetRunOptions, 'runtimeSec' | 'rampSec' | 'intervalSec'>): {
  count: number;
  ramp: number;
  interval: number;
} {
  // ping's interval: at least 0.05 s (busybox takes fractions), so short runs still give ≥ 11 replies.
  const interval = Math.max(0.05, Math.min(o.intervalSec, 0.2));
  const ramp = Math.max(1, Math.ceil(o.rampSec / interval));
  return { count: ramp + Math.max(11, Math.round(o.runtimeSec / interval)), ramp, interval };
}

/** busybox ping argv (after `busybox`): the rr job; every reply's time is a sample. */
export function pingArgs(o: Pick<NetRunOptions, 'server' | 'runtimeSec' | 'rampSec' | 'intervalSec'>): string[] {
  const { count, interval } = pingCount(o);
  return [
    'ping',
    '-c',
    String(count),
    '-i',
    String(interval),
    '-W',
    '2',
    '-w',
    String(Math.ceil(count * interval) + 5),
    o.server,
  ];
}

export interface NetInterval {
  /** Seconds since the test started (after the ramp: omitted intervals are dropped). */
  start: number;
  seconds: number;
  /** Bits per second over the interval (all streams). */
  bitsPerSecond: number;
  /** UDP: packets the receiver got per second in this interval. */
  packetsPerSecond?: number;
  /** UDP: datagrams lost in the interval. */
  lostPackets?: number;
}

export interface Iperf3Report {
  version: string;
  /** Whether the client (the host side) was the receiver (`--reverse`). */
  reverse: boolean;
  protocol: 'TCP' | 'UDP';
  streams: number;
  intervals: NetInterval[];
  /** Whole-test figures from `end`: bits per second as the receiver counted them. */
  receivedBitsPerSecond: number;
  /** TCP: retransmits the sender counted (absent when the sender does not report them). */
  retransmits?: number;
  /** UDP: whole-test loss as the receiver counted it, in percent. */
  lostPercent?: number;
}

const MAX_OUTPUT = 16 << 20;

function fail(what: string): never {
  throw new Error(`iperf3 output: ${what}`);
}

function obj(v: unknown, what: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) fail(`${what} is not an object`);
  return v as Record<string, unknown>;
}

function num(v: unknown, what: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) fail(`${what} is not a non-negative number`);
  return v;
}

function optNum(v: unknown, what: string): number | undefined {
  return v === undefined ? undefined : num(v, what);
}

/**
 * Parses `iperf3 --client ... --json`. Text around the object (warnings) is skipped; iperf3's
 * own `error` field (a refused connection, a server that went away) becomes the thrown
 * message; anything not of the expected shape throws saying which field was wrong, and a
 * test with no interval after the ramp throws too.
 */
export function parseIperf3Json(text: string): Iperf3Report {
  if (text.length > MAX_OUTPUT) fail('larger than 16 MiB');
  const start = text.search(/^\{/m);
  const end = text.lastIndexOf('}');
  if (start < 0 || end < start) fail('no JSON object found (truncated or not iperf3 --json)');
  let parsed: unknown;
  try {
    parsed = JSON.parse(text.slice(start, end + 1));
  } catch (e) {
    fail(`invalid JSON (${(e as Error).message})`);
  }
  const root = obj(parsed, 'root');
  if (root.error !== undefined) fail(`iperf3 reported an error: ${String(root.error).slice(0, 300)}`);
  const st = obj(root.start, 'start');
  const version = typeof st.version === 'string' ? st.version.slice(0, 64) : 'unknown';
  const ts = obj(st.test_start, 'start.test_start');
  const protocol =
    ts.protocol === 'UDP' ? 'UDP' : ts.protocol === 'TCP' ? 'TCP' : fail('start.test_start.protocol is neither TCP nor UDP');
  const reverse = num(ts.reverse ?? 0, 'start.test_start.reverse') === 1;
  const streams = num(ts.num_streams, 'start.test_start.num_streams');
  if (!Array.isArray(root.intervals)) fail('intervals is not an array');
  const intervals: NetInterval[] = [];
  root.intervals.forEach((iv, i) => {
    const sum = obj(obj(iv, `intervals[${i}]`).sum, `intervals[${i}].sum`);
    if (sum.omitted === true) return;
    const seconds = num(sum.seconds, `intervals[${i}].sum.seconds`);
    const out: NetInterval = {
      start: num(sum.start, `intervals[${i}].sum.start`),
      seconds,
      bitsPerSecond: num(sum.bits_per_second, `intervals[${i}].sum.bits_per_second`),
    };
    if (protocol === 'UDP') {
      const packets = num(sum.packets, `intervals[${i}].sum.packets`);
      const lost = optNum(sum.lost_packets, `intervals[${i}].sum.lost_packets`) ?? 0;
      // The receiver's count is by sequence number; lost ones were counted in `packets` too.
      out.packetsPerSecond = seconds > 0 ? Math.max(0, reverse ? packets - lost : packets) / seconds : 0;
      out.lostPackets = reverse ? lost : undefined;
    }
    intervals.push(out);
  });
  if (intervals.length === 0) fail('no interval after the ramp (the test ended early?)');
  const e = obj(root.end, 'end');
  const received = e.sum_received !== undefined ? obj(e.sum_received, 'end.sum_received') : obj(e.sum, 'end.sum');
  const report: Iperf3Report = {
    version,
    reverse,
    protocol,
    streams,
    intervals,
    receivedBitsPerSecond: num(received.bits_per_second, 'end.sum_received.bits_per_second'),
  };
  if (protocol === 'TCP' && e.sum_sent !== undefined) {
    const r = optNum(obj(e.sum_sent, 'end.sum_sent').retransmits, 'end.sum_sent.retransmits');
    if (r !== undefined) report.retransmits = r;
  }
  if (protocol === 'UDP') {
    const lp = optNum((e.sum ? obj(e.sum, 'end.sum') : {}).lost_percent, 'end.sum.lost_percent');
    if (lp !== undefined) report.lostPercent = lp;
  }
  return report;
}

/**
 * Intervals as samples: a short tail interval (iperf3 may report the last fraction of a
 * second on its own) would weigh as much as a full one, so intervals shorter than half the
 * asked length are dropped.
 */
export function intervalSamples(r: Iperf3Report, intervalSec: number, pick: (iv: NetInterval) => number): number[] {
  return r.intervals.filter((iv) => iv.seconds >= intervalSec / 2).map(pick);
}

export interface PingReport {
  /** Round-trip times in microseconds, in reply order (the ramp's included; see `ramp` in pingCount). */
  rttUs: number[];
  transmitted?: number;
  received?: number;
}

/** Parses ping output (busybox's or iputils'): one `time=X ms` per reply. Throws when no reply came. */
export function parsePing(text: string): PingReport {
  if (text.length > MAX_OUTPUT) throw new Error('ping output: larger than 16 MiB');
  const rttUs: number[] = [];
  for (const line of text.split('\n')) {
    const m = /^\d+ bytes from \S+ (?:seq|icmp_seq)=\d+ ttl=\d+ time=([0-9]+(?:\.[0-9]+)?) ms$/.exec(line.trim());
    if (m) rttUs.push(Number(m[1]) * 1000);
  }
  const s = /(\d+) packets transmitted, (\d+) (?:packets )?received/.exec(text);
  if (rttUs.length === 0) throw new Error(`ping output: no reply${s ? ` (${s[1]} sent, ${s[2]} received)` : ''}`);
  return { rttUs, ...(s ? { transmitted: Number(s[1]), received: Number(s[2]) } : {}) };
}
