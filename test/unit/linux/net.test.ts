import { describe, expect, it } from 'vitest';
import { chooseBackend, guestAddressFor } from '../../../src/cases/net.js';
import { buildLinuxArgs, kernelCmdline, linuxWrapper, nicArgs } from '../../../src/linux/launch.js';
import type { LinuxImage } from '../../../src/linux/image.js';
import {
  findLeftovers,
  hasNetAdmin,
  inNamespace,
  newNamespaceNames,
  parseNetnsName,
  processStartTicks,
} from '../../../src/net/netns.js';

const stat = (pid: number, start: string): string =>
  `${pid} (node (x) y) S ${Array.from({ length: 18 }, (_, i) => i + 4).join(' ')} ${start} 1 2 3`;

describe('kvmbench network namespaces', () => {
  it('names carry the owner pid and start time; the peer ends in p', () => {
    const { ns, peer } = newNamespaceNames();
    expect(ns).toMatch(new RegExp(`^kvmb-${process.pid}-\\d+-\\d+$`));
    expect(peer).toBe(`${ns}p`);
    expect(parseNetnsName(ns)).toMatchObject({ pid: process.pid, peer: false, startTicks: processStartTicks(process.pid) });
    expect(parseNetnsName(peer)?.peer).toBe(true);
    expect(parseNetnsName('kvmb-x')).toBeUndefined();
    expect(parseNetnsName('docker-1-2-3')).toBeUndefined();
  });
  it('reads the start time past a command name with spaces and parentheses', () => {
    expect(processStartTicks(42, () => stat(42, '98765'))).toBe('98765');
    expect(processStartTicks(42, () => undefined)).toBeUndefined();
  });
  it('a leftover is a kvmbench namespace whose owner is gone or whose pid was reused', () => {
    const procs: Record<string, string> = { '/proc/100/stat': stat(100, '555'), '/proc/200/stat': stat(200, '999') };
    const read = (p: string) => procs[p];
    const names = ['kvmb-100-555-1', 'kvmb-100-555-1p', 'kvmb-200-111-1', 'kvmb-300-5-2p', 'other-ns', 'kvmb-bad'];
    expect(findLeftovers(names, read).map((o) => o.name)).toEqual(['kvmb-200-111-1', 'kvmb-300-5-2p']);
  });
  it('CAP_NET_ADMIN is bit 12 of CapEff', () => {
    expect(hasNetAdmin('Name:\tnode\nCapEff:\t000001ffffffffff\n')).toBe(true);
    expect(hasNetAdmin('CapEff:\t0000000000000000\n')).toBe(false);
    expect(hasNetAdmin('CapEff:\t0000000000001000\n')).toBe(true);
    expect(hasNetAdmin('Name:\tnode\n')).toBe(false);
  });
  it('commands run in a namespace through ip netns exec, as argv', () => {
    expect(inNamespace('kvmb-1-2-3', ['iperf3', '--client', '10.213.0.2'])).toEqual([
      'ip',
      'netns',
      'exec',
      'kvmb-1-2-3',
      'iperf3',
      '--client',
      '10.213.0.2',
    ]);
  });
});

