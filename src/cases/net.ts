/**
 * Guest network throughput beside the host's (suites/net.yaml): the Linux guest with a
 * virtio-net card on a tap inside kvmbench's own network namespace (src/net/netns.ts),
 * vhost=on where /dev/vhost-net opens, else off (recorded). The host drives every job: its
 * iperf3 client (or ping) runs in the namespace against the guest's iperf3 server, then the
 * same command runs against an iperf3 server in the peer namespace over a veth pair (the
 * kernel's own path, no VM): the baseline. Each reported interval is a sample; each job gets
 * a guest/host ratio of the medians.
 *
 * Without CAP_NET_ADMIN: `--tap NAME` (a tap the user created, with an IPv4 address; no
 * baseline) or QEMU's user networking (slirp, `netdev=user` in every label, never a ratio:
 * those figures measure slirp, not virtio-net, and are never paired with tap results).
 */
import { createServer } from 'node:net';
import { existsSync } from 'node:fs';
import { execa } from 'execa';
import { variantVmRecord } from '../results/variant.js';
import { FlagArg, LINUX_GUEST_ARGS, NamesArg, NumberArg, OneOfArg, TextArg, caseArgs, numberArg, textArg } from './args.js';
import type { CaseExecutor, CaseOutcome } from './types.js';
import type { Metric } from '../results/model.js';
import { summarize, median } from '../stats/summary.js';
import { DEFAULT_MAX_SAMPLES, fixedSampling, type Sampling, type StopRule } from '../stats/precision.js';
import { ratioOfMediansInterval } from '../stats/ratio.js';
import { followSampling, nextSegment } from './segments.js';
import { buildLinuxImage, imageFacts } from '../linux/image.js';
import { bootLinux, type NicSpec } from '../linux/launch.js';
import { kvmFailureHint, linuxBootBlocked, rememberKernelFailure } from './linux-policy.js';
import {
  IPERF3_PORT,
  NET_JOBS,
  intervalSamples,
  iperf3ClientArgs,
  iperf3ServerArgs,
  parseIperf3Json,
  parsePing,
  pingArgs,
  pingCount,
  type NetJob,
  type NetRunOptions,
} from '../linux/iperf3.js';
import { findHostIperf3, which } from '../linux/sources.js';
import {
  NET_ADDR,
  createCaseNetwork,
  hasNetAdmin,
  inNamespace,
  removeLeftovers,
  vhostNetUsable,
  type CaseNetwork,
} from '../net/netns.js';
import { runTracked, startTracked } from '../vmm/host-process.js';
import type { MachineType } from '../vmm/qemu.js';
import { guestInfo, linuxCaseBase, linuxVmOptions } from './boot-linux.js';

/** Runs of a job at most under --precision (its first and further segments): the guest serves that many iperf3 sessions a job. */
export const MAX_NET_RUNS = 5;

/** iperf3 intervals and ping replies of one job (Metric.windows). */
const NET_WINDOWS: NonNullable<Metric['windows']> = {
  basis:
    "intervals of one iperf3 or ping job follow the host's load and the network stack's state over that run, which one run cannot measure",
};

export const NET_ARGS = caseArgs({
  ...LINUX_GUEST_ARGS,
  runtime: NumberArg('whole seconds a job runs'),
  ramp: NumberArg('whole seconds of ramp before a job is measured'),
  interval: NumberArg('seconds an iperf3 interval lasts, at least 0.1'),
  jobs: NamesArg('net job ids to run'),
  vhost: OneOfArg(['auto', 'on', 'off'], 'vhost-net'),
  tap: TextArg('a tap device made by the user (`--tap`)'),
  netdev: OneOfArg(['tap', 'user'], 'QEMU network backend; user forces slirp'),
  onlyWithVhost: FlagArg('skip where every tap case already runs without vhost'),
});

