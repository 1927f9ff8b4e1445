/**
 * Every process group kvmbench starts (QEMU, and the net case's iperf3 and ping), tracked in one
 * place so none outlives the run:
 * - each runs in its own process group (spawned detached) and is killed as a group;
 * - Node's `exit` kills any still registered (deadline code paths that threw, Ctrl-C);
 * - where util-linux `setpriv` exists, QEMU is started through
 *   `setpriv --pdeathsig KILL`, so the kernel kills it even when kvmbench itself is
 *   killed with SIGKILL and no JavaScript runs. setpriv execs QEMU in place, so it
 *   costs one extra exec (about a millisecond) inside the spawn interval of boot timings.
 */
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

const live = new Set<number>();
let exitHookInstalled = false;
let setprivPath: string | null | undefined;

export function killGroup(pid: number | undefined): void {
  if (!pid) return;
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

/** Registers a process group (its leader's pid) to be killed at Node's exit unless untracked first. */
export function trackProcessGroup(pid: number | undefined): void {
  if (!pid) return;
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    // Spawned detached, so neither Node nor execa kills these on exit by themselves.
    process.on('exit', () => {
      for (const p of live) killGroup(p);
    });
  }
  live.add(pid);
}

export function untrackProcessGroup(pid: number | undefined): void {
  if (pid) live.delete(pid);
}

/** PIDs of the process groups (QEMU, iperf3, ping) this process has running (for tests and diagnostics). */
export function liveQemuPids(): number[] {
  return [...live];
}

function findSetpriv(env: NodeJS.ProcessEnv): string | null {
  if (env.KVMBENCH_NO_PDEATHSIG) return null;
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    try {
      accessSync(join(dir, 'setpriv'), constants.X_OK);
      return join(dir, 'setpriv');
    } catch {
      // not here
    }
  }
  return null;
}

/** The command and arguments that start `binary args` so it dies with this process. */
export function guardedSpawn(binary: string, args: readonly string[], env: NodeJS.ProcessEnv = process.env): [string, string[]] {
  if (setprivPath === undefined) setprivPath = findSetpriv(env);
  return setprivPath ? [setprivPath, ['--pdeathsig', 'KILL', '--', binary, ...args]] : [binary, [...args]];
}
