/** Format dispatch for `kvmbench report`: every format is a view of the same Results. */
import type { ChalkInstance } from 'chalk';
import type { Results } from '../results/model.js';
import { renderHtml } from './html.js';
import { renderJson } from './json.js';
import { renderJunit } from './junit.js';
import { readFailedCaseLogs } from './logs.js';
import { renderMarkdown } from './markdown.js';
import { renderText } from './text.js';

export const REPORT_FORMATS = ['junit', 'html', 'md', 'text', 'json'] as const;
export type ReportFormat = (typeof REPORT_FORMATS)[number];

/** `dir` is the results directory, used only to read case logs for the HTML view. */
export async function renderReport(results: Results, format: ReportFormat, dir: string, color?: ChalkInstance): Promise<string> {
  switch (format) {
    case 'junit':
      return renderJunit(results);
    case 'html':
      return renderHtml(results, { logs: await readFailedCaseLogs(results, dir) });
    case 'md':
      return renderMarkdown(results);
    case 'json':
      return renderJson(results);
    case 'text':
      return renderText(results, color);
  }
}
