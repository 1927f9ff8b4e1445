/**
 * `doctor --root DIR` must name a host snapshot: a directory with the manifest `host.json` (what
 * the host is, how it was captured) beside the host's mirrored files and the doctor's records
 * (src/host/fixture-reader.ts). Anything else is exit 2 that says what was found, instead of a
 * doctor run over a host that has nothing in it.
 */
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { UsageError } from '../errors.js';
import { describeFound } from '../inputs.js';

const HINT =
  "a snapshot is a directory with host.json (its manifest) beside the host's files (proc/, sys/, etc/) and the doctor's records " +
  '(probe.json, commands.json, stat.json...); make one on the host to examine with `kvmbench doctor --save-host DIR`, then give that DIR';

export function checkHostSnapshot(dir: string, flag = '--root'): void {
  let isDir = false;
  try {
    isDir = statSync(dir).isDirectory();
  } catch {
    // described below
  }
  if (!isDir) throw new UsageError(`${flag} ${dir}: expected a host snapshot directory; found ${describeFound(dir)}`, HINT);
  const manifest = join(dir, 'host.json');
  let text: string;
  try {
    text = readFileSync(manifest, 'utf8');
  } catch {
    throw new UsageError(`${flag} ${dir}: not a host snapshot (no host.json manifest); found ${describeFound(dir)}`, HINT);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new UsageError(`${flag} ${dir}: host.json is not JSON (${(err as Error).message})`, HINT);
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
    throw new UsageError(
      `${flag} ${dir}: host.json is not a snapshot manifest (expected an object with description and source)`,
      HINT,
    );
  }
}
