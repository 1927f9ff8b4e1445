/**
 * The run's output directory. Default `reports/<run-id>/` under the working directory,
 * created with an exclusive mkdir so two runs started in the same second never share one;
 * `--output DIR` is taken as given but locked against a second live run. Before any guest
 * starts, the directory must take a synced write and have room: otherwise EnvironmentError
 * (exit 3) instead of a run that dies half-way.
 */
import { mkdir, open, readFile, rm, stat, statfs, unlink, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { dirname, join, resolve } from 'node:path';
import { EnvironmentError } from '../errors.js';

/** Logs and results of a quick run take a few MiB; refuse to start with less than this. */
export const MIN_FREE_BYTES = 64 * 1024 * 1024;
export const LOCK_FILE = '.kvmbench-run.lock';

/** `20261124T015507Z-3fa9c1`: sortable UTC time, then randomness against collisions. */
export function newRunId(now = new Date()): string {
  const t = now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  return `${t}-${randomBytes(3).toString('hex')}`;
}

export interface OutputDir {
  runId: string;
  /** Absolute. */
  dir: string;
  /** Removes the lock; call when the run is over. */
  release(): Promise<void>;
}

export interface OutputOptions {
  /** `--output DIR`; default `<cwd>/reports/<run-id>`. */
  output?: string;
  cwd?: string;
  /** For tests (simulating a full disk); default MIN_FREE_BYTES. */
  minFreeBytes?: number;
  now?: Date;
}

export async function prepareOutputDir(opts: OutputOptions = {}): Promise<OutputDir> {
  const cwd = opts.cwd ?? process.cwd();
  let runId = newRunId(opts.now);
  let dir: string;
  if (opts.output === undefined) {
    const parent = resolve(cwd, 'reports');
    await mkdirOrExplain(parent, true);
    for (let attempt = 0; ; attempt++) {
      dir = join(parent, runId);
      try {
        await mkdir(dir);
        break;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || attempt >= 20) throw explain(err, dir);
        runId = newRunId(opts.now);
      }
    }
  } else {
    dir = resolve(cwd, opts.output);
    await mkdirOrExplain(dir, true);
  }
  await lock(dir);
  try {
    await checkWritable(dir, opts.minFreeBytes ?? MIN_FREE_BYTES);
  } catch (err) {
    await rm(join(dir, LOCK_FILE), { force: true });
    throw err;
  }
  return { runId, dir, release: () => rm(join(dir, LOCK_FILE), { force: true }) };
}

/** One live run per directory: a lock file with the owner's pid, taken over when the owner is gone. */
async function lock(dir: string): Promise<void> {
  const file = join(dir, LOCK_FILE);
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      await writeFile(file, `${process.pid}\n`, { flag: 'wx' });
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw explain(err, dir);
      const pid = Number((await readFile(file, 'utf8').catch(() => '')).trim());
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && alive(pid)) {
        throw new EnvironmentError(
          `output directory ${dir} is in use by another kvmbench run (pid ${pid})`,
          'give another --output, or leave it out for a fresh reports/<run-id>/',
        );
      }
      await unlink(file).catch(() => undefined);
    }
  }
  throw new EnvironmentError(`cannot lock output directory ${dir}`);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** A synced probe write plus a free-space check. */
export async function checkWritable(dir: string, minFree: number): Promise<void> {
  const probe = join(dir, `.write-probe.${process.pid}`);
  try {
    const fh = await open(probe, 'w');
    try {
      await fh.write(Buffer.alloc(64 * 1024));
      await fh.sync();
    } finally {
      await fh.close();
    }
  } catch (err) {
    throw explain(err, dir);
  } finally {
    await rm(probe, { force: true });
  }
  const st = await statfs(dir);
  const free = Number(st.bavail) * Number(st.bsize);
  if (free < minFree) {
    throw new EnvironmentError(
      `output directory ${dir} has only ${(free / 1048576).toFixed(1)} MiB free; a run needs at least ${(minFree / 1048576).toFixed(0)} MiB`,
      'free some space or give --output on another filesystem',
    );
  }
}

async function mkdirOrExplain(dir: string, recursive: boolean): Promise<void> {
  try {
    if (recursive) await mkdirp(dir);
    else await mkdir(dir);
  } catch (err) {
    throw explain(err, dir);
  }
}

/**
 * `mkdir -p` one component at a time. Node 20's `mkdir(..., {recursive: true})` spins forever
 * on some pseudo filesystems (a path under /proc never returns), so it is not used.
 */
async function mkdirp(dir: string): Promise<void> {
  const missing: string[] = [];
  let d = resolve(dir);
  for (;;) {
    try {
      const st = await stat(d);
      if (!st.isDirectory()) throw Object.assign(new Error(`${d} is not a directory`), { code: 'ENOTDIR' });
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      missing.push(d);
      const up = dirname(d);
      if (up === d) break;
      d = up;
    }
  }
  for (const m of missing.reverse()) {
    try {
      await mkdir(m);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
}

function explain(err: unknown, dir: string): EnvironmentError {
  const code = (err as NodeJS.ErrnoException).code;
  const why: Record<string, string> = {
    EACCES: 'permission denied',
    EPERM: 'operation not permitted',
    EROFS: 'read-only filesystem',
    ENOSPC: 'no space left on the device',
    EDQUOT: 'disk quota exceeded',
    ENOTDIR: 'a path component is not a directory',
    EEXIST: 'exists and is not a directory',
  };
  return new EnvironmentError(
    `cannot write results to ${dir}: ${(code && why[code]) ?? (err as Error).message}`,
    'give a writable directory with --output',
  );
}
