/**
 * The nested exit-cost table (`kvmbench run exits --nested --beside`, docs/nested.md): each exit
 * test measured at layer 1 (the exits guest on this host) and at layer 2 (the same guest inside
 * the nested lab's L1), and what nesting multiplies its cost by. The only place where figures of
 * two layers are set against each other: `compare` refuses to pair them.
 *
 * The multiplier is the ratio of the two medians; its 95 % interval is a percentile bootstrap of
 * that ratio, each side resampled on its own (the two layers' samples are independent), with a
 * seeded generator so the same runs give the same interval.
 */
import type { CaseResult, Metric, Results } from '../results/model.js';
import { median } from '../stats/summary.js';
import { seededRng } from '../stats/random.js';

export const NESTED_COSTS_SCHEMA = 'kvmbench.nested-costs/1';

export interface LayerFigure {
  median: number;
  n: number;
  accelerator: string;
  execution?: string;
  /** KVM's exits per iteration as counted one layer up (L1's KVM for L2; this host's for L1); absent where no KVM counted (TCG). */
  exitsPerIteration?: number;
  /** KVM's instruction emulations per iteration (evidence of NRIPS or of emulated execution). */
  insnEmulationPerIteration?: number;
}

export interface NestedCostRow {
  /** Case id, e.g. `exits/cpuid`. */
  caseId: string;
  /** The headline metric, e.g. `cpuid.latency`. */
  metric: string;
  unit: string;
  interval: string;
  l1: LayerFigure;
  l2: LayerFigure;
  /** median(L2) / median(L1). */
  multiplier: number;
  /** 95 % percentile-bootstrap interval of the multiplier. */
  ci: [number, number];
}

export interface NestedCostTable {
  schema: typeof NESTED_COSTS_SCHEMA;
  l1Run: { id: string; accelerator: string; dir: string };
  l2Run: { id: string; outerAccelerator: string; dir: string };
  /** What the timings mean under this outer accelerator. */
  meaning: string;
  method: string;
  rows: NestedCostRow[];
  /** Cases measured at one layer only, or not passed at both. */
  unpaired: string[];
}

export const BOOTSTRAP_REPS = 2000;

/** Percentile-bootstrap 95 % interval of median(b) / median(a), each side resampled independently. */
export function ratioOfMediansCi(
  a: readonly number[],
  b: readonly number[],
  seed: string,
  reps = BOOTSTRAP_REPS,
): [number, number] {
  if (a.length === 0 || b.length === 0) return [Number.NaN, Number.NaN];
  const rng = seededRng(seed);
  const pick = (xs: readonly number[], buf: number[]): number => {
    for (let i = 0; i < xs.length; i++) buf[i] = xs[Math.floor(rng() * xs.length)]!;
    return median(buf);
  };
  const ba = new Array<number>(a.length),
    bb = new Array<number>(b.length);
  const ratios: number[] = [];
  for (let r = 0; r < reps; r++) {
    const ma = pick(a, ba);
    if (ma !== 0) ratios.push(pick(b, bb) / ma);
  }
  ratios.sort((x, y) => x - y);
  if (!ratios.length) return [Number.NaN, Number.NaN];
  const at = (q: number): number => ratios[Math.min(ratios.length - 1, Math.max(0, Math.round(q * (ratios.length - 1))))]!;
  return [at(0.025), at(0.975)];
}

function headline(c: CaseResult): Metric | undefined {
  return c.metrics.find((m) => m.headline === true);
}

function perIteration(c: CaseResult, counter: string): number | undefined {
  const test = c.id.split('/').pop();
  const name = counter === 'exits' ? `${test}.exits_per_iteration` : `${test}.kvm.${counter}`;
  const m = c.metrics.find((x) => x.name === name);
  return m ? m.summary.median : undefined;
}

function figure(c: CaseResult, m: Metric): LayerFigure {
  const exits = perIteration(c, 'exits');
  const emul = perIteration(c, 'insn_emulation');
  return {
    median: median(m.samples),
    n: m.samples.length,
    accelerator: m.accelerator,
    ...((m.execution ?? c.execution?.mode) ? { execution: m.execution ?? c.execution?.mode } : {}),
    ...(exits !== undefined ? { exitsPerIteration: exits } : {}),
    ...(emul !== undefined ? { insnEmulationPerIteration: emul } : {}),
  };
}

export function nestedCostTable(l1: Results, l1Dir: string, l2: Results, l2Dir: string): NestedCostTable {
  const outer = l2.run.nested?.outerAccelerator ?? 'unknown';
  const byId = new Map(l1.cases.map((c) => [c.id, c]));
  const rows: NestedCostRow[] = [];
  const unpaired: string[] = [];
  for (const c2 of l2.cases) {
    const c1 = byId.get(c2.id);
    const m2 = headline(c2);
    const m1 = c1 && headline(c1);
    if (!c1 || !m1 || !m2 || c1.status !== 'pass' || c2.status !== 'pass' || m1.name !== m2.name || m1.unit !== m2.unit) {
      unpaired.push(c2.id);
      continue;
    }
    const f1 = figure(c1, m1),
      f2 = figure(c2, m2);
    rows.push({
      caseId: c2.id,
      metric: m2.name,
      unit: m2.unit,
      interval: m2.interval,
      l1: f1,
      l2: f2,
      multiplier: f1.median === 0 ? Number.NaN : f2.median / f1.median,
      ci: ratioOfMediansCi(m1.samples, m2.samples, `${c2.id}/${m2.name}`),
    });
  }
  for (const c1 of l1.cases) if (!l2.cases.some((c) => c.id === c1.id)) unpaired.push(c1.id);
  const meaning =
    outer === 'tcg'
      ? "L1 ran under TCG on this host: layer-1 figures are TCG emulation costs and layer-2 figures are KVM exits inside TCG, so the multiplier is not a hardware figure; the exit counts at layer 2 are L1's KVM's own"
      : "L1 ran under this host's KVM with VT-x/AMD-V passed through: the multiplier is what one level of nesting adds to each exit on this hardware";
  return {
    schema: NESTED_COSTS_SCHEMA,
    l1Run: { id: l1.run.id, accelerator: l1.run.accelerator, dir: l1Dir },
    l2Run: { id: l2.run.id, outerAccelerator: outer, dir: l2Dir },
    meaning,
    method: `multiplier = median(layer 2) / median(layer 1) of each test's headline metric (guest-timed, test − null loop, per iteration); 95 % interval: percentile bootstrap of the ratio of medians, ${BOOTSTRAP_REPS} resamples, each layer resampled on its own`,
    rows,
    unpaired,
  };
}
