/**
 * Where the micro-guest images are, what they hash to and what mode they run in.
 * Images are built by scripts/build-guests.mjs into build/guests/<name>.elf; a
 * missing image is built on first use when the sources are present.
 */
import { createHash } from 'node:crypto';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import { EnvironmentError } from '../errors.js';
import type { GuestInfo } from '../results/model.js';
import { packageRoot } from '../version.js';

/** The guests and the CPU mode their code runs in (guests/lib/entry.S switches to long mode). */
export const GUESTS = {
  hello: { mode: 'long64', description: 'smallest guest: entry, hello, end (boot timing, smoke boot)' },
  exits: { mode: 'long64', description: 'VM-exit latency tests, one test per boot' },
} as const;
export type GuestName = keyof typeof GUESTS;

export interface GuestImage {
  name: GuestName;
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

/** The image of guest `name`, building the guests first if it is missing. */
export async function guestImage(name: string): Promise<GuestImage> {
  if (!(name in GUESTS)) throw new EnvironmentError(`unknown micro guest '${name}'`, `known guests: ${Object.keys(GUESTS).join(', ')}`);
  const path = guestImagePath(name);
  if (!existsSync(path)) {
    buildOnce ??= buildGuests().finally(() => { buildOnce = undefined; });
    await buildOnce;
  }
  if (!existsSync(path)) {
    throw new EnvironmentError(`guest image ${relative(packageRoot(), path)} is missing`, 'run `npm run build:guests`');
  }
  return {
    name: name as GuestName,
    path,
    relPath: relative(packageRoot(), path),
    sha256: sha256Of(path),
    mode: GUESTS[name as GuestName].mode,
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

export function guestInfo(img: GuestImage, extra?: Record<string, string>): GuestInfo {
  return { name: img.name, image: img.relPath, sha256: img.sha256, mode: img.mode, ...(extra ? { extra } : {}) };
}
