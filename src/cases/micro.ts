/**
 * What the micro-guest executors share: machine-specific guest arguments, the
 * case's QEMU config, and turning a launch result into the common outcome fields.
 */
import type { Accelerator, GuestInfo } from '../results/model.js';
import type { CaseSpec } from '../suites/types.js';
import type { LaunchResult } from '../vmm/launch.js';
import { MACHINE_TYPES, type MachineType, type QemuConfig } from '../vmm/qemu.js';
import { UsageError } from '../cli/errors.js';

/**
 * ACPI PM timer port per machine: SeaBIOS puts the PM base at 0x600 on both q35 (ICH9) and
 * pc (PIIX4), timer at +8; microvm has no ACPI PM block. The guest checks the port counts.
 */
export const PMTIMER_PORT: Record<MachineType, number | undefined> = { q35: 0x608, pc: 0x608, microvm: undefined };

export function machineOf(spec: CaseSpec): MachineType {
  if (!(MACHINE_TYPES as readonly string[]).includes(spec.machine)) {
    throw new UsageError(`case ${spec.suite}/${spec.id}: unknown machine '${spec.machine}'`, `use one of ${MACHINE_TYPES.join(', ')}`);
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

export function qemuConfigFor(spec: CaseSpec, accel: Accelerator, kernel: string, append?: string): QemuConfig {
  return {
    machine: machineOf(spec), machineOptions: machineOptionsOf(spec), accel,
    vcpus: spec.vcpus, memoryMiB: spec.memoryMiB, kernel, append,
  };
}

/** Case-level fields every micro-guest outcome carries. */
export function baseOutcome(spec: CaseSpec, accel: Accelerator, guest: GuestInfo) {
  return { title: spec.title, accelerator: accel, machine: spec.machine, guest, tags: spec.tags };
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
