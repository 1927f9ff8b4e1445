/**
 * One contract, both stores: the embedded file and PostgreSQL pass the same tests (the
 * PostgreSQL lane skips, with the reason in its title, only where no server URL is given).
 */
import { describe, expect, it } from 'vitest';
import { openStore } from '../../../src/history/open.js';
import { hostClassOf } from '../../../src/history/host-class.js';
import { LATEST_VERSION } from '../../../src/history/migrations.js';
import { caseResult, makeResults, metric, samplesAround } from '../../helpers/results-fixture.js';
import { LANES } from '../../helpers/history-stores.js';
import type { Results } from '../../../src/results/model.js';

function runAt(
  i: number,
  extra: { host?: string; median?: number; state?: Results['run']['state']; kernel?: string } = {},
): Results {
  const start = new Date(Date.UTC(2026, 10, 1) + i * 3600_000).toISOString();
  const median = extra.median ?? 1000;
  return makeResults(
    [
      caseResult('exits/cpuid', {
        metrics: [metric('cpuid.latency', samplesAround(`r${i}`, median, 15, 0.02), { labels: { machine: 'q35' } })],
      }),
      caseResult('exits/inl_from_qemu', {
        metrics: [
          metric('inl_from_qemu.latency', samplesAround(`q${i}`, 5000, 15, 0.02)),
          metric('inl_from_qemu.ticks', [1, Number.NaN, 3], { unit: 'tsc_ticks' }),
        ],
      }),
    ],
    {
      run: {
        id: `run-${String(i).padStart(3, '0')}-${extra.host ?? 'h1'}`,
        start,
        end: start,
        state: extra.state ?? 'complete',
        gitRevision: `rev${i}`,
      },
      host: {
        hostname: extra.host ?? 'h1',
        cpuModel: 'Test CPU 9000',
        kernelRelease: extra.kernel ?? '6.1.0',
        qemuVersion: '7.2.0',
        microcode: '0x1',
        kvmModules: { kvm_intel: { ept: 'Y', nested: 'N' } },
      },
    },
  );
}

