import { describe, expect, it } from 'vitest';
import { renderMarkdown } from '../../../src/report/markdown.js';
import { exitsCase, fixtureExecution, makeResults, richResults } from '../../helpers/results-fixture.js';

describe('renderMarkdown: execution', () => {
  it('keeps the first columns, adds accelerator · execution last, and the run platform in the header', () => {
    const md = renderMarkdown(richResults());
    expect(md).toContain('| case | status | metric | median | p5 – p95 | cv | n | unit | accel · execution |');
    expect(md).toMatch(/^\| exits\/cpuid \| pass \| cpuid\.latency .*\| ns \| kvm · native \|$/m);
    // Only a case's first row names the mode.
    expect(md).toMatch(/^\| {2}\| {2}\| cpuid\.ticks .*\| tsc_ticks \| {2}\|$/m);
    expect(md).toContain('<sub>run: cpu host,+invtsc · execution native · KVM bare-metal</sub>');
    expect(md).not.toContain('Emulated execution');
  });

  it('warns about an emulated run with its evidence and marks emulated cases in bold', () => {
    const md = renderMarkdown(richResults('rich', { mode: 'emulated' }));
    expect(md).toMatch(
      /^> ⚠️ \*\*Emulated execution\*\*: guest code ran emulated in this run .*Evidence: empty loop: 7,927 TSC ticks per iteration/m,
    );
    expect(md).toMatch(/^\| exits\/cpuid \| pass \| cpuid\.latency .*\| \*\*kvm · emulated\*\* \|$/m);
    expect(md).toContain('cpu note: QEMU aborted setting IA32_ARCH_CAPABILITIES');
  });

  it('lists emulated cases of a native run with their own evidence, table-safe', () => {
    const odd = exitsCase('mov_dr', { mode: 'emulated' });
    odd.execution = { mode: 'emulated', evidence: ['a | pipe <b>and</b> markup'] };
    const md = renderMarkdown(makeResults([exitsCase('cpuid'), odd], { run: { execution: fixtureExecution('native') } }));
    expect(md).toContain('### Emulated cases');
    expect(md).toContain(
      '- **exits/mov_dr**: emulated: KVM instruction-emulator costs, not hardware VM exits (a \\| pipe &lt;b&gt;and&lt;/b&gt; markup)',
    );
  });
});
