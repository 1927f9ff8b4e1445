import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  EXIT_CODE_DOC,
  ExitCode,
  exitCodeOf,
  EnvironmentError,
  InterruptedError,
  KvmbenchError,
  UsageError,
} from '../../src/errors.js';

describe('exit codes', () => {
  it("README's table lists exactly the codes and meanings of src/errors.ts", () => {
    const readme = readFileSync(join(import.meta.dirname, '..', '..', 'README.md'), 'utf8');
    const section = readme.split('## Exit codes')[1]!.split('\n## ')[0]!;
    const rows = [...section.matchAll(/^\| *(\d+) \| (.+?) \|$/gm)].map((m) => [Number(m[1]), m[2]!.replace(/`/g, '')]);
    expect(rows).toEqual(EXIT_CODE_DOC.map(([code, text]) => [code, text]));
    expect(EXIT_CODE_DOC.map(([c]) => c).sort((a, b) => a - b)).toEqual(Object.values(ExitCode).sort((a, b) => a - b));
  });

  it('maps each run outcome to its documented code', () => {
    expect([exitCodeOf('ok'), exitCodeOf('failed'), exitCodeOf('regression'), exitCodeOf('interrupted')]).toEqual([0, 1, 4, 130]);
  });

  it('gives each error class its code and keeps the hint', () => {
    expect(new UsageError('x', 'h')).toMatchObject({ exitCode: 2, hint: 'h', name: 'UsageError' });
    expect(new EnvironmentError('x')).toMatchObject({ exitCode: 3, name: 'EnvironmentError' });
    expect(new InterruptedError()).toMatchObject({ exitCode: 130, message: 'interrupted' });
    expect(new KvmbenchError('x')).toMatchObject({ exitCode: 1 });
    expect(new UsageError('x')).toBeInstanceOf(KvmbenchError);
  });
});
