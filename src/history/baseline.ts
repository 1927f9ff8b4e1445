/**
 * `compare --against-history`: a baseline drawn from the store, the last N complete runs of
 * the new run's host class, rebuilt as one `Results` whose metrics hold those runs' raw samples
 * (each run a round, so a new run with `--rounds` is judged round against round), for the
 * same `compareRuns` as `compare`: same statistics, same verdicts.
 */
import { RESULTS_SCHEMA, type CaseResult, type Metric, type Results } from '../results/model.js';
import { summarize } from '../stats/summary.js';
import { UsageError } from '../errors.js';
import { hostClassOf } from './host-class.js';
import type { HistoryStore } from './store.js';

export async function historyBaseline(
  store: HistoryStore,
  next: Results,
  lastRuns: number,
): Promise<{ baseline: Results; runIds: string[] }> {
  const cls = hostClassOf(next.host);
  const runs = (await store.listRuns({ hostClass: cls.id, states: ['complete'] }))
    .filter((r) => r.id !== next.run.id)
    .slice(0, lastRuns);
  if (runs.length === 0) {
    throw new UsageError(
      `the history store ${store.location} has no complete run of this host class (${cls.id}) other than ${next.run.id}`,
      'store earlier runs of this host with `kvmbench history import DIR...` or `run --store`; a host whose CPU, microcode, kernel, KVM parameters or QEMU changed starts a new class',
    );
  }
  const runIds = runs.map((r) => r.id).reverse();
  const stored = await store.runMetrics(runIds);
  const cases = new Map<string, CaseResult>();
  const metrics = new Map<string, { m: Metric; rounds: number[] }>();
  for (const s of stored) {
    let c = cases.get(s.caseId);
    if (!c) {
      c = {
        id: s.caseId,
        suite: s.caseId.split('/')[0]!,
        ...(s.caseKind ? { kind: s.caseKind } : {}),
        status: 'pass',
        startedAt: s.startedAt,
        durationMs: 0,
        metrics: [],
      };
      cases.set(s.caseId, c);
    }
    const key = `${s.metricKey} ${s.unit} ${s.accelerator}`;
    let entry = metrics.get(key);
    if (!entry) {
      entry = {
        m: {
          name: s.name,
          unit: s.unit,
          better: s.better,
          interval: s.interval,
          method: s.method,
          accelerator: s.accelerator === 'tcg' ? 'tcg' : 'kvm',
          samples: [],
          summary: summarize([]),
          ...(s.labels ? { labels: s.labels } : {}),
          ...(s.execution ? { execution: s.execution as Metric['execution'] } : {}),
        },
        rounds: [],
      };
      metrics.set(key, entry);
      c.metrics.push(entry.m);
    }
    entry.m.samples.push(...s.samples);
    entry.rounds.push(s.samples.length);
  }
  for (const { m, rounds } of metrics.values()) {
    m.summary = summarize(m.samples);
    if (rounds.length > 1) m.rounds = rounds;
  }
  const latest = runs[0]!;
  const host = (await store.runHost(latest.id)) ?? {};
  const baseline: Results = {
    schema: RESULTS_SCHEMA,
    run: {
      id: `history:${cls.id}:${runIds.length}`,
      suite: next.run.suite,
      start: runs[runs.length - 1]!.startedAt,
      end: latest.endedAt ?? latest.startedAt,
      kvmbenchVersion: latest.kvmbenchVersion,
      argv: ['history', 'baseline', ...runIds],
      accelerator: (['kvm', 'tcg', 'mixed', 'none'].includes(latest.accelerator)
        ? latest.accelerator
        : 'mixed') as Results['run']['accelerator'],
      quick: false,
      state: 'complete',
    },
    host,
    cases: [...cases.values()],
  };
  return { baseline, runIds };
}
