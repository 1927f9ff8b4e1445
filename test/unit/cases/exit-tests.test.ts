import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { exitTestNames, exitTests } from '../../../src/cases/exits.js';
import { metricCounters } from '../../../src/cases/exit-accounting.js';
import { UsageError } from '../../../src/errors.js';
import { loadSuite } from '../../../src/suites/load.js';

// The list of exit tests is guests/exits/tests.def; the guest build writes it to
// build/guests/exits.tests.json (built here on first use), and the suite and the executor
// derive from that.
const root = join(import.meta.dirname, '..', '..', '..');
const tmp = mkdtempSync(join(tmpdir(), 'kvmbench-exit-tests-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function suite(name: string, text: string): string {
  const f = join(tmp, `${name}.yaml`);
  writeFileSync(f, `suite: ${name}\n${text}`);
  return f;
}

function loadError(file: string): UsageError {
  try {
    loadSuite(file, { cwd: tmp });
  } catch (err) {
    expect(err).toBeInstanceOf(UsageError);
    return err as UsageError;
  }
  throw new Error(`expected ${file} to fail to load`);
}

const DEFAULTS = 'defaults: { kind: exits, guest: exits, machine: q35, tags: [exits] }\n';

describe("the exits guest's table is the list of exit tests", () => {
  it('the built table has the rows of guests/exits/tests.def, in order (a stale build fails here)', () => {
    const def = readFileSync(join(root, 'guests', 'exits', 'tests.def'), 'utf8');
    const rows = [...def.matchAll(/^EXIT_TEST\(\s*([a-z0-9_]+)\s*,/gm)].map((m) => m[1]);
    expect(rows.length).toBeGreaterThan(10);
    expect(exitTestNames()).toEqual(rows);
  });

  it('every row has a known figure, a declaration that parses and a distinct name', () => {
    const tests = exitTests();
    expect(new Set(tests.map((t) => t.name)).size).toBe(tests.length);
    for (const t of tests) {
      expect(['exit', 'cost', 'wake'], t.name).toContain(t.figure);
      // Every test judges vCPU 0's exits: all of them, or those its own instructions cause (caused_exits).
      expect(
        Object.keys(t.expectation).filter((k) => k === 'exits' || k === 'caused_exits'),
        t.name,
      ).toHaveLength(1);
      expect(t.what.length, t.name).toBeGreaterThan(0);
    }
    // The declaration fixes each test's accounting metrics (the same set in every run).
    const byName = Object.fromEntries(tests.map((t) => [t.name, t]));
    expect(metricCounters(byName.mmio_from_qemu!.expectation)).toEqual(['mmio_exits', 'insn_emulation']);
    expect(metricCounters(byName.hlt_lapic_timer!.expectation)).toEqual(['halt_exits', 'insn_emulation']);
    expect(metricCounters(byName.cpuid!.expectation)).toEqual(['insn_emulation']);
    expect(byName.hlt_lapic_timer).toMatchObject({ figure: 'wake', irq: true, hist: false });
    expect(byName.wr_kernel_gs_base).toMatchObject({ figure: 'cost', expectation: { exits: [0, 0] } });
  });

  it("docs/exits.md's declarations agree with the table wherever they name a test", () => {
    const doc = readFileSync(join(root, 'docs', 'exits.md'), 'utf8');
    const section = doc.split('| test | figure | declared |')[1]!.split('\n\n')[0]!;
    const rows = [...section.matchAll(/^\| ([a-z0-9_, ]+) \| (exit|cost|wake) \| `([^`]+)` \|/gm)];
    expect(rows.length).toBeGreaterThan(10);
    const byName = Object.fromEntries(exitTests().map((t) => [t.name, t]));
    for (const [, names, figure, declared] of rows) {
      for (const name of names!.split(', ')) {
        expect(byName[name], `docs/exits.md names ${name}, which guests/exits/tests.def lacks`).toBeDefined();
        expect({ name, figure, declared }).toEqual({ name, figure: byName[name]!.figure, declared: byName[name]!.expect });
      }
    }
  });

  it('the shipped suite has one case per test, in table order: id, args.test, title and tags from the row', () => {
    const s = loadSuite('exits');
    const tests = exitTests();
    expect(s.cases.map((c) => c.id)).toEqual(tests.map((t) => t.name));
    s.cases.forEach((c, i) => {
      const t = tests[i]!;
      expect(c.args).toEqual({ firmware: 'qboot', irqchip: 'on', test: t.name });
      expect(c.title).toBe(t.what);
      expect(c.tags).toEqual(['exits', ...t.tags]);
      expect(c).toMatchObject({ kind: 'exits', guest: 'exits', machine: 'q35', repeat: 15 });
    });
    expect(s.cases.find((c) => c.id === 'inl_from_qemu')!.tags).toEqual(['exits', 'user-space', 'pio']);
  });

  it("a `cases:` entry with a test's id overrides that case in place, and other entries are extra cases", () => {
    const f = suite(
      'over',
      `guest_tests: exits\n${DEFAULTS}cases:\n  - id: cpuid\n    deadline: 5\n    args: { target_us: 100 }\n    tags: [mine]\n  - id: cpuid-masked\n    args: { test: cpuid, mask_irq: true }\n`,
    );
    const s = loadSuite(f, { cwd: tmp });
    expect(s.cases.map((c) => c.id)).toEqual([...exitTestNames(), 'cpuid-masked']);
    expect(s.cases[0]).toMatchObject({
      id: 'cpuid',
      deadlineSec: 5,
      args: { test: 'cpuid', target_us: 100 },
      tags: ['mine'],
      title: exitTests()[0]!.what,
    });
    expect(s.cases[1]).toMatchObject({ id: exitTests()[1]!.name, deadlineSec: 60 });
    expect(s.origins['over/cpuid']).toMatch(/over\.yaml:5:5$/);
    expect(s.origins['over/vmcall']).toMatch(/over\.yaml:2:14$/);
  });

  it('a case naming a test the guest lacks fails at load, with its line and the tests there are', () => {
    const typo = loadError(suite('typo', `guest_tests: exits\n${DEFAULTS}cases:\n  - id: cpuidd\n    deadline: 5\n`));
    expect(typo.message).toMatch(/typo\.yaml:5:5: case typo\/cpuidd: the exits guest has no test 'cpuidd'$/);
    expect(typo.hint).toMatch(/^its tests \(guests\/exits\/tests\.def\): cpuid, vmcall, /);
    const arg = loadError(suite('arg', `${DEFAULTS}cases:\n  - id: planted\n    args: { test: no_such_test, mask_irq: true }\n`));
    expect(arg.message).toMatch(/arg\.yaml:4:5: case arg\/planted: the exits guest has no test 'no_such_test'$/);
    // A guest without a list of tests is not checked.
    expect(
      loadSuite(suite('hello', 'defaults: { kind: exits, guest: hello }\ncases:\n  - id: anything\n'), { cwd: tmp }).cases,
    ).toHaveLength(1);
  });

  it('guest_tests of a guest without a list of tests is an error', () => {
    expect(loadError(suite('none', `guest_tests: hello\n${DEFAULTS}`)).message).toMatch(
      /none\.yaml:2:14: guest_tests: the hello guest has no list of tests \(guests\/hello\/tests\.def\)/,
    );
    expect(loadError(suite('kindless', 'guest_tests: exits\ndefaults: { guest: exits }\n')).message).toMatch(
      /kindless\.yaml:2:14: guest_tests: its cases need `defaults\.kind`$/,
    );
  });
});
