/**
 * fio's per-interval logs, the samples of the I/O case: `--write_bw_log`/`--write_iops_log`
 * with `--log_avg_msec=W` give one averaged figure per window W after the ramp
 * (`time_ms, value, ddir, bs, offset`; bandwidth in KiB/s), and `--write_hist_log` with
 * `--log_hist_msec=W` one completion-latency histogram per window (`time_ms, ddir, bs,
 * bin0, bin1, …`, counts of that window only), from which each window's p50 and p99 come.
 * Lines arrive over a serial line from the guest: anything malformed is skipped and counted,
 * and a log cut short yields the windows that arrived.
 */

/** One window of a bandwidth or IOPS log. */
export interface FioWindow {
  /** End of the window, ms from the job's start of measurement. */
  timeMs: number;
  value: number;
}

export interface FioLog {
  windows: FioWindow[];
  /** Lines that were not a log line (garbage, a line cut in two). */
  skipped: number;
}

const MAX_LINES = 100_000;

/** A bw/iops log: keeps lines of the given direction (0 read, 1 write) whose fields are numbers. */
export function parseFioValueLog(lines: readonly string[], ddir: 0 | 1): FioLog {
  const windows: FioWindow[] = [];
  let skipped = 0;
  for (const raw of lines.slice(0, MAX_LINES)) {
    const line = raw.trim();
    if (!line) continue;
    const f = line.split(',').map((x) => x.trim());
    if (f.length < 3 || !f.slice(0, 3).every((x) => /^\d+$/.test(x))) {
      skipped++;
      continue;
    }
    if (Number(f[2]) !== ddir) continue;
    windows.push({ timeMs: Number(f[0]), value: Number(f[1]) });
  }
  return { windows, skipped };
}

/**
 * Windows that are whole: a window shorter than half the asked length (the last one, cut by
 * the end of the run) would weigh a few I/Os like a full window.
 */
export function wholeWindows<T extends { timeMs: number }>(windows: readonly T[], intervalMs: number): T[] {
  const out: T[] = [];
  let prev = 0;
  for (const w of windows) {
    if (w.timeMs - prev >= intervalMs / 2) out.push(w);
    prev = w.timeMs;
  }
  return out;
}

/** fio's latency bins: 64 per power of two above 128 (FIO_IO_U_PLAT_BITS = 6), values in ns. */
const PLAT_BITS = 6;
const PLAT_VAL = 1 << PLAT_BITS;

/** The middle of fio's bin `idx` (uncoarsened), ns. */
export function fioBinValue(idx: number): number {
  if (idx < PLAT_VAL << 1) return idx;
  const errorBits = (idx >> PLAT_BITS) - 1;
  const base = 2 ** (errorBits + PLAT_BITS);
  const k = idx % PLAT_VAL;
  return base + (k + 0.5) * 2 ** errorBits;
}

/** The latency a coarsened bin stands for: the middle of the fio bins it merges. */
export function coarseBinValue(j: number, coarseness: number): number {
  const w = 2 ** coarseness;
  return (fioBinValue(j * w) + fioBinValue(j * w + w - 1)) / 2;
}

export interface LatencyWindow {
  timeMs: number;
  /** Completions in the window. */
  count: number;
  p50Ns: number;
  p99Ns: number;
}

function percentileOfBins(bins: readonly number[], total: number, q: number, coarseness: number): number {
  const want = Math.max(1, Math.ceil(total * q));
  let c = 0;
  for (let j = 0; j < bins.length; j++) {
    c += bins[j]!;
    if (c >= want) return coarseBinValue(j, coarseness);
  }
  return coarseBinValue(bins.length - 1, coarseness);
}

/** A clat histogram log: each window's completions, p50 and p99 (windows without completions are dropped). */
export function parseFioHistLog(
  lines: readonly string[],
  ddir: 0 | 1,
  coarseness: number,
): { windows: LatencyWindow[]; skipped: number } {
  const windows: LatencyWindow[] = [];
  let skipped = 0;
  const expectBins = Math.ceil((29 * PLAT_VAL) / 2 ** coarseness);
  for (const raw of lines.slice(0, MAX_LINES)) {
    const line = raw.trim();
    if (!line) continue;
    const f = line.split(',').map((x) => x.trim());
    if (f.length !== 3 + expectBins || !f.every((x) => /^\d+$/.test(x))) {
      skipped++;
      continue;
    }
    if (Number(f[1]) !== ddir) continue;
    const bins = f.slice(3).map(Number);
    const count = bins.reduce((s, v) => s + v, 0);
    if (count === 0) continue;
    windows.push({
      timeMs: Number(f[0]),
      count,
      p50Ns: percentileOfBins(bins, count, 0.5, coarseness),
      p99Ns: percentileOfBins(bins, count, 0.99, coarseness),
    });
  }
  return { windows, skipped };
}
