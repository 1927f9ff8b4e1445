/**
 * Loading results for `report` and `compare`: a results.json, a report directory, or the
 * results.jsonl journal a crashed run left behind. Anything that is not a results file
 * this version understands is a UsageError (exit 2) that says what the file is instead.
 *
 * Journal format (one JSON object a line, appended as the run goes): a header line
 * `{"schema": "kvmbench.results/1", "run": {...}, "host": {...}}`, then one line per
 * finished case, either `{"case": CaseResult}` or a bare CaseResult, and optionally a
 * closing `{"run": {...}}` with the final run info. A torn last line (the crash) is dropped.
 */
import { readFile, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { Value } from '@sinclair/typebox/value';
import { UsageError } from '../errors.js';
import { describeFound } from '../inputs.js';
import { withCaseKinds } from './kind.js';
import { CaseResult, RESULTS_SCHEMA, Results } from './model.js';

export interface LoadedResults {
  results: Results;
  /** The file that was read (results.json or results.jsonl). */
  file: string;
  /** The results directory: case log paths are relative to it. */
  dir: string;
  /** True when the results were rebuilt from the journal. */
  fromJournal: boolean;
}

const SCHEMA_PREFIX = 'kvmbench.results/';

function schemaVersion(s: string): number | undefined {
  const m = /^kvmbench\.results\/(\d+)$/.exec(s);
  return m ? Number(m[1]) : undefined;
}

/** Checks the `schema` tag first so a newer or foreign file gets a message about that, not 40 field errors. */
function checkSchemaTag(doc: unknown, file: string): void {
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) {
    throw new UsageError(
      `${file}: not a kvmbench results file (the top level is ${Array.isArray(doc) ? 'an array' : doc === null ? 'null' : typeof doc}, not an object)`,
    );
  }
  const tag = (doc as { schema?: unknown }).schema;
  if (tag === undefined) {
    throw new UsageError(
      `${file}: not a kvmbench results file (no "schema" field; expected "${RESULTS_SCHEMA}")`,
      'give the results.json that `kvmbench run` wrote, or its report directory',
    );
  }
  if (typeof tag !== 'string') throw new UsageError(`${file}: not a kvmbench results file ("schema" is not a string)`);
  if (tag === RESULTS_SCHEMA) return;
  const v = schemaVersion(tag);
  const ours = schemaVersion(RESULTS_SCHEMA)!;
  if (v !== undefined && v > ours) {
    throw new UsageError(
      `${file}: written with results schema "${tag}", newer than this kvmbench understands ("${RESULTS_SCHEMA}")`,
      'upgrade kvmbench to read it',
    );
  }
  if (v !== undefined) {
    throw new UsageError(`${file}: results schema "${tag}" is older than "${RESULTS_SCHEMA}" and is not supported`);
  }
  if (tag.startsWith('kvmbench.')) {
    throw new UsageError(`${file}: this is a kvmbench "${tag}" file, not results ("${SCHEMA_PREFIX}N")`);
  }
  throw new UsageError(`${file}: not a kvmbench results file (schema "${tag.slice(0, 80)}")`);
}

function describeErrors(value: unknown, file: string): string {
  const lines: string[] = [];
  for (const err of Value.Errors(Results, value)) {
    lines.push(`  ${err.path || '/'}: ${err.message}`);
    if (lines.length >= 8) {
      lines.push('  ...');
      break;
    }
  }
  return `${file}: not a valid kvmbench results file:\n${lines.join('\n')}`;
}

/** Validates a parsed document; throws UsageError with the first few schema errors. */
export function validateResults(doc: unknown, file = 'results'): Results {
  checkSchemaTag(doc, file);
  if (!Value.Check(Results, doc)) throw new UsageError(describeErrors(doc, file));
  return withCaseKinds(doc as Results);
}

function parseJson(text: string, file: string): unknown {
  if (text.trim() === '') throw new UsageError(`${file}: empty file, not a kvmbench results file`);
  try {
    return JSON.parse(text);
  } catch (err) {
    const msg = (err as Error).message;
    // V8 reports a cut-off document as "end of input", an unterminated string, or an error at its last position.
    const pos = /at position (\d+)/.exec(msg);
    const truncated =
      /end of (JSON )?input|Unterminated/i.test(msg) || (pos !== null && Number(pos[1]) >= text.trimEnd().length - 1);
    throw new UsageError(
      `${file}: ${truncated ? 'truncated JSON (the file ends mid-document)' : 'not valid JSON'}: ${msg}`,
      truncated ? 'a run that crashed leaves results.jsonl beside it: give the directory to rebuild from it' : undefined,
    );
  }
}

