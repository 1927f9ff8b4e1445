/**
 * Kernel module resolution for the initramfs: which .ko files to pack and in
 * which order /init must insmod them. Debian's kernel package ships no
 * modules.dep (depmod runs at install time), so dependencies come from each
 * module's own `.modinfo` ELF section (`depends=a,b`), with modules.dep used
 * when a tree has one.
 */
import { execFile } from 'node:child_process';
import { readFile, readdir } from 'node:fs/promises';
import { existsSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { promisify } from 'node:util';
import { gunzipSync } from 'node:zlib';

const execFileP = promisify(execFile);

/** Module name as the kernel spells it: dashes become underscores, no .ko suffix. */
export function moduleName(fileOrName: string): string {
  return basename(fileOrName)
    .replace(/\.ko(\.(xz|zst|gz))?$/, '')
    .replace(/-/g, '_');
}

/** Key/value pairs of an ELF64 little-endian object's `.modinfo` section (keys may repeat). */
export function parseModinfo(elf: Uint8Array): Map<string, string[]> {
  const buf = Buffer.from(elf.buffer, elf.byteOffset, elf.length);
  if (buf.length < 64 || buf.readUInt32BE(0) !== 0x7f454c46) throw new Error('modinfo: not an ELF file');
  if (buf[4] !== 2 || buf[5] !== 1) throw new Error('modinfo: only ELF64 little-endian is supported');
  const shoff = Number(buf.readBigUInt64LE(0x28));
  const shentsize = buf.readUInt16LE(0x3a);
  const shnum = buf.readUInt16LE(0x3c);
  const shstrndx = buf.readUInt16LE(0x3e);
  if (shentsize < 64 || shoff + shnum * shentsize > buf.length || shstrndx >= shnum)
    throw new Error('modinfo: bad section table');
  const sect = (i: number) => {
    const o = shoff + i * shentsize;
    return {
      name: buf.readUInt32LE(o),
      offset: Number(buf.readBigUInt64LE(o + 0x18)),
      size: Number(buf.readBigUInt64LE(o + 0x20)),
    };
  };
  const strtab = sect(shstrndx);
  const out = new Map<string, string[]>();
  for (let i = 0; i < shnum; i++) {
    const s = sect(i);
    const nameStart = strtab.offset + s.name;
    const nameEnd = buf.indexOf(0, nameStart);
    if (nameEnd < 0 || buf.toString('latin1', nameStart, nameEnd) !== '.modinfo') continue;
    if (s.offset + s.size > buf.length) throw new Error('modinfo: section past end of file');
    for (const kv of buf.toString('utf8', s.offset, s.offset + s.size).split('\0')) {
      const eq = kv.indexOf('=');
      if (eq <= 0) continue;
      const k = kv.slice(0, eq);
      out.set(k, [...(out.get(k) ?? []), kv.slice(eq + 1)]);
    }
    return out;
  }
  throw new Error('modinfo: no .modinfo section');
}

export type ModuleLookup = (name: string) => { depends: string[] } | 'builtin' | undefined;

/**
 * The modules to load for `wanted`, dependencies first (a depth-first
 * post-order, so each module follows everything it depends on). Built-in
 * modules are dropped; an unknown module or a dependency cycle is an error.
 */
export function resolveModuleOrder(wanted: readonly string[], lookup: ModuleLookup): string[] {
  const order: string[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (name: string, chain: string[]): void => {
    const n = moduleName(name);
    const st = state.get(n);
    if (st === 'done') return;
    if (st === 'visiting') throw new Error(`module dependency cycle: ${[...chain, n].join(' -> ')}`);
    const info = lookup(n);
    if (info === undefined) throw new Error(`module not found: ${n}${chain.length ? ` (needed by ${chain.join(' -> ')})` : ''}`);
    state.set(n, 'visiting');
    if (info !== 'builtin') for (const d of info.depends) if (d) visit(d, [...chain, n]);
    state.set(n, 'done');
    if (info !== 'builtin') order.push(n);
  };
  for (const w of wanted) visit(w, []);
  return order;
}

/** Bytes of a module file, decompressed: busybox insmod hands them to init_module(), which wants a plain ELF. */
export async function readModuleDecompressed(path: string): Promise<Buffer> {
  if (path.endsWith('.ko')) return readFile(path);
  if (path.endsWith('.gz')) return gunzipSync(await readFile(path));
  const tool = path.endsWith('.xz') ? 'xz' : path.endsWith('.zst') ? 'zstd' : undefined;
  if (!tool) throw new Error(`unknown module compression: ${path}`);
  const { stdout } = await execFileP(tool, ['-dc', path], { encoding: 'buffer', maxBuffer: 64 << 20 });
  return stdout;
}

async function walk(dir: string, out: string[]): Promise<void> {
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) await walk(p, out);
    else if (/\.ko(\.(xz|zst|gz))?$/.test(e.name)) out.push(p);
  }
}

export interface ResolvedModule {
  name: string;
  /** Path of the source file (possibly compressed). */
  path: string;
  data: Buffer;
}

/** Resolves `wanted` in a `/lib/modules/<version>` tree; returns load order with decompressed bytes. */
export async function resolveModulesInTree(moduleDir: string, wanted: readonly string[]): Promise<ResolvedModule[]> {
  const files: string[] = [];
  await walk(join(moduleDir, 'kernel'), files);
  const byName = new Map(files.map((f) => [moduleName(f), f]));
  const builtin = new Set<string>();
  const builtinPath = join(moduleDir, 'modules.builtin');
  if (existsSync(builtinPath))
    for (const l of readFileSync(builtinPath, 'utf8').split('\n')) if (l.trim()) builtin.add(moduleName(l.trim()));
  const depFile = join(moduleDir, 'modules.dep');
  const fromDep = new Map<string, string[]>();
  if (existsSync(depFile)) {
    for (const l of readFileSync(depFile, 'utf8').split('\n')) {
      const m = /^([^:]+):\s*(.*)$/.exec(l);
      if (m) fromDep.set(moduleName(m[1]!), m[2]!.split(/\s+/).filter(Boolean).map(moduleName));
    }
  }
  const data = new Map<string, Buffer>();
  for (const w of wanted) {
    // Preload the closure's bytes (lookup below is synchronous).
    const queue = [moduleName(w)];
    while (queue.length) {
      const n = queue.pop()!;
      if (data.has(n) || builtin.has(n)) continue;
      const f = byName.get(n);
      if (!f) continue;
      const bytes = await readModuleDecompressed(f);
      data.set(n, bytes);
      const deps = fromDep.get(n) ?? (parseModinfo(bytes).get('depends')?.[0] ?? '').split(',').filter(Boolean);
      queue.push(...deps.map(moduleName));
    }
  }
  const order = resolveModuleOrder(wanted, (n) => {
    if (builtin.has(n)) return 'builtin';
    const bytes = data.get(n);
    if (!bytes) return undefined;
    return { depends: fromDep.get(n) ?? (parseModinfo(bytes).get('depends')?.[0] ?? '').split(',').filter(Boolean) };
  });
  return order.map((n) => ({ name: n, path: byName.get(n)!, data: data.get(n)! }));
}
