import { mkdtempSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeReports } from '../../../src/report/index.js';
import { barChartSvg, bootInterval, chainIntervals, histogramSvg, needsLogAxis, renderHtml } from '../../../src/report/html.js';
import { histogramFact } from '../../../src/report/common.js';
import { readCaseLog } from '../../../src/report/logs.js';
import { caseResult, exitsCase, fixtureExecution, makeResults, metric, richResults } from '../../helpers/results-fixture.js';

/** The HTML between an element's opening tag with this id and the next element with an id of the same kind. */
function block(html: string, id: string): string {
  const start = html.indexOf(`id="${id}"`);
  expect(start, `id="${id}"`).toBeGreaterThan(-1);
  const end = html.indexOf('id="info-', start + id.length + 5);
  return html.slice(start, end > -1 ? end : undefined);
}

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

  it('picks sections by the case kind, not by names', () => {
    // A user's suite called "exit-boot" with an I/O case: no exits or boot section; its own
    // exits case in a suite named "mine" gets the exits chart.
    const named = caseResult('exit-boot/bootish', { kind: 'io', metrics: [metric('boot.exit_latency', [5, 6, 7])] });
    const exits = caseResult('mine/cpuid', { kind: 'exits', metrics: [metric('cpuid.latency', [1, 2, 3])] });
    const html = renderHtml(makeResults([named, exits]));
    expect(html).toContain('<section id="exits">');
    expect(html).not.toContain('<section id="boot">');
    const exitsSection = html.slice(
      html.indexOf('<section id="exits">'),
      html.indexOf('</section>', html.indexOf('<section id="exits">')),
    );
    expect(exitsSection).toContain('cpuid.latency');
    expect(exitsSection).not.toContain('boot.exit_latency');
    // Without a kind (a user's suite in older results) nothing is guessed from the name.
    const legacy = caseResult('exits-like/x', { metrics: [metric('boot.total', [1, 2, 3])] });
    expect(legacy.kind).toBeUndefined();
    const page = renderHtml(makeResults([legacy]));
    expect(page).not.toContain('<section id="exits">');
    expect(page).not.toContain('<section id="boot">');
  });

  it('escapes every string from guests, hosts and files', () => {
    const evil = '<img src=x onerror=alert(1)>"\'&';
    const r = makeResults(
      [
        caseResult('exits/x', {
          status: 'error',
          reason: evil,
          log: 'x.log',
          metrics: [metric(evil, [1, 2], { unit: evil, labels: { side: evil } })],
        }),
      ],
      { host: { hostname: evil, cpuModel: '<script>alert(2)</script>' } },
    );
    const html = renderHtml(r, { logs: new Map([['exits/x', { text: '<script>alert(3)</script>', truncatedBytes: 0 }]]) });
    expect(html).not.toContain('<img');
    expect(html).not.toMatch(/<script/i);
    expect(html).toContain('&lt;script&gt;alert(3)&lt;/script&gt;');
  });

  it('switches to a log axis only when medians span more than 50x', () => {
    const bar = (median: number) => ({ label: String(median), median, p5: median * 0.9, p95: median * 1.1, n: 10 });
    expect(needsLogAxis([bar(1), bar(40)])).toBe(false);
    expect(needsLogAxis([bar(1), bar(60)])).toBe(true);
    expect(barChartSvg([bar(2), bar(20000)], 'ns')).toContain('class="chart bars log"');
    expect(barChartSvg([bar(2), bar(20)], 'ns')).not.toContain(' log"');
  });

  it('chains boot intervals and keeps totals off the stack', () => {
    expect(bootInterval(metric('boot.spawn_to_entry', [1]))).toEqual({ from: 'spawn', to: 'entry' });
    expect(bootInterval(metric('x', [1], { labels: { from: 'kernel', to: 'init' } }))).toEqual({ from: 'kernel', to: 'init' });
    expect(bootInterval(metric('cpuid.latency', [1]))).toBeUndefined();
    const iv = (from: string, to: string, value: number) => ({ from, to, value });
    const { chain, rest } = chainIntervals([iv('spawn', 'exit', 30), iv('entry', 'exit', 10), iv('spawn', 'entry', 20)]);
    expect(chain.map((i) => `${i.from}>${i.to}`)).toEqual(['spawn>entry', 'entry>exit']);
    expect(rest.map((i) => `${i.from}>${i.to}`)).toEqual(['spawn>exit']);
  });

  it('marks partial runs', () => {
    expect(renderHtml(makeResults([], { run: { state: 'partial' } }))).toContain('id="partial"');
    expect(renderHtml(makeResults([]))).not.toContain('id="partial"');
  });
});

