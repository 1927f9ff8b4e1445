/** Reads the case logs a report shows (failed and errored cases only), truncated to a sane size. */
import { open, stat } from 'node:fs/promises';
import { isAbsolute, relative, resolve } from 'node:path';
import type { Results } from '../results/model.js';
import type { CaseLog } from './html.js';

/** Enough for the end of a kernel boot log; a runaway guest can write gigabytes. */
export const MAX_LOG_BYTES = 64 * 1024;

export async function readCaseLog(dir: string, logPath: string, maxBytes = MAX_LOG_BYTES): Promise<CaseLog> {
  const full = resolve(dir, logPath);
  // A results file names its logs relative to itself; one that points elsewhere is not followed.
  const rel = relative(resolve(dir), full);
  if (isAbsolute(logPath) || rel.startsWith('..'))
    return { text: '', truncatedBytes: 0, error: 'log path points outside the results directory' };
  try {
    const st = await stat(full);
    const start = Math.max(0, st.size - maxBytes);
    const fh = await open(full, 'r');
    try {
      const buf = Buffer.alloc(st.size - start);
      await fh.read(buf, 0, buf.length, start);
      return { text: buf.toString('utf8'), truncatedBytes: start };
    } finally {
      await fh.close();
    }
  } catch (err) {
    return { text: '', truncatedBytes: 0, error: (err as NodeJS.ErrnoException).code ?? String(err) };
  }
}

export async function readFailedCaseLogs(results: Results, dir: string, maxBytes = MAX_LOG_BYTES): Promise<Map<string, CaseLog>> {
  const logs = new Map<string, CaseLog>();
  for (const c of results.cases) {
    if ((c.status === 'fail' || c.status === 'error') && c.log) logs.set(c.id, await readCaseLog(dir, c.log, maxBytes));
  }
  return logs;
}
