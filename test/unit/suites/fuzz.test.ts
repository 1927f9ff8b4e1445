/**
 * Fuzzes the suite loader: every input must either parse or throw a UsageError whose first
 * line starts with the file name, quickly. Any other exception (TypeError, RangeError...) or
 * a slow input is a bug. Seeded, so a failure names the seed and input that reproduce it.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../../src/errors.js';
import { parseSuiteText } from '../../../src/suites/load.js';

const seed = Number(process.env.FUZZ_SEED ?? 20261130); // fixed so a failure reproduces; FUZZ_SEED explores others
function rng(s: number): () => number {
  // mulberry32
  return () => {
    s = (s + 0x6d2b79f5) | 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const rand = rng(seed);
const int = (n: number) => Math.floor(rand() * n);
const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;

const base = readFileSync(join(import.meta.dirname, '../../fixtures/suites/demo.yaml'));
const tokens = [
  '[',
  ']',
  '{',
  '}',
  ':',
  '- ',
  '&a ',
  '*a',
  '!!str ',
  '!!binary ',
  '"',
  "'",
  '#',
  '\n',
  '  ',
  '\t',
  '|',
  '>',
  '---\n',
  '...\n',
  '<<: ',
  '? ',
  ',',
  '%YAML 1.2\n',
  '\\',
  'id: ',
  'deadline: ',
  'cases:',
  'include:',
  '\u0000',
  '\u2028',
  '\ud800',
  '💥',
  'null',
  '~',
  '1e999',
  '-0',
  '0x1f',
  '.nan',
];

function mutate(buf: Buffer): Buffer {
  const b = Buffer.from(buf);
  const op = int(6);
  if (op === 0) {
    for (let k = 0; k < 1 + int(8); k++) b[int(b.length)] = int(256);
    return b;
  }
  const s = b.toString('utf8');
  const at = int(s.length);
  if (op === 1) return Buffer.from(s.slice(0, at) + pick(tokens).repeat(1 + int(4)) + s.slice(at));
  if (op === 2) return Buffer.from(s.slice(0, at) + s.slice(at + int(40)));
  if (op === 3) return Buffer.from(s.slice(0, at)); // truncated
  if (op === 4) {
    const lines = s.split('\n');
    const i = int(lines.length);
    lines.splice(int(lines.length), 0, lines[i]!); // duplicated line
    return Buffer.from(lines.join('\n'));
  }
  return Buffer.from(Array.from({ length: int(300) }, () => int(256)));
}

function check(input: Buffer | string): void {
  // CPU time of this test process, not wall time: a loaded machine slows the wall clock, not the
  // work; a blowup in the parser (super-linear in the input) still shows.
  const c0 = process.cpuUsage();
  try {
    parseSuiteText(input, 'f.yaml');
  } catch (err) {
    if (!(err instanceof UsageError)) {
      throw new Error(
        `seed ${seed}: non-usage error ${(err as Error)?.constructor?.name}: ${(err as Error)?.message} for input ${JSON.stringify(String(input).slice(0, 200))}`,
      );
    }
    expect(err.message).toMatch(/^f\.yaml(:\d+:\d+)?: /);
  }
  const used = process.cpuUsage(c0);
  const ms = (used.user + used.system) / 1000;
  if (ms > 3000)
    throw new Error(`seed ${seed}: ${ms.toFixed(0)} ms of CPU for input ${JSON.stringify(String(input).slice(0, 200))}`);
}

describe(`suite loader fuzz (FUZZ_SEED=${seed})`, () => {
  it('survives 3000 random mutations of a valid suite', () => {
    for (let i = 0; i < 3000; i++) {
      let b: Buffer = base;
      for (let k = 0; k < 1 + int(3); k++) b = mutate(b);
      check(b);
    }
  });

  it('survives hostile shapes', () => {
    const inputs: (string | Buffer)[] = [
      'suite: ' + 'a'.repeat(1_000_000),
      'suite: x\ncases:\n' + '  - {id: a, kind: k}\n'.repeat(20_000),
      'suite: x\ncases: ' + '['.repeat(60) + ']'.repeat(60),
      'suite: x\ncases: ' + '[{'.repeat(40),
      'suite: x\ncases: "' + '[{'.repeat(5_000) + '"\ndefaults: {kind: k}\n',
      Array.from({ length: 1000 }, (_, i) => ' '.repeat(i) + '- ').join('\n'),
      Array.from({ length: 1000 }, (_, i) => ' '.repeat(i) + 'a:').join('\n'),
      Array.from({ length: 40_000 }, (_, i) => `k${i}: ${i}`).join('\n'),
      'a: &a [' + Array(50).fill('x').join(',') + ']\nb: [' + Array(200).fill('*a').join(',') + ']\n',
      'a: &a\n  b: *a\n',
      '*nope\n',
      'suite: x\ncases: [' + Array(5000).fill('{id: a}').join(',') + ']',
      '---\nsuite: a\n---\nsuite: b\n',
      '%YAML 9.9\n---\nsuite: x\n',
      'suite: !!binary aGVsbG8=\n',
      'suite: x\ncases:\n  - id: a\n    kind: k\n    deadline: .inf\n',
      'suite: x\ncases:\n  - id: a\n    kind: k\n    deadline: .nan\n',
      'suite: x\ncases:\n  - id: a\n    kind: k\n    repeat: 1e400\n',
      'suite: x\ncases:\n  - id: a\n    kind: k\n    args: {__proto__: {polluted: 1}}\n',
      '"\\u0000": 1\n',
      Buffer.from([0xef, 0xbb, 0xbf, 0x73, 0x3a, 0x20, 0xc0, 0x80]),
      Buffer.from([0xed, 0xa0, 0x80]),
      Buffer.from('suite: x\r\ncases:\r\n  - id: a\r\n    kind: k\r\n'),
    ];
    for (const input of inputs) check(input);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('rejects non-finite numbers and accepts CRLF files', () => {
    expect(() => parseSuiteText('suite: x\ncases:\n  - id: a\n    kind: k\n    deadline: .inf\n', 'f.yaml')).toThrow(
      /^f\.yaml:5:15: cases\[0\]\.deadline/,
    );
    expect(parseSuiteText(Buffer.from('suite: x\r\ncases:\r\n  - id: a\r\n    kind: k\r\n'), 'f.yaml').data.cases![0]!.id).toBe(
      'a',
    );
  });
});
