import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { UsageError } from '../../../src/errors.js';
import { loadSuite, parseSuiteText, resolveSuiteRef, listShippedSuites } from '../../../src/suites/load.js';

const fixtures = join(import.meta.dirname, '../../fixtures/suites');
const tmp = mkdtempSync(join(tmpdir(), 'kvmbench-load-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function write(name: string, text: string): string {
  const f = join(tmp, name);
  writeFileSync(f, text);
  return f;
}

/** The UsageError message parseSuiteText throws for `text`. */
function errorOf(text: string | Uint8Array): string {
  try {
    parseSuiteText(text, 'suites/x.yaml');
  } catch (err) {
    expect(err).toBeInstanceOf(UsageError);
    expect((err as UsageError).exitCode).toBe(2);
    return (err as Error).message;
  }
  throw new Error('expected a UsageError');
}

describe('parseSuiteText errors name file, line, column and field', () => {
  it('a bad deadline in the third case', () => {
    const text = [
      'suite: x', //              1
      'defaults:', //             2
      '  kind: exits', //         3
      'cases:', //                4
      '  - id: a', //             5
      '  - id: b', //             6
      '    title: second', //     7
      '  - id: c', //             8
      '    deadline: -1', //      9
    ].join('\n');
    expect(errorOf(text)).toBe('suites/x.yaml:9:15: cases[2].deadline: expected a positive number (seconds, at most 86400)');
  });

  it('an unknown field points at the key and suggests the near one', () => {
    const msg = errorOf('suite: x\ncases:\n  - id: a\n    kind: exits\n    dealine: 5\n');
    expect(msg).toMatch(/^suites\/x\.yaml:5:5: cases\[0\]\.dealine: unknown field \(did you mean 'deadline'\?\)/);
  });

  it('a missing id points at the case', () => {
    expect(errorOf('suite: x\ncases:\n  - kind: exits\n')).toBe('suites/x.yaml:3:5: cases[0].id: required field is missing');
  });

  it('a wrong machine, a wrong accelerator and a non-integer vcpus are all reported, in file order', () => {
    const msg = errorOf('suite: x\ncases:\n  - id: a\n    machine: virt\n    accel: [kvm, hvf]\n    vcpus: 1.5\n');
    expect(msg.split('\n')).toEqual([
      'suites/x.yaml:4:14: cases[0].machine: expected one of microvm, q35, pc',
      'suites/x.yaml:5:18: cases[0].accel[1]: expected one of kvm, tcg',
      'suites/x.yaml:6:12: cases[0].vcpus: expected a whole number of vCPUs from 1 to 1024',
    ]);
  });

  it('YAML syntax errors and duplicate keys carry their position', () => {
    expect(errorOf('suite: x\nsuite: y\ncases: []\n')).toBe("suites/x.yaml:2:1: duplicate key 'suite'");
    expect(errorOf('suite: x\ncases: [\n')).toMatch(/^suites\/x\.yaml:\d+:\d+: /);
  });

  it('duplicate case ids name both lines', () => {
    expect(errorOf('suite: x\ndefaults: {kind: exits}\ncases:\n  - id: a\n  - id: b\n  - id: a\n')).toBe(
      "suites/x.yaml:6:9: cases[2].id: duplicate case id 'a' (first at line 4)",
    );
  });

  it('bad names, empty files and suites without cases', () => {
    expect(errorOf('suite: Bad_Name\ncases: []\n')).toMatch(/^suites\/x\.yaml:1:8: suite: expected a name/);
    expect(errorOf('')).toBe('suites/x.yaml:1:1: the suite file is empty');
    expect(errorOf('suite: x\n')).toMatch(/suite: a suite needs `cases:`, `guest_tests:` or `include:`/);
    expect(errorOf('- 1\n- 2\n')).toMatch(/^suites\/x\.yaml:1:1: suite file: expected a mapping/);
  });

  it('hostile bytes: invalid UTF-8, NUL, alias bombs, deep nesting, huge input', () => {
    expect(errorOf(Buffer.from('suite: x\ncases:\n  - id: \xff\n', 'latin1'))).toBe(
      'suites/x.yaml:3:9: invalid UTF-8 (byte 0xff)',
    );
    expect(errorOf('suite: x\ncases:\n  - id: a\u0000b\n')).toBe(
      'suites/x.yaml:3:10: control character U+0000 is not allowed in a suite file',
    );
    const bomb = ['a: &a ["x","x","x","x","x","x","x","x","x"]'];
    for (let i = 1; i < 9; i++)
      bomb.push(
        `${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(9)
          .fill('*' + String.fromCharCode(96 + i))
          .join(',')}]`,
      );
    expect(errorOf(bomb.join('\n'))).toMatch(/alias/i);
    expect(errorOf('suite: x\ncases: ' + '['.repeat(200_000))).toMatch(/^suites\/x\.yaml/);
    expect(errorOf('x'.repeat(2 * 1024 * 1024))).toMatch(/too large|limit/);
  });
});

describe('loadSuite merging', () => {
  it('applies builtin defaults, suite defaults and case fields (case wins, args merge)', () => {
    const s = loadSuite(join(fixtures, 'demo.yaml'));
    expect(s.name).toBe('demo');
    expect(s.cases.map((c) => c.id)).toEqual(['fast', 'slow', 'kvm-only']);
    const [fast, slow, kvmOnly] = s.cases;
    expect(fast).toEqual({
      id: 'fast',
      suite: 'demo',
      title: 'sleeps 10 ms',
      kind: 'test-sleep',
      machine: 'pc',
      accel: ['kvm', 'tcg'],
      vcpus: 1,
      memoryMiB: 64,
      args: { ms: 10 },
      repeat: 3,
      deadlineSec: 5,
      tags: ['demo'],
      requires: [],
    });
    expect(slow!.args).toEqual({ ms: 200 });
    expect(slow!.tags).toEqual(['demo', 'slow']);
    expect(kvmOnly!.accel).toEqual(['kvm']);
    expect(s.origins['demo/slow']).toMatch(/demo\.yaml:17:5$/);
  });

  it('--quick applies suite-level then per-case quick overrides; CLI overrides win over both', () => {
    const q = loadSuite(join(fixtures, 'demo.yaml'), { quick: true });
    expect(q.cases.map((c) => c.repeat)).toEqual([1, 2, 1]);
    const cli = loadSuite(join(fixtures, 'demo.yaml'), { quick: true, cli: { repeat: 7, machine: 'q35' } });
    expect(cli.cases.map((c) => [c.repeat, c.machine])).toEqual([
      [7, 'q35'],
      [7, 'q35'],
      [7, 'q35'],
    ]);
    expect(q.cases.every((c) => c.quick === true)).toBe(true);
    expect(loadSuite(join(fixtures, 'demo.yaml')).cases.some((c) => c.quick)).toBe(false);
  });

  it('--kernel reaches only the cases whose guest is the Linux guest', () => {
    const s = loadSuite('quick', {
      cli: { kernel: '/boot/pvm-vmlinuz' },
      kinds: ['doctor', 'exits', 'raw', 'boot-micro', 'boot-linux', 'io', 'net'],
    });
    const withKernel = s.cases.filter((c) => c.args.kernel === '/boot/pvm-vmlinuz').map((c) => `${c.suite}/${c.id}`);
    expect(withKernel).toEqual(['boot-linux/q35', 'io/virtio-blk', 'net/virtio-net']);
  });

  it('--tap reaches only the net cases', () => {
    const s = loadSuite('full', {
      cli: { tap: 'kvmb0' },
      kinds: ['doctor', 'exits', 'raw', 'boot-micro', 'boot-linux', 'io', 'net', 'exits-scaling'],
    });
    expect(s.cases.filter((c) => c.args.tap === 'kvmb0').map((c) => `${c.suite}/${c.id}`)).toEqual([
      'net/virtio-net',
      'net/virtio-net-vhost-off',
      'net/virtio-net-microvm',
    ]);
  });

  it('--pin reaches every case (each executor that starts QEMU pins and records vm.pin)', () => {
    const s = loadSuite('smp', { cli: { pin: true }, kinds: ['exits', 'boot-micro', 'boot-linux', 'exits-scaling'] });
    expect(s.cases.length).toBeGreaterThan(4);
    expect(s.cases.every((c) => c.args.pin === true)).toBe(true);
    expect(
      loadSuite('smp', { kinds: ['exits', 'boot-micro', 'boot-linux', 'exits-scaling'] }).cases.some(
        (c) => c.args.pin !== undefined,
      ),
    ).toBe(false);
  });

  it('include with only globs keeps the included suite name and applies `set`', () => {
    const s = loadSuite(join(fixtures, 'demo-parent.yaml'));
    expect(s.cases.map((c) => `${c.suite}/${c.id}`)).toEqual(['demo/fast', 'demo/slow', 'demo-parent/own']);
    expect(s.cases.map((c) => c.deadlineSec)).toEqual([9, 9, 60]);
  });

  it('include: quick: true applies the included suite quick overrides without --quick', () => {
    const f = write('incq.yaml', `suite: incq\ninclude:\n  - suite: demo\n    quick: true\n`);
    // demo is not beside incq.yaml, so look it up in the fixtures dir as the "shipped" suites.
    expect(loadSuite(f, { suitesDir: fixtures }).cases.map((c) => c.repeat)).toEqual([1, 2, 1]);
  });

  it('include errors: unknown suite, unmatched glob, cycles, duplicates, name/file mismatch', () => {
    const e = (text: string, name = 'p.yaml') => {
      const f = write(name, text);
      try {
        loadSuite(f, { suitesDir: fixtures, cwd: tmp });
      } catch (err) {
        expect((err as UsageError).exitCode).toBe(2);
        return (err as Error).message;
      }
      throw new Error('expected a UsageError');
    };
    expect(e('suite: p\ninclude:\n  - suite: nope\n')).toMatch(/^p\.yaml:3:12: include\[0\]\.suite: unknown suite 'nope'/);
    expect(e('suite: p\ninclude:\n  - suite: demo\n    only: [fast, fsat]\n')).toMatch(
      /^p\.yaml:4:18: include\[0\]\.only\[1\]: 'fsat' matches no case of suite demo/,
    );
    write('cyc-a.yaml', 'suite: cyc-a\ninclude:\n  - suite: cyc-b\n');
    write('cyc-b.yaml', 'suite: cyc-b\ninclude:\n  - suite: cyc-a\n');
    expect(e('suite: cyc-a\ninclude:\n  - suite: cyc-b\n', 'cyc-a.yaml')).toMatch(/include cycle cyc-a → cyc-b → cyc-a/);
    expect(e('suite: p\ninclude:\n  - suite: demo\n    only: [fast]\n  - suite: demo\n    only: [f*]\n')).toMatch(
      /^p\.yaml:5:5: case demo\/fast is already in this suite \(from p\.yaml:3:5\)/,
    );
    write('misnamed.yaml', 'suite: other\ncases:\n  - {id: a, kind: k}\n');
    expect(e('suite: p\ninclude:\n  - suite: misnamed\n')).toMatch(
      /^misnamed\.yaml:1:8: suite: name 'other' does not match the file name misnamed\.yaml/,
    );
  });

  it('unknown kinds are errors when the registry is given, pointing at the kind', () => {
    const f = write('kinds.yaml', 'suite: kinds\ndefaults:\n  kind: exits\ncases:\n  - id: a\n  - id: b\n    kind: exitz\n');
    expect(() => loadSuite(f, { kinds: ['exits'], cwd: tmp })).toThrow(
      /^kinds\.yaml:7:11: cases\[1\]\.kind: unknown kind 'exitz' \(known: exits\)/,
    );
    expect(() => loadSuite(f, { kinds: ['other'], cwd: tmp })).toThrow(/^kinds\.yaml:3:9: defaults\.kind: unknown kind 'exits'/);
    const noKind = write('nokind.yaml', 'suite: nokind\ncases:\n  - id: a\n');
    expect(() => loadSuite(noKind, { cwd: tmp })).toThrow(/^nokind\.yaml:3:5: cases\[0\]\.kind: required/);
  });
});

describe('resolveSuiteRef', () => {
  it('takes names from the suites dir and paths as paths', () => {
    expect(resolveSuiteRef('demo', { suitesDir: fixtures })).toEqual({ file: join(fixtures, 'demo.yaml'), byName: true });
    expect(resolveSuiteRef(join(fixtures, 'demo.yaml')).byName).toBe(false);
    expect(() => resolveSuiteRef('nope', { suitesDir: fixtures })).toThrow(/unknown suite 'nope'/);
    expect(() => resolveSuiteRef('./nope.yaml')).toThrow(/suite file not found/);
    expect(listShippedSuites(fixtures)).toContain('demo');
  });
});
