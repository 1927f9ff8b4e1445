/**
 * Conformance tests in the history store (migration 2), both stores: a row per test and per
 * sub-check, read back as series; a store of schema 1 migrated in place and its runs' tests
 * added on their next import; the pass → fail flip that `history check` reports.
 */
import { describe, expect, it } from 'vitest';
import { openStore } from '../../../src/history/open.js';
import { conformanceFlips, conformanceSeries, newlyFailingChecks } from '../../../src/history/conformance.js';
import { LATEST_VERSION } from '../../../src/history/migrations.js';
import type { Results, SubCheck } from '../../../src/results/model.js';
import { caseResult, makeResults } from '../../helpers/results-fixture.js';
import { LANES } from '../../helpers/history-stores.js';

function kutRun(i: number, apic: 'pass' | 'fail', opts: { host?: string; layer?: 2 } = {}): Results {
  const start = new Date(Date.UTC(2026, 11, 1) + i * 3600_000).toISOString();
  const checks: SubCheck[] = [
    { name: 'apic: self IPI', status: 'pass' },
    { name: 'apic: x2apic', status: apic },
    { name: 'apic: tsc deadline', status: 'skip' },
  ];
  return makeResults(
    [
      caseResult('kut/apic', {
        kind: 'conformance',
        status: apic,
        ...(apic === 'fail' ? { reason: '1 of 3 sub-checks failed: apic: x2apic' } : {}),
        conformance: { test: 'apic', file: 'x86/apic.flat', groups: ['apic'], exitStatus: apic === 'pass' ? 1 : 3, checks },
      }),
      caseResult('kut/vmx', {
        kind: 'conformance',
        status: 'skip',
        reason: 'check: /sys/module/kvm_intel/parameters/nested is absent',
        conformance: { test: 'vmx', file: 'x86/vmx.flat', groups: ['vmx'], checks: [] },
      }),
    ],
    {
      run: {
        id: `kut-${String(i).padStart(3, '0')}-${opts.host ?? 'h1'}`,
        suite: 'kut',
        start,
        end: start,
        ...(opts.layer ? { layer: opts.layer } : {}),
      },
      host: { hostname: opts.host ?? 'h1', cpuModel: 'Test CPU 9000', kernelRelease: '6.1.0', qemuVersion: '7.2.0' },
    },
  );
}

