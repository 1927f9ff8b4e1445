/**
 * Registry of case executors by `kind`. Each executor lives in its own module
 * beside this one and is added here with one line.
 */
import type { CaseExecutor } from '../suites/types.js';
import { bootMicroExecutor } from './boot-micro.js';
import { exitsExecutor } from './exits.js';

export const executors: Record<string, CaseExecutor> = {
  [exitsExecutor.kind]: exitsExecutor,
  [bootMicroExecutor.kind]: bootMicroExecutor,
};

export function executorFor(kind: string): CaseExecutor | undefined {
  return executors[kind];
}
