/**
 * Registry of case executors by `kind`. Each executor lives in its own module
 * beside this one and is added here with one line.
 */
import type { CaseExecutor } from '../suites/types.js';

export const executors: Record<string, CaseExecutor> = {};

export function executorFor(kind: string): CaseExecutor | undefined {
  return executors[kind];
}
