/** What the history views share: how a host class, a direction and a change are written. */
import { hostClassLabel, type HostClass } from '../../history/host-class.js';
import { fmtPct } from '../format.js';

export function classText(c: HostClass): string {
  return `${c.id} (${hostClassLabel(c)})`;
}

export function betterText(better: 'lower' | 'higher'): string {
  return better === 'lower' ? 'lower is better ↓' : 'higher is better ↑';
}

export function changeWord(change: number, regression: boolean): string {
  return `${fmtPct(change)} ${regression ? 'regression' : 'improvement'}`;
}

/** `kvm/native`, `tcg`: the accelerator and, when recorded, how the guest code ran. */
export function accelWord(accelerator: string, execution?: string): string {
  return execution && execution !== accelerator ? `${accelerator}/${execution}` : accelerator;
}

export function shortTime(iso: string): string {
  return iso.replace('T', ' ').replace(/(:\d\d)(\.\d+)?Z$/, '$1Z');
}

/** `2 pass, 1 fail, 0 error, 1 skip`: a conformance series' runs by verdict, as both its views write them. */
export function verdictCounts(runs: ReadonlyArray<{ status: string }>): string {
  return ['pass', 'fail', 'error', 'skip'].map((st) => `${runs.filter((r) => r.status === st).length} ${st}`).join(', ');
}
