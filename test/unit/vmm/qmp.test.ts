/**
 * The QMP client against a scripted server on the other end of a real socketpair-like
 * duplex (a PassThrough pair): greeting, capabilities, ids, errors, events, deadlines.
 */
import { Duplex, PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { QmpClient, queryVcpuStats, statsDelta } from '../../../src/vmm/qmp.js';

/** Two ends: what the client writes arrives at `server.in`; what the server writes reaches the client. */
function pair(): { client: Duplex; toClient: PassThrough; fromClient: PassThrough } {
  const toClient = new PassThrough();
  const fromClient = new PassThrough();
  const client = Duplex.from({ readable: toClient, writable: fromClient });
  return { client, toClient, fromClient };
}

function server(onCommand: (cmd: { execute: string; arguments?: Record<string, unknown>; id: string }) => unknown | undefined) {
  const p = pair();
  p.fromClient.on('data', (b: Buffer) => {
    for (const line of b
      .toString()
      .split('\n')
      .filter((l) => l.trim())) {
      const cmd = JSON.parse(line) as { execute: string; id: string; arguments?: Record<string, unknown> };
      const reply = cmd.execute === 'qmp_capabilities' ? { return: {} } : onCommand(cmd);
      if (reply !== undefined) p.toClient.write(`${JSON.stringify({ ...(reply as object), id: cmd.id })}\r\n`);
    }
  });
  return p;
}

const GREETING = `${JSON.stringify({ QMP: { version: { qemu: { major: 7, minor: 2, micro: 22 } }, capabilities: [] } })}\r\n`;

describe('QmpClient', () => {
  it('waits for the greeting and the capabilities handshake, then matches answers by id', async () => {
    const s = server((c) => (c.execute === 'query-status' ? { return: { status: 'running' } } : { return: c.arguments }));
    const q = new QmpClient(s.client);
    const pending = q.execute('query-status');
    s.toClient.write(GREETING);
    expect(await pending).toEqual({ status: 'running' });
    expect(q.version).toBe('7.2.22');
    expect(q.greetingNs).toBeTypeOf('bigint');
    expect(await q.execute('echo', { a: 1 })).toEqual({ a: 1 });
  });

  it('rejects a command QEMU answers with an error, naming its class', async () => {
    const s = server(() => ({ error: { class: 'CommandNotFound', desc: 'The command query-stats has not been found' } }));
    const q = new QmpClient(s.client);
    s.toClient.write(GREETING);
    await expect(q.execute('query-stats')).rejects.toThrow(/CommandNotFound/);
  });

  it('delivers events in between answers', async () => {
    const s = server(() => undefined);
    const q = new QmpClient(s.client);
    const events: string[] = [];
    q.onEvent((e) => events.push(`${e.event}:${JSON.stringify(e.data ?? {})}`));
    s.toClient.write(GREETING);
    s.toClient.write(
      `${JSON.stringify({ event: 'STOP', timestamp: { seconds: 1, microseconds: 2 } })}\r\n{"event":"GUEST_PANICKED","data":{"action":"pause"}}\n`,
    );
    await new Promise((r) => setImmediate(r));
    expect(events).toEqual(['STOP:{}', 'GUEST_PANICKED:{"action":"pause"}']);
  });

  it('never hangs: a silent server times out, a closed one rejects everything pending', async () => {
    const s = server(() => undefined);
    const q = new QmpClient(s.client);
    s.toClient.write(GREETING);
    await expect(q.execute('query-status', undefined, 50)).rejects.toThrow(/no answer within 50 ms/);
    const pending = q.execute('query-status', undefined, 10_000);
    s.toClient.end();
    await expect(pending).rejects.toThrow(/closed its monitor/);
    expect(q.isClosed).toBe(true);
    await expect(q.execute('query-status')).rejects.toThrow();
  });

  it('ignores lines that are not JSON instead of failing', async () => {
    const s = server(() => ({ return: 1 }));
    const q = new QmpClient(s.client);
    s.toClient.write(`garbage\n${GREETING}`);
    expect(await q.execute('x')).toBe(1);
  });
});

describe('vCPU statistics', () => {
  it('reads numeric KVM counters per vCPU in vCPU order, dropping histograms', async () => {
    const s = server((c) => {
      expect(c.arguments).toEqual({ target: 'vcpu', providers: [{ provider: 'kvm' }] });
      return {
        return: [
          { provider: 'kvm', 'qom-path': '/machine/unattached/device[10]', stats: [{ name: 'exits', value: 7 }] },
          {
            provider: 'kvm',
            'qom-path': '/machine/unattached/device[2]',
            stats: [
              { name: 'exits', value: 5 },
              { name: 'halt_poll_success_hist', value: [1, 2] },
            ],
          },
        ],
      };
    });
    const q = new QmpClient(s.client);
    s.toClient.write(GREETING);
    expect(await queryVcpuStats(q)).toEqual([{ exits: 5 }, { exits: 7 }]);
  });

  it('is undefined, not invented, when QEMU cannot answer (TCG, old QEMU or kernel)', async () => {
    const s = server(() => ({ error: { class: 'GenericError', desc: 'no stats' } }));
    const q = new QmpClient(s.client);
    s.toClient.write(GREETING);
    expect(await queryVcpuStats(q)).toBeUndefined();
  });

  it('subtracts counters present on both sides', () => {
    expect(statsDelta({ exits: 10, io_exits: 2 }, { exits: 15, io_exits: 2, halt_exits: 1 })).toEqual({ exits: 5, io_exits: 0 });
  });
});
