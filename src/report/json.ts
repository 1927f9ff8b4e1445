/** The JSON view: the canonical model itself, pretty-printed. */
import type { Results } from '../results/model.js';

export function renderJson(results: Results): string {
  return JSON.stringify(results, null, 2) + '\n';
}
