import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  NET_JOBS,
  intervalSamples,
  iperf3ClientArgs,
  iperf3ServerArgs,
  parseIperf3Json,
  parsePing,
  pingArgs,
  pingCount,
} from '../../../src/linux/iperf3.js';
import { iperf3Figures, pingFigures } from '../../../src/cases/net.js';
import { packageRoot } from '../../../src/version.js';

const fixture = (f: string): string => readFileSync(join(packageRoot(), 'test/fixtures/net', f), 'utf8');
const job = (id: string) => NET_JOBS.find((j) => j.id === id)!;
const opts = { server: '10.213.0.2', runtimeSec: 3, rampSec: 1, intervalSec: 0.25 };

describe('iperf3 command lines', () => {
  it('host client for guest → host TCP: --reverse, streams, ramp as --omit, JSON', () => {
    expect(iperf3ClientArgs(job('tcp-g2h-4'), opts)).toEqual([
      '--client',
      '10.213.0.2',
      '--port',
      '5201',
      '--time',
      '3',
      '--omit',
      '1',
      '--interval',
      '0.25',
      '--parallel',
      '4',
      '--json',
      '--connect-timeout',
      '3000',
      '--reverse',
    ]);
  });
  it('host → guest sends from the host: no --reverse', () => {
    expect(iperf3ClientArgs(job('tcp-h2g-1'), opts)).not.toContain('--reverse');
    expect(iperf3ClientArgs(job('tcp-h2g-1'), opts)).toContain('1');
  });
  it('UDP: 64-byte datagrams at an unlimited rate, the guest sending', () => {
    const a = iperf3ClientArgs(job('udp-g2h-64'), { ...opts, port: 40001 });
    expect(a.join(' ')).toContain('--udp --length 64 --bitrate 0 --reverse');
    expect(a.join(' ')).toContain('--port 40001');
  });
  it('the ping job is not an iperf3 job', () => {
    expect(() => iperf3ClientArgs(job('rr-ping'), opts)).toThrow(/not an iperf3 job/);
  });
  it('servers are one-off, optionally bound (the baseline peer)', () => {
    expect(iperf3ServerArgs()).toEqual(['--server', '--one-off', '--port', '5201']);
    expect(iperf3ServerArgs({ bind: '10.213.1.2' })).toEqual(['--server', '--one-off', '--port', '5201', '--bind', '10.213.1.2']);
  });
  it('ping sends a ramp plus at least 11 timed echoes', () => {
    expect(pingCount(opts)).toEqual({ count: 20, ramp: 5, interval: 0.2 });
    expect(pingCount({ runtimeSec: 1, rampSec: 0, intervalSec: 0.5 })).toEqual({ count: 12, ramp: 1, interval: 0.2 });
    expect(pingArgs(opts)).toEqual(['ping', '-c', '20', '-i', '0.2', '-W', '2', '-w', '9', '10.213.0.2']);
  });
  it('the guest and the baseline run the same jobs: only the server address differs', () => {
    for (const j of NET_JOBS.filter((x) => x.kind !== 'rr')) {
      const g = iperf3ClientArgs(j, opts);
      const h = iperf3ClientArgs(j, { ...opts, server: '10.213.1.2' });
      expect(h.map((x) => (x === '10.213.1.2' ? '10.213.0.2' : x))).toEqual(g);
    }
  });
});

