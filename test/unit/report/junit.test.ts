import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { XMLParser } from 'fast-xml-parser';
import { describe, expect, it } from 'vitest';
import { renderJunit } from '../../../src/report/junit.js';
import { caseResult, exitsCase, makeResults, metric, richResults } from '../../helpers/results-fixture.js';

// test-results-parser is a JUnit reader used by CI notifiers; it is CommonJS.
const require = createRequire(import.meta.url);
const trp = require('test-results-parser') as { parse(o: { type: string; files: string[] }): ParsedResult };
interface ParsedCase {
  name: string;
  status: string;
  failure: string;
  metadata: Record<string, string>;
}
interface ParsedSuite {
  name: string;
  total: number;
  passed: number;
  failed: number;
  errors: number;
  skipped: number;
  cases: ParsedCase[];
  metadata: Record<string, string>;
}
interface ParsedResult {
  total: number;
  passed: number;
  failed: number;
  errors: number;
  skipped: number;
  suites: ParsedSuite[];
}

function parseWithReader(xml: string): ParsedResult {
  const dir = mkdtempSync(join(tmpdir(), 'kvmbench-junit-'));
  const file = join(dir, 'junit.xml');
  writeFileSync(file, xml);
  return trp.parse({ type: 'junit', files: [file] });
}

const attrs = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '',
  isArray: (n) => ['testsuite', 'testcase', 'property'].includes(n),
});

