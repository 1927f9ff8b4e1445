import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { executors } from '../../../src/cases/index.js';
import { listShippedSuites, loadSuite, type LoadOptions } from '../../../src/suites/load.js';

const tmp = mkdtempSync(join(tmpdir(), 'kvmbench-args-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const registry: LoadOptions = { kinds: Object.keys(executors), argsOf: (k) => executors[k]?.args };

function errorOf(name: string, text: string, extra: LoadOptions = {}): string {
  const f = join(tmp, name);
  writeFileSync(f, text);
  try {
    loadSuite(f, { ...registry, cwd: tmp, ...extra });
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error('expected a UsageError');
}

describe('suite args are checked against the executor of their kind', () => {
  it('every registered executor declares its args', () => {
    for (const [kind, ex] of Object.entries(executors)) expect(ex.args, kind).toBeDefined();
  });

  it('every shipped suite loads with its args checked, with and without --quick', () => {
    for (const name of listShippedSuites()) {
      expect(() => loadSuite(name, registry), name).not.toThrow();
      expect(() => loadSuite(name, { ...registry, quick: true }), name).not.toThrow();
    }
  });

  it('a misspelt argument fails at its line, naming what the kind takes', () => {
    const text = [
      'suite: a1',
      'defaults:',
      '  kind: io',
      '  guest: linux',
      'cases:',
      '  - id: r',
      '    args: { runtime: 2, rmap: 1 }',
      '',
    ].join('\n');
    expect(errorOf('a1.yaml', text)).toMatch(
      /^a1\.yaml:7:25: args\.rmap: kind io takes no argument 'rmap' \(did you mean 'ramp'\?\); it takes: aio, boot_timeout, cache, .*sizeMiB/,
    );
  });

  it('a mistyped value fails at its line with the sentence of its schema', () => {
    const text = [
      'suite: a2',
      'defaults:',
      '  kind: net',
      '  guest: linux',
      '  args: { vhost: maybe }',
      'cases:',
      '  - id: n',
      '',
    ].join('\n');
    expect(errorOf('a2.yaml', text)).toMatch(
      /^a2\.yaml:5:18: args\.vhost: expected one of auto, on, off \(vhost-net\) \(case a2\/n, kind net\)/,
    );
    const num = ['suite: a3', 'cases:', '  - id: x', '    kind: exits', '    args: { test: cpuid, target_us: soon }', ''].join(
      '\n',
    );
    expect(errorOf('a3.yaml', num)).toMatch(/^a3\.yaml:5:37: args\.target_us: expected a number/);
  });

  it('an argument set by quick overrides is found there', () => {
    const text = ['suite: a4', 'defaults:', '  kind: raw', 'quick:', '  args: { harnes: c }', 'cases:', '  - id: cpuid', ''].join(
      '\n',
    );
    expect(errorOf('a4.yaml', text, { quick: true })).toMatch(
      /^a4\.yaml:5:11: args\.harnes: kind raw takes no argument 'harnes' \(did you mean 'harness'\?\)/,
    );
    // Without --quick the override does not apply, so nothing is wrong.
    expect(() => loadSuite(join(tmp, 'a4.yaml'), { ...registry, cwd: tmp })).not.toThrow();
  });

  it('kinds without a schema (test executors) keep free-form args', () => {
    const f = join(tmp, 'free.yaml');
    writeFileSync(f, 'suite: free\ncases:\n  - { id: a, kind: sleep, args: { ms: 10 } }\n');
    expect(loadSuite(f, { kinds: ['sleep'], argsOf: () => undefined, cwd: tmp }).cases[0]!.args).toEqual({ ms: 10 });
  });
});
