/**
 * What the runner calls at the end of every run, complete, partial or interrupted:
 * writes `junit.xml` and `report.html` into the results directory (beside results.json).
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Results } from '../results/model.js';
import { renderHtml } from './html.js';
import { renderJunit } from './junit.js';
import { readFailedCaseLogs } from './logs.js';

/** Returns the absolute-or-as-given paths of the files written, JUnit first. */
export async function writeReports(results: Results, dir: string): Promise<string[]> {
  const junitPath = join(dir, 'junit.xml');
  const htmlPath = join(dir, 'report.html');
  await writeFile(junitPath, renderJunit(results), 'utf8');
  await writeFile(htmlPath, renderHtml(results, { logs: await readFailedCaseLogs(results, dir) }), 'utf8');
  return [junitPath, htmlPath];
}
