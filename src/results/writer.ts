/**
 * Writes a run's results as it goes, so a crash or `kill -9` loses at most the case in
 * flight:
 *  - `results.jsonl`, an append-only journal, fsync'd after every line: a header
 *    `{"schema", "run", "host"}`, one `{"case": CaseResult}` per finished case, and a closing
 *    `{"run": RunInfo}` (src/results/load.ts rebuilds Results from it);
 *  - `results.json`, the whole Results, rewritten atomically (temp file, fsync, rename) after
 *    every case with `run.state` `partial`, and at the end `complete` or `interrupted`.
 * Writes are serialized, so a signal handler finishing the run cannot interleave with a case.
 */
import { open, rename, rm, type FileHandle } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { RESULTS_SCHEMA, type CaseResult, type HostFingerprint, type Results, type RunInfo } from './model.js';

export const RESULTS_JSON = 'results.json';
export const RESULTS_JSONL = 'results.jsonl';

export class ResultsWriter {
  readonly dir: string;
  private readonly results: Results;
  private journal: FileHandle | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private finished = false;

  private constructor(dir: string, results: Results, journal: FileHandle) {
    this.dir = dir;
    this.results = results;
    this.journal = journal;
  }

  /** Creates (truncates) the journal, writes its header and a first `partial` results.json. */
  static async create(dir: string, run: RunInfo, host: HostFingerprint): Promise<ResultsWriter> {
    const results: Results = { schema: RESULTS_SCHEMA, run: { ...run, state: 'partial' }, host, cases: [] };
    const fh = await open(join(dir, RESULTS_JSONL), 'w');
    const w = new ResultsWriter(dir, results, fh);
    try {
      await w.appendLine({ schema: RESULTS_SCHEMA, run: results.run, host });
      await writeJsonAtomic(join(dir, RESULTS_JSON), results);
    } catch (err) {
      await fh.close().catch(() => undefined);
      throw err;
    }
    return w;
  }

  /** A deep copy of the results as written so far. */
  snapshot(): Results {
    return structuredClone(this.results);
  }

  /** Records one finished case: journal line (fsync'd) first, then results.json. */
  addCase(c: CaseResult): Promise<void> {
    return this.serial(async () => {
      if (this.finished) throw new Error('results already finished');
      this.results.cases.push(c);
      await this.appendLine({ case: c });
      await writeJsonAtomic(join(this.dir, RESULTS_JSON), this.results);
    });
  }

  /** Updates run info (e.g. warnings) in results.json without adding a case. */
  updateRun(patch: Partial<RunInfo>): Promise<void> {
    return this.serial(async () => {
      if (this.finished) return;
      Object.assign(this.results.run, patch);
      await writeJsonAtomic(join(this.dir, RESULTS_JSON), this.results);
    });
  }

  /** Writes the closing journal line and the final results.json; idempotent. */
  finish(patch: Partial<RunInfo> & Pick<RunInfo, 'state'>): Promise<Results> {
    return this.serial(async () => {
      if (!this.finished) {
        this.finished = true;
        Object.assign(this.results.run, patch);
        await this.appendLine({ run: this.results.run });
        await writeJsonAtomic(join(this.dir, RESULTS_JSON), this.results);
        await this.journal?.close();
        this.journal = undefined;
      }
      return this.snapshot();
    });
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const p = this.queue.then(fn);
    this.queue = p.catch(() => undefined);
    return p;
  }

  private async appendLine(obj: unknown): Promise<void> {
    if (!this.journal) throw new Error('results journal is closed');
    await this.journal.write(JSON.stringify(obj) + '\n');
    await this.journal.sync();
  }
}

/** Writes JSON to `file` so that a reader sees the old or the new content, never a torn file. */
export async function writeJsonAtomic(file: string, value: unknown): Promise<void> {
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  const fh = await open(tmp, 'wx');
  try {
    await fh.write(JSON.stringify(value, null, 2) + '\n');
    await fh.sync();
  } catch (err) {
    await fh.close().catch(() => undefined);
    await rm(tmp, { force: true });
    throw err;
  }
  await fh.close();
  try {
    await rename(tmp, file);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}