/** Samples an iperf3 job of these arguments yields: one per whole interval of the runtime. */
export function netSamplesPerJob(args: Record<string, unknown>): number {
  const runtime = Math.max(1, Math.round(numberArg(args.runtime, 5)));
  const interval = Math.max(0.1, numberArg(args.interval, 0.5));
  return Math.floor(runtime / interval + 1e-9);
}

export type NetBackend = 'tap-netns' | 'tap-user' | 'user';

/** How the guest's NIC is backed, from the privileges and flags at hand. */
export function chooseBackend(o: { tap?: string; netAdmin: boolean; tunExists: boolean; forceUser?: boolean }): {
  backend: NetBackend;
  why: string;
} {
  if (o.tap) return { backend: 'tap-user', why: `--tap ${o.tap}: a tap the user created, in the host's namespace` };
  if (o.forceUser) return { backend: 'user', why: 'netdev=user asked for' };
  if (o.netAdmin && o.tunExists)
    return { backend: 'tap-netns', why: "CAP_NET_ADMIN: a tap and a veth pair in kvmbench's own namespaces" };
  return {
    backend: 'user',
    why: o.netAdmin
      ? '/dev/net/tun is missing: QEMU user networking (slirp)'
      : 'no CAP_NET_ADMIN and no --tap: QEMU user networking (slirp)',
  };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Errors after which the client is simply started again: the server is (re)starting or still busy. */
const RETRYABLE =
  /unable to connect|Connection refused|server is busy|No route to host|Connection timed out|unable to receive control message: Connection reset|control socket has closed unexpectedly/i;

/**
 * One iperf3 job from the host side, retried while the server is not listening yet (the
 * guest's one-off server restarts between jobs; the baseline's starts beside the client).
 */
export async function iperf3Job(
  iperf3: string,
  wrap: (argv: string[]) => string[],
  job: NetJob,
  o: NetRunOptions,
  signal: AbortSignal,
  retryForMs = 30_000,
) {
  const t0 = Date.now();
  const argv = wrap([iperf3, ...iperf3ClientArgs(job, o)]);
  for (let attempt = 1; ; attempt++) {
    if (signal.aborted) throw new Error('aborted');
    const r = await runTracked(argv, { signal, timeoutMs: (o.runtimeSec + o.rampSec) * 1000 + 60_000 });
    try {
      return { report: parseIperf3Json(r.stdout), attempts: attempt, argv };
    } catch (e) {
      const msg = (e as Error).message;
      if (!RETRYABLE.test(msg) || Date.now() - t0 > retryForMs || signal.aborted)
        throw new Error(`${msg}${r.stderr.trim() ? ` (stderr: ${r.stderr.trim().split('\n').slice(-2).join(' | ')})` : ''}`);
      await sleep(300);
    }
  }
}

interface JobFigures {
  samples: number[];
  unit: string;
  better: 'higher' | 'lower';
  detail: Record<string, unknown>;
  method: string;
}

/** The samples of one job's report: Mbit/s per interval (TCP), packets/s per interval (UDP). */
export function iperf3Figures(job: NetJob, report: ReturnType<typeof parseIperf3Json>, intervalSec: number): JobFigures {
  const udp = job.kind === 'udp';
  const samples = intervalSamples(report, intervalSec, (iv) => (udp ? (iv.packetsPerSecond ?? 0) : iv.bitsPerSecond / 1e6));
  const side = report.reverse ? 'receiver (the host-side client, --reverse)' : 'sender (the host-side client)';
  return {
    samples,
    unit: udp ? 'pps' : 'Mbit/s',
    better: 'higher',
    detail: {
      receivedMbps: report.receivedBitsPerSecond / 1e6,
      ...(report.retransmits !== undefined ? { retransmits: report.retransmits } : {}),
      ...(report.lostPercent !== undefined ? { lostPercent: report.lostPercent } : {}),
      iperf3: report.version,
    },
    method: udp
      ? `iperf3 --json on the host, per-interval packets the ${side} got, less those it counted lost, per second`
      : `iperf3 --json on the host, per-interval sum over streams as the ${side} counted it`,
  };
}

/** The rr job's samples: ping round trips in µs after the ramp's replies. */
export function pingFigures(text: string, o: Pick<NetRunOptions, 'runtimeSec' | 'rampSec' | 'intervalSec'>): JobFigures {
  const p = parsePing(text);
  const { ramp } = pingCount(o);
  const samples = p.rttUs.slice(Math.min(ramp, Math.max(0, p.rttUs.length - 1)));
  return {
    samples,
    unit: 'us',
    better: 'lower',
    detail: { transmitted: p.transmitted, received: p.received, rampReplies: ramp },
    method: "busybox ping from the host side; each echo reply's round-trip time is a sample (the ramp's first replies left out)",
  };
}

function jobInterval(job: NetJob, o: NetRunOptions, where: string): string {
  if (job.kind === 'rr') {
    const { interval } = pingCount(o);
    return `one ICMP echo round trip (56-byte payload, one every ${interval} s), ${where}`;
  }
  const what =
    job.kind === 'udp'
      ? `UDP ${job.length}-byte datagrams, unlimited rate`
      : `TCP, ${job.streams} stream${job.streams > 1 ? 's' : ''}`;
  const dir = job.direction === 'g2h' ? 'guest to host' : 'host to guest';
  return `one ${o.intervalSec} s iperf3 interval of ${o.runtimeSec} s after a ${o.rampSec} s ramp, ${what}, ${dir}, ${where}`;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => (a && typeof a === 'object' ? resolve(a.port) : reject(new Error('no port'))));
    });
  });
}