describe('renderHtml: execution, exit accounting and histograms', () => {
  it('shows the run platform, accelerator · execution per case, and the exit accounting of each exits case', () => {
    const html = renderHtml(richResults());
    expect(html).toMatch(
      /id="platform">-cpu <code>host,\+invtsc<\/code> · execution <span class="x-native">native<\/span> · KVM flavour <b>bare-metal<\/b>/,
    );
    expect(html).not.toContain('id="emulated"');
    expect(html).toMatch(
      /<a href="#case-exits\/cpuid">exits\/cpuid<\/a><\/td><td>.*?<\/td><td class="nowrap"><span class="x-native">kvm · native<\/span>/,
    );
    // The accounting table: one row per exits case that ran, with exits per iteration and the verdict.
    const table = html.slice(
      html.indexOf('<table class="exit-accounting">'),
      html.indexOf('</table>', html.indexOf('<table class="exit-accounting">')),
    );
    expect(table.match(/<tr><td><a /g)).toHaveLength(3);
    expect(table).toMatch(
      /exits\/inl_from_qemu<\/a><\/td><td class="nowrap"><span class="x-native">kvm · native<\/span><\/td><td class="num exits-per-iteration">1\.00<\/td><td class="num small">io_exits 1\.00<\/td><td class="small"><span class="s-pass">ok<\/span>/,
    );
    const cpuid = block(html, 'info-exits/cpuid');
    expect(cpuid).toContain('<b class="exits-per-iteration">1.00</b>');
    expect(cpuid).toContain('declared for native execution: <code>exits=1</code>');
    expect(cpuid).toContain('<li class="check-ok">✓ ok: exits: 1.000 per iteration, expected 1</li>');
    expect(cpuid).not.toContain('not judged');
    expect(cpuid).toContain('<code>cpu=host,+invtsc</code>');
    expect(cpuid).toContain('<li>empty loop: 1.0 TSC ticks per iteration (native ≤ 20, emulated ≥ 200): native</li>');
    expect(cpuid.match(/<svg class="chart hist"/g)).toHaveLength(1);
    expect(cpuid).toMatch(
      /<figcaption>1000 iterations timed one by one .*p50 3 [0-9]{3} tsc_ticks \([0-9 ]+ ns\) · p99 [0-9 ]+ tsc_ticks .* · p99\.9 /,
    );
    expect(block(html, 'info-exits/vmcall')).not.toContain('class="chart hist"');
    // Counts are not latencies: the exit bar charts keep only ns and ticks.
    expect(html.match(/<svg class="chart bars exits[^"]*"/g)).toHaveLength(2);
    expect(html).toMatch(/<h2>VM-exit latencies<\/h2>/);
  });

  it('marks failed expectations as not ok when judged', () => {
    const c = exitsCase('mov_to_cr8', { declared: 'exits=0' });
    const html = renderHtml(makeResults([c]));
    expect(html).toContain('<li class="check-bad">✗ not ok: exits: 1.000 per iteration, expected 0</li>');
    expect(html).toContain('<span class="s-fail">not ok (1 of 1)</span>');
  });

  it('makes emulated figures impossible to miss: a banner with the evidence, a marked note per case, not judged', () => {
    const html = renderHtml(richResults('rich', { mode: 'emulated' }));
    expect(html).toMatch(
      /<div class="banner emulated" id="emulated">Emulated execution: guest code ran emulated in this run \(\d+ of 10 cases\): KVM&#39;s instruction emulator ran the guest code, so these figures are emulator costs, not hardware VM exits; this host&#39;s KVM is pvm\. Evidence: empty loop: 7,927 TSC ticks per iteration/,
    );
    expect(html).toContain(
      '<h2>VM-exit latencies <span class="x-emulated">(emulated execution: KVM instruction-emulator costs, not hardware exits)</span></h2>',
    );
    const cpuid = block(html, 'info-exits/cpuid');
    expect(cpuid).toContain(
      '<p class="note-emulated">Emulated: KVM&#39;s instruction emulator ran the guest code, so these figures are emulator costs, not hardware VM exits. Evidence: KVM insn_emulation: 3.2 per empty-loop iteration',
    );
    expect(cpuid).toContain('<p class="muted not-judged">not judged: execution emulated</p>');
    expect(cpuid).toContain('<li class="check-unjudged">✗ not ok: exits: 0.003 per iteration, expected 1</li>');
    expect(html).toContain('<span class="muted">not judged: execution emulated</span>');
    expect(html).toMatch(/<span class="x-emulated">kvm · emulated<\/span>/);
    expect(html).toContain('cpu note: QEMU aborted setting IA32_ARCH_CAPABILITIES');
  });

  it('under TCG: tcg, no exit counts, and says why there is no accounting', () => {
    const html = renderHtml(richResults('rich', { mode: 'tcg' }));
    const cpuid = block(html, 'info-exits/cpuid');
    expect(cpuid).toContain('<b class="exits-per-iteration">–</b>');
    expect(cpuid).toContain('no exit accounting: under TCG there are no VM exits and no KVM statistics');
    expect(html).toMatch(/<span class="x-tcg">tcg<\/span>/);
    expect(html).not.toContain('id="emulated"');
  });

  it('keeps a <script> planted in evidence, vm, checks and the cpu note as text', () => {
    const r = richResults('rich', { mode: 'emulated' });
    const c = r.cases[0]!;
    const planted = '<script>alert("evidence")</script>';
    c.execution = { mode: 'emulated', evidence: [planted, '<img src=x onerror=alert(2)>'] };
    c.vm = { ...c.vm, '<b>k</b>': '<script>alert(3)</script>' };
    (c.facts!.exitAccounting as { checks: Array<{ text: string }> }).checks[0]!.text = '<script>alert(4)</script>';
    r.run.cpuNote = '<script>alert(5)</script>';
    r.run.execution = c.execution;
    const html = renderHtml(r);
    expect(html).not.toMatch(/<script/i);
    expect(html).not.toContain('<img');
    expect(html).toContain('Evidence: &lt;script&gt;alert(&quot;evidence&quot;)&lt;/script&gt;');
    expect(html).toContain('<code>&lt;b&gt;k&lt;/b&gt;=&lt;script&gt;alert(3)&lt;/script&gt;</code>');
  });

  it('draws the histogram on a log axis with every non-empty bin visible and the three percentiles', () => {
    const h = histogramFact(richResults().cases[0]!)!;
    expect(h.bins.length).toBeGreaterThan(5);
    const svg = histogramSvg(h);
    const rects = [...svg.matchAll(/<rect class="bin" x="([\d.]+)" y="[\d.]+" width="([\d.]+)" height="([\d.]+)"/g)].map((m) => ({
      x: Number(m[1]),
      w: Number(m[2]),
      h: Number(m[3]),
    }));
    expect(rects).toHaveLength(h.bins.length);
    for (const r of rects) expect(r.h).toBeGreaterThanOrEqual(1); // a bin of 1 in 1000 still shows
    for (let i = 1; i < rects.length; i++) expect(rects[i]!.x).toBeGreaterThan(rects[i - 1]!.x);
    // Log axis: a bin's left edge lies at a distance proportional to log(lo / lowest lo).
    const scale = rects.slice(1).map((r, i) => (r.x - rects[0]!.x) / Math.log(h.bins[i + 1]!.lo / h.bins[0]!.lo));
    for (const k of scale) expect(k / scale[0]!).toBeCloseTo(1, 1);
    expect(svg.match(/<line class="pct"/g)).toHaveLength(3);
    expect(svg).toContain('p99.9');
    expect(svg).toContain('tsc_ticks (log)');
  });

  it('ignores unreadable accounting and histogram facts instead of breaking the page', () => {
    const c = exitsCase('cpuid', { histogram: true });
    c.facts = {
      exitAccounting: { checks: 'nope' },
      histogram: { bins: [{ lo: -1, hi: 0, count: 'x' }], p50: 1, p99: 2, p999: 3 },
    };
    const html = renderHtml(makeResults([c], { run: { execution: fixtureExecution('native') } }));
    expect(html).not.toContain('class="chart hist"');
    expect(block(html, 'info-exits/cpuid')).not.toContain('class="checks"');
    expect(histogramFact(caseResult('exits/x', { facts: { histogram: 'none' } }))).toBeUndefined();
  });
});

describe('writeReports', () => {
  it('writes junit.xml and report.html with the failed case log, truncated and confined to the directory', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kvmbench-report-'));
    mkdirSync(join(dir, 'logs'));
    writeFileSync(
      join(dir, 'logs/exits_ipi.log'),
      'HEAD-MARKER\n' + 'x'.repeat(200_000) + '\nTAIL-MARKER <script>alert(1)</script>\n',
    );
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
