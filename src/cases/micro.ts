/**
 * What the micro-guest executors share: machine-specific guest arguments, the
 * case's QEMU config, and turning a launch result into the common outcome fields.
 */
import type { Accelerator, Execution, ExecutionMode, GuestInfo, Metric } from '../results/model.js';
import { decideExecution } from '../vmm/execution.js';
import { variantVmRecord } from '../results/variant.js';
import type { CaseContext, CaseSpec } from './types.js';
import type { LaunchResult } from '../vmm/launch.js';
import { MACHINE_TYPES, variantQemu, type MachineType, type QemuConfig } from '../vmm/qemu.js';
import { UsageError } from '../errors.js';

/**
 * ACPI PM timer port per machine: SeaBIOS and qboot put the PM base at 0x600 on both q35 (ICH9)
 * and pc (PIIX4), timer at +8; microvm has no ACPI PM block. The guest checks the port counts.
 */
export const PMTIMER_PORT: Record<MachineType, number | undefined> = { q35: 0x608, pc: 0x608, microvm: undefined };

export function machineOf(spec: CaseSpec): MachineType {
  if (!(MACHINE_TYPES as readonly string[]).includes(spec.machine)) {
    throw new UsageError(
      `case ${spec.suite}/${spec.id}: unknown machine '${spec.machine}'`,
      `use one of ${MACHINE_TYPES.join(', ')}`,
    );
  }
  return spec.machine as MachineType;
}

/** Guest command-line words that tell a guest about its machine. */
export function machineArgs(machine: MachineType): string[] {
  const words: string[] = [];
  const pm = PMTIMER_PORT[machine];
  if (pm !== undefined) words.push(`pmtimer=0x${pm.toString(16)}`);
  if (machine === 'microvm') words.push('nopic');
  return words;
}

/** `args.machine_options: "pit=off,rtc=off"` → QEMU machine properties. */
export function machineOptionsOf(spec: CaseSpec): Record<string, string> | undefined {
  const v = spec.args.machine_options;
  if (v === undefined) return undefined;
  const items = Array.isArray(v) ? v : String(v).split(',');
  const out: Record<string, string> = {};
  for (const item of items.map((i) => i.trim()).filter(Boolean)) {
    const m = /^([a-z][a-z0-9_-]*)=([A-Za-z0-9_.-]+)$/.exec(item);
    if (!m) throw new UsageError(`case ${spec.suite}/${spec.id}: machine_options item '${item}' is not key=value`);
    out[m[1]!] = m[2]!;
  }
  return out;
}

/** Firmware a case may ask for with `args.firmware` (pc and q35; microvm always boots qboot). */
export const FIRMWARE: Record<string, string | undefined> = { seabios: undefined, qboot: 'qboot.rom' };

export function firmwareOf(spec: CaseSpec): string {
  const f = argString(spec, 'firmware') ?? 'seabios';
  if (!(f in FIRMWARE))
    throw new UsageError(
      `case ${spec.suite}/${spec.id}: unknown firmware '${f}'`,
      `use one of ${Object.keys(FIRMWARE).join(', ')}`,
    );
  return spec.machine === 'microvm' ? 'qboot' : f;
}

/** `args.irqchip: on|split|off` pins KVM's interrupt controllers for the case (default: QEMU's choice). */
function irqchipOf(spec: CaseSpec): QemuConfig['irqchip'] {
  const v = argString(spec, 'irqchip');
  if (v === undefined) return undefined;
  if (v !== 'on' && v !== 'split' && v !== 'off')
    throw new UsageError(`case ${spec.suite}/${spec.id}: irqchip must be on, split or off, got '${v}'`);
  return v;
}