/** The IPv4 address and prefix of a user's tap (`ip -j addr show dev NAME`). */
async function tapAddress(tap: string): Promise<{ addr: string; prefix: number } | undefined> {
  try {
    const { stdout } = await execa('ip', ['-j', '-4', 'addr', 'show', 'dev', tap], { timeout: 5000 });
    const j = JSON.parse(stdout) as Array<{ addr_info?: Array<{ local?: string; prefixlen?: number }> }>;
    const a = j[0]?.addr_info?.find((x) => typeof x.local === 'string');
    return a?.local && typeof a.prefixlen === 'number' ? { addr: a.local, prefix: a.prefixlen } : undefined;
  } catch {
    return undefined;
  }
}

/** The guest's address on a user's tap: the next address after the host's in its subnet (or the one before, at its end). */
export function guestAddressFor(host: string, prefix: number): string {
  const parts = host.split('.').map(Number);
  const n = ((parts[0]! << 24) >>> 0) + (parts[1]! << 16) + (parts[2]! << 8) + parts[3]!;
  const size = 2 ** (32 - prefix);
  const base = n - (n % size);
  const g = n + 1 < base + size - 1 ? n + 1 : n - 1;
  return [g >>> 24, (g >>> 16) & 255, (g >>> 8) & 255, g & 255].join('.');
}

