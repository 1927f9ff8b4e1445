/**
 * Pairing of two runs: their metrics matched by case, name and identity labels, each row filled
 * with everything that needs no test (sides, change of medians, band, refusals, guards, notes),
 * and the runs refused outright where they must not be compared (layers, accelerators).
 * The tests, the correction and the verdicts come after, in ./compare.ts.
 */
import type { CaseResult, ExecutionMode, Metric, Results } from '../results/model.js';
import { identityLabels, metricKey } from '../results/identity.js';
import { median } from '../stats/summary.js';
import { DETECT_POWER } from './power.js';
import { MIN_ROUNDS, roundMedians } from './rounds.js';
import { relativeChange } from './stats.js';
import { classifyHosts, factRows } from './host-facts.js';
import {
  IncomparableError,
  VERDICTS,
  type CompareOptions,
  type LabelledResults,
  type MetricComparison,
  type MetricSide,
  type MetricVerdict,
  type PairComparison,
  type Side,
  type VmDiff,
} from './model.js';
import { explicitThreshold, thresholdFor } from './thresholds.js';

function side(x: LabelledResults): Side {
  const r = x.results;
  return {
    label: x.label,
    runId: r.run.id,
    suite: r.run.suite,
    accelerator: r.run.accelerator,
    state: r.run.state,
    host: r.host,
  };
}

interface Located {
  c: CaseResult;
  m: Metric;
}

/** Metrics by key; a key met twice keeps its first metric and is reported in `duplicates`. */
function indexMetrics(r: Results): { byKey: Map<string, Located>; duplicates: string[] } {
  const byKey = new Map<string, Located>();
  const duplicates: string[] = [];
  for (const c of r.cases) {
    if (c.status === 'skip') continue;
    for (const m of c.metrics) {
      const key = metricKey(c.id, m);
      if (byKey.has(key)) duplicates.push(key);
      else byKey.set(key, { c, m });
    }
  }
  return { byKey, duplicates };
}

function acceleratorsClash(a: string, b: string): boolean {
  return (a === 'kvm' && b === 'tcg') || (a === 'tcg' && b === 'kvm');
}

const KNOWN_EXECUTION = new Set<string>(['native', 'emulated', 'tcg']);

/** Both modes measured and different (native against emulated...); unknown or absent never clashes. */
export function executionsClash(a: ExecutionMode | undefined, b: ExecutionMode | undefined): boolean {
  return a !== undefined && b !== undefined && KNOWN_EXECUTION.has(a) && KNOWN_EXECUTION.has(b) && a !== b;
}

/** VM configuration keys that differ between two runs of a case; nothing when either has no record. */
export function vmDifferences(a: CaseResult, b: CaseResult): VmDiff[] {
  if (!a.vm || !b.vm) return [];
  const keys = [...new Set([...Object.keys(a.vm), ...Object.keys(b.vm)])].sort();
  return keys.filter((k) => a.vm![k] !== b.vm![k]).map((k) => ({ caseId: a.id, key: k, base: a.vm![k], new: b.vm![k] }));
}

function metricSide(l: Located): { side: MetricSide; finite: number[]; roundMedians?: number[] } {
  const finite = l.m.samples.filter(Number.isFinite);
  const rm =
    l.m.rounds && l.m.rounds.reduce((s, n) => s + n, 0) === l.m.samples.length
      ? roundMedians(l.m.samples, l.m.rounds)
      : undefined;
  return {
    finite,
    ...(rm ? { roundMedians: rm } : {}),
    side: {
      ...(rm ? { rounds: rm.length } : {}),
      n: finite.length,
      median: median(finite),
      unit: l.m.unit,
      better: l.m.better,
      accelerator: l.m.accelerator,
      execution: l.m.execution ?? l.c.execution?.mode,
      nonFinite: l.m.samples.length - finite.length,
    },
  };
}

/** A pair with its rows' finite samples (and round medians), ready for the tests of ./compare.ts. */
export interface Prepared {
  pair: PairComparison;
  rows: Array<{ row: MetricComparison; a: number[]; b: number[]; ra?: number[]; rb?: number[] }>;
}

