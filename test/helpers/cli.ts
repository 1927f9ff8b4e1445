/**
 * The built CLI as the e2e tests run it: `node bin/run.js ARGS` in the package root, no colour,
 * CI mode (one plain line per case), extra environment on top, a wall-clock limit.
 */
import { execFileSync, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../../src/version.js';

export function runCli(args: string[], env: Record<string, string> = {}, timeoutMs = 300_000): SpawnSyncReturns<string> {
  const root = packageRoot();
  return spawnSync(process.execPath, [join(root, 'bin/run.js'), ...args], {
    cwd: root, encoding: 'utf8', timeout: timeoutMs, env: { ...process.env, NO_COLOR: '1', CI: '1', ...env },
  });
}

/** Builds what the CLI needs when a test file runs alone (npm test has built it already). */
export function ensureBuilt(): void {
  const root = packageRoot();
  if (!existsSync(join(root, 'dist/commands/run.js'))) execFileSync('npm', ['run', 'build:ts'], { cwd: root, stdio: 'inherit' });
  execFileSync(process.execPath, [join(root, 'scripts', 'build-guests.mjs')], { stdio: 'pipe' });
}
