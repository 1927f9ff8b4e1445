/**
 * Case specs and contexts for tests that call executors directly (the runner builds these
 * for real runs): one definition, shared by the e2e tests of the micro and Linux guests.
 */
import { join } from 'node:path';
import type { Accelerator } from '../../src/results/model.js';
import type { CaseContext, CaseSpec, RunMemory } from '../../src/cases/types.js';
import { TCG_CPU } from '../../src/vmm/smoke.js';

export function caseSpec(over: Partial<CaseSpec> & Pick<CaseSpec, 'id' | 'kind'>): CaseSpec {
  return {
    suite: over.kind,
    machine: 'q35',
    accel: ['kvm', 'tcg'],
    vcpus: 1,
    memoryMiB: 64,
    args: {},
    repeat: 10,
    deadlineSec: 20,
    tags: [],
    requires: [],
    ...over,
  };
}

export interface ContextOptions {
  accel: Accelerator;
  dir: string;
  name: string;
  deadlineSec: number;
  quick?: boolean;
  /** Aborted 2 s after the deadline unless given (like the runner's deadline timer). */
  controller?: AbortController;
  /** `-cpu` under KVM: what the run's calibration boot chose (tests pass it explicitly). */
  cpu?: string;
  host?: CaseContext['host'];
  memory?: RunMemory;
}

export function caseContext(o: ContextOptions): CaseContext {
  const controller = o.controller ?? new AbortController();
  const deadlineAt = Date.now() + o.deadlineSec * 1000;
  if (!o.controller) {
    const timer = setTimeout(() => controller.abort(new Error('deadline')), o.deadlineSec * 1000 + 2000);
    timer.unref();
  }
  return {
    accel: o.accel,
    quick: o.quick ?? true,
    outputDir: o.dir,
    logPath: join(o.dir, 'logs', `${o.name}.log`),
    signal: controller.signal,
    deadlineAt,
    host: o.host ?? {},
    scratchDir: o.dir,
    onPhase: () => {},
    platform: { cpu: o.cpu ?? (o.accel === 'kvm' ? 'host' : TCG_CPU) },
    memory: o.memory ?? new Map(),
  };
}