/** Rebuilds Results from a journal; the run is marked partial unless its closing line says otherwise. */
export function resultsFromJournal(text: string, file = 'results.jsonl'): Results {
  const lines = text.split('\n');
  let header: Record<string, unknown> | undefined;
  const cases: unknown[] = [];
  let finalRun: unknown;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (!line) continue;
    let obj: unknown;
    try {
      obj = JSON.parse(line);
    } catch {
      const isLast = lines.slice(i + 1).every((l) => l.trim() === '');
      if (isLast) break; // the line the crash cut off
      throw new UsageError(`${file}:${i + 1}: not valid JSON in the middle of the journal`);
    }
    if (obj === null || typeof obj !== 'object' || Array.isArray(obj))
      throw new UsageError(`${file}:${i + 1}: expected a JSON object per line`);
    const o = obj as Record<string, unknown>;
    if (!header) {
      checkSchemaTag(o, `${file}:${i + 1}`);
      header = o;
      continue;
    }
    if ('case' in o) cases.push(o.case);
    else if ('id' in o && 'status' in o) cases.push(o);
    else if ('run' in o) finalRun = o.run;
  }
  if (!header) throw new UsageError(`${file}: empty journal, not a kvmbench results file`);
  for (const [i, c] of cases.entries()) {
    if (!Value.Check(CaseResult, c)) throw new UsageError(`${file}: case ${i + 1} is not a valid case result`);
  }
  const run = { ...(header.run as Record<string, unknown>), ...(finalRun as Record<string, unknown> | undefined) };
  if (finalRun === undefined && run.state === 'complete') run.state = 'partial';
  if (run.state === undefined) run.state = 'partial';
  return validateResults({ schema: header.schema, run, host: header.host ?? {}, cases }, file);
}

async function isDir(p: string): Promise<boolean> {
  try {
    return (await stat(p)).isDirectory();
  } catch {
    return false;
  }
}

async function readText(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    throw new UsageError(`${file}: cannot read (${code ?? String(err)})`);
  }
}

/** Loads a results.json, a results.jsonl, or a directory holding either (results.json preferred). */
export async function loadResults(pathOrDir: string): Promise<LoadedResults> {
  const p = resolve(pathOrDir);
  if (await isDir(p)) {
    const json = join(p, 'results.json');
    const text = await readText(json);
    const jsonl = join(p, 'results.jsonl');
    if (text !== undefined) {
      const results = validateResults(parseJson(text, json), json);
      // A run killed between its journal append and the results.json rename has one more case
      // in the journal; a partial results.json defers to a journal that holds more.
      if (results.run.state === 'partial') {
        const jtext = await readText(jsonl);
        if (jtext !== undefined) {
          try {
            const fromJournal = resultsFromJournal(jtext, jsonl);
            if (fromJournal.cases.length > results.cases.length)
              return { results: fromJournal, file: jsonl, dir: p, fromJournal: true };
          } catch {
            // results.json is valid; a damaged journal beside it changes nothing
          }
        }
      }
      return { results, file: json, dir: p, fromJournal: false };
    }
    const jtext = await readText(jsonl);
    if (jtext !== undefined) return { results: resultsFromJournal(jtext, jsonl), file: jsonl, dir: p, fromJournal: true };
    throw new UsageError(
      `${pathOrDir}: no results.json or results.jsonl in this directory; found ${describeFound(p)}`,
      'give a report directory written by `kvmbench run` or a results.json',
    );
  }
  const text = await readText(p);
  if (text === undefined) throw new UsageError(`${pathOrDir}: no such file or directory`);
  if (basename(p).endsWith('.jsonl'))
    return { results: resultsFromJournal(text, p), file: p, dir: dirname(p), fromJournal: true };
  return { results: validateResults(parseJson(text, p), p), file: p, dir: dirname(p), fromJournal: false };
}
