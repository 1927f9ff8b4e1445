import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { GUEST_EXIT } from '../../../src/vmm/guest-exit-codes.js';
import { STATUS_CRASH, STATUS_FAIL, STATUS_PASS, STATUS_SKIP } from '../../../src/vmm/status.js';

const root = join(import.meta.dirname, '..', '..', '..');
const script = join(root, 'scripts', 'gen-exit-codes.mjs');
const def = join(root, 'guests', 'lib', 'exit-codes.def');
const work = mkdtempSync(join(tmpdir(), 'kvmb-exit-codes-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function gen(...args: string[]) {
  return spawnSync(process.execPath, [script, ...args], { cwd: work, encoding: 'utf8' });
}

const hasGcc = spawnSync('gcc', ['--version']).status === 0;

describe('guest exit codes: guests/lib/exit-codes.def is the one list', () => {
  it('src/vmm/guest-exit-codes.ts is what the .def gives (run `npm run gen:exit-codes` when this fails)', () => {
    const r = gen('--check');
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it('--check fails, naming the file, when a code in the .def changes', () => {
    writeFileSync(join(work, 'changed.def'), readFileSync(def, 'utf8').replace('GUEST_EXIT(SKIP, 38,', 'GUEST_EXIT(SKIP, 39,'));
    writeFileSync(join(work, 'out.ts'), readFileSync(join(root, 'src', 'vmm', 'guest-exit-codes.ts'), 'utf8'));
    const r = gen('--check', '--def', 'changed.def', '--out', 'out.ts');
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/out\.ts is out of date with changed\.def; run `npm run gen:exit-codes`/);
    expect(gen('--def', 'changed.def', '--out', 'out.ts').status).toBe(0);
    expect(readFileSync(join(work, 'out.ts'), 'utf8')).toContain('  SKIP: 39,');
  });

  it('refuses a line that is not a row, a duplicate code and a code QEMU cannot return', () => {
    for (const [text, msg] of [
      ['GUEST_EXIT(PASS, 0, "ok")\n#define EXIT_OTHER 5\n', /bad\.def:2: not a GUEST_EXIT/],
      ['GUEST_EXIT(PASS, 0, "ok")\nGUEST_EXIT(FAIL, 0, "no")\n', /bad\.def:2: code 0 appears twice/],
      ['GUEST_EXIT(BIG, 128, "too big")\n', /bad\.def:1: code 128 is above 127/],
    ] as const) {
      writeFileSync(join(work, 'bad.def'), text);
      const r = gen('--def', 'bad.def', '--out', 'never.ts');
      expect(r.status, text).toBe(1);
      expect(r.stderr).toMatch(msg);
    }
  });

  it.skipIf(!hasGcc)("gives rt.h's EXIT_<NAME> the same values (gcc checks static assertions; skipped without gcc)", () => {
    const c = join(work, 'check.c');
    writeFileSync(
      c,
      [
        `#include "${join(root, 'guests', 'lib', 'rt.h')}"`,
        ...Object.entries(GUEST_EXIT).map(([name, code]) => `_Static_assert(EXIT_${name} == ${code}, "EXIT_${name}");`),
      ].join('\n') + '\n',
    );
    expect(() => execFileSync('gcc', ['-std=gnu11', '-ffreestanding', '-fsyntax-only', c], { stdio: 'pipe' })).not.toThrow();
    writeFileSync(c, `#include "${join(root, 'guests', 'lib', 'rt.h')}"\n_Static_assert(EXIT_SKIP == 39, "planted");\n`);
    expect(() => execFileSync('gcc', ['-std=gnu11', '-ffreestanding', '-fsyntax-only', c], { stdio: 'pipe' })).toThrow(/planted/);
  });

  it("maps to QEMU's statuses by (code << 1) | 1, the kvm-unit-tests convention", () => {
    expect([STATUS_PASS, STATUS_FAIL, STATUS_CRASH, STATUS_SKIP]).toEqual([1, 3, 5, 77]);
  });
});
