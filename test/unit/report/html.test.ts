import { mkdtempSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeReports } from '../../../src/report/index.js';
import { renderHtml } from '../../../src/report/html.js';
import { readCaseLog } from '../../../src/report/logs.js';
import { caseResult, makeResults, metric, richResults } from '../../helpers/results-fixture.js';

describe('renderHtml', () => {
  it('has the verdict, the host, every chart kind and one dot per sample', () => {
    const r = richResults();
    const html = renderHtml(r);
    expect(html).toContain('id="verdict"');
    expect(html).toContain('Example CPU 9000');
    expect(html).toMatch(/class="chart bars exits"/);
    expect(html).toMatch(/class="chart stacked"/);
    expect(html).toMatch(/class="chart bars io"/);
    const samples = r.cases.flatMap((c) => c.metrics).reduce((s, m) => s + m.samples.length, 0);
    expect(html.match(/class="sample"/g)).toHaveLength(samples);
    expect(html).not.toMatch(/https?:\/\/(?!www\.w3\.org)/); // self-contained
    expect(html).not.toMatch(/<script/i);
  });

  it('escapes every string from guests, hosts and files', () => {
    const evil = '<img src=x onerror=alert(1)>"\'&';
    const r = makeResults(
      [caseResult('exits/x', { status: 'error', reason: evil, log: 'x.log', metrics: [metric(evil, [1, 2], { unit: evil, labels: { side: evil } })] })],
      { host: { hostname: evil, cpuModel: '<script>alert(2)</script>' } },
    );
    const html = renderHtml(r, { logs: new Map([['exits/x', { text: '<script>alert(3)</script>', truncatedBytes: 0 }]]) });
    expect(html).not.toContain('<img');
    expect(html).not.toMatch(/<script/i);
    expect(html).toContain('&lt;script&gt;alert(3)&lt;/script&gt;');
  });

  it('marks partial runs', () => {
    expect(renderHtml(makeResults([], { run: { state: 'partial' } }))).toContain('id="partial"');
    expect(renderHtml(makeResults([]))).not.toContain('id="partial"');
  });
});

describe('writeReports', () => {
  it('writes junit.xml and report.html with the failed case log, truncated and confined to the directory', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kvmbench-report-'));
    mkdirSync(join(dir, 'logs'));
    writeFileSync(join(dir, 'logs/exits_ipi.log'), 'HEAD-MARKER\n' + 'x'.repeat(200_000) + '\nTAIL-MARKER <script>alert(1)</script>\n');
    const files = await writeReports(richResults(), dir);
    expect(files).toEqual([join(dir, 'junit.xml'), join(dir, 'report.html')]);
    const html = readFileSync(join(dir, 'report.html'), 'utf8');
    expect(html).toContain('TAIL-MARKER &lt;script&gt;');
    expect(html).not.toContain('HEAD-MARKER');
    expect(html).toMatch(/log <code>logs\/boot-linux_q35.log<\/code> could not be read: ENOENT/);
    expect(readFileSync(join(dir, 'junit.xml'), 'utf8')).toContain('<testsuites');
    expect((await readCaseLog(dir, '../../etc/passwd')).error).toMatch(/outside/);
  });
});
