/**
 * `run --store`: the finished run goes into the history store in one transaction (stored with
 * its state, complete, partial or interrupted; never half of it). A store that cannot take it
 * loses nothing: results.json is on disk, and the message says how to import it later.
 */
import type { Writable } from 'node:stream';
import { KvmbenchError, ExitCode } from '../errors.js';
import { storeRun } from '../app/history.js';
import { storeLocation } from '../history/open.js';
import type { RunSummary } from '../suites/runner.js';

/** Stores the run; the exit code to end with (the run's, or the store error's when the run itself was ok). */
export async function storeFinishedRun(
  summary: Pick<RunSummary, 'results' | 'dir'>,
  at: string | undefined,
  human: Writable,
  code: number,
): Promise<number> {
  const location = storeLocation(at);
  try {
    const outcome = await storeRun(location, summary.results, summary.dir);
    human.write(
      `history: ${outcome === 'added' ? 'stored' : 'already stored'} run ${summary.results.run.id} (${summary.results.run.state}) in ${location}\n`,
    );
    return code;
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    process.stderr.write(
      `kvmbench: the run was not stored in the history: ${msg}\n  hint: its results are in ${summary.dir}; add them later with \`kvmbench history import ${summary.dir}\`\n`,
    );
    if (err instanceof KvmbenchError && code === ExitCode.OK) return err.exitCode;
    return code === ExitCode.OK ? ExitCode.FAILED : code;
  }
}