export const netExecutor: CaseExecutor = {
  kind: 'net',
  args: NET_ARGS,
  async run(spec, ctx): Promise<CaseOutcome> {
    const machine = spec.machine as MachineType;
    const base = linuxCaseBase(spec, ctx);
    const want = ctx.sampling ?? {};
    const adaptive = want.precision !== undefined;
    const o: Omit<NetRunOptions, 'server'> = {
      runtimeSec: Math.max(1, Math.round(numberArg(spec.args.runtime, 5))),
      rampSec: Math.max(0, Math.round(numberArg(spec.args.ramp, 1))),
      intervalSec: Math.max(0.1, numberArg(spec.args.interval, 0.5)),
    };
    const only = Array.isArray(spec.args.jobs) ? spec.args.jobs : undefined;
    const jobs = NET_JOBS.filter((j) => !only || only.includes(j.id));
    const vhostArg = textArg(spec.args.vhost, 'auto');
    const tap = typeof spec.args.tap === 'string' && spec.args.tap ? spec.args.tap : undefined;
    const facts: Record<string, unknown> = { ...o, jobs: jobs.map((j) => j.id) };

    const given = typeof spec.args.kernel === 'string' ? spec.args.kernel : undefined;
    const early = linuxBootBlocked(ctx, { given: given !== undefined });
    const { backend, why } = chooseBackend({
      tap,
      netAdmin: hasNetAdmin(),
      tunExists: existsTun(),
      forceUser: spec.args.netdev === 'user',
    });
    facts.backend = backend;
    facts.backendWhy = why;
    // vhost only means something on a tap; decided before anything is built.
    let vhost = false;
    if (backend !== 'user') {
      const v = vhostNetUsable();
      facts.vhostNet = v.why;
      if (spec.args.onlyWithVhost === true && !v.usable)
        return {
          ...base,
          status: 'skip',
          reason: `${v.why}: every tap case here runs with vhost=off already, so this comparison case has nothing to add`,
          metrics: [],
          facts,
        };
      if (vhostArg === 'on' && !v.usable)
        return {
          ...base,
          status: 'skip',
          reason: `vhost=on asked for, but ${v.why}: \`sudo modprobe vhost_net\``,
          metrics: [],
          facts,
        };
      vhost = vhostArg === 'on' || (vhostArg === 'auto' && v.usable);
    } else if (vhostArg === 'on') {
      return { ...base, status: 'skip', reason: `vhost=on needs a tap; this run has ${why}`, metrics: [], facts };
    }
    const netdev = backend === 'user' ? 'user' : 'tap';
    facts.vhost = backend === 'user' ? 'n/a (user networking)' : vhost ? 'on' : 'off';
    const nicModel = machine === 'microvm' ? 'virtio-net-device' : 'virtio-net-pci';
    const vm: Record<string, string> = {
      machine,
      cpu: ctx.platform.cpu,
      firmware: machine === 'microvm' ? 'qboot' : 'seabios',
      nic: nicModel,
      netdev,
      ...(netdev === 'tap' ? { vhost: vhost ? 'on' : 'off' } : {}),
      ...variantVmRecord(ctx.platform.variant, given),
    };
    if (early) return { ...base, vm, status: 'skip', reason: early, metrics: [], facts };

    const hostIperf3 = await findHostIperf3();
    if (!hostIperf3)
      return {
        ...base,
        vm,
        status: 'error',
        reason:
          "no iperf3 on the host (the client of every job, and the guest image's copy): `sudo apt-get install iperf3` (or `bash scripts/setup-host.sh`)",
        metrics: [],
        facts,
      };
    facts.hostIperf3 = hostIperf3.version;
    if (backend === 'tap-netns') {
      const removed = removeLeftovers();
      if (removed.length) facts.removedLeftovers = removed;
    }
    ctx.onPhase('image');
    const img = await buildLinuxImage({ variant: 'net', kernel: given });
    Object.assign(facts, imageFacts(img));
    const guest = guestInfo(img);
    const blocked = linuxBootBlocked(ctx, { given: given !== undefined, sha256: img.kernelSha256 });
    if (blocked) return { ...base, guest, vm, status: 'skip', reason: blocked, metrics: [], facts };
    if (!img.iperf3Version)
      return { ...base, guest, vm, status: 'error', reason: 'the guest image has no iperf3', metrics: [], facts };

    let net: CaseNetwork | undefined;
    const stopBoot = new AbortController();
    const onCaseAbort = (): void => stopBoot.abort(ctx.signal.reason);
    ctx.signal.addEventListener('abort', onCaseAbort, { once: true });
    try {
      // Where things run and which addresses they use, per backend.
      let guestAddr: string;
      let guestCidr: string;
      let nic: NicSpec;
      let wrap: (argv: string[]) => string[] = (a) => a;
      let port = IPERF3_PORT;
      if (backend === 'tap-netns') {
        ctx.onPhase('namespace');
        net = await createCaseNetwork();
        facts.netns = net.ns;
        const ns = net.ns;
        wrap = (a) => inNamespace(ns, a);
        guestAddr = NET_ADDR.guest;
        guestCidr = `${NET_ADDR.guest}/${NET_ADDR.prefix}`;
        nic = { backend: 'tap', ifname: net.tap, vhost, mac: NET_ADDR.guestMac, netns: net.ns };
      } else if (backend === 'tap-user') {
        const a = await tapAddress(tap!);
        if (!a)
          return {
            ...base,
            guest,
            vm,
            status: 'error',
            reason: `--tap ${tap}: no such device, or it has no IPv4 address: create it once with \`sudo ip tuntap add dev ${tap} mode tap user $USER && sudo ip addr add 10.213.0.1/24 dev ${tap} && sudo ip link set ${tap} up\``,
            metrics: [],
            facts,
          };
        guestAddr = guestAddressFor(a.addr, a.prefix);
        guestCidr = `${guestAddr}/${a.prefix}`;
        facts.tap = { name: tap, hostAddress: a.addr, guestAddress: guestAddr };
        nic = { backend: 'tap', ifname: tap!, vhost, mac: NET_ADDR.guestMac };
      } else {
        port = await freePort();
        guestAddr = '127.0.0.1';
        guestCidr = '10.0.2.15/24';
        nic = {
          backend: 'user',
          mac: NET_ADDR.guestMac,
          hostfwd: [`tcp:127.0.0.1:${port}-:${IPERF3_PORT}`, `udp:127.0.0.1:${port}-:${IPERF3_PORT}`],
        };
      }
      const iperfJobs = jobs.filter((j) => j.kind !== 'rr');
      const rrJob = jobs.find((j) => j.kind === 'rr');
      const results = new Map<string, JobFigures>();
      const jobFacts: Record<string, unknown> = {};
      let hostFailure: string | undefined;

      // --precision: each job runs again (a segment, sized by projection) until its guest
      // samples pin their median or a cap; `runsOf` keeps the runtimes the host baseline repeats.
      const rule: StopRule | undefined = adaptive
        ? {
            precision: want.precision,
            maxSamples: want.maxSamples ?? DEFAULT_MAX_SAMPLES,
            ...(want.maxTimeMs !== undefined ? { maxTimeMs: want.maxTimeMs } : {}),
          }
        : undefined;
      const runsOf = new Map<string, number[]>();
      const stops = new Map<string, Sampling>();
      let servedSessions = 0;
      let endedBySampling = false;
      // The baseline later runs every segment again: the time cap is shared between the two.
      const sides = backend === 'tap-netns' ? 2 : 1;
      let hostOwedMs = 0;
      const plannedJobs = iperfJobs.length + (rrJob && backend !== 'user' ? 1 : 0);
      // `startedAt`: when the job's first run began; the jobs not yet run share what is left of --max-time.
      const moreRuns = async (
        job: NetJob,
        first: JobFigures,
        startedAt: number,
        readyAt: number,
        again: (runtimeSec: number) => Promise<JobFigures>,
      ): Promise<JobFigures> => {
        const runs = [o.runtimeSec];
        const left = Math.max(1, plannedJobs - runsOf.size);
        runsOf.set(job.id, runs);
        const caseSpentMs = startedAt - readyAt + hostOwedMs;
        let owedMs = sides === 2 ? (o.runtimeSec + o.rampSec) * 1000 : 0;
        if (!rule) {
          hostOwedMs += owedMs;
          return first;
        }
        const jobRule: StopRule =
          rule.maxTimeMs === undefined ? rule : { ...rule, maxTimeMs: Math.max(0, (rule.maxTimeMs - caseSpentMs) / left) };
        let samples = [...first.samples];
        for (;;) {
          const spentMs = Date.now() - startedAt + owedMs;
          const budgetSec =
            jobRule.maxTimeMs === undefined ? undefined : (jobRule.maxTimeMs - spentMs) / 1000 / sides - o.rampSec;
          const step = nextSegment(samples, spentMs, jobRule, {
            intervalMs: (job.kind === 'rr' ? pingCount({ ...o }).interval : o.intervalSec) * 1000,
            ...(budgetSec !== undefined ? { budgetSec } : {}),
          });
          if ('stop' in step) {
            const shared = step.stop.reason === 'max-time' && jobRule !== rule;
            stops.set(
              job.id,
              shared
                ? {
                    ...step.stop,
                    note: `${step.stop.note}: this job's share of --max-time ${Math.round(rule.maxTimeMs! / 1000)} s`,
                  }
                : step.stop,
            );
            break;
          }
          if (runs.length >= MAX_NET_RUNS) {
            stops.set(job.id, {
              ...fixedSampling(samples),
              reason: 'max-samples',
              target: rule.precision!,
              note: `cap of ${MAX_NET_RUNS} runs of the job reached (the guest serves that many) after ${samples.length} samples`,
            });
            break;
          }
          ctx.onPhase(`guest ${job.id}, run ${runs.length + 1}`);
          const more = await again(step.runtimeSec);
          runs.push(step.runtimeSec);
          if (sides === 2) owedMs += (step.runtimeSec + o.rampSec) * 1000;
          samples = [...samples, ...more.samples].slice(0, rule.maxSamples);
        }
        hostOwedMs += owedMs;
        return { ...first, samples };
      };

      ctx.onPhase('guest boot');
      let readyResolve!: () => void;
      const ready = new Promise<void>((r) => {
        readyResolve = r;
      });
      const boot = bootLinux({
        ...linuxVmOptions(spec, ctx, img),
        // Under --precision a job may run again: the guest serves that many sessions, and the
        // host ends the boot itself when sampling is done before they are used.
        guestArgs: { mode: 'net', ip: guestCidr, tests: iperfJobs.length * (adaptive ? MAX_NET_RUNS : 1) },
        nic,
        signal: stopBoot.signal,
        deadlineAt: ctx.deadlineAt,
        logPath: ctx.logPath,
        onEvent: (ev) => {
          if (ev.type === 'net-ready') readyResolve();
        },
      });
      const first = await Promise.race([ready.then(() => 'ready' as const), boot.then(() => 'ended' as const)]);
      if (first === 'ready') {
        const run: NetRunOptions = { ...o, server: guestAddr, port };
        try {
          // Ping first: the guest's first iperf3 server is already waiting and answers nothing meanwhile.
          const readyAt = Date.now();
          if (rrJob && backend !== 'user') {
            ctx.onPhase(`guest ${rrJob.id}`);
            const ping = async (rt: number) => {
              const ro = { ...run, runtimeSec: rt };
              const r = await runTracked(wrap([busybox(), ...pingArgs(ro)]), { signal: stopBoot.signal, timeoutMs: 120_000 });
              return { r, f: pingFigures(r.stdout, ro) };
            };
            const startedAt = Date.now();
            const { r, f } = await ping(o.runtimeSec);
            if (backend === 'tap-user' && /permission denied|Operation not permitted/i.test(r.stderr + r.stdout)) {
              // Without root, ICMP needs CAP_NET_RAW or net.ipv4.ping_group_range covering the user.
              jobFacts[`${rrJob.id}.skipped`] =
                `ping is not allowed for this user (${r.stderr.trim().split('\n').pop() ?? ''}): \`sudo sysctl net.ipv4.ping_group_range="0 2147483647"\` allows it`;
            } else {
              results.set(rrJob.id, await moreRuns(rrJob, f, startedAt, readyAt, async (rt) => (await ping(rt)).f));
            }
          } else if (rrJob) {
            jobFacts[`${rrJob.id}.skipped`] = 'QEMU user networking forwards no ICMP to the guest';
          }
          for (const job of iperfJobs) {
            ctx.onPhase(`guest ${job.id}`);
            const once = async (rt: number) => {
              const r = await iperf3Job(hostIperf3.path, wrap, job, { ...run, runtimeSec: rt }, stopBoot.signal);
              if (r.attempts > 1) jobFacts[`${job.id}.guest.connectAttempts`] = r.attempts;
              servedSessions++;
              return iperf3Figures(job, r.report, o.intervalSec);
            };
            const startedAt = Date.now();
            const first = await once(o.runtimeSec);
            results.set(job.id, await moreRuns(job, first, startedAt, readyAt, once));
          }
          // Sessions the guest still waits to serve: sampling is done, so the boot ends here.
          if (adaptive && servedSessions < iperfJobs.length * MAX_NET_RUNS) {
            endedBySampling = true;
            stopBoot.abort('sampling done');
          }
        } catch (e) {
          const failed = jobs.find((j) => !results.has(j.id) && !jobFacts[`${j.id}.skipped`])?.id ?? '?';
          hostFailure = ctx.signal.aborted
            ? `aborted during guest job ${failed}`
            : `guest job ${failed}: ${(e as Error).message}`;
          // The guest's server would wait for a client forever: end the boot.
          stopBoot.abort('host job failed');
        }
      }
      const r = await boot;
      facts.guestBootMarks = r.marks;
      facts.qemuArgv = r.argv;
      if (r.kvmFailure) rememberKernelFailure(ctx, img, r.kvmFailure, kvmFailureHint(ctx.host.kvmFlavor));
      const endedWell = r.ok || (endedBySampling && r.aborted && !ctx.signal.aborted);
      const guestFailure =
        hostFailure ?? (endedWell ? undefined : r.kvmFailure ? `${r.reason}; ${kvmFailureHint(ctx.host.kvmFlavor)}` : r.reason);
      const execution = r.execution ?? {
        mode: 'unknown' as const,
        evidence: ['KVM statistics not available for this boot (QMP query-stats)'],
      };
      const done = { ...base, guest, vm, execution };

      const where =
        backend === 'user'
          ? 'guest to/from the host through QEMU user networking (slirp; not comparable with tap figures)'
          : `between the host side (in ${backend === 'tap-netns' ? "kvmbench's namespace" : `the host, on --tap ${tap}`}) and the guest (${nicModel} on a tap, vhost=${vhost ? 'on' : 'off'})`;
      const metrics: Metric[] = [];
      const labelsFor = (job: NetJob, side: string): Record<string, string> => ({
        side,
        job: job.id,
        netdev,
        ...(netdev === 'tap' ? { vhost: vhost ? 'on' : 'off' } : {}),
        machine,
      });
      const mk = (
        job: NetJob,
        side: 'guest' | 'host' | 'ratio',
        f: Pick<JobFigures, 'samples' | 'unit' | 'better' | 'method'>,
        interval: string,
        extra: Partial<Metric> = {},
      ): Metric => {
        const runs = runsOf.get(job.id) ?? [o.runtimeSec];
        const stop = stops.get(job.id);
        const headline = results.get(job.id)?.samples;
        const what = job.kind === 'rr' ? 'replies' : `${o.intervalSec} s intervals`;
        return {
          name: `net.${job.id}.${side}`,
          unit: f.unit,
          better: f.better,
          interval: runs.length > 1 ? `${interval}; ${runs.length} runs of the job (${runs.join(' + ')} s)` : interval,
          method: f.method,
          accelerator: ctx.accel,
          samples: f.samples,
          summary: summarize(f.samples),
          labels: labelsFor(job, side),
          windows: NET_WINDOWS,
          sampling:
            stop && headline
              ? followSampling(stop, f.samples, headline)
              : fixedSampling(f.samples, { why: `${runs.join(' + ')} s of the job in ${what}` }),
          ...extra,
        };
      };
      for (const job of jobs) {
        const g = results.get(job.id);
        if (!g) continue;
        jobFacts[`${job.id}.guest`] = g.detail;
        metrics.push({ ...mk(job, 'guest', g, jobInterval(job, { ...o, server: guestAddr }, where)), execution: execution.mode });
      }

      // The baseline: the same jobs between the case's namespace and its peer over the veth pair.
      let baselineFailure: string | undefined;
      if (net && !guestFailure && !ctx.signal.aborted) {
        const ns = net.ns;
        const peer = net.peer;
        const hrun: NetRunOptions = { ...o, server: NET_ADDR.vethB };
        for (const job of jobs) {
          const g = results.get(job.id);
          if (!g || baselineFailure) continue;
          ctx.onPhase(`host ${job.id}`);
          try {
            // The same runs as the guest's, so the two sides' samples are alike.
            const parts: JobFigures[] = [];
            for (const rt of runsOf.get(job.id) ?? [o.runtimeSec]) {
              const ro = { ...hrun, runtimeSec: rt };
              if (job.kind === 'rr') {
                const pr = await runTracked(inNamespace(ns, [busybox(), ...pingArgs(ro)]), {
                  signal: ctx.signal,
                  timeoutMs: 120_000,
                });
                parts.push(pingFigures(pr.stdout, ro));
              } else {
                const server = startTracked(inNamespace(peer, [hostIperf3.path, ...iperf3ServerArgs({ bind: NET_ADDR.vethB })]));
                try {
                  const hr = await iperf3Job(hostIperf3.path, (a) => inNamespace(ns, a), job, ro, ctx.signal, 10_000);
                  parts.push(iperf3Figures(job, hr.report, o.intervalSec));
                } finally {
                  server.stop();
                  await server.done;
                }
              }
            }
            const h: JobFigures = { ...parts[0]!, samples: parts.flatMap((x) => x.samples).slice(0, rule?.maxSamples) };
            jobFacts[`${job.id}.host`] = h.detail;
            metrics.push(
              mk(
                job,
                'host',
                { ...h, method: `${h.method}; between two network namespaces over a veth pair` },
                jobInterval(job, hrun, 'between two network namespaces joined by a veth pair on the host (no VM)'),
              ),
            );
            // Each guest sample over the host's median: the median is the ratio of medians, and
            // compare tests it like any other metric; its interval carries both sides' spread.
            const hm = median(h.samples);
            const ci = ratioOfMediansInterval(g.samples, h.samples);
            metrics.push(
              mk(
                job,
                'ratio',
                {
                  samples: hm > 0 ? g.samples.map((x) => x / hm) : [],
                  unit: 'ratio',
                  better: g.better,
                  method: `each guest sample over the median of the host baseline's ${h.samples.length}; 95 % interval: ${ci?.method ?? 'none (no host median)'}`,
                },
                `guest ${job.id} sample over the host baseline's median, same job and interval`,
                ci ? { ratio: ci } : {},
              ),
            );
          } catch (e) {
            // The guest's figures stand; the case says which baseline job failed.
            baselineFailure = ctx.signal.aborted
              ? `aborted during host job ${job.id}`
              : `host baseline job ${job.id}: ${(e as Error).message}`;
          }
        }
      } else if (!net) {
        facts.baseline =
          backend === 'user'
            ? 'none: user networking is not compared with the host'
            : 'none: --tap runs have no namespaces for the veth baseline';
      }
      facts.jobDetail = jobFacts;
      if (ctx.signal.aborted && !guestFailure) return { ...done, status: 'error', reason: 'aborted', metrics, facts };
      if (guestFailure ?? baselineFailure)
        return { ...done, status: 'error', reason: (guestFailure ?? baselineFailure)!, metrics, facts };
      return { ...done, status: 'pass', metrics, facts };
    } finally {
      ctx.signal.removeEventListener('abort', onCaseAbort);
      net?.remove();
    }
  },
};

function busybox(): string {
  return which('busybox') ?? '/bin/busybox';
}

function existsTun(): boolean {
  return existsSync('/dev/net/tun');
}
