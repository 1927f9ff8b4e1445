/**
 * Profile `io`, for the net suite (src/cases/net.ts): can kvmbench create its own network
 * namespace with a tap (CAP_NET_ADMIN), is iperf3 there (the host side of every job and the
 * guest image's copy), and did a killed run leave namespaces behind. `/dev/net/tun` and
 * `/dev/vhost-net` have their own checks (io.tun, io.vhost-net).
 */
import { findLeftovers, NETNS_DIR } from '../../net/netns.js';
import type { CheckDef } from '../types.js';
import { pass, skip, warn } from './outcome.js';

const TAP_HINT =
  'or give net runs a tap you created once: `sudo ip tuntap add dev kvmb0 mode tap user $USER && sudo ip addr add 10.213.0.1/24 dev kvmb0 && sudo ip link set kvmb0 up`, then `kvmbench run net --tap kvmb0`';

export const netAdmin: CheckDef = {
  id: 'io.net-admin',
  title: "CAP_NET_ADMIN (kvmbench's own namespace, tap and veth pair for the net suite)",
  profile: 'io',
  async run(ctx) {
    const status = await ctx.reader.readText('/proc/self/status');
    const m = status ? /^CapEff:\s*([0-9a-f]+)/m.exec(status) : null;
    if (!m) return skip(['/proc/self/status: no CapEff line (not recorded)'], 'none needed: read on the host itself');
    const eff = BigInt(`0x${m[1]}`);
    const ev = [`/proc/self/status CapEff: ${m[1]}`];
    if (eff & (1n << 12n))
      return pass([...ev, 'CAP_NET_ADMIN held: net cases create a namespace with a tap and a veth pair, and a host baseline']);
    return warn(
      [...ev, 'no CAP_NET_ADMIN: net cases fall back to QEMU user networking (no host baseline, no ratios)'],
      `run the net suite as root (\`sudo\`), ${TAP_HINT}`,
    );
  },
};

export const iperf3: CheckDef = {
  id: 'io.iperf3',
  title: "iperf3 (the net suite's jobs, host side and guest image)",
  profile: 'io',
  async run(ctx) {
    const r = await ctx.reader.run(['iperf3', '--version'], { timeoutMs: 5000 });
    const line = r.stdout.split('\n')[0]?.trim();
    if (r.notFound || r.exitCode !== 0 || !line)
      return warn(
        [`iperf3 --version: ${r.notFound ? 'not found' : r.stderr.trim() || `exit ${r.exitCode ?? 'none'}`}`],
        '`sudo apt-get install -y --no-install-recommends iperf3` (or `bash scripts/setup-host.sh`): the net suite needs it on the host and copies it into the guest',
      );
    return pass([`iperf3 --version: ${line}`]);
  },
};

export const netLeftovers: CheckDef = {
  id: 'io.net-leftovers',
  title: 'No network namespaces left by a killed kvmbench run',
  profile: 'io',
  async run(ctx) {
    const names = (await ctx.reader.readdir(NETNS_DIR)) ?? [];
    const ours = names.filter((n) => n.startsWith('kvmb-'));
    // The owners' start times, read first: findLeftovers compares them with the names.
    const stats = new Map<string, string | undefined>();
    for (const n of ours) {
      const pid = /^kvmb-(\d+)-/.exec(n)?.[1];
      if (pid && !stats.has(pid)) stats.set(pid, await ctx.reader.readText(`/proc/${pid}/stat`));
    }
    const gone = findLeftovers(ours, (p) => stats.get(/^\/proc\/(\d+)\/stat$/.exec(p)?.[1] ?? ''));
    const ev = [`${NETNS_DIR}: ${names.length} namespace${names.length === 1 ? '' : 's'}, ${ours.length} kvmbench's`];
    const running = ours.filter((n) => !gone.some((g) => g.name === n));
    if (running.length) ev.push(`in use by a running kvmbench: ${running.join(', ')}`);
    if (!gone.length) return pass(ev);
    return warn(
      [...ev, `left by a kvmbench that is gone: ${gone.map((g) => `${g.name} (pid ${g.pid})`).join(', ')}`],
      `the next net case removes them; now: ${gone.map((g) => `\`sudo ip netns delete ${g.name}\``).join(', ')}`,
    );
  },
};

export const NET_CHECKS: CheckDef[] = [netAdmin, iperf3, netLeftovers];
