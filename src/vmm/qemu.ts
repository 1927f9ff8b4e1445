/**
 * QEMU's command line, as an argument array (never a shell string). Knows the
 * machine types kvmbench boots and nothing of cases or reports.
 */
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { EnvironmentError, UsageError } from '../errors.js';
import type { Accelerator, RunVariant } from '../results/model.js';

/** The machine types kvmbench boots: the one list (the suite schema and `--machine` take theirs from here). */
export const MACHINE_TYPES = ['microvm', 'q35', 'pc'] as const;
export type MachineType = (typeof MACHINE_TYPES)[number];

/** isa-debug-exit: a guest write of C to this port makes QEMU exit with (C << 1) | 1. */
export const DEBUG_EXIT_IOBASE = 0xf4;
/** isa-debugcon default port; the micro guests write one byte here at entry. */
export const DEBUGCON_IOBASE = 0xe9;

export interface DriveSpec {
  id: string;
  file: string;
  format?: 'raw' | 'qcow2';
  readonly?: boolean;
  /** e.g. `none` (O_DIRECT), `writeback`. */
  cache?: string;
  /** e.g. `native`, `io_uring`, `threads`. */
  aio?: string;
  /** Further `key=value` drive options, e.g. `throttling.iops-total=500` (keys checked by the caller). */
  options?: string[];
}

export interface QemuConfig {
  /** QEMU binary; default: qemuBinary(). */
  binary?: string;
  machine: MachineType;
  /** Extra machine properties, e.g. `{acpi: 'on', pit: 'off'}`. */
  machineOptions?: Record<string, string>;
  accel: Accelerator;
  /** TCG only: `single` runs every vCPU on one host thread, in turn; `multi` gives each its own. */
  tcgThread?: 'single' | 'multi';
  /** CPU model; default `host` on KVM, `max` on TCG (runs pass the model their calibration boot chose). */
  cpu?: string;
  /**
   * KVM's interrupt controllers: `on` (PIC, IOAPIC, LAPIC and PIT in the kernel), `split`
   * (LAPIC only) or `off`. Ignored under TCG. With `on`, the in-kernel PIT drops lost ticks
   * (`kvm-pit.lost_tick_policy=discard`) instead of replaying them into a measurement.
   */
  irqchip?: 'on' | 'split' | 'off';
  /** Firmware image for pc/q35 (`-bios`), e.g. `qboot.rom` from QEMU's data directory; default SeaBIOS. */
  bios?: string;
  vcpus?: number;
  memoryMiB?: number;
  kernel?: string;
  initrd?: string;
  append?: string;
  /** Where COM1 goes: `stdio` (default), `none`, or an existing chardev id. */
  serial?: 'stdio' | 'none' | { chardev: string };
  /** Add isa-debug-exit at 0xf4 (default true). */
  debugExit?: boolean;
  /** isa-debugcon at `iobase` feeding chardev `chardev` (define it in `chardevs`). */
  debugcon?: { iobase?: number; chardev: string };
  /** Block backends (`-drive if=none`); attach them with `devices`, e.g. `virtio-blk-pci,drive=ID`. */
  drives?: DriveSpec[];
  /** Raw `-chardev` values, e.g. `file,id=dbg,path=/dev/fd/3`. */
  chardevs?: string[];
  /** Raw `-device` values. */
  devices?: string[];
  /** Appended verbatim at the end (e.g. `-netdev ...`). */
  extraArgs?: string[];
}

/** Escapes a value inside a QEMU option list: commas are doubled. */
export function qemuOptValue(v: string): string {
  if (/[\n\r\0]/.test(v)) throw new UsageError(`QEMU option value contains a control character: ${JSON.stringify(v)}`);
  return v.replace(/,/g, ',,');
}

function positiveInt(name: string, v: number | undefined, dflt: number): number {
  const n = v ?? dflt;
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`${name} must be a positive integer, got ${String(v)}`);
  return n;
}

