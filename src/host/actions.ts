/**
 * What the doctor may *do* to a host, as opposed to read from it: start a short-lived QEMU and ask
 * it over QMP, or run a few guest instructions through kvmbench's own VMM. A HostReader never does
 * either; the composition root passes the live actions in (src/app/host-actions.ts), a host
 * snapshot replays recorded answers (src/host/fixture-reader.ts), and a run that gives none gets
 * NO_HOST_ACTIONS, whose answers read as "not known".
 */
import type { RawRunRecord } from '../kvm/bench.js';
import type { HostReader } from './reader.js';

/** One QMP command for `qmpQuery`. */
export interface QmpCommand {
  execute: string;
  arguments?: Record<string, unknown>;
}

/**
 * Ask a short-lived QEMU (no guest: `-S`, CPUs never run) a few QMP questions, e.g.
 * `query-sev-capabilities`. `accel` is the accelerator QEMU starts with: `kvm` where the
 * probe says KVM works, else `tcg` (QEMU then answers that KVM features are unavailable).
 */
export interface QmpQuery {
  accel: 'kvm' | 'tcg';
  commands: QmpCommand[];
  /** Kill QEMU after this long (default 4000 ms). */
  timeoutMs?: number;
}

export interface QmpReply {
  execute: string;
  return?: unknown;
  error?: { class: string; desc: string };
}

export interface QmpAnswer {
  accel: 'kvm' | 'tcg';
  /** QEMU started and its monitor answered (replies hold one entry per command). */
  answered: boolean;
  qemuVersion?: string;
  replies: QmpReply[];
  /** Why there is no answer: QEMU missing, exited early (its last stderr line) or timed out. */
  error?: string;
  notFound?: boolean;
  /** The command line QEMU ran with (evidence). */
  argv?: string[];
  durationMs: number;
}

/** The key a QMP query is recorded under in a host tree's qmp.json. */
export function qmpQueryKey(q: QmpQuery): string {
  return `${q.accel}: ${q.commands.map((c) => (c.arguments ? `${c.execute} ${JSON.stringify(c.arguments)}` : c.execute)).join('; ')}`;
}

export interface HostActions {
  /** QEMU's own answers over QMP (see QmpQuery); never throws. */
  qmpQuery(q: QmpQuery): Promise<QmpAnswer>;
  /**
   * A few guest instructions through kvmbench's own VMM (src/kvm/bench.ts rawSmokeRun): VM,
   * memory, vCPU, first KVM_RUN. Undefined where the answer is not known (a host tree without
   * a recorded run, or no actions given). Never throws.
   */
  runRawGuest(device?: string): Promise<RawRunRecord | undefined>;
}

/** What the doctor examines: the host's reads and the actions it may take there. */
export interface ExaminedHost {
  reader: HostReader;
  actions: HostActions;
}

/** No QEMU, no VM: every answer reads as not known (QEMU "not found", no raw run). */
export const NO_HOST_ACTIONS: HostActions = {
  async qmpQuery(q) {
    return {
      accel: q.accel,
      answered: false,
      replies: [],
      notFound: true,
      error: 'QEMU was not started (no host actions given)',
      durationMs: 0,
    };
  },
  async runRawGuest() {
    return undefined;
  },
};
