/**
 * kvmbench's own network namespaces (the net suite, src/cases/net.ts). Every address and
 * device of a net case lives inside namespaces kvmbench creates for it, so nothing on the
 * host's own network changes and nothing there can collide:
 *
 *   kvmb-<pid>-<start>-<n>    the case's namespace: `tap0` (QEMU's backend; QEMU and the
 *                             host-side iperf3 client run in here) and `veth0`
 *   kvmb-<pid>-<start>-<n>p   the baseline's peer: `veth1`, the far end of the veth pair
 *
 * <pid> and <start> (the process's start time in clock ticks, /proc/PID/stat field 22) name
 * the kvmbench that owns them. Cleanup, whatever happens:
 * - the case removes its namespaces in a `finally` (success, failure, Ctrl-C);
 * - Node's `exit` removes any still registered (a second Ctrl-C, an uncaught error);
 * - after `kill -9` nothing runs: the next net case (and `doctor --profile io`) finds
 *   namespaces whose owner is gone (`findLeftovers`) and removes them (`removeLeftovers`).
 * Deleting a namespace destroys the tap and the veth pair in it, so `ip link` on the host
 * never shows them. Commands go through execFile with argv arrays, never a shell.
 */
import { execFile, execFileSync } from 'node:child_process';
import { closeSync, openSync, readFileSync, readdirSync } from 'node:fs';
import { promisify } from 'node:util';

const execFileP = promisify(execFile);

export const NETNS_DIR = '/run/netns';
export const NETNS_PREFIX = 'kvmb-';
const NAME_RE = /^kvmb-(\d+)-(\d+)-(\d+)(p?)$/;

/** Addresses inside the namespaces: the host end of the tap and the guest; the veth pair. */
export const NET_ADDR = {
  tapHost: '10.213.0.1',
  guest: '10.213.0.2',
  vethA: '10.213.1.1',
  vethB: '10.213.1.2',
  prefix: 24,
  /** The guest NIC's MAC (locally administered). */
  guestMac: '52:54:00:6b:62:02',
} as const;

/** A process's start time in clock ticks (field 22 of /proc/PID/stat), or undefined when it is gone. */
export function processStartTicks(pid: number, read: (p: string) => string | undefined = readOrUndefined): string | undefined {
  const stat = read(`/proc/${pid}/stat`);
  if (!stat) return undefined;
  // The command name (field 2) is in parentheses and may hold spaces: count after its last ')'.
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return rest[19];
}

function readOrUndefined(p: string): string | undefined {
  try {
    return readFileSync(p, 'utf8');
  } catch {
    return undefined;
  }
}

export interface NetnsOwner {
  name: string;
  pid: number;
  startTicks: string;
  peer: boolean;
}

/** The owner a kvmbench namespace name encodes, or undefined for names that are not kvmbench's. */
export function parseNetnsName(name: string): NetnsOwner | undefined {
  const m = NAME_RE.exec(name);
  return m ? { name, pid: Number(m[1]), startTicks: m[2]!, peer: m[4] === 'p' } : undefined;
}

/**
 * kvmbench namespaces whose owner is gone (no such process, or a different process that
 * reused the pid). Namespaces of live kvmbench runs, and every other namespace, are left alone.
 */
export function findLeftovers(names: readonly string[], read: (p: string) => string | undefined = readOrUndefined): NetnsOwner[] {
  const out: NetnsOwner[] = [];
  for (const n of names) {
    const o = parseNetnsName(n);
    if (!o) continue;
    if (processStartTicks(o.pid, read) !== o.startTicks) out.push(o);
  }
  return out;
}

/** Names of the network namespaces `ip netns` knows (the files in /run/netns). */
export function listNamespaces(): string[] {
  try {
    return readdirSync(NETNS_DIR);
  } catch {
    return [];
  }
}

let counter = 0;
const live = new Set<string>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // Synchronous: on `exit` no promise runs any more.
  process.on('exit', () => {
    for (const ns of live) deleteNamespaceSync(ns);
  });
}

/** Kills every process still inside the namespace, then deletes it (never throws). */
export function deleteNamespaceSync(ns: string): void {
  try {
    const pids = execFileSync('ip', ['netns', 'pids', ns], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
      timeout: 5000,
    });
    for (const p of pids.split(/\s+/)) {
      if (!/^\d+$/.test(p)) continue;
      try {
        process.kill(Number(p), 'SIGKILL');
      } catch {
        // gone
      }
    }
  } catch {
    // no such namespace, or no ip: the delete below says so
  }
  try {
    execFileSync('ip', ['netns', 'delete', ns], { stdio: 'ignore', timeout: 5000 });
  } catch {
    // already gone
  }
  live.delete(ns);
}

