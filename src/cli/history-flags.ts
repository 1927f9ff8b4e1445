/** The flags the history commands share: where the store is, and how change points are judged. */
import { Flags } from '@oclif/core';
import { DEFAULT_CHANGE_POINT_OPTIONS, type ChangePointOptions } from '../history/change-points.js';
import { DEFAULT_STORE, storeLocation } from '../history/open.js';
import { UsageError } from '../errors.js';
import type { RunFilter } from '../history/store.js';

export const STORE_FLAG = {
  store: Flags.string({
    description: `history store: a file (embedded SQLite) or a postgres://USER@HOST:PORT/DB URL (default $KVMBENCH_STORE, else ${DEFAULT_STORE})`,
  }),
};

export const FILTER_FLAGS = {
  host: Flags.string({ description: 'only runs of this hostname' }),
  'host-class': Flags.string({ description: 'only runs of this host class (the id `history list` shows)' }),
  suite: Flags.string({ description: 'only runs of this suite' }),
  since: Flags.string({ description: 'only runs started at or after this time (ISO 8601, e.g. 2026-12-01)' }),
  until: Flags.string({ description: 'only runs started at or before this time (ISO 8601)' }),
};

export const CHANGE_POINT_FLAGS = {
  'min-magnitude': Flags.string({
    default: String(DEFAULT_CHANGE_POINT_OPTIONS.minMagnitude * 100),
    description: 'smallest change of level, in percent, reported as a change point',
  }),
  'p-value': Flags.string({
    default: String(DEFAULT_CHANGE_POINT_OPTIONS.pValue),
    description: 'largest t-test p-value of a change point',
  }),
  'min-runs': Flags.integer({
    default: DEFAULT_CHANGE_POINT_OPTIONS.minSegment,
    min: 2,
    description: 'fewest runs on either side of a change point',
  }),
};

function isoBound(flag: string, v: string | undefined): string | undefined {
  if (v === undefined) return undefined;
  const t = new Date(v);
  if (Number.isNaN(t.getTime()))
    throw new UsageError(`--${flag} ${v}: not a date`, 'write it as ISO 8601, e.g. 2026-12-01 or 2026-12-01T12:00:00Z');
  return t.toISOString();
}

export function storeOf(flags: { store?: string }): string {
  return storeLocation(flags.store);
}

export function filterOf(flags: {
  host?: string;
  'host-class'?: string;
  suite?: string;
  since?: string;
  until?: string;
}): RunFilter {
  return {
    hostname: flags.host,
    hostClass: flags['host-class'],
    suite: flags.suite,
    since: isoBound('since', flags.since),
    until: isoBound('until', flags.until),
  };
}

export function changePointOptions(flags: {
  'min-magnitude': string;
  'p-value': string;
  'min-runs': number;
}): ChangePointOptions {
  const minMagnitude = Number(flags['min-magnitude']) / 100;
  const pValue = Number(flags['p-value']);
  if (!(minMagnitude >= 0)) throw new UsageError(`--min-magnitude ${flags['min-magnitude']}: expected a percentage`);
  if (!(pValue > 0 && pValue < 1)) throw new UsageError(`--p-value ${flags['p-value']}: expected a number between 0 and 1`);
  return { minMagnitude, pValue, minSegment: flags['min-runs'] };
}