/** Pairs the metrics of two runs and fills everything that needs no test. */
export function preparePair(baseIn: LabelledResults, nextIn: LabelledResults, opts: CompareOptions): Prepared {
  const base = side(baseIn);
  const next = side(nextIn);
  const layerA = baseIn.results.run.layer ?? 1,
    layerB = nextIn.results.run.layer ?? 1;
  // Not even --force: a layer-2 figure includes the outer hypervisor's share of every exit, so a
  // difference says nothing about either run. `run --nested --beside` sets the layers side by side.
  if (layerA !== layerB) {
    throw new IncomparableError(
      `${base.label} ran its guests at layer ${layerA} and ${next.label} at layer ${layerB} (nested): figures of different layers are not comparable; \`kvmbench run exits --nested --beside\` measures both and gives their ratio`,
    );
  }
  if (!opts.force && acceleratorsClash(base.accelerator, next.accelerator)) {
    throw new IncomparableError(
      `${base.label} ran on ${base.accelerator} and ${next.label} on ${next.accelerator}: emulation and hardware figures are not comparable`,
    );
  }
  const { byKey: ia, duplicates: da } = indexMetrics(baseIn.results);
  const { byKey: ib, duplicates: db } = indexMetrics(nextIn.results);
  const warnings = [
    ...[...new Set(da)].map((k) => `${base.label} has more than one metric ${k}: the first is compared`),
    ...[...new Set(db)].map((k) => `${next.label} has more than one metric ${k}: the first is compared`),
  ];
  const both = [...ia.keys()].filter((k) => ib.has(k));
  const onlyBase = [...ia.keys()].filter((k) => !ib.has(k));
  const onlyNew = [...ib.keys()].filter((k) => !ia.has(k));

  const vmDiffs: VmDiff[] = [];
  const vmByCase = new Map<string, string[]>();
  const rows: Prepared['rows'] = [];
  for (const key of both) {
    const a = ia.get(key)!;
    const b = ib.get(key)!;
    if (!vmByCase.has(a.c.id)) {
      const d = vmDifferences(a.c, b.c);
      vmDiffs.push(...d);
      vmByCase.set(
        a.c.id,
        d.map((x) => x.key),
      );
    }
    const sa = metricSide(a);
    const sb = metricSide(b);
    const row: MetricComparison = {
      key,
      caseId: a.c.id,
      name: a.m.name,
      labels: identityLabels(a.m.labels),
      unit: a.m.unit,
      better: a.m.better,
      base: sa.side,
      new: sb.side,
      change: relativeChange(sa.side.median, sb.side.median),
      ci: [Number.NaN, Number.NaN],
      p: 1,
      pAdjusted: 1,
      test: 'none',
      threshold: thresholdFor(key, a.m.name, opts),
      verdict: 'unchanged',
      refused: [],
      forced: [],
      vmDiffers: vmByCase.get(a.c.id)!,
      notes: [],
    };
    if (a.m.unit !== b.m.unit) {
      row.refused.push('unit');
      row.notes.push(`unit differs: ${a.m.unit} vs ${b.m.unit}`);
    }
    if (a.m.better !== b.m.better) {
      row.refused.push('better');
      row.notes.push(`better differs: ${a.m.better} vs ${b.m.better}`);
    }
    if (sa.side.nonFinite || sb.side.nonFinite) {
      row.refused.push('non-finite');
      const which = [
        sa.side.nonFinite ? `${base.label} has ${sa.side.nonFinite}` : '',
        sb.side.nonFinite ? `${next.label} has ${sb.side.nonFinite}` : '',
      ]
        .filter(Boolean)
        .join(', ');
      row.notes.push(`non-finite samples (NaN or ±Infinity): ${which}`);
    }
    if (acceleratorsClash(a.m.accelerator, b.m.accelerator)) {
      row.forced.push('accelerator');
      row.notes.push(`accelerators differ: ${a.m.accelerator} vs ${b.m.accelerator}`);
    }
    if (executionsClash(sa.side.execution, sb.side.execution)) {
      row.forced.push('execution');
      row.notes.push(`execution differs: ${sa.side.execution} vs ${sb.side.execution}`);
    }
    if (row.vmDiffers.length) row.notes.push(`VM configuration differs: ${row.vmDiffers.join(', ')}`);
    if (row.refused.length) {
      row.verdict = 'not-comparable';
      row.change = Number.NaN; // a ratio across units, directions or NaN says nothing
    }
    const ra = sa.roundMedians;
    const rb = sb.roundMedians;
    // Samples that are each a guest of their own (boots) are replicates already: pooled over rounds, tested as samples.
    const perGuest = a.m.perGuest === true && b.m.perGuest === true;
    if (perGuest) row.perGuest = true;
    if (!perGuest && ra && rb && ra.length >= MIN_ROUNDS && rb.length >= MIN_ROUNDS)
      rows.push({ row, a: sa.finite, b: sb.finite, ra, rb });
    else {
      if (!perGuest && ((ra?.length ?? 1) > 1 || (rb?.length ?? 1) > 1)) {
        row.notes.push(
          `rounds ${ra?.length ?? 1} vs ${rb?.length ?? 1}: fewer than ${MIN_ROUNDS} a side, so samples are tested as if independent`,
        );
      }
      applyWindowsBand(row, a.m, b.m, key, opts);
      rows.push({ row, a: sa.finite, b: sb.finite });
    }
  }
  const pair: PairComparison = {
    base,
    new: next,
    hosts: { relation: classifyHosts(base.host, next.host), rows: factRows(base.host, next.host) },
    metrics: rows.map((r) => r.row),
    onlyBase,
    onlyNew,
    vmDiffs,
    warnings,
    geomean: { costRatio: Number.NaN, rows: 0, excludedNonPositive: 0, excludedDuplicate: 0 },
    power: {
      power: DETECT_POWER,
      family: 0,
      rows: 0,
      n: [0, 0],
      unit: 'samples',
      cv: Number.NaN,
      shift: Number.NaN,
      range: [Number.NaN, Number.NaN],
    },
    counts: Object.fromEntries(VERDICTS.map((v) => [v, 0])) as Record<MetricVerdict, number>,
  };
  return { pair, rows };
}

/**
 * Windows of one job, one run a side (Metric.windows): the samples pin down these two runs, not
 * how far identical runs drift, so the row is held at inconclusive, unless the user gives a
 * --threshold for it: their word for the drift, taken as the row's band.
 */
function applyWindowsBand(row: MetricComparison, a: Metric, b: Metric, key: string, opts: CompareOptions): void {
  const w = a.windows ?? b.windows;
  if (!w) return;
  const own = explicitThreshold(key, row.name, opts);
  if (own !== undefined) {
    row.notes.push(
      `windows of one job, fewer than ${MIN_ROUNDS} rounds a side: judged against the --threshold given for it (±${pctText(own)}), taken as the drift between identical runs`,
    );
    return;
  }
  row.windowsUnbounded = w.basis;
  row.notes.push(
    `windows of one job, fewer than ${MIN_ROUNDS} rounds a side: held at inconclusive (the pair's warnings say why)`,
  );
}

const pctText = (f: number): string => `${+(f * 100).toFixed(1)} %`;
