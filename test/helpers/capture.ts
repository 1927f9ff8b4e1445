/**
 * Runs a command class in this process and captures what it writes, as @oclif/test's
 * `captureOutput` does: stdout and stderr, the exit code it set (BaseCommand sets
 * `process.exitCode`, then `this.exit()` throws oclif's ExitError) and any other error.
 */
import { Errors } from '@oclif/core';
import { packageRoot } from '../../src/version.js';

export interface Captured {
  stdout: string;
  stderr: string;
  /** The code the process would exit with (0 when the command returned normally). */
  exitCode: number;
  /** An error that is not oclif's exit. */
  error?: Error;
}

interface Runnable {
  run(argv: string[], opts: string): Promise<unknown>;
}

export async function captureOutput(command: Runnable, argv: string[]): Promise<Captured> {
  const out: string[] = [];
  const err: string[] = [];
  const write = { out: process.stdout.write.bind(process.stdout), err: process.stderr.write.bind(process.stderr) };
  const before = process.exitCode;
  process.exitCode = undefined;
  process.stdout.write = ((chunk: string | Uint8Array) => (out.push(String(chunk)), true)) as typeof process.stdout.write;
  process.stderr.write = ((chunk: string | Uint8Array) => (err.push(String(chunk)), true)) as typeof process.stderr.write;
  let exitCode = 0;
  let error: Error | undefined;
  try {
    await command.run(argv, packageRoot());
    exitCode = Number(process.exitCode ?? 0);
  } catch (e) {
    if (e instanceof Errors.ExitError) exitCode = e.oclif.exit ?? Number(process.exitCode ?? 1);
    else error = e as Error;
  } finally {
    process.stdout.write = write.out;
    process.stderr.write = write.err;
    process.exitCode = before;
  }
  return { stdout: out.join(''), stderr: err.join(''), exitCode, ...(error ? { error } : {}) };
}
