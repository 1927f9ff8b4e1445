import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../../src/errors.js';
import { loadResults } from '../../../src/results/load.js';
import { caseResult, makeResults, richResults } from '../../helpers/results-fixture.js';

function tmp(): string {
  return mkdtempSync(join(tmpdir(), 'kvmbench-load-'));
}

async function loadError(content: string, name = 'results.json'): Promise<UsageError> {
  const dir = tmp();
  writeFileSync(join(dir, name), content);
  const err = await loadResults(join(dir, name)).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(UsageError);
  expect((err as UsageError).exitCode).toBe(2);
  return err as UsageError;
}

describe('loadResults', () => {
  it('loads a results file and a directory holding one', async () => {
    const dir = tmp();
    writeFileSync(join(dir, 'results.json'), JSON.stringify(richResults()));
    const a = await loadResults(dir);
    const b = await loadResults(join(dir, 'results.json'));
    expect(a.results.cases).toHaveLength(10);
    expect(b.dir).toBe(dir);
    expect(a.fromJournal).toBe(false);
  });

  it('gives clear errors for corrupt, truncated, empty, foreign and newer files', async () => {
    const good = JSON.stringify(richResults());
    expect((await loadError(good.slice(0, good.length / 2))).message).toMatch(/truncated JSON/);
    expect((await loadError('{"schema": kvmbench}')).message).toMatch(/not valid JSON/);
    expect((await loadError('')).message).toMatch(/empty file/);
    expect((await loadError('[1,2]')).message).toMatch(/not a kvmbench results file .*array/);
    expect((await loadError('{"name":"some-package","version":"1.0.0"}')).message).toMatch(/no "schema" field/);
    expect((await loadError(JSON.stringify({ ...richResults(), schema: 'kvmbench.results/2' }))).message).toMatch(
      /newer than this kvmbench/,
    );
    expect((await loadError(JSON.stringify({ schema: 'kvmbench.suite/1' }))).message).toMatch(
      /kvmbench "kvmbench.suite\/1" file, not results/,
    );
    expect((await loadError(JSON.stringify({ schema: 'https://json-schema.org/draft/2020-12/schema' }))).message).toMatch(
      /not a kvmbench results file/,
    );
    const broken = richResults() as unknown as { cases: Array<Record<string, unknown>> };
    broken.cases[0]!.status = 'exploded';
    expect((await loadError(JSON.stringify(broken))).message).toMatch(/\/cases\/0\/status/);
  });

  it('rebuilds a crashed run from results.jsonl, dropping the torn last line, and marks it partial', async () => {
    const r = makeResults([caseResult('exits/cpuid'), caseResult('exits/vmcall')]);
    const lines = [
      JSON.stringify({ schema: r.schema, run: r.run, host: r.host }),
      JSON.stringify({ case: r.cases[0] }),
      JSON.stringify(r.cases[1]),
      '{"case": {"id": "exits/ip',
    ];
    const dir = tmp();
    writeFileSync(join(dir, 'results.jsonl'), lines.join('\n'));
    const loaded = await loadResults(dir);
    expect(loaded.fromJournal).toBe(true);
    expect(loaded.results.cases.map((c) => c.id)).toEqual(['exits/cpuid', 'exits/vmcall']);
    expect(loaded.results.run.state).toBe('partial');
  });

  it('says so when a path does not exist or a directory has no results', async () => {
    await expect(loadResults('/nonexistent/kvmbench/x.json')).rejects.toThrow(/no such file/);
    await expect(loadResults(tmp())).rejects.toThrow(/no results.json or results.jsonl/);
  });
});