/** Removes leftovers of killed runs; returns the names removed. */
export function removeLeftovers(): string[] {
  const gone = findLeftovers(listNamespaces());
  for (const o of gone) deleteNamespaceSync(o.name);
  return gone.map((o) => o.name);
}

/** argv that runs `argv` inside namespace `ns`. */
export function inNamespace(ns: string, argv: readonly string[]): string[] {
  return ['ip', 'netns', 'exec', ns, ...argv];
}

async function ip(args: string[]): Promise<void> {
  try {
    await execFileP('ip', args, { timeout: 10_000 });
  } catch (e) {
    const err = (e as { stderr?: string }).stderr?.trim() || (e as Error).message;
    throw new Error(`ip ${args.join(' ')}: ${err}`);
  }
}

export interface CaseNetwork {
  /** The case's namespace (tap0, veth0; QEMU and the host-side client). */
  ns: string;
  /** The baseline's peer namespace (veth1, the baseline's iperf3 server). */
  peer: string;
  tap: string;
  /** Removes both namespaces (and with them the tap, the veth pair and any process left in them). */
  remove(): void;
}

/** A fresh name pair for this process. */
export function newNamespaceNames(pid = process.pid): { ns: string; peer: string } {
  const start = processStartTicks(pid) ?? '0';
  const n = ++counter;
  const ns = `${NETNS_PREFIX}${pid}-${start}-${n}`;
  return { ns, peer: `${ns}p` };
}

/**
 * Creates the case's namespaces: loopback up in both, `tap0` (owned by no user: QEMU runs as
 * this user in the namespace) with the host address, and the veth pair for the baseline.
 * Needs CAP_NET_ADMIN; on failure whatever was created is removed again.
 */
export async function createCaseNetwork(): Promise<CaseNetwork> {
  installExitHook();
  const { ns, peer } = newNamespaceNames();
  const net: CaseNetwork = {
    ns,
    peer,
    tap: 'tap0',
    remove() {
      deleteNamespaceSync(ns);
      deleteNamespaceSync(peer);
    },
  };
  try {
    live.add(ns);
    await ip(['netns', 'add', ns]);
    live.add(peer);
    await ip(['netns', 'add', peer]);
    await ip(['-n', ns, 'link', 'set', 'lo', 'up']);
    await ip(['-n', peer, 'link', 'set', 'lo', 'up']);
    await ip(['-n', ns, 'tuntap', 'add', 'dev', 'tap0', 'mode', 'tap', 'vnet_hdr']);
    await ip(['-n', ns, 'addr', 'add', `${NET_ADDR.tapHost}/${NET_ADDR.prefix}`, 'dev', 'tap0']);
    await ip(['-n', ns, 'link', 'set', 'tap0', 'up']);
    await ip(['-n', ns, 'link', 'add', 'veth0', 'type', 'veth', 'peer', 'name', 'veth1', 'netns', peer]);
    await ip(['-n', ns, 'addr', 'add', `${NET_ADDR.vethA}/${NET_ADDR.prefix}`, 'dev', 'veth0']);
    await ip(['-n', peer, 'addr', 'add', `${NET_ADDR.vethB}/${NET_ADDR.prefix}`, 'dev', 'veth1']);
    await ip(['-n', ns, 'link', 'set', 'veth0', 'up']);
    await ip(['-n', peer, 'link', 'set', 'veth1', 'up']);
  } catch (e) {
    net.remove();
    throw e;
  }
  return net;
}

/** Whether this process has CAP_NET_ADMIN in its effective set (from /proc/self/status). */
export function hasNetAdmin(status: string | undefined = readOrUndefined('/proc/self/status')): boolean {
  const m = /^CapEff:\s*([0-9a-f]+)/m.exec(status ?? '');
  return m ? (BigInt(`0x${m[1]}`) & (1n << 12n)) !== 0n : false;
}

/** Whether /dev/vhost-net can be opened read-write by this process (QEMU's vhost=on needs it). */
export function vhostNetUsable(path = '/dev/vhost-net'): { usable: boolean; why: string } {
  try {
    closeSync(openSync(path, 'r+'));
    return { usable: true, why: `${path} opens read-write` };
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return {
      usable: false,
      why:
        code === 'ENOENT' ? `${path} does not exist (vhost_net module not loaded)` : `${path}: ${code ?? (e as Error).message}`,
    };
  }
}
