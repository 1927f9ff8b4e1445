/**
 * What the code around a case tells every QEMU launch made inside it, and learns from each:
 * the startup budget to apply, and a report of how each launch ended. The runner opens a scope
 * around an executor (src/suites/runner.ts); launchQemu reads it. An AsyncLocalStorage, so the
 * executors, which call launchQemu in their own ways (directly, through bootLinux, through a
 * tinybench loop), need not pass anything on, and a launch outside any case (the calibration
 * boot, the doctor) has no scope: no budget unless its caller gives one, nothing reported.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { Accelerator } from '../results/model.js';
import type { StartFailure } from './startup.js';

/** How one launch ended, as far as the VMM is concerned. */
export interface LaunchReport {
  binary: string;
  accel: Accelerator;
  /** Undefined when the guest ran (whatever it then did). */
  startFailure?: StartFailure;
}

export interface LaunchScope {
  /** Startup budget in ms for launches that do not set their own; 0 or absent: none. */
  startupMs?: number;
  onLaunch?(report: LaunchReport): void;
}

const store = new AsyncLocalStorage<LaunchScope>();

export function withLaunchScope<T>(scope: LaunchScope, fn: () => T): T {
  return store.run(scope, fn);
}

export function currentLaunchScope(): LaunchScope | undefined {
  return store.getStore();
}
