/**
 * The HTML report's per-area sections, each drawn from the metrics of the cases of its kind: VM
 * exits (with the exit-accounting table), the boot timeline (intervals chained into stacks) and
 * I/O guest vs host. Also the small markup helpers they share with the page (modeSpan).
 */
import type { CaseResult, ExecutionMode, Metric, Results } from '../results/model.js';
import {
  caseAccelText,
  caseMode,
  exitAccounting,
  exitsPerIteration,
  histogramFact,
  isBootCase,
  isCountMetric,
  isExitsCase,
  kvmCounters,
  noAccountingText,
  notJudgedText,
} from './common.js';
import { escapeHtml as e, fmtNum, labelText } from './format.js';
import { LOG_SPAN, PALETTE, barChartSvg, needsLogAxis, stackedBarSvg, type Bar, type Stack } from './html-charts.js';

interface Located {
  c: CaseResult;
  m: Metric;
}

function allMetrics(results: Results): Located[] {
  return results.cases.flatMap((c) => c.metrics.map((m) => ({ c, m })));
}

const INTERVAL_LABELS = ['interval', 'phase', 'segment', 'stage'];

function intervalLabel(m: Metric): string | undefined {
  const l = m.labels ?? {};
  for (const k of INTERVAL_LABELS) if (l[k] !== undefined) return k;
  return undefined;
}

/** The section a chart goes in is the case's kind (`CaseResult.kind`); the chart within it, the metric's shape. */
function isExitMetric(x: Located): boolean {
  // Exit counts (exits per iteration, KVM counters) are not latencies: they get the accounting table.
  return (
    isExitsCase(x.c) &&
    !isCountMetric(x.m) &&
    intervalLabel(x.m) === undefined &&
    bootInterval(x.m) === undefined &&
    x.m.labels?.side === undefined
  );
}

function isBootMetric(x: Located): boolean {
  return isBootCase(x.c);
}

/** Groups by unit: one chart axis cannot mix ns and ticks. */
function byUnit<T extends Located>(xs: readonly T[]): Map<string, T[]> {
  const m = new Map<string, T[]>();
  for (const x of xs) {
    let l = m.get(x.m.unit);
    if (!l) m.set(x.m.unit, (l = []));
    l.push(x);
  }
  return m;
}

/** The metric's identity labels less `drop`, with the case's machine where the metric names none. */
function otherLabels(x: Located, drop: readonly string[]): string {
  const l = { ...(x.m.labels ?? {}) };
  if (x.c.machine && l.machine === undefined) l.machine = x.c.machine;
  return labelText(l, drop);
}

/** Bar labels: the metric name, and the case where the same name occurs in several cases. */
function barLabels(list: readonly Located[]): string[] {
  const count = new Map<string, number>();
  for (const { m } of list) count.set(m.name, (count.get(m.name) ?? 0) + 1);
  return list.map(({ c, m }) => {
    const where = m.labels?.machine ?? c.machine;
    const tail = (count.get(m.name) ?? 0) > 1 ? c.id.split('/').pop()! : '';
    return [m.name, tail && `(${tail})`, where && `· ${where}`].filter(Boolean).join(' ');
  });
}

/** One bar per metric (its median and p5–p95), labelled as barLabels tells them apart. */
function barsOf(list: readonly Located[]): Bar[] {
  const labels = barLabels(list);
  return list.map(({ m }, k) => ({
    label: labels[k]!,
    median: m.summary.median,
    p5: m.summary.p5,
    p95: m.summary.p95,
    n: m.summary.n,
  }));
}

/** The execution mode as a marked word: emulated and TCG figures must not pass for hardware exits. */
export function modeSpan(mode: ExecutionMode | undefined, text: string): string {
  return mode ? `<span class="x-${e(mode)}">${e(text)}</span>` : e(text);
}

