/**
 * Suite `args` per executor: each executor declares the arguments it reads as a TypeBox object
 * (`CaseExecutor.args`), the suite loader (src/suites/load.ts) checks every case's merged args
 * against it and points at the YAML line of a misspelt or mistyped one, and the executor reads them
 * typed (`argsOf`). The sentences in `errorMessage` are what a person reads after `FILE:LINE:COL`.
 */
import { Type, type Static, type TObject, type TProperties, type TSchema } from '@sinclair/typebox';
import type { CaseSpec } from './types.js';

/** A number, or a string of digits (YAML users quote numbers, and older suites did). */
export const NumberArg = (what: string) =>
  Type.Union([Type.Number(), Type.String({ pattern: '^\\d+(\\.\\d+)?$' })], { errorMessage: `expected a number (${what})` });
export const TextArg = (what: string) => Type.String({ errorMessage: `expected a string (${what})` });
export const FlagArg = (what: string) => Type.Boolean({ errorMessage: `expected true or false (${what})` });
export const NamesArg = (what: string) => Type.Array(Type.String(), { errorMessage: `expected a list of names (${what})` });
export const OneOfArg = (values: readonly string[], what: string) =>
  Type.Union(
    values.map((v) => Type.Literal(v)),
    { errorMessage: `expected one of ${values.join(', ')} (${what})` },
  );

/** The args schema of an executor: every argument optional, none other allowed. */
export function caseArgs<P extends TProperties>(props: P): TObject<P> {
  const optional = Object.fromEntries(Object.entries(props).map(([k, v]) => [k, Type.Optional(v as TSchema)])) as unknown as P;
  return Type.Object(optional, { additionalProperties: false });
}

/** vCPU counts a boot or scaling case sweeps, e.g. [1, 2, 4] (numbers or digit strings). */
export const VcpuSweepArg = (what: string) =>
  Type.Array(Type.Union([Type.Number(), Type.String()]), { errorMessage: `expected a list of vCPU counts (${what})` });

/** A micro guest's QEMU configuration (src/cases/micro.ts qemuConfigFor); `--pin` sets `pin`. */
export const MICRO_GUEST_ARGS = {
  firmware: TextArg('pc and q35: firmware image, e.g. qboot'),
  irqchip: OneOfArg(['on', 'split', 'off'], 'KVM interrupt controllers'),
  machine_options: TextArg('QEMU machine properties, e.g. "pit=off,rtc=off"'),
  pin: FlagArg('pin vCPU threads to host CPUs (--pin)'),
};

/** What every Linux guest case takes: `--kernel` sets `kernel`, `--pin` sets `pin`. */
export const LINUX_GUEST_ARGS = {
  kernel: TextArg('path of a bzImage'),
  boot_timeout: NumberArg('seconds one boot may take'),
  pin: FlagArg('pin vCPU threads to host CPUs (--pin)'),
};

/** The case's args as its executor declared them; the loader has checked them against `schema`. */
export function argsOf<T extends TObject>(spec: CaseSpec, _schema: T): Static<T> {
  return spec.args as Static<T>;
}

/** A numeric arg (a number or a string of digits), else `fallback`. */
export function numberArg(v: unknown, fallback: number): number {
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v === 'string' && /^\d+(\.\d+)?$/.test(v)) return Number(v);
  return fallback;
}

/** A non-empty string arg, else `fallback`. */
export function textArg(v: unknown, fallback: string): string {
  return typeof v === 'string' && v ? v : fallback;
}
