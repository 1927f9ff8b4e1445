/** Format dispatch for `kvmbench compare` and `kvmbench ab`: every format is a view of the same Comparison. */
import type { ChalkInstance } from 'chalk';
import type { Comparison } from '../../compare/compare.js';
import { renderCompareHtml } from './html.js';
import { renderCompareJson } from './json.js';
import { renderCompareJunit } from './junit.js';
import { renderCompareMarkdown } from './markdown.js';
import { renderCompareText } from './text.js';

export { displayKeys, powerLine, verdictSymbol, vmLines, forcedLines } from './common.js';

export const COMPARE_FORMATS = ['text', 'md', 'json', 'junit', 'html'] as const;
export type CompareFormat = (typeof COMPARE_FORMATS)[number];

export function renderComparison(cmp: Comparison, format: CompareFormat, color?: ChalkInstance): string {
  switch (format) {
    case 'text':
      return renderCompareText(cmp, color);
    case 'md':
      return renderCompareMarkdown(cmp);
    case 'json':
      return renderCompareJson(cmp);
    case 'junit':
      return renderCompareJunit(cmp);
    case 'html':
      return renderCompareHtml(cmp);
  }
}
