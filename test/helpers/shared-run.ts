/**
 * Runs of the built CLI that several e2e files can read instead of each making its own: the
 * first file that asks for a run makes it (e2e files run one at a time), later ones get the same
 * directory and the same exit status and output. Only for runs that tests read, never modify.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { inject } from 'vitest';
import { runCli } from './cli.js';

export interface SharedRun {
  /** The run's output directory. */
  dir: string;
  status: number | null;
  stdout: string;
  stderr: string;
  /** Wall time of the run when it was made (ms). */
  wallMs: number;
}

/**
 * A small quick exits run (accelerator auto: KVM where it works), made twice: the report tests
 * read both and compare them, and pairing checks that the two pair every metric.
 */
export const EXITS_SUBSET = [
  'run',
  'exits',
  '--quick',
  '--only',
  'cpuid',
  '--only',
  'inl_from_qemu',
  '--only',
  'mmio_from_qemu',
  '--only',
  'hlt_lapic_timer',
];

/** `kvmbench ARGS --output <shared>/<name>`, made once per vitest invocation. */
export function sharedRun(name: string, args: readonly string[], timeoutMs = 300_000): SharedRun {
  const root = inject('sharedRunsDir');
  const dir = join(root, name);
  const record = join(root, `${name}.json`);
  if (existsSync(record)) return JSON.parse(readFileSync(record, 'utf8')) as SharedRun;
  const t0 = Date.now();
  const r = runCli([...args, '--output', dir], {}, timeoutMs);
  const run: SharedRun = { dir, status: r.status, stdout: r.stdout, stderr: r.stderr, wallMs: Date.now() - t0 };
  writeFileSync(record, JSON.stringify(run));
  return run;
}
