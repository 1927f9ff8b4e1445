/**
 * The built CLI as the e2e tests run it: `node bin/run.js ARGS` in the package root, no colour,
 * CI mode (one plain line per case), extra environment on top, a wall-clock limit.
 */
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { join } from 'node:path';
import { packageRoot } from '../../src/version.js';

export function runCli(args: string[], env: Record<string, string> = {}, timeoutMs = 300_000): SpawnSyncReturns<string> {
  const root = packageRoot();
  return spawnSync(process.execPath, [join(root, 'bin/run.js'), ...args], {
    cwd: root,
    encoding: 'utf8',
    timeout: timeoutMs,
    env: { ...process.env, NO_COLOR: '1', CI: '1', ...env },
  });
}

export interface CliResult {
  /** Exit status; -1 when the process was killed (timeout, signal). */
  code: number;
  stdout: string;
  stderr: string;
  /** Wall time of the whole command. */
  ms: number;
}

/** `runCli` with the exit status as a number and the wall time: `cli('doctor', '--json')`. */
export function cli(...args: string[]): CliResult {
  const t0 = performance.now();
  const r = runCli(args, {}, 120_000);
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr, ms: performance.now() - t0 };
}
