/**
 * The live side of `HostActions.qmpQuery` (src/host/actions.ts): start QEMU with no guest, ask it over QMP, quit.
 *
 * QEMU starts through the one launcher (`launchQemu`), so its deadline, process-group kill
 * and registry apply. The machine is microvm with `-S`: its vCPU is created but never runs,
 * so nothing is booted, and `-cpu qemu64` under KVM (`max` under TCG) because a capability
 * query needs no particular CPU model while `-cpu host` can abort QEMU 7.2 on KVMs that refuse
 * MSR 0x10a. (The launcher's argument builder always names a machine type it knows and a
 * `-cpu`, and `-machine none` with a `-cpu` aborts on x86, so microvm stands in for `none`.)
 */
import { launchQemu } from './launch.js';
import { QmpError, type QmpClient } from './qmp.js';
import type { QmpAnswer, QmpQuery, QmpReply } from '../host/actions.js';

const DEFAULT_TIMEOUT_MS = 4000;
const COMMAND_TIMEOUT_MS = 2000;

function qmpErrorOf(err: unknown): { class: string; desc: string } {
  if (err instanceof QmpError) {
    // QmpError's message is `QMP <command>: <class>: <desc>`.
    const prefix = `QMP ${err.command}: ${err.qmpClass}: `;
    return { class: err.qmpClass, desc: err.message.startsWith(prefix) ? err.message.slice(prefix.length) : err.message };
  }
  return { class: 'kvmbench', desc: err instanceof Error ? err.message : String(err) };
}

export async function queryQemu(q: QmpQuery): Promise<QmpAnswer> {
  const t0 = performance.now();
  const replies: QmpReply[] = [];
  let answered = false;
  let qemuVersion: string | undefined;
  const ask = async (qmp: QmpClient): Promise<void> => {
    answered = true;
    qemuVersion = qmp.version;
    for (const c of q.commands) {
      try {
        replies.push({ execute: c.execute, return: await qmp.execute(c.execute, c.arguments, COMMAND_TIMEOUT_MS) });
      } catch (err) {
        replies.push({ execute: c.execute, error: qmpErrorOf(err) });
      }
    }
    // QEMU answers `quit` and exits; the launch then ends on its own, well before its deadline.
    await qmp.execute('quit', undefined, 1000).catch(() => undefined);
  };
  let pending: Promise<void> | undefined;
  try {
    const r = await launchQemu({
      qemu: {
        machine: 'microvm',
        accel: q.accel,
        cpu: q.accel === 'kvm' ? 'qemu64' : 'max',
        memoryMiB: 16,
        serial: 'none',
        debugExit: false,
        extraArgs: ['-S'],
      },
      timeoutMs: q.timeoutMs ?? DEFAULT_TIMEOUT_MS,
      // -S: the guest is never meant to run, so no startup budget applies.
      startupMs: 0,
      qmp: {
        onReady: (qmp) => {
          pending = ask(qmp);
        },
      },
    });
    await pending;
    const durationMs = Math.round(performance.now() - t0);
    if (answered) return { accel: q.accel, answered, ...(qemuVersion ? { qemuVersion } : {}), replies, argv: r.argv, durationMs };
    const last = r.stderr
      .trim()
      .split('\n')
      .filter((l) => !/^# kvmbench/.test(l))
      .pop()
      ?.trim();
    const error = r.timedOut
      ? `QEMU did not answer on QMP within ${q.timeoutMs ?? DEFAULT_TIMEOUT_MS} ms`
      : `QEMU exited (status ${r.exitCode ?? r.signal ?? '?'}) before its monitor answered${last ? `: ${last}` : ''}`;
    const notFound = /cannot execute .*: not found/.test(r.stderr);
    return { accel: q.accel, answered: false, replies: [], error, ...(notFound ? { notFound } : {}), argv: r.argv, durationMs };
  } catch (err) {
    // qemuBinary() throws when no QEMU is on PATH (or KVMBENCH_QEMU names none).
    return {
      accel: q.accel,
      answered: false,
      replies: [],
      notFound: true,
      error: err instanceof Error ? err.message : String(err),
      durationMs: Math.round(performance.now() - t0),
    };
  }
}
