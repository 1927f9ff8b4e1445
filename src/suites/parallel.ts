/**
 * `run --jobs N`: up to N cases at once, recorded in plan order whatever order they finish in,
 * so results.json, the journal, JUnit and the console read the same for every N. A case that
 * finished waits for the ones before it; nothing new starts once `stopped()` says so (an
 * interrupt), and the cases in flight are awaited (they abort on the same signal).
 */
import { availableParallelism, freemem } from 'node:os';
import { UsageError } from '../errors.js';

export const MAX_JOBS = 64;
/** What one guest costs beyond its RAM (QEMU itself, TCG's code buffer), MiB. */
const QEMU_OVERHEAD_MIB = 256;

/** Runs `start(i)` for i in 0..count-1, at most `jobs` at a time; `commit(i, r)` in index order. */
export async function runInOrder<T>(
  count: number,
  jobs: number,
  start: (i: number) => Promise<T>,
  commit: (i: number, r: T) => Promise<void>,
  stopped: () => boolean,
): Promise<void> {
  const done = new Map<number, T>();
  let next = 0;
  let committed = 0;
  let failure: unknown;
  let chain = Promise.resolve();
  const flush = (): Promise<void> => {
    chain = chain
      .then(async () => {
        while (done.has(committed)) {
          const r = done.get(committed)!;
          done.delete(committed);
          await commit(committed, r);
          committed++;
        }
      })
      .catch((err: unknown) => {
        failure ??= err;
      });
    return chain;
  };
  const worker = async (): Promise<void> => {
    while (next < count && !stopped() && failure === undefined) {
      const i = next++;
      done.set(i, await start(i));
      await flush();
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(jobs, count)) }, worker));
  await flush();
  if (failure !== undefined) throw failure;
}

/**
 * The jobs a run gets: what was asked, at most the host's cores and as many guests as free
 * memory holds (the largest case's RAM plus QEMU's own); `note` says when it was lowered.
 */
export function boundJobs(
  requested: number | undefined,
  guestMiB: number,
  host = { cores: availableParallelism(), freeBytes: freemem() },
): { jobs: number; note?: string } {
  const asked = requested ?? 1;
  if (!Number.isInteger(asked) || asked < 1 || asked > MAX_JOBS)
    throw new UsageError(`--jobs ${asked}: expected a whole number from 1 to ${MAX_JOBS}`);
  const byMemory = Math.max(1, Math.floor(host.freeBytes / ((guestMiB + QEMU_OVERHEAD_MIB) * 1024 * 1024)));
  const jobs = Math.min(asked, Math.max(1, host.cores), byMemory);
  if (jobs === asked) return { jobs };
  const why =
    jobs === host.cores
      ? `this host has ${host.cores} cores`
      : `free memory holds ${byMemory} guests of ${guestMiB} MiB (+${QEMU_OVERHEAD_MIB} MiB for QEMU)`;
  return { jobs, note: `--jobs ${asked} lowered to ${jobs}: ${why}` };
}