for (const lane of LANES) {
  describe.skipIf(lane.skip !== undefined)(`history store: ${lane.name}${lane.skip ? ` (skipped: ${lane.skip})` : ''}`, () => {
    it('imports a run once, all of it: idempotent by run id', async () => {
      const store = await openStore(await lane.fresh(), { write: true });
      try {
        expect(await store.importRun(runAt(1), '/tmp/run-1')).toBe('added');
        expect(await store.importRun(runAt(1))).toBe('exists');
        const runs = await store.listRuns();
        expect(runs).toHaveLength(1);
        expect(runs[0]).toMatchObject({
          id: 'run-001-h1',
          suite: 'quick',
          state: 'complete',
          hostname: 'h1',
          gitRevision: 'rev1',
          accelerator: 'kvm',
          source: '/tmp/run-1',
          hostClass: hostClassOf(runAt(1).host).id,
        });
        const metrics = await store.runMetrics(['run-001-h1']);
        expect(metrics.map((m) => m.metricKey)).toEqual([
          'exits/cpuid/cpuid.latency{machine=q35}',
          'exits/inl_from_qemu/inl_from_qemu.latency',
          'exits/inl_from_qemu/inl_from_qemu.ticks',
        ]);
        // raw samples come back exactly, non-finite ones dropped
        expect(metrics[0]!.samples).toEqual(runAt(1).cases[0]!.metrics[0]!.samples);
        expect(metrics[2]!.samples).toEqual([1, 3]);
        expect(metrics[0]!.labels).toEqual({ machine: 'q35' });
        expect(metrics[0]!.ciLo).toBeLessThanOrEqual(metrics[0]!.median);
        expect(metrics[0]!.ciHi).toBeGreaterThanOrEqual(metrics[0]!.median);
        expect(metrics[0]!.caseKind).toBe('exits');
      } finally {
        await store.close();
      }
    });

    it('filters by host, host class, suite and time; series hold complete runs only, oldest first', async () => {
      const loc = await lane.fresh();
      const store = await openStore(loc, { write: true });
      try {
        for (let i = 0; i < 6; i++) await store.importRun(runAt(i, { host: i % 2 ? 'h2' : 'h1' }));
        await store.importRun(runAt(6, { state: 'interrupted' }));
        await store.importRun(runAt(7, { kernel: '6.12.0' }));
        expect((await store.listRuns()).map((r) => r.id)[0]).toBe('run-007-h1');
        expect(await store.listRuns({ hostname: 'h2' })).toHaveLength(3);
        expect(await store.listRuns({ states: ['interrupted'] })).toHaveLength(1);
        expect(await store.listRuns({ since: new Date(Date.UTC(2026, 10, 1, 4)).toISOString() })).toHaveLength(4);
        expect(await store.listRuns({ suite: 'nope' })).toHaveLength(0);
        const cls = hostClassOf(runAt(0).host).id;
        expect(await store.listRuns({ hostClass: cls })).toHaveLength(7);
        expect((await store.hostClasses()).map((c) => c.kernel).sort()).toEqual(['6.1.0', '6.12.0']);
        const pts = await store.points({ hostClass: cls, metricKeys: ['exits/cpuid/cpuid.latency{machine=q35}'] });
        expect(pts.map((p) => p.runId)).toEqual([
          'run-000-h1',
          'run-001-h2',
          'run-002-h1',
          'run-003-h2',
          'run-004-h1',
          'run-005-h2',
        ]);
        expect(pts[0]).toMatchObject({
          unit: 'ns',
          better: 'lower',
          accelerator: 'kvm',
          n: 15,
          caseId: 'exits/cpuid',
          suite: 'quick',
        });
        expect(pts[0]!.median).toBeGreaterThan(900);
        expect(await store.metricKeys({ hostClass: cls })).toHaveLength(3);
        expect((await store.runHost('run-003-h2'))?.hostname).toBe('h2');
      } finally {
        await store.close();
      }
      // A reader sees the same and writes nothing.
      const reader = await openStore(loc, { write: false });
      expect(await reader.listRuns()).toHaveLength(8);
      await reader.close();
    });

    it('imports 1,000 metrics of 30 samples as one run', async () => {
      const store = await openStore(await lane.fresh(), { write: true });
      try {
        const big = runAt(1);
        big.cases = [
          caseResult('exits/many', {
            metrics: Array.from({ length: 1000 }, (_, i) => metric(`m${i}.latency`, samplesAround(`m${i}`, 100, 30))),
          }),
        ];
        expect(await store.importRun(big)).toBe('added');
        expect(await store.metricKeys()).toHaveLength(1000);
      } finally {
        await store.close();
      }
    });

    it('refuses a store whose schema is newer than this kvmbench knows, writing nothing', async () => {
      const loc = await lane.fresh();
      const store = await openStore(loc, { write: true });
      await store.importRun(runAt(1));
      await store.close();
      await rawSql(loc, `UPDATE kvmbench_meta SET value = '${LATEST_VERSION + 1}' WHERE key = 'version'`);
      await expect(openStore(loc, { write: true })).rejects.toThrow(
        new RegExp(
          `schema version ${LATEST_VERSION + 1}, newer than the ${LATEST_VERSION} this kvmbench knows; nothing was written`,
        ),
      );
      await expect(openStore(loc, { write: false })).rejects.toThrow(/newer/);
    });

    it('a reader does not create a store', async () => {
      await expect(openStore(await lane.fresh(), { write: false })).rejects.toThrow(
        /no history store at|holds no kvmbench history yet/,
      );
    });
  });
}

/** A statement straight to the database behind a location (to plant what kvmbench never writes). */
async function rawSql(location: string, sql: string): Promise<void> {
  if (location.startsWith('postgres')) {
    const pg = (await import('pg')).default;
    const c = new pg.Client({ connectionString: location });
    await c.connect();
    await c.query(sql);
    await c.end();
  } else {
    const { createRequire } = await import('node:module');
    const { Database } = createRequire(import.meta.url)('node-sqlite3-wasm') as typeof import('node-sqlite3-wasm');
    const db = new Database(location);
    db.exec(sql);
    db.close();
  }
}
