/**
 * Host-side processes a case drives (the net case's iperf3 and ping), started like QEMU: their own
 * process group, registered so Node's exit kills them (src/vmm/processes.ts), and under
 * `setpriv --pdeathsig KILL` where it exists.
 */
import { execa } from 'execa';
import { guardedSpawn, killGroup, trackProcessGroup, untrackProcessGroup } from './processes.js';

/** A run of one host-side command, tracked like QEMU (own process group, killed with the run, pdeathsig). */
export async function runTracked(
  argv: readonly string[],
  o: { signal?: AbortSignal; timeoutMs: number },
): Promise<{ stdout: string; stderr: string; exitCode?: number }> {
  const [cmd, args] = guardedSpawn(argv[0]!, argv.slice(1));
  const child = execa(cmd, args, {
    reject: false,
    detached: true,
    cleanup: false,
    stdin: 'ignore',
    maxBuffer: 16 << 20,
    env: { ...process.env, LC_ALL: 'C' },
  });
  const pid = child.pid;
  trackProcessGroup(pid);
  const kill = (): void => killGroup(pid);
  const timer = setTimeout(kill, o.timeoutMs);
  o.signal?.addEventListener('abort', kill, { once: true });
  try {
    const r = await child;
    return { stdout: String(r.stdout ?? ''), stderr: String(r.stderr ?? ''), exitCode: r.exitCode };
  } finally {
    clearTimeout(timer);
    o.signal?.removeEventListener('abort', kill);
    kill();
    untrackProcessGroup(pid);
  }
}

/** Starts a long-lived host process (the baseline's iperf3 server); `stop()` kills its group. */
export function startTracked(argv: readonly string[]): { stop(): void; done: Promise<unknown> } {
  const [cmd, args] = guardedSpawn(argv[0]!, argv.slice(1));
  const child = execa(cmd, args, { reject: false, detached: true, cleanup: false, stdio: 'ignore' });
  const pid = child.pid;
  trackProcessGroup(pid);
  const done = child.then(
    () => untrackProcessGroup(pid),
    () => untrackProcessGroup(pid),
  );
  return {
    stop: () => {
      killGroup(pid);
      untrackProcessGroup(pid);
    },
    done,
  };
}
