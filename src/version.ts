import { readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { dirname, join, resolve } from 'node:path';
import { existsSync } from 'node:fs';

/** Root of the kvmbench package (works from src/ under vitest and from dist/src/ when built). */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    dir = resolve(dir, '..');
  }
  throw new Error('kvmbench: cannot find package.json above ' + fileURLToPath(import.meta.url));
}

let cachedVersion: string | undefined;
export function kvmbenchVersion(): string {
  if (!cachedVersion) {
    const pkg = JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version: string };
    cachedVersion = pkg.version;
  }
  return cachedVersion;
}

/** The git revision when run from a checkout (with `-dirty` if modified), else undefined. */
export function gitRevision(): string | undefined {
  const root = packageRoot();
  if (!existsSync(join(root, '.git'))) return undefined;
  try {
    const rev = execFileSync('git', ['-C', root, 'rev-parse', '--short=12', 'HEAD'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
    const dirty = execFileSync('git', ['-C', root, 'status', '--porcelain', '--untracked-files=no'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
    return dirty ? `${rev}-dirty` : rev;
  } catch {
    return undefined;
  }
}
