/**
 * Where the history lives and how to open it. A location is a file path (the embedded store)
 * or a `postgres://` URL; `--store` names it, else `KVMBENCH_STORE`, else `reports/kvmbench.db`:
 * beside the run directories it indexes (runs go to `reports/<run-id>/` by default), so the
 * runs and their index move, back up and cache in CI together.
 */
import { resolve } from 'node:path';
import { EmbeddedDriver } from './embedded.js';
import { LATEST_VERSION, migrate, storeVersion } from './migrations.js';
import { SqlHistoryStore } from './sql-store.js';
import type { SqlDriver } from './sql.js';
import type { HistoryStore } from './store.js';
import { UsageError } from '../errors.js';

export const DEFAULT_STORE = 'reports/kvmbench.db';

export function storeLocation(flag?: string, env: NodeJS.ProcessEnv = process.env): string {
  return flag || env.KVMBENCH_STORE || DEFAULT_STORE;
}

export interface OpenOptions {
  /** Writers create and migrate the store; readers never write (a missing or outdated store is an error). */
  write: boolean;
}

export async function openStore(location: string, opts: OpenOptions): Promise<HistoryStore> {
  let driver: SqlDriver;
  if (/^postgres(ql)?:\/\//i.test(location)) {
    // Loaded only for PostgreSQL, so the embedded path never pays for the client.
    const { PostgresDriver, checkPostgresUrl } = await import('./postgres.js');
    checkPostgresUrl(location);
    driver = await PostgresDriver.open(location);
  } else {
    driver = await EmbeddedDriver.open(resolve(location), { create: opts.write });
  }
  try {
    if (opts.write) await migrate(driver);
    else {
      const v = await storeVersion(driver);
      if (v === 0)
        throw new UsageError(
          `${driver.location} holds no kvmbench history yet`,
          'add runs with `kvmbench history import DIR...` or `kvmbench run --store`',
        );
      if (v < LATEST_VERSION)
        throw new UsageError(
          `${driver.location} has history schema version ${v}; this kvmbench reads version ${LATEST_VERSION}`,
          'run `kvmbench history import` (any writer upgrades the store) and retry',
        );
    }
  } catch (err) {
    await driver.close();
    throw err;
  }
  return new SqlHistoryStore(driver);
}
