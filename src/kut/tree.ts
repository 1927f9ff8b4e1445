/**
 * A user's built kvm-unit-tests tree: `x86/unittests.cfg`, the images beside it, and
 * `config.mak` (what `./configure` chose: ARCH, CONFIG_EFI). Only read, never built here.
 */
import { readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { UsageError } from '../errors.js';
import { MAX_CFG_BYTES, parseCfg, type ParsedCfg } from './cfg.js';

export interface KutTree {
  /** Absolute path of the tree. */
  dir: string;
  cfgPath: string;
  /** ARCH from config.mak (`x86_64`, `i386`), default x86_64. */
  arch: string;
  /** CONFIG_EFI=y: the images are .efi files (not run by kvmbench yet). */
  efi: boolean;
  cfg: ParsedCfg;
}

const TREE_HINT =
  'give the top directory of a kvm-unit-tests checkout built for x86_64 (./configure && make), the one holding x86/unittests.cfg';

function configMak(dir: string): Record<string, string> {
  let text: string;
  try {
    text = readFileSync(join(dir, 'config.mak'), 'utf8');
  } catch {
    return {};
  }
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^([A-Z_][A-Z0-9_]*)\s*[:?]?=\s*(.*)$/.exec(line.trim());
    if (m) out[m[1]!] = m[2]!.trim();
  }
  return out;
}

export function readKutTree(dirIn: string, cwd = process.cwd()): KutTree {
  const dir = resolve(cwd, dirIn);
  try {
    if (!statSync(dir).isDirectory()) throw new Error('not a directory');
  } catch (err) {
    throw new UsageError(`--kut-dir ${dir}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, TREE_HINT);
  }
  const cfgPath = join(dir, 'x86', 'unittests.cfg');
  let raw: Buffer;
  try {
    if (statSync(cfgPath).size > MAX_CFG_BYTES)
      throw new UsageError(`${cfgPath}: larger than ${MAX_CFG_BYTES} bytes: not a unittests.cfg`);
    raw = readFileSync(cfgPath);
  } catch (err) {
    if (err instanceof UsageError) throw err;
    throw new UsageError(
      `--kut-dir ${dir}: cannot read x86/unittests.cfg (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
      TREE_HINT,
    );
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(raw);
  } catch {
    throw new UsageError(`${cfgPath}: not UTF-8 text`);
  }
  const mak = configMak(dir);
  return { dir, cfgPath, arch: mak.ARCH ?? 'x86_64', efi: mak.CONFIG_EFI === 'y', cfg: parseCfg(text, cfgPath) };
}
