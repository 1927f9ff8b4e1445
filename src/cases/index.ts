/**
 * Registry of case executors by `kind`. Each executor lives in its own module
 * beside this one and is added here with one line.
 */
import type { CaseExecutor } from './types.js';
import { bootMicroExecutor } from './boot-micro.js';
import { exitsExecutor } from './exits.js';
import { bootLinuxExecutor } from './boot-linux.js';
import { ioExecutor } from './io.js';
import { netExecutor } from './net.js';
import { doctorExecutor } from './doctor.js';
import { rawExecutor } from './raw.js';
import { exitsScalingExecutor } from './exits-scaling.js';
import { conformanceExecutor } from './conformance.js';

export const executors: Record<string, CaseExecutor> = {
  [exitsExecutor.kind]: exitsExecutor,
  [bootMicroExecutor.kind]: bootMicroExecutor,
  [bootLinuxExecutor.kind]: bootLinuxExecutor,
  [ioExecutor.kind]: ioExecutor,
  [netExecutor.kind]: netExecutor,
  [doctorExecutor.kind]: doctorExecutor,
  [rawExecutor.kind]: rawExecutor,
  [exitsScalingExecutor.kind]: exitsScalingExecutor,
  [conformanceExecutor.kind]: conformanceExecutor,
};

export function executorFor(kind: string): CaseExecutor | undefined {
  return executors[kind];
}
