/**
 * The one HTML page shell and base stylesheet of every kvmbench page (a run's report, a
 * comparison): self-contained (inline CSS and SVG, no script), a Content-Security-Policy that
 * forbids loading anything, and the same colours per status everywhere.
 */
import { escapeHtml, type Tone } from './format.js';

/**
 * One colour per status on every page (`--pass`... as CSS variables, these values for SVG
 * attributes, which take no variables): a case's, a check's, and a compare verdict's (`info` for
 * inconclusive, `other` for not comparable).
 */
export const STATUS_COLORS: Readonly<Record<Tone, string>> = {
  pass: '#1e7e34',
  fail: '#c5221f',
  error: '#b3440e',
  skip: '#6b6f75',
  empty: '#6b6f75',
  warn: '#8a6d00',
  info: '#b26a00',
  other: '#7b1fa2',
};

/** Layout, tables, type, and the status colours (`.s-<status>` for text in that colour), shared by every page. */
export const BASE_CSS = `
:root{--fg:#1d1d1f;--muted:#5f6368;--line:#d0d4d9;${Object.entries(STATUS_COLORS)
  .map(([k, v]) => `--${k}:${v}`)
  .join(';')}}
*{box-sizing:border-box}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;color:var(--fg);margin:0 auto;max-width:1100px;padding:16px 24px;background:#fff}
h1{font-size:22px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid var(--line);padding-bottom:4px}h3{font-size:15px;margin:18px 0 6px}
table{border-collapse:collapse;width:100%;margin:6px 0 12px}th,td{border-bottom:1px solid var(--line);padding:3px 8px;text-align:left;vertical-align:top}th{background:#f4f5f7;font-weight:600}
td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.s-pass{color:var(--pass);font-weight:600}.s-fail{color:var(--fail);font-weight:700}.s-error{color:var(--error);font-weight:700}.s-skip{color:var(--skip)}.s-warn{color:var(--warn);font-weight:600}
.muted{color:var(--muted);font-weight:400}.small{font-size:12px}
code{font:12px ui-monospace,"DejaVu Sans Mono",monospace}
details{margin:4px 0 10px}summary{cursor:pointer;color:#1a56a0}
svg{max-width:100%;height:auto;font-family:inherit}
@media print{body{max-width:none;padding:0;font-size:11px}details{display:block}details>summary{color:var(--fg)}a{color:inherit}}
`;

export interface HtmlPage {
  title: string;
  /** Page-specific rules, after BASE_CSS. */
  css?: string;
  /** The body's HTML, already escaped. */
  body: string;
}

/** A complete page: doctype, CSP, title, BASE_CSS plus the page's own rules, and the body. */
export function htmlPage(p: HtmlPage): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<title>${escapeHtml(p.title)}</title><style>${BASE_CSS}${p.css ?? ''}</style></head>
<body>${p.body}</body></html>
`;
}
