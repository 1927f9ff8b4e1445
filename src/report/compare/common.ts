/**
 * What every view of a Comparison says the same way: verdict marks and words, the change and its
 * interval, p-values, the noise band, the pair's summary, power, VM and --force lines, and the
 * method. Numbers and percentages come from the shared core (../format.ts).
 */
import type { Comparison, MetricComparison, MetricVerdict, PairComparison } from '../../compare/compare.js';
import { VERDICTS } from '../../compare/compare.js';
import { fmtPct, type Tone } from '../format.js';

export const RELATION_TEXT: Record<PairComparison['hosts']['relation'], string> = {
  'same-host': 'same host',
  'same-hardware': 'same hardware, different host',
  different: 'different hardware',
};

const SYMBOLS: Record<MetricVerdict, string> = {
  regressed: '✗',
  improved: '✓',
  unchanged: '~',
  inconclusive: '±',
  'too-few': '?',
  'not-comparable': '≠',
};

/**
 * A verdict's colour in every view, as a status tone (../format.ts, ../html-page.ts): a
 * regression is a fail, an improvement a pass; an unchanged row stays uncoloured.
 */
export const VERDICT_TONE: Record<MetricVerdict, Tone | undefined> = {
  regressed: 'fail',
  improved: 'pass',
  unchanged: undefined,
  inconclusive: 'info',
  'too-few': 'warn',
  'not-comparable': 'other',
};

/** One mark per verdict, none shared: `±` is inconclusive (the interval spans a band edge), `≠` not comparable. */
export function verdictSymbol(v: MetricVerdict): string {
  return SYMBOLS[v];
}

export function ciText(m: MetricComparison): string {
  if (!Number.isFinite(m.ci[0]) || !Number.isFinite(m.ci[1])) return '';
  return `[${fmtPct(m.ci[0])}, ${fmtPct(m.ci[1])}]`;
}

export function verdictText(m: MetricComparison): string {
  if (m.verdict === 'too-few') {
    return m.replicate === 'round'
      ? `too few rounds (${m.base.rounds} vs ${m.new.rounds}; need ≥ ${m.needed} per side)`
      : `too few samples (${m.base.n} vs ${m.new.n}; need ≥ ${m.needed} per side)`;
  }
  if (m.verdict === 'not-comparable') return 'not comparable';
  return m.verdict;
}

export function changeText(m: MetricComparison): string {
  return Number.isNaN(m.change) ? '—' : fmtPct(m.change);
}

export function notesText(m: MetricComparison): string {
  return m.notes.join('; ');
}

export function pText(m: MetricComparison): string {
  if (m.test === 'none') return '';
  const p = `p=${m.pAdjusted < 0.001 ? m.pAdjusted.toExponential(1) : m.pAdjusted.toFixed(3)}`;
  return m.replicate === 'round' ? `${p} (${m.base.rounds} vs ${m.new.rounds} rounds)` : p;
}

/**
 * `case/metric` for display; the labels (machine, mode, TSC source...) only where two metrics of
 * the pair would otherwise read the same. JSON and JUnit keep the full key.
 */
export function displayKeys(p: PairComparison): Map<MetricComparison, string> {
  const short = (m: MetricComparison): string => `${m.caseId}/${m.name}`;
  const count = new Map<string, number>();
  for (const m of p.metrics) count.set(short(m), (count.get(short(m)) ?? 0) + 1);
  return new Map(p.metrics.map((m) => [m, (count.get(short(m)) ?? 0) > 1 ? m.key : short(m)]));
}

const COUNT_TEXT: Record<MetricVerdict, string> = {
  regressed: 'regressed',
  improved: 'improved',
  unchanged: 'unchanged',
  inconclusive: 'inconclusive',
  'too-few': 'too few samples',
  'not-comparable': 'not comparable',
};

function geomeanText(p: PairComparison): string {
  const g = p.geomean;
  const excluded = g.excludedNonPositive ? `; ${g.excludedNonPositive} excluded: median ≤ 0` : '';
  if (!Number.isFinite(g.costRatio)) return `geomean n/a (no tested metric${excluded})`;
  const dir = g.costRatio < 1 ? 'better' : g.costRatio > 1 ? 'worse' : 'same';
  return `geomean ${fmtPct(g.costRatio - 1)} cost (${dir}) over ${g.rows} metric${g.rows === 1 ? '' : 's'}${excluded}`;
}

function pctText(f: number): string {
  const v = Math.abs(f) * 100;
  return `${v >= 10 ? v.toFixed(0) : v.toFixed(1)} %`;
}