/** Per exits case: execution, exits per iteration, KVM's other counters and the expectation verdict. */
function exitAccountingTable(results: Results): string {
  const cases = results.cases.filter((c) => isExitsCase(c) && c.metrics.length > 0);
  if (cases.length === 0) return '';
  const rows = cases.map((c) => {
    const epi = exitsPerIteration(c);
    const counters = kvmCounters(c)
      .map(({ counter, metric }) => `${e(counter)} ${e(fmtNum(metric.summary.median))}`)
      .join('<br>');
    const a = exitAccounting(c);
    let verdict = '';
    if (a && 'none' in a) verdict = `<span class="muted">${e(noAccountingText(a.none))}</span>`;
    else if (a && !a.judged) verdict = `<span class="muted">${e(notJudgedText(c))}</span>`;
    else if (a && a.checks.length)
      verdict = a.checks.every((k) => k.ok)
        ? '<span class="s-pass">ok</span>'
        : `<span class="s-fail">not ok (${a.checks.filter((k) => !k.ok).length} of ${a.checks.length})</span>`;
    const h = histogramFact(c);
    const hist = h ? `${e(fmtNum(h.p50))} / ${e(fmtNum(h.p99))} / ${e(fmtNum(h.p999))} ${e(h.unit)}` : '';
    return `<tr><td><a href="#case-${e(c.id)}">${e(c.id)}</a></td><td class="nowrap">${modeSpan(caseMode(c), caseAccelText(c))}</td><td class="num exits-per-iteration">${epi ? e(fmtNum(epi.summary.median)) : '–'}</td><td class="num small">${counters}</td><td class="small">${verdict}</td><td class="num small">${hist}</td></tr>`;
  });
  return (
    `<table class="exit-accounting"><thead><tr><th>case</th><th>accel · execution</th><th>exits / iteration</th><th>other KVM counters / iteration</th><th>expectation</th><th>one by one: p50 / p99 / p99.9</th></tr></thead><tbody>${rows.join('')}</tbody></table>` +
    `<p class="muted small">Exits and counters: KVM's own vCPU statistics over each test loop minus the null loop, per iteration (median of the samples). The expectations describe native execution and are judged only there.</p>`
  );
}

export function exitSection(results: Results): string {
  const xs = allMetrics(results).filter(isExitMetric);
  const table = exitAccountingTable(results);
  if (xs.length === 0 && !table) return '';
  const modes = new Set(xs.map(({ c, m }) => m.execution ?? caseMode(c)));
  const charts = [...byUnit(xs)].map(([unit, list]) => {
    const bars = barsOf(list);
    return `<figure>${barChartSvg(bars, unit, 'bars exits')}<figcaption>median per exit; whiskers p5–p95; unit ${e(unit)}${needsLogAxis(bars) ? '; logarithmic axis (medians span more than ' + LOG_SPAN + '×)' : ''}${modes.has('emulated') ? '; <b class="x-emulated">emulated: instruction-emulator costs</b>' : ''}</figcaption></figure>`;
  });
  const qualifier = modes.has('emulated')
    ? ' <span class="x-emulated">(emulated execution: KVM instruction-emulator costs, not hardware exits)</span>'
    : modes.has('tcg')
      ? ' <span class="x-tcg">(TCG: emulation costs, not hardware exits)</span>'
      : '';
  return `<section id="exits"><h2>VM-exit latencies${qualifier}</h2>${table}${charts.join('')}</section>`;
}

/**
 * A boot interval is a metric that says where it starts and ends: labels `from`/`to`, or a
 * name `boot.<from>_to_<to>`, or a single `interval`/`phase`/`segment`/`stage` label (then its
 * segments are taken as consecutive in recorded order).
 */
export function bootInterval(m: Metric): { from: string; to: string } | undefined {
  const l = m.labels ?? {};
  if (l.from !== undefined && l.to !== undefined) return { from: l.from, to: l.to };
  const mm = /^boot[._](.+?)_to_(.+)$/.exec(m.name);
  if (mm) return { from: mm[1]!, to: mm[2]! };
  return undefined;
}

/**
 * Orders one boot's intervals into a chain from the earliest mark: at each mark take the
 * shortest interval leaving it, so a total (spawn → exit) is not stacked on its own parts
 * (spawn → entry → exit). Intervals off the chain are returned as `rest`.
 */
export function chainIntervals<T extends { from: string; to: string; value: number }>(
  items: readonly T[],
): { chain: T[]; rest: T[] } {
  const tos = new Set(items.map((i) => i.to));
  const starts = items.filter((i) => !tos.has(i.from)).map((i) => i.from);
  let cur = starts[0] ?? items[0]?.from;
  const chain: T[] = [];
  const used = new Set<T>();
  while (cur !== undefined) {
    const next = items.filter((i) => i.from === cur && !used.has(i)).sort((a, b) => a.value - b.value)[0];
    if (!next) break;
    chain.push(next);
    used.add(next);
    cur = next.to;
  }
  return { chain, rest: items.filter((i) => !used.has(i)) };
}