export function qemuConfigFor(
  spec: CaseSpec,
  ctx: Pick<CaseContext, 'accel' | 'platform'>,
  kernel: string,
  append?: string,
): QemuConfig {
  const machine = machineOf(spec);
  const fw = firmwareOf(spec);
  const irqchip = irqchipOf(spec);
  return {
    machine,
    machineOptions: machineOptionsOf(spec),
    accel: ctx.accel,
    cpu: ctx.platform.cpu,
    vcpus: spec.vcpus,
    memoryMiB: spec.memoryMiB,
    kernel,
    append,
    ...(machine !== 'microvm' && FIRMWARE[fw] ? { bios: FIRMWARE[fw] } : {}),
    ...(irqchip ? { irqchip } : {}),
    // `kvmbench ab`: the variant's QEMU binary and its extra arguments, appended last.
    ...variantQemu(ctx.platform.variant),
  };
}

/**
 * The VM configuration that shapes a case's figures (results `vm`; compare flags pairs that
 * differ): CPU model, firmware, interrupt controllers, and KVM's halt polling and APIC
 * acceleration as the host's module parameters say; in `kvmbench ab`, the variant's QEMU
 * binary and extra arguments (`qemu`, `extra_args`).
 */
export function vmRecord(
  cfg: QemuConfig,
  host: CaseContext['host'],
  extra: Record<string, string> = {},
  variant?: CaseContext['platform']['variant'],
): Record<string, string> {
  const vm: Record<string, string> = {
    machine: cfg.machine,
    cpu: cfg.cpu ?? '',
    firmware: cfg.machine === 'microvm' ? 'qboot' : cfg.bios ? cfg.bios.replace(/\.rom$/, '') : 'seabios',
  };
  if (cfg.accel === 'kvm') {
    vm.irqchip = cfg.irqchip ?? 'qemu-default';
    const mods = host.kvmModules ?? {};
    const halt = mods.kvm?.halt_poll_ns;
    if (halt !== undefined) vm.halt_poll_ns = halt;
    const apicv = mods.kvm_intel?.enable_apicv ?? mods.kvm_amd?.avic;
    vm.apicv = apicv !== undefined ? apicv : mods.kvm_pvm ? 'N (PVM)' : 'unknown';
  }
  return { ...vm, ...variantVmRecord(variant), ...extra };
}

/** Case-level fields every micro-guest outcome carries. */
export function baseOutcome(spec: CaseSpec, accel: Accelerator, guest: GuestInfo) {
  return { title: spec.title, accelerator: accel, machine: spec.machine, guest, tags: spec.tags };
}

/** How the run's calibration boot executed guest code; under TCG `tcg`; unknown when no run measured it. */
export function runExecution(ctx: Pick<CaseContext, 'accel' | 'platform'>): Execution {
  if (ctx.accel === 'tcg') return decideExecution({ accel: 'tcg' });
  const e = ctx.platform.execution;
  return e
    ? { mode: e.mode, evidence: [...e.evidence, "the run's calibration boot: same guest runtime, -cpu and accelerator"] }
    : { mode: 'unknown', evidence: ['this run made no calibration boot'] };
}

/** Every figure carries how the guest code behind it ran. */
export function withExecution(mode: ExecutionMode, metrics: Metric[]): Metric[] {
  return metrics.map((m) => ({ ...m, execution: mode }));
}

/** Short facts about a launch, for `facts`. */
export function launchFacts(r: LaunchResult): Record<string, unknown> {
  return {
    qemuArgv: r.argv,
    qemuExitCode: r.exitCode,
    ...(r.signal ? { qemuSignal: r.signal } : {}),
    consoleBytes: r.consoleBytes,
    ...(r.transcript.notes.length ? { protocolNotes: r.transcript.notes.slice(0, 10) } : {}),
  };
}

export function argString(spec: CaseSpec, key: string): string | undefined {
  const v = spec.args[key];
  if (v === undefined) return undefined;
  return Array.isArray(v) ? v.join(',') : String(v);
}

/** Guest command-line words must not carry spaces or quotes (docs/protocol.md, guest arguments). */
export function guestWord(key: string, value: string): string {
  if (!/^[a-z0-9_]+$/.test(key) || !/^[A-Za-z0-9_.:,+-]*$/.test(value)) {
    throw new UsageError(`guest argument ${key}=${value} has characters the guest command line does not take`);
  }
  return value === '' ? key : `${key}=${value}`;
}