/**
 * "with 9 tested metrics and 11 samples a side, the smallest shift this comparison could confirm at
 * 90 % power is +27 % (−21 % for an improvement) at the median measured CV of 10 %; per metric +9 %
 * to +180 %": what the comparison could have seen (PowerSummary, detectableShift in power.ts).
 */
export function powerLine(p: PairComparison): string {
  const w = p.power;
  if (w.rows === 0) return `power: no metric of this pair was tested (family of ${w.family}), so no shift could be confirmed`;
  const n = w.n[0] === w.n[1] ? `${w.n[0]}` : `${w.n[0]}–${w.n[1]}`;
  const pw = `${Math.round(w.power * 100)} %`;
  const down = (s: number) => 1 / (1 + s) - 1;
  const range = w.rows > 1 && w.range[0] !== w.range[1] ? `; per metric +${pctText(w.range[0])} to +${pctText(w.range[1])}` : '';
  return (
    `power: with ${w.family} tested metric${w.family === 1 ? '' : 's'} and ${n} ${w.unit === 'rounds' ? 'rounds (fresh guests)' : w.unit === 'mixed' ? 'samples or rounds' : 'samples'} a side, the smallest shift this comparison could confirm at ${pw} power ` +
    `is +${pctText(w.shift)} (−${pctText(down(w.shift))} for an improvement) at the median measured CV of ${pctText(w.cv)}${range}`
  );
}

export function summaryLine(p: PairComparison): string {
  const c = p.counts;
  const parts = VERDICTS.filter((v) => c[v] > 0 || v === 'regressed' || v === 'improved' || v === 'unchanged').map(
    (v) => `${c[v]} ${COUNT_TEXT[v]}`,
  );
  return `${parts.join(', ')}; ${geomeanText(p)}`;
}

/** "VM configuration differs: cpu host → host,-arch-capabilities (exits/cpuid, exits/vmcall)", one line per distinct change. */
export function vmLines(p: PairComparison, maxCases = 4): string[] {
  const groups = new Map<string, string[]>();
  for (const d of p.vmDiffs) {
    const what = `${d.key} ${d.base ?? '—'} → ${d.new ?? '—'}`;
    groups.set(what, [...(groups.get(what) ?? []), d.caseId]);
  }
  return [...groups].map(([what, cases]) => {
    const shown = cases.slice(0, maxCases).join(', ') + (cases.length > maxCases ? `, and ${cases.length - maxCases} more` : '');
    return `VM configuration differs: ${what} (${shown})`;
  });
}

/** What --force let through, if anything. */
export function forcedLines(p: PairComparison): string[] {
  const out: string[] = [];
  for (const kind of ['accelerator', 'execution'] as const) {
    const rows = p.metrics.filter((m) => m.forced.includes(kind));
    if (rows.length === 0) continue;
    const modes = [
      ...new Set(
        rows.map((m) =>
          kind === 'accelerator' ? `${m.base.accelerator} → ${m.new.accelerator}` : `${m.base.execution} → ${m.new.execution}`,
        ),
      ),
    ].join(', ');
    out.push(
      `--force: ${rows.length} metric${rows.length === 1 ? '' : 's'} compare${rows.length === 1 ? 's' : ''} different ${kind === 'accelerator' ? 'accelerators' : 'execution modes'} (${modes}); their verdicts compare different things`,
    );
  }
  return out;
}

export function methodText(cmp: Comparison): string {
  const samples = `change = relative change of medians with a ${cmp.bootstrap}-resample bootstrap ${Math.round(cmp.ciLevel * 100)}% CI (seed ${cmp.seed})`;
  const rounds = `change = Hodges–Lehmann shift of the log round medians with its Mann-Whitney-inverted ${Math.round(cmp.ciLevel * 100)}% CI`;
  const what =
    cmp.replicates === 'samples'
      ? `on the samples; ${samples}`
      : cmp.replicates === 'rounds'
        ? `on the medians of the rounds (each round a fresh guest); ${rounds}`
        : `on the medians of the rounds where both sides have ≥ 3 rounds (${rounds}), else on the samples (${samples})`;
  return (
    `Mann-Whitney U (exact for n ≤ 30 per side, conditional on ties; beyond, with ties, a seeded Monte Carlo permutation test; else the normal approximation) ${what}; ` +
    `Holm-corrected across all ${cmp.family} tests of all pairs (family-wise, α=${cmp.alpha}). ` +
    `regressed/improved: p < α and the whole CI beyond the noise band; unchanged: the whole CI inside it; inconclusive (±): neither.`
  );
}

/** The noise band as the views write it: `band ±5%`. */
export function bandText(m: MetricComparison): string {
  return `band ±${(m.threshold * 100).toFixed(0)}%`;
}
