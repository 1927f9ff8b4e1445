import { ExitCode, type ExitCodeValue } from './exit-codes.js';

/**
 * An error meant for a person: what went wrong, what to do about it, and the
 * documented exit code. Engine modules throw these; the base command renders them.
 */
export class KvmbenchError extends Error {
  readonly exitCode: ExitCodeValue;
  readonly hint?: string;

  constructor(message: string, opts: { exitCode?: ExitCodeValue; hint?: string; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'KvmbenchError';
    this.exitCode = opts.exitCode ?? ExitCode.FAILED;
    this.hint = opts.hint;
  }
}

export class UsageError extends KvmbenchError {
  constructor(message: string, hint?: string) {
    super(message, { exitCode: ExitCode.USAGE, hint });
    this.name = 'UsageError';
  }
}

export class EnvironmentError extends KvmbenchError {
  constructor(message: string, hint?: string) {
    super(message, { exitCode: ExitCode.ENV_UNUSABLE, hint });
    this.name = 'EnvironmentError';
  }
}

export class InterruptedError extends KvmbenchError {
  constructor(message = 'interrupted') {
    super(message, { exitCode: ExitCode.INTERRUPTED });
    this.name = 'InterruptedError';
  }
}