export function buildQemuArgs(cfg: QemuConfig): string[] {
  if (!(MACHINE_TYPES as readonly string[]).includes(cfg.machine)) {
    throw new UsageError(`unknown machine type '${cfg.machine}'`, `use one of ${MACHINE_TYPES.join(', ')}`);
  }
  const machineOpts = Object.entries(cfg.machineOptions ?? {}).map(([k, v]) => `${k}=${qemuOptValue(v)}`);
  const args: string[] = [
    '-machine',
    [cfg.machine, ...machineOpts].join(','),
    '-accel',
    cfg.accel === 'kvm' && cfg.irqchip
      ? `kvm,kernel-irqchip=${cfg.irqchip}`
      : cfg.accel === 'tcg' && cfg.tcgThread
        ? `tcg,thread=${cfg.tcgThread}`
        : cfg.accel,
    '-cpu',
    cfg.cpu ?? (cfg.accel === 'kvm' ? 'host' : 'max'),
    '-smp',
    String(positiveInt('vcpus', cfg.vcpus, 1)),
    '-m',
    String(positiveInt('memoryMiB', cfg.memoryMiB, 64)),
    '-nodefaults',
    '-no-user-config',
    '-display',
    'none',
    '-no-reboot',
  ];
  if (cfg.accel === 'kvm' && cfg.irqchip === 'on') args.push('-global', 'kvm-pit.lost_tick_policy=discard');
  if (cfg.bios) args.push('-bios', cfg.bios);
  for (const c of cfg.chardevs ?? []) args.push('-chardev', c);
  const serial = cfg.serial ?? 'stdio';
  if (serial === 'stdio' || serial === 'none') args.push('-serial', serial);
  else args.push('-serial', `chardev:${serial.chardev}`);
  if (cfg.debugExit ?? true) {
    args.push('-device', `isa-debug-exit,iobase=0x${DEBUG_EXIT_IOBASE.toString(16)},iosize=0x04`);
  }
  if (cfg.debugcon) {
    const iobase = cfg.debugcon.iobase ?? DEBUGCON_IOBASE;
    args.push('-device', `isa-debugcon,iobase=0x${iobase.toString(16)},chardev=${qemuOptValue(cfg.debugcon.chardev)}`);
  }
  for (const d of cfg.drives ?? []) {
    const parts = [`id=${qemuOptValue(d.id)}`, `file=${qemuOptValue(d.file)}`, `format=${d.format ?? 'raw'}`, 'if=none'];
    if (d.readonly) parts.push('readonly=on');
    if (d.cache) parts.push(`cache=${qemuOptValue(d.cache)}`);
    if (d.aio) parts.push(`aio=${qemuOptValue(d.aio)}`);
    for (const kv of d.options ?? []) {
      const eq = kv.indexOf('=');
      parts.push(eq < 0 ? qemuOptValue(kv) : `${kv.slice(0, eq)}=${qemuOptValue(kv.slice(eq + 1))}`);
    }
    args.push('-drive', parts.join(','));
  }
  for (const d of cfg.devices ?? []) args.push('-device', d);
  // -kernel/-initrd/-append take plain strings, not option lists: no comma escaping.
  if (cfg.kernel) args.push('-kernel', cfg.kernel);
  if (cfg.initrd) args.push('-initrd', cfg.initrd);
  if (cfg.append !== undefined) args.push('-append', cfg.append);
  args.push(...(cfg.extraArgs ?? []));
  return args;
}

export const QEMU_INSTALL_HINT = 'install QEMU: sudo apt-get install -y --no-install-recommends qemu-system-x86';

/** The QEMU binary: $KVMBENCH_QEMU, else qemu-system-x86_64 on PATH; EnvironmentError if none. */
export function qemuBinary(env: NodeJS.ProcessEnv = process.env): string {
  const explicit = env.KVMBENCH_QEMU;
  const candidates = explicit
    ? [explicit]
    : (env.PATH ?? '/usr/local/bin:/usr/bin:/bin')
        .split(delimiter)
        .filter(Boolean)
        .map((d) => join(d, 'qemu-system-x86_64'));
  for (const c of candidates) {
    try {
      accessSync(c, constants.X_OK);
      return c;
    } catch {
      // try the next one
    }
  }
  throw new EnvironmentError(
    explicit ? `QEMU not found or not executable at KVMBENCH_QEMU=${explicit}` : 'QEMU (qemu-system-x86_64) not found on PATH',
    QEMU_INSTALL_HINT,
  );
}

/** The part of a QEMU configuration a variant sets: the binary and the arguments appended last. */
export function variantQemu(v: RunVariant | undefined): { binary?: string; extraArgs?: string[] } {
  if (!v) return {};
  return { ...(v.qemu ? { binary: v.qemu } : {}), ...(v.extraArgs?.length ? { extraArgs: [...v.extraArgs] } : {}) };
}
