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
    cwd: root, encoding: 'utf8', timeout: timeoutMs, env: { ...process.env, NO_COLOR: '1', CI: '1', ...env },
  });
}
