/**
 * Where the micro-guest images are, what they hash to and what mode they run in.
 * Images are built by scripts/build-guests.mjs into build/guests/<name>.elf; a
 * missing image is built on first use when the sources are present.
 */
import { createHash } from 'node:crypto';
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync, type Dirent } from 'node:fs';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import { EnvironmentError } from '../errors.js';
import type { GuestInfo } from '../results/model.js';
import { packageRoot } from '../version.js';

/** The CPU mode of every multiboot guest's code: guests/lib/entry.S switches to long mode before guest_main(). */
const GUEST_MODE = 'long64';

/**
 * The micro guests: each directory under guests/ with C sources over guests/lib/, the set
 * scripts/build-guests.mjs builds (not lib/, not a flat.ld directory such as raw/, whose blobs
 * are builtGuestFile()s). Adding a guest is adding its directory.
 */
export function guestNames(): string[] {
  const dir = join(packageRoot(), 'guests');
  let entries: Dirent[];
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  return entries
    .filter((e) => e.isDirectory() && e.name !== 'lib')
    .filter((e) => {
      const files = readdirSync(join(dir, e.name));
      return !files.includes('flat.ld') && files.some((f) => f.endsWith('.c'));
    })
    .map((e) => e.name)
    .sort();
}

export interface GuestImage {
  name: string;
  /** Absolute path. */
  path: string;
  /** Relative to the package root. */
  relPath: string;
  sha256: string;
  mode: string;
}

export function guestImagePath(name: string): string {
  return join(packageRoot(), 'build', 'guests', `${name}.elf`);
}

const hashCache = new Map<string, { mtimeMs: number; size: number; sha256: string }>();

function sha256Of(path: string): string {
  const st = statSync(path);
  const hit = hashCache.get(path);
  if (hit && hit.mtimeMs === st.mtimeMs && hit.size === st.size) return hit.sha256;
  const sha256 = createHash('sha256').update(readFileSync(path)).digest('hex');
  hashCache.set(path, { mtimeMs: st.mtimeMs, size: st.size, sha256 });
  return sha256;
}

let buildOnce: Promise<void> | undefined;

async function buildGuests(): Promise<void> {
  const root = packageRoot();
  const script = join(root, 'scripts', 'build-guests.mjs');
  if (!existsSync(script) || !existsSync(join(root, 'guests', 'lib'))) return;
  try {
    await promisify(execFile)(process.execPath, [script], { cwd: root });
  } catch (err) {
    const detail = (err as { stderr?: string }).stderr ?? String(err);
    throw new EnvironmentError(`building the test guests failed: ${detail.trim().split('\n').slice(-3).join(' ')}`,
      'install gcc and binutils (sudo apt-get install -y gcc binutils), then run `npm run build:guests`');
  }
}

/** Builds every guest now (incremental: unchanged inputs are skipped), for a consumer that cannot build later (the nested lab's read-only L1). */
export async function buildAllGuests(): Promise<void> {
  buildOnce ??= buildGuests().finally(() => { buildOnce = undefined; });
  await buildOnce;
}

/** The image of guest `name`, building the guests first if it is missing. */
export async function guestImage(name: string): Promise<GuestImage> {
  const known = guestNames();
  if (!known.includes(name)) throw new EnvironmentError(`unknown micro guest '${name}'`, `known guests (directories under guests/): ${known.join(', ')}`);
  const path = guestImagePath(name);
  if (!existsSync(path)) {
    buildOnce ??= buildGuests().finally(() => { buildOnce = undefined; });
    await buildOnce;
  }
  if (!existsSync(path)) {
    throw new EnvironmentError(`guest image ${relative(packageRoot(), path)} is missing`, 'run `npm run build:guests`');
  }
  return {
    name,
    path,
    relPath: relative(packageRoot(), path),
    sha256: sha256Of(path),
    mode: GUEST_MODE,
  };
}

/**
 * A file scripts/build-guests.mjs makes under build/guests/ besides the ELF guests (the raw
 * VMM's flat blobs and its C exit loop, src/kvm/layout.ts names them), building the guests
 * first when it is missing.
 */
export async function builtGuestFile(file: string): Promise<{ path: string; relPath: string; sha256: string }> {
  const path = join(packageRoot(), 'build', 'guests', file);
  if (!existsSync(path)) {
    buildOnce ??= buildGuests().finally(() => { buildOnce = undefined; });
    await buildOnce;
  }
  if (!existsSync(path)) throw new EnvironmentError(`${relative(packageRoot(), path)} is missing`, 'run `npm run build:guests` (needs gcc and binutils)');
  return { path, relPath: relative(packageRoot(), path), sha256: sha256Of(path) };
}

/**
 * One row of a guest's list of tests (`guests/<name>/tests.def`, an X-macro the guest's C
 * includes), as the guest build writes it to build/guests/<name>.tests.json. `name`, `tags` and
 * `what` are what a suite needs (`guest_tests:` in src/suites/load.ts); the other columns
 * belong to the guest's executor (src/cases/exits.ts reads them).
 */
export interface GuestTestRow {
  name: string;
  tags: string[];
  what: string;
  [column: string]: unknown;
}

const tablesCache = new Map<string, readonly GuestTestRow[] | undefined>();

/**
 * The list of tests of guest `name`, or undefined when the guest has none (no tests.def).
 * A missing table is built first where the sources are present, as guestImage() does for
 * images; synchronous, because suites are loaded synchronously. Throws EnvironmentError when
 * it cannot be built or read.
 */
export function guestTests(name: string): readonly GuestTestRow[] | undefined {
  if (tablesCache.has(name)) return tablesCache.get(name);
  const root = packageRoot();
  const path = join(root, 'build', 'guests', `${name}.tests.json`);
  const def = join(root, 'guests', name, 'tests.def');
  if (!existsSync(path) && existsSync(def)) {
    try {
      execFileSync(process.execPath, [join(root, 'scripts', 'build-guests.mjs'), name], { cwd: root, stdio: 'pipe' });
    } catch (err) {
      const detail = String((err as { stderr?: Buffer }).stderr ?? err);
      throw new EnvironmentError(`building the ${name} guest's list of tests failed: ${detail.trim().split('\n').slice(-3).join(' ')}`,
        'install gcc and binutils (sudo apt-get install -y gcc binutils), then run `npm run build:guests`');
    }
  }
  if (!existsSync(path)) {
    tablesCache.set(name, undefined);
    return undefined;
  }
  let rows: unknown;
  try {
    rows = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new EnvironmentError(`${relative(root, path)} is unreadable: ${(err as Error).message}`, 'run `npm run build:guests`');
  }
  const ok = (r: unknown): r is GuestTestRow => {
    const o = r as GuestTestRow;
    return typeof o === 'object' && o !== null && typeof o.name === 'string' && /^[a-z0-9][a-z0-9._-]*$/.test(o.name)
      && typeof o.what === 'string' && Array.isArray(o.tags) && o.tags.every((t) => typeof t === 'string');
  };
  if (!Array.isArray(rows) || !rows.length || !rows.every(ok)) {
    throw new EnvironmentError(`${relative(root, path)} is not a list of tests (name, tags, what)`, 'run `npm run build:guests`');
  }
  tablesCache.set(name, rows);
  return rows;
}

export function guestInfo(img: GuestImage, extra?: Record<string, string>): GuestInfo {
  return { name: img.name, image: img.relPath, sha256: img.sha256, mode: img.mode, ...(extra ? { extra } : {}) };
}
