/**
 * The history stores the contract tests run against: the embedded file (always) and
 * PostgreSQL (when KVMBENCH_TEST_POSTGRES_URL names a server: `.ci/run` starts one with
 * scripts/ci-postgres.sh). Each `fresh()` is an empty store of its own: a new file, or a new
 * PostgreSQL schema reached through the URL's search_path.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

export const POSTGRES_URL = process.env.KVMBENCH_TEST_POSTGRES_URL;

export interface StoreLane {
  name: 'embedded' | 'postgres';
  /** Why the lane is skipped; undefined when it runs. */
  skip?: string;
  fresh(): Promise<string>;
}

let schemaSeq = 0;

export const LANES: StoreLane[] = [
  { name: 'embedded', fresh: async () => join(mkdtempSync(join(tmpdir(), 'kvmbench-history-')), 'kvmbench.db') },
  {
    name: 'postgres',
    // In CI the lane always runs: .ci/run starts the server, so a missing URL there is a failure.
    skip:
      POSTGRES_URL || process.env.CI
        ? undefined
        : 'no PostgreSQL: set KVMBENCH_TEST_POSTGRES_URL (eval "$(bash scripts/ci-postgres.sh start)"; .ci/run always does)',
    fresh: async () => {
      if (!POSTGRES_URL)
        throw new Error('CI is set but KVMBENCH_TEST_POSTGRES_URL is not: .ci/run starts PostgreSQL with scripts/ci-postgres.sh');
      const schema = `t_${process.pid}_${Date.now().toString(36)}_${++schemaSeq}`;
      const c = new pg.Client({ connectionString: POSTGRES_URL });
      await c.connect();
      await c.query(`CREATE SCHEMA ${schema}`);
      await c.end();
      const u = new URL(POSTGRES_URL!);
      u.searchParams.set('options', `-c search_path=${schema}`);
      return u.toString();
    },
  },
];