describe('parseIperf3Json', () => {
  it('reads per-interval sums after the ramp from a real TCP --reverse run', () => {
    const r = parseIperf3Json(fixture('iperf3-tcp-reverse-2streams.json'));
    expect(r).toMatchObject({ protocol: 'TCP', reverse: true, streams: 2 });
    expect(r.version).toMatch(/^iperf 3\./);
    expect(r.intervals.length).toBeGreaterThanOrEqual(4);
    for (const iv of r.intervals) expect(iv.bitsPerSecond).toBeGreaterThan(0);
    expect(r.receivedBitsPerSecond).toBeGreaterThan(0);
    const f = iperf3Figures(job('tcp-g2h-4'), r, 0.5);
    expect(f.unit).toBe('Mbit/s');
    expect(f.samples.length).toBe(intervalSamples(r, 0.5, () => 0).length);
    expect(f.method).toContain('receiver');
  });
  it('reads received packets per second from a real UDP --reverse run', () => {
    const r = parseIperf3Json(fixture('iperf3-udp-reverse-64.json'));
    expect(r.protocol).toBe('UDP');
    for (const iv of r.intervals) {
      expect(iv.packetsPerSecond).toBeGreaterThan(0);
      expect(iv.lostPackets).toBeGreaterThanOrEqual(0);
    }
    expect(iperf3Figures(job('udp-g2h-64'), r, 0.5).unit).toBe('pps');
  });
  it("turns iperf3's own error into the message", () => {
    expect(() => parseIperf3Json(fixture('iperf3-refused.json'))).toThrow(
      /iperf3 reported an error: unable to connect to server: Connection refused/,
    );
  });
  it('skips warnings around the JSON', () => {
    const text = `iperf3: warning - something\n${fixture('iperf3-tcp-reverse-2streams.json')}\ntrailing words`;
    expect(parseIperf3Json(text).streams).toBe(2);
  });
  it('drops omitted intervals and short tail intervals', () => {
    const doc = JSON.parse(fixture('iperf3-tcp-reverse-2streams.json'));
    doc.intervals[0].sum.omitted = true;
    doc.intervals.push({ streams: [], sum: { start: 2, end: 2.01, seconds: 0.01, bytes: 10, bits_per_second: 8000 } });
    const r = parseIperf3Json(JSON.stringify(doc));
    expect(r.intervals.some((iv) => iv.seconds === 0.01)).toBe(true);
    expect(intervalSamples(r, 0.5, (iv) => iv.seconds).every((s) => s >= 0.25)).toBe(true);
  });
  const good = JSON.parse(fixture('iperf3-tcp-reverse-2streams.json'));
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- a parsed fixture mutated field by field
  const mutate = (f: (d: any) => void): string => {
    const d = structuredClone(good);
    f(d);
    return JSON.stringify(d);
  };
  it.each([
    ['empty', ''],
    ['not JSON', 'Segmentation fault\n'],
    ['truncated mid-way', fixture('iperf3-tcp-reverse-2streams.json').slice(0, 3000)],
    [
      'truncated, closing brace of an inner object last',
      fixture('iperf3-tcp-reverse-2streams.json').slice(
        0,
        fixture('iperf3-tcp-reverse-2streams.json').lastIndexOf('}', 3000) + 1,
      ),
    ],
    ['array root', '[1, 2]'],
    [
      'no intervals',
      mutate((d) => {
        d.intervals = [];
      }),
    ],
    [
      'every interval omitted',
      mutate((d) => {
        for (const iv of d.intervals) iv.sum.omitted = true;
      }),
    ],
    [
      'intervals not an array',
      mutate((d) => {
        d.intervals = { 0: 1 };
      }),
    ],
    [
      'negative bits',
      mutate((d) => {
        d.intervals.at(-1).sum.bits_per_second = -5;
      }),
    ],
    [
      'string bits',
      mutate((d) => {
        d.intervals.at(-1).sum.bits_per_second = '1e9';
      }),
    ],
    [
      'NaN-ish bits',
      mutate((d) => {
        d.intervals.at(-1).sum.bits_per_second = null;
      }),
    ],
    [
      'unknown protocol',
      mutate((d) => {
        d.start.test_start.protocol = 'SCTP';
      }),
    ],
    [
      'no test_start',
      mutate((d) => {
        delete d.start.test_start;
      }),
    ],
    [
      'no end',
      mutate((d) => {
        delete d.end;
      }),
    ],
    ['__proto__ pollution attempt', '{"__proto__": {"intervals": [1]}, "start": null}'],
    ['huge', `{"x": "${'a'.repeat(17 << 20)}"}`],
  ])('rejects hostile or truncated output: %s', (_name, text) => {
    expect(() => parseIperf3Json(text)).toThrow(/iperf3 output/);
  });
});

describe('parsePing', () => {
  it('reads every reply time in µs, and the counts', () => {
    const p = parsePing(fixture('busybox-ping.txt'));
    expect(p.rttUs).toEqual([48, 69, 86, 92]);
    expect(p).toMatchObject({ transmitted: 4, received: 4 });
  });
  it("reads iputils' format too", () => {
    expect(parsePing('64 bytes from 10.0.0.2: icmp_seq=1 ttl=64 time=0.250 ms\n').rttUs).toEqual([250]);
  });
  it('ignores lines that only look like replies', () => {
    const p = parsePing(
      '64 bytes from 10.0.0.2: seq=1 ttl=64 time=0.2 ms; rm -rf /\n64 bytes from 10.0.0.2: seq=2 ttl=64 time=0.3 ms\n',
    );
    expect(p.rttUs).toEqual([300]);
  });
  it('throws when nothing came back', () => {
    expect(() =>
      parsePing(
        'PING 10.0.0.2 (10.0.0.2): 56 data bytes\n\n--- 10.0.0.2 ping statistics ---\n5 packets transmitted, 0 packets received, 100% packet loss\n',
      ),
    ).toThrow(/no reply \(5 sent, 0 received\)/);
    expect(() => parsePing('')).toThrow(/no reply/);
  });
  it('leaves the ramp replies out of the samples', () => {
    const lines = Array.from({ length: 20 }, (_, i) => `64 bytes from 10.213.0.2: seq=${i} ttl=64 time=${i + 1}.000 ms`).join(
      '\n',
    );
    const f = pingFigures(lines, opts);
    expect(f.samples).toHaveLength(15);
    expect(f.samples[0]).toBe(6000);
    expect(f).toMatchObject({ unit: 'us', better: 'lower' });
  });
});