for (const lane of LANES) {
  describe.skipIf(lane.skip !== undefined)(
    `history store, conformance: ${lane.name}${lane.skip ? ` (skipped: ${lane.skip})` : ''}`,
    () => {
      it('keeps a row per test and per sub-check; series per host class and layer, oldest first', async () => {
        const store = await openStore(await lane.fresh(), { write: true });
        try {
          await store.importRun(kutRun(2, 'fail'));
          await store.importRun(kutRun(1, 'pass'));
          await store.importRun(kutRun(3, 'pass', { host: 'h2', layer: 2 }));
          const points = await store.conformance();
          expect(points.map((p) => [p.runId, p.test, p.status, p.layer])).toEqual([
            ['kut-001-h1', 'apic', 'pass', 1],
            ['kut-001-h1', 'vmx', 'skip', 1],
            ['kut-002-h1', 'apic', 'fail', 1],
            ['kut-002-h1', 'vmx', 'skip', 1],
            ['kut-003-h2', 'apic', 'pass', 2],
            ['kut-003-h2', 'vmx', 'skip', 2],
          ]);
          expect(points[2]).toMatchObject({
            caseId: 'kut/apic',
            reason: '1 of 3 sub-checks failed: apic: x2apic',
            exitStatus: 3,
            accelerator: 'kvm',
            checksPass: 1,
            checksFail: 1,
            checksOther: 1,
          });
          expect(await store.conformanceChecks('kut-002-h1', 'kut/apic')).toEqual([
            { name: 'apic: self IPI', status: 'pass' },
            { name: 'apic: x2apic', status: 'fail' },
            { name: 'apic: tsc deadline', status: 'skip' },
          ]);
          expect(await store.conformance({ hostname: 'h2' })).toHaveLength(2);
          const series = conformanceSeries(points, await store.hostClasses());
          // h1 and h2 share a host class, but layer 1 and layer 2 are never one series.
          expect(series.map((s) => [s.caseId, s.layer, s.runs.map((r) => r.status).join(' ')])).toEqual([
            ['kut/apic', 1, 'pass fail'],
            ['kut/apic', 2, 'pass'],
            ['kut/vmx', 1, 'skip skip'],
            ['kut/vmx', 2, 'skip'],
          ]);
        } finally {
          await store.close();
        }
      });

      it('a pass → fail flip is a regression with the sub-checks that newly fail', async () => {
        const store = await openStore(await lane.fresh(), { write: true });
        try {
          for (const [i, v] of (['pass', 'pass', 'fail'] as const).entries()) await store.importRun(kutRun(i, v));
          const c = conformanceFlips(conformanceSeries(await store.conformance(), await store.hostClasses()), 10);
          expect(c.regressions).toBe(1);
          expect(c.flips.map((f) => [f.caseId, f.kind, f.before.runId, f.after.runId, f.runsAgo, f.current])).toEqual([
            ['kut/apic', 'regression', 'kut-001-h1', 'kut-002-h1', 1, true],
          ]);
          const f = c.flips[0]!;
          expect(
            newlyFailingChecks(
              await store.conformanceChecks(f.before.runId, f.caseId),
              await store.conformanceChecks(f.after.runId, f.caseId),
            ),
          ).toEqual(['apic: x2apic']);
        } finally {
          await store.close();
        }
      });

      it('migrates a schema-1 store in place; a run stored before gets its tests on its next import', async () => {
        const loc = await lane.fresh();
        const first = await openStore(loc, { write: true });
        await first.importRun(kutRun(1, 'pass'));
        await first.close();
        // What a kvmbench of schema 1 left: no conformance tables, version 1.
        await rawSql(loc, 'DROP TABLE conformance_checks');
        await rawSql(loc, 'DROP TABLE conformance');
        await rawSql(loc, `UPDATE kvmbench_meta SET value = '1' WHERE key = 'version'`);
        await expect(openStore(loc, { write: false })).rejects.toThrow(/version 1|older|migrat|upgrade|import/i);
        const store = await openStore(loc, { write: true });
        try {
          expect(await store.conformance()).toEqual([]);
          expect(await store.importRun(kutRun(1, 'pass'))).toBe('exists');
          expect((await store.conformance()).map((p) => [p.test, p.status])).toEqual([
            ['apic', 'pass'],
            ['vmx', 'skip'],
          ]);
          // Once is enough: a second import adds nothing twice.
          expect(await store.importRun(kutRun(1, 'pass'))).toBe('exists');
          expect(await store.conformance()).toHaveLength(2);
          expect(await rawCount(loc, "SELECT value FROM kvmbench_meta WHERE key = 'version'")).toBe(String(LATEST_VERSION));
        } finally {
          await store.close();
        }
      });
    },
  );
}

async function rawRows(location: string, sql: string): Promise<Array<Record<string, unknown>>> {
  if (location.startsWith('postgres')) {
    const pg = (await import('pg')).default;
    const c = new pg.Client({ connectionString: location });
    await c.connect();
    try {
      return (await c.query(sql)).rows as Array<Record<string, unknown>>;
    } finally {
      await c.end();
    }
  }
  const { createRequire } = await import('node:module');
  const { Database } = createRequire(import.meta.url)('node-sqlite3-wasm') as typeof import('node-sqlite3-wasm');
  const db = new Database(location);
  try {
    return db.all(sql) as Array<Record<string, unknown>>;
  } finally {
    db.close();
  }
}

async function rawSql(location: string, sql: string): Promise<void> {
  await rawRows(location, sql);
}

async function rawCount(location: string, sql: string): Promise<string> {
  return String(Object.values((await rawRows(location, sql))[0] ?? {})[0]);
}