describe('renderJunit', () => {
  it('is read by a real JUnit reader with the right counts, names and reasons', () => {
    const xml = renderJunit(richResults());
    const r = parseWithReader(xml);
    const all = r.suites.flatMap((s) => s.cases);
    expect(all).toHaveLength(10);
    expect(r.suites.map((s) => s.name)).toEqual(['exits', 'boot-micro', 'boot-linux', 'io']);
    const byName = new Map(all.map((c) => [c.name, c]));
    expect(byName.get('exits/cpuid')!.status).toBe('PASS');
    expect(byName.get('exits/ipi')!.status).toBe('FAIL');
    expect(byName.get('exits/ipi')!.failure).toContain('IPI not delivered');
    expect(byName.get('boot-linux/q35')!.status).toBe('FAIL'); // readers fold <error> into failed
    expect(byName.get('exits/tscdeadline')!.status).toBe('SKIP');
    const exits = r.suites.find((s) => s.name === 'exits')!;
    expect(exits.metadata.hostname).toBe('bench-01');
    expect(exits.metadata['host.cpuModel']).toContain('Example CPU');
    const md = byName.get('exits/cpuid')!.metadata;
    const nKey = Object.keys(md).find((k) => k.startsWith('metric.cpuid.latency{') && k.endsWith('.n'));
    expect(nKey).toBe('metric.cpuid.latency{machine=q35,mode=long64,test=cpuid}.n');
    expect(String(md[nKey!])).toBe('15');
  });

  it('keeps error apart from failure, gives skipped a message, and sets suite attributes', () => {
    const doc = attrs.parse(renderJunit(richResults()));
    const suites = doc.testsuites.testsuite as Array<Record<string, unknown> & { testcase: Array<Record<string, unknown>> }>;
    const exits = suites.find((s) => s.name === 'exits')!;
    expect(exits.hostname).toBe('bench-01');
    expect(exits.timestamp).toBe('2026-01-02T03:04:05');
    expect(Number(exits.time)).toBeCloseTo(5 * 1.234, 3); // seconds, not ms
    expect(exits.failures).toBe('1');
    expect(exits.skipped).toBe('1');
    const skip = exits.testcase.find((c) => c.name === 'exits/tscdeadline')!;
    expect((skip.skipped as Record<string, string>).message).toContain('kvm.tsc_deadline');
    const err = suites.find((s) => s.name === 'boot-linux')!.testcase.find((c) => c.name === 'boot-linux/q35')!;
    expect(err.error).toBeDefined();
    expect(err.failure).toBeUndefined();
    expect(err.classname).toBe('kvmbench.boot-linux');
    const cpuid = exits.testcase.find((c) => c.name === 'exits/cpuid')!;
    expect(String(cpuid['system-out'])).toMatch(/cpuid\.latency\{machine=q35,.*\} median .* ns \(p5 .*n=15/);
  });

  it('makes duplicate case names unique and survives control characters and markup from a guest', () => {
    const nasty = 'oops \u0001\u001b[31m <script>alert(1)</script> ]]> & done';
    const r = makeResults([
      caseResult('exits/cpuid', { metrics: [metric('cpuid.latency', [1, 2, 3])] }),
      caseResult('exits/cpuid', { status: 'error', reason: nasty }),
    ]);
    const xml = renderJunit(r);
    const parsed = parseWithReader(xml);
    const names = parsed.suites[0]!.cases.map((c) => c.name);
    expect(new Set(names).size).toBe(2);
    expect(parsed.suites[0]!.cases[1]!.failure).toContain('<script>alert(1)</script>');
    expect(xml).not.toContain('\u0001');
  });

  it('carries execution, its first evidence line, the VM record and exits per iteration as properties', () => {
    const r = richResults('rich', { mode: 'emulated' });
    const parsed = parseWithReader(renderJunit(r));
    const all = parsed.suites.flatMap((s) => s.cases);
    const cpuid = all.find((c) => c.name === 'exits/cpuid')!.metadata;
    const epi = r.cases[0]!.metrics.find((m) => m.name === 'cpuid.exits_per_iteration')!.summary.median;
    expect(cpuid.accelerator).toBe('kvm');
    expect(cpuid.execution).toBe('emulated');
    expect(cpuid['execution.evidence']).toBe(
      'KVM insn_emulation: 3.2 per empty-loop iteration (native ≤ 0.05, emulated ≥ 0.5): emulated',
    );
    expect(cpuid['vm.cpu']).toBe('host,+invtsc,-arch-capabilities');
    expect(cpuid['vm.apicv']).toBe('N (PVM)');
    expect(Number(cpuid.exits_per_iteration)).toBe(epi);
    // Boot cases carry execution and vm too, but no exit count.
    const boot = all.find((c) => c.name === 'boot-micro/q35')!.metadata;
    expect(boot.execution).toBe('emulated');
    expect(boot['vm.machine']).toBe('q35');
    expect(boot.exits_per_iteration).toBeUndefined();
    const suite = parsed.suites.find((s) => s.name === 'exits')!.metadata;
    expect(suite['run.cpu']).toBe('host,+invtsc,-arch-capabilities');
    expect(suite['run.execution']).toBe('emulated');
    expect(suite['run.execution.evidence']).toBe(
      'empty loop: 7,927 TSC ticks per iteration (native ≤ 20, emulated ≥ 200): emulated',
    );
    expect(suite['host.kvmFlavor']).toBe('pvm');
  });

  it('says emulated and the exit checks in system-out, and leaves outcomes to the status', () => {
    const doc = attrs.parse(renderJunit(richResults('rich', { mode: 'emulated' })));
    const exits = (
      doc.testsuites.testsuite as Array<{
        name: string;
        failures: string;
        skipped: string;
        testcase: Array<Record<string, unknown>>;
      }>
    ).find((s) => s.name === 'exits')!;
    const cpuid = exits.testcase.find((c) => c.name === 'exits/cpuid')!;
    const out = String(cpuid['system-out']);
    expect(out).toMatch(
      /^exits\/cpuid PASS \[kvm · emulated, q35\] emulated: KVM instruction-emulator costs, not hardware VM exits \(KVM insn_emulation: 3\.2 /,
    );
    expect(out).toContain('not judged: execution emulated ([not ok] exits: 0.003 per iteration, expected 1);');
    // Not-ok checks that were not judged do not turn a passing case into a failure.
    expect(cpuid.failure).toBeUndefined();
    expect(cpuid.error).toBeUndefined();
    expect(exits.failures).toBe('1');
    expect(exits.skipped).toBe('1');
  });

  it('gives a native case its met expectation and a TCG case tcg without exit counts', () => {
    const native = String(
      attrs.parse(renderJunit(makeResults([exitsCase('cpuid')]))).testsuites.testsuite[0].testcase[0]['system-out'],
    );
    expect(native).toContain(
      '[kvm · native, q35] exits per iteration 1.00; expectation met: [ok] exits: 1.000 per iteration, expected 1;',
    );
    const tcg = parseWithReader(renderJunit(makeResults([exitsCase('cpuid', { mode: 'tcg' })]))).suites[0]!.cases[0]!.metadata;
    expect(tcg.execution).toBe('tcg');
    expect(tcg.exits_per_iteration).toBeUndefined();
  });

  it('marks a partial run with a visible error case', () => {
    const r = makeResults([caseResult('exits/cpuid')], { run: { state: 'interrupted' } });
    const parsed = parseWithReader(renderJunit(r));
    expect(parsed.errors + parsed.failed).toBeGreaterThan(0);
    expect(parsed.suites.at(-1)!.cases[0]!.name).toContain('interrupted');
  });
});