describe("the NIC on QEMU's command line", () => {
  it('tap with vhost on q35 and microvm', () => {
    const tap = { backend: 'tap' as const, ifname: 'tap0', vhost: true, mac: '52:54:00:6b:62:02', netns: 'kvmb-1-2-3' };
    expect(nicArgs(tap, 'q35')).toEqual({
      netdev: 'tap,id=n0,ifname=tap0,script=no,downscript=no,vhost=on',
      device: 'virtio-net-pci,netdev=n0,mac=52:54:00:6b:62:02',
    });
    expect(nicArgs({ ...tap, vhost: false }, 'microvm')).toEqual({
      netdev: 'tap,id=n0,ifname=tap0,script=no,downscript=no,vhost=off',
      device: 'virtio-net-device,netdev=n0,mac=52:54:00:6b:62:02',
    });
  });
  it('refuses tap names that would inject QEMU options', () => {
    expect(() => nicArgs({ backend: 'tap', ifname: 'x,script=/tmp/evil', vhost: false, mac: 'm' }, 'q35')).toThrow(
      /not an interface name/,
    );
    expect(() => nicArgs({ backend: 'tap', ifname: 'averyveryverylongname', vhost: false, mac: 'm' }, 'q35')).toThrow(
      /not an interface name/,
    );
  });
  it('user networking forwards only loopback ports to the guest', () => {
    expect(
      nicArgs({ backend: 'user', mac: 'm', hostfwd: ['tcp:127.0.0.1:40000-:5201', 'udp:127.0.0.1:40000-:5201'] }, 'q35').netdev,
    ).toBe('user,id=n0,net=10.0.2.0/24,hostfwd=tcp:127.0.0.1:40000-:5201,hostfwd=udp:127.0.0.1:40000-:5201');
    expect(() => nicArgs({ backend: 'user', mac: 'm', hostfwd: ['tcp::40000-:5201'] }, 'q35')).toThrow(/bad hostfwd/);
  });
  it('QEMU starts inside the namespace of a kvmbench tap, not for a user tap or slirp', () => {
    const img = { kernelPath: '/k', initramfsPath: '/i' } as LinuxImage;
    const nic = { backend: 'tap' as const, ifname: 'tap0', vhost: false, mac: '52:54:00:6b:62:02', netns: 'kvmb-1-2-3' };
    const argv = buildLinuxArgs({
      image: img,
      machine: 'q35',
      accel: 'tcg',
      nic,
      guestArgs: { mode: 'net', ip: '10.213.0.2/24', tests: 5 },
    });
    expect(argv.slice(0, 4)).toEqual(['ip', 'netns', 'exec', 'kvmb-1-2-3']);
    expect(argv).toContain('virtio-net-pci,netdev=n0,mac=52:54:00:6b:62:02');
    expect(argv[argv.indexOf('-netdev') + 1]).toBe('tap,id=n0,ifname=tap0,script=no,downscript=no,vhost=off');
    expect(argv.join(' ')).toContain('kb.mode=net kb.ip=10.213.0.2/24 kb.tests=5');
    expect(linuxWrapper({ nic: { ...nic, netns: undefined } })).toBeUndefined();
    expect(linuxWrapper({ nic: { backend: 'user', mac: 'm', hostfwd: [] } })).toBeUndefined();
  });
  it('the guest address reaches the kernel command line only when it is plain', () => {
    expect(kernelCmdline(false, { ip: '10.0.2.15/24' })).toContain('kb.ip=10.0.2.15/24');
    expect(() => kernelCmdline(false, { ip: '1.2.3.4 init=/bin/sh' })).toThrow(/cannot carry/);
  });
});

describe('backend choice', () => {
  it('--tap wins; CAP_NET_ADMIN with /dev/net/tun gives the namespace; else user networking', () => {
    expect(chooseBackend({ tap: 'kvmb0', netAdmin: false, tunExists: true }).backend).toBe('tap-user');
    expect(chooseBackend({ netAdmin: true, tunExists: true }).backend).toBe('tap-netns');
    expect(chooseBackend({ netAdmin: true, tunExists: false })).toMatchObject({
      backend: 'user',
      why: expect.stringContaining('/dev/net/tun'),
    });
    expect(chooseBackend({ netAdmin: false, tunExists: true })).toMatchObject({
      backend: 'user',
      why: expect.stringContaining('no CAP_NET_ADMIN'),
    });
    expect(chooseBackend({ netAdmin: true, tunExists: true, forceUser: true }).backend).toBe('user');
  });
  it("a user tap's guest gets the next address in the tap's subnet", () => {
    expect(guestAddressFor('10.213.0.1', 24)).toBe('10.213.0.2');
    expect(guestAddressFor('192.168.7.254', 24)).toBe('192.168.7.253');
    expect(guestAddressFor('172.16.0.9', 30)).toBe('172.16.0.10');
  });
});
