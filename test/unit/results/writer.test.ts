/**
 * The results writer and loader together: what a crash at any point leaves on disk must load
 * (as `partial`) with every case whose journal line was written; and the results loader must
 * turn random and hostile input into UsageErrors, never crashes or hangs.
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { UsageError } from '../../../src/errors.js';
import { loadResults, resultsFromJournal, validateResults } from '../../../src/results/load.js';
import { ResultsWriter, writeJsonAtomic } from '../../../src/results/writer.js';
import { caseResult, makeResults, metric } from '../../helpers/results-fixture.js';

const work = mkdtempSync(join(tmpdir(), 'kvmbench-writer-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
let n = 0;
const fresh = () => mkdtempSync(join(work, `d${n++}-`));

const base = makeResults([]);

describe('ResultsWriter', () => {
  it('keeps results.json and the journal in step after every case, and finishes once', async () => {
    const dir = fresh();
    const w = await ResultsWriter.create(dir, base.run, base.host);
    expect(validateResults(JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8'))).run.state).toBe('partial');
    const a = caseResult('exits/cpuid', { metrics: [metric('cpuid.latency', [1, 2, 3])] });
    const b = caseResult('exits/vmcall', { status: 'skip', reason: 'no' });
    // Concurrent calls are serialized in call order.
    await Promise.all([w.addCase(a), w.addCase(b), w.updateRun({ warnings: ['w'] })]);
    const mid = validateResults(JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8')));
    expect(mid.cases.map((c) => c.id)).toEqual(['exits/cpuid', 'exits/vmcall']);
    expect(mid.run.warnings).toEqual(['w']);
    expect(readFileSync(join(dir, 'results.jsonl'), 'utf8').trim().split('\n')).toHaveLength(3);
    const done = await w.finish({ state: 'complete', end: '2026-01-02T03:06:00.000Z' });
    const again = await w.finish({ state: 'interrupted' });
    expect(again).toEqual(done);
    expect(done.run.state).toBe('complete');
    await expect(w.addCase(a)).rejects.toThrow(/already finished/);
    expect(resultsFromJournal(readFileSync(join(dir, 'results.jsonl'), 'utf8'))).toEqual(done);
    expect(readdirSync(dir).sort()).toEqual(['results.json', 'results.jsonl']);
  });

  it('a crash after any number of journal lines loads as partial with exactly those cases', async () => {
    const dir = fresh();
    const w = await ResultsWriter.create(dir, base.run, base.host);
    for (let i = 0; i < 5; i++) await w.addCase(caseResult(`s/c${i}`));
    const journal = readFileSync(join(dir, 'results.jsonl'), 'utf8');
    const lines = journal.split('\n').filter(Boolean);
    for (let keep = 1; keep <= lines.length; keep++) {
      for (const torn of [0, 7]) {
        const d = fresh();
        // The crash image: `keep` whole lines, maybe a torn next one, and no results.json.
        writeFileSync(join(d, 'results.jsonl'), lines.slice(0, keep).join('\n') + '\n' + (lines[keep] ?? '').slice(0, torn));
        const loaded = await loadResults(d);
        expect(loaded.fromJournal).toBe(true);
        expect(loaded.results.run.state).toBe('partial');
        expect(loaded.results.cases.map((c) => c.id)).toEqual(Array.from({ length: keep - 1 }, (_, i) => `s/c${i}`));
      }
    }
  });

  it('a partial results.json one case behind its journal (killed between the two writes) defers to the journal', async () => {
    const dir = fresh();
    const w = await ResultsWriter.create(dir, base.run, base.host);
    await w.addCase(caseResult('s/a'));
    const behind = readFileSync(join(dir, 'results.json'), 'utf8');
    await w.addCase(caseResult('s/b'));
    writeFileSync(join(dir, 'results.json'), behind);
    const loaded = await loadResults(dir);
    expect(loaded.results.cases.map((c) => c.id)).toEqual(['s/a', 's/b']);
    expect(loaded.fromJournal).toBe(true);
  });

  it('writeJsonAtomic leaves no temp file behind and replaces the target whole', async () => {
    const dir = fresh();
    const f = join(dir, 'x.json');
    await Promise.all(Array.from({ length: 20 }, (_, i) => writeJsonAtomic(f, { i, pad: 'x'.repeat(10_000) })));
    expect(JSON.parse(readFileSync(f, 'utf8')).pad).toHaveLength(10_000);
    expect(readdirSync(dir)).toEqual(['x.json']);
    await expect(writeJsonAtomic(join(dir, 'missing', 'y.json'), {})).rejects.toThrow(/ENOENT/);
    expect(readdirSync(dir)).toEqual(['x.json']);
  });
});

describe('results loader fuzz', () => {
  const seed = Number(process.env.FUZZ_SEED ?? 20261130); // fixed so a failure reproduces; FUZZ_SEED explores others
  let s = seed;
  const rand = () => (s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32;
  const int = (k: number) => Math.floor(rand() * k);

  async function check(content: string | Buffer, name: string): Promise<void> {
    const d = fresh();
    writeFileSync(join(d, name), content);
    const t0 = performance.now();
    try {
      await loadResults(join(d, name));
    } catch (err) {
      if (!(err instanceof UsageError))
        throw new Error(
          `seed ${seed}: ${(err as Error)?.constructor?.name}: ${(err as Error)?.message} for ${JSON.stringify(String(content).slice(0, 200))}`,
        );
    }
    expect(performance.now() - t0, `seed ${seed}`).toBeLessThan(3000);
  }

  it(`random mutations of a valid results.json and journal (FUZZ_SEED=${seed})`, async () => {
    const good = JSON.stringify(makeResults([caseResult('a/b', { metrics: [metric('m', [1, 2, 3])] }), caseResult('a/c')]));
    const journal = [
      JSON.stringify({ schema: base.schema, run: base.run, host: base.host }),
      JSON.stringify({ case: caseResult('a/b') }),
      JSON.stringify({ run: { ...base.run, state: 'complete' } }),
    ].join('\n');
    for (let i = 0; i < 400; i++) {
      for (const [src, name] of [
        [good, 'results.json'],
        [journal, 'results.jsonl'],
      ] as const) {
        const b = Buffer.from(src);
        for (let k = 0; k < 1 + int(6); k++) b[int(b.length)] = int(256);
        const cut = rand() < 0.3 ? b.subarray(0, int(b.length)) : b;
        await check(cut, name);
      }
    }
  });

  it('hostile shapes: deep nesting, huge strings, NUL bytes, invalid UTF-8, prototype keys', async () => {
    const r = makeResults([caseResult('a/b')]);
    const inputs: [string | Buffer, string][] = [
      ['['.repeat(200_000) + ']'.repeat(200_000), 'results.json'],
      ['{"a":'.repeat(100_000) + '1' + '}'.repeat(100_000), 'results.json'],
      // Deep nesting inside an otherwise valid file, where `facts` allows any value.
      [
        JSON.stringify({ ...r, cases: [{ ...r.cases[0], facts: { x: '@@' } }] }).replace(
          '"@@"',
          '['.repeat(50_000) + ']'.repeat(50_000),
        ),
        'results.json',
      ],
      [JSON.stringify({ ...r, run: { ...r.run, id: 'x'.repeat(5_000_000) } }), 'results.json'],
      [
        Buffer.concat([Buffer.from('{"schema":"kvmbench.results/1",'), Buffer.from([0, 0xff, 0xfe]), Buffer.from('}')]),
        'results.json',
      ],
      ['{"__proto__":{"polluted":1},"schema":"kvmbench.results/1"}', 'results.json'],
      ['\u0000'.repeat(1000), 'results.jsonl'],
      ['{"schema":"kvmbench.results/1"}\n' + '{"case":1}\n'.repeat(10_000), 'results.jsonl'],
      ['x'.repeat(3_000_000), 'results.jsonl'],
    ];
    for (const [c, name] of inputs) await check(c, name);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});
