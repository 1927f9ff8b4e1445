/** The history views, by model and format. */
export { renderCheckText, renderHostsText, renderImportText, renderRunsText, renderTrendText } from './text.js';
export { renderHistoryJson } from './json.js';
export { renderConformanceCheckText, renderConformanceTrendText } from './conformance-text.js';
export { renderHostsHtml, renderTrendHtml } from './html.js';
export { renderConformanceTrendHtml } from './conformance-html.js';

export const TREND_FORMATS = ['text', 'json', 'html'] as const;
export type TrendFormat = (typeof TREND_FORMATS)[number];