export function bootSection(results: Results): string {
  const xs = allMetrics(results).filter((x) => isBootMetric(x) && x.m.labels?.side === undefined);
  if (xs.length === 0) return '';
  const out: string[] = [];
  const others: Located[] = [];
  // One stack per case (a case is one boot configuration: machine, guest, firmware...).
  const perCase = new Map<string, Array<Located & { from: string; to: string; value: number }>>();
  const segmentLabelled = new Map<string, Located[]>();
  for (const x of xs) {
    const iv = bootInterval(x.m);
    const ik = intervalLabel(x.m);
    if (iv) {
      let l = perCase.get(x.c.id);
      if (!l) perCase.set(x.c.id, (l = []));
      l.push({ ...x, ...iv, value: x.m.summary.median });
    } else if (ik) {
      let l = segmentLabelled.get(x.c.id);
      if (!l) segmentLabelled.set(x.c.id, (l = []));
      l.push(x);
    } else others.push(x);
  }
  const stacksByUnit = new Map<string, Stack[]>();
  const addStack = (unit: string, st: Stack): void => {
    let l = stacksByUnit.get(unit);
    if (!l) stacksByUnit.set(unit, (l = []));
    l.push(st);
  };
  const stackLabel = (x: Located): string => `${x.m.labels?.machine ?? x.c.machine ?? ''} · ${x.c.id}`.replace(/^ · /, '');
  for (const items of perCase.values()) {
    for (const [unit, list] of byUnit(items)) {
      const { chain, rest } = chainIntervals(list);
      if (chain.length > 1)
        addStack(`${unit}|${chain[0]!.c.suite}`, {
          label: stackLabel(chain[0]!),
          segments: chain.map((i) => ({ name: `${i.from} → ${i.to}`, value: i.value })),
        });
      else others.push(...chain);
      others.push(...rest);
    }
  }
  for (const items of segmentLabelled.values()) {
    for (const [unit, list] of byUnit(items)) {
      addStack(`${unit}|${list[0]!.c.suite}`, {
        label: stackLabel(list[0]!),
        segments: list.map((x) => ({ name: x.m.labels![intervalLabel(x.m)!]!, value: x.m.summary.median })),
      });
    }
  }
  // One chart per unit and suite: micro boots (ms) and Linux boots (s) on one axis would hide the former.
  for (const [key, stacks] of stacksByUnit) {
    const [unit, suite] = key.split('|') as [string, string];
    out.push(
      `<figure>${stackedBarSvg(stacks, unit)}<figcaption>${e(suite)}: median of each consecutive boot interval, per machine type / case (${e(unit)})</figcaption></figure>`,
    );
  }
  for (const [unit, list] of byUnit(others)) {
    const bars = barsOf(list);
    out.push(
      `<figure>${barChartSvg(bars, unit, 'bars boot')}<figcaption>boot totals and other boot metrics (median, whiskers p5–p95, ${e(unit)})</figcaption></figure>`,
    );
  }
  return `<section id="boot"><h2>Boot timeline</h2>${out.join('')}</section>`;
}

export function ioSection(results: Results): string {
  const xs = allMetrics(results).filter((x) => x.m.labels?.side !== undefined);
  if (xs.length === 0) return '';
  const sides = [...new Set(xs.map((x) => x.m.labels!.side!))].sort();
  const out: string[] = [];
  for (const [unit, list] of byUnit(xs)) {
    const rows = new Map<string, Located[]>();
    for (const x of list) {
      // `io.randread.guest` and `io.randread.host` are one row: drop the side from the name.
      const side = x.m.labels!.side!;
      const name =
        x.m.name.endsWith(`.${side}`) || x.m.name.endsWith(`_${side}`) ? x.m.name.slice(0, -side.length - 1) : x.m.name;
      const lab = otherLabels(x, ['side']);
      const key = lab ? `${name} {${lab}}` : name;
      let r = rows.get(key);
      if (!r) rows.set(key, (r = []));
      r.push(x);
    }
    const bars: Bar[] = [];
    for (const [key, r] of rows) {
      for (const x of r.sort((a, b) => sides.indexOf(a.m.labels!.side!) - sides.indexOf(b.m.labels!.side!))) {
        const side = x.m.labels!.side!;
        bars.push({
          label: `${side}: ${key}`,
          median: x.m.summary.median,
          p5: x.m.summary.p5,
          p95: x.m.summary.p95,
          n: x.m.summary.n,
          color: PALETTE[sides.indexOf(side) % PALETTE.length],
        });
      }
    }
    const legend = sides.map((s, i) => `<span style="color:${PALETTE[i % PALETTE.length]}">■</span> ${e(s)}`).join(' &nbsp; ');
    out.push(
      `<figure>${barChartSvg(bars, unit, 'bars io')}<figcaption>${legend} — median, whiskers p5–p95, unit ${e(unit)}</figcaption></figure>`,
    );
  }
  return `<section id="io"><h2>I/O: guest vs host</h2>${out.join('')}</section>`;
}
