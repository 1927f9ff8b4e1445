#!/usr/bin/env node
// Builds the freestanding test guests under guests/ into build/guests/<name>.elf with the
// system's gcc and ld (no libc). Each guest directory's *.c/*.S files are linked with
// guests/lib/. Objects are compiled for x86-64 and the image is converted to a 32-bit ELF
// container, because QEMU's multiboot loader refuses 64-bit ELF files (guests/lib/entry.S
// starts in 32-bit mode and switches to long mode itself).
// A guest directory with a `flat.ld` (guests/raw) is built differently: each top-level *.S
// is a flat blob for kvmbench's own VMM (src/kvm/), linked with flat.ld and copied out with
// objcopy -O binary to build/guests/<dir>-<stem>.bin, and helper/*.c is the host-side C exit
// loop, a shared library build/guests/kvm<dir>.so loaded through koffi.
// A guest directory with a `tests.def` (guests/exits: its list of tests, an X-macro of
// EXIT_TEST rows that main.c includes) also gets build/guests/<name>.tests.json: the rows as
// the C preprocessor expands them, for the host (src/guests/index.ts, src/cases/exits.ts) and
// the suite (`guest_tests:`), so the list of tests is written once, in C.
// A guest is rebuilt only when the sha256 of its inputs (sources, flags, this script)
// differs from the stamp beside its image. Tools run through execFile, never a shell.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const guestsDir = join(root, 'guests');
const libDir = join(guestsDir, 'lib');
const outDir = join(root, 'build', 'guests');

const CFLAGS = [
  '-m64',
  '-ffreestanding',
  '-fno-pic',
  '-fno-pie',
  '-mno-red-zone',
  '-mgeneral-regs-only',
  '-fno-stack-protector',
  '-fno-asynchronous-unwind-tables',
  '-fno-builtin',
  '-nostdlib',
  '-O2',
  '-Wall',
  '-Wextra',
  '-Werror',
  '-std=gnu11',
  '-mcmodel=small',
];
const LDFLAGS = [
  '-m',
  'elf_x86_64',
  '-nostdlib',
  '-z',
  'max-page-size=0x1000',
  '-z',
  'noexecstack',
  '--no-warn-rwx-segments',
  '-T',
  join(libDir, 'linker.ld'),
];

async function sourcesIn(dir) {
  const names = (await readdir(dir)).filter((n) => /\.(c|S|h|ld|def)$/.test(n)).sort();
  return names.map((n) => join(dir, n));
}

async function inputsHash(files) {
  const h = createHash('sha256');
  h.update(JSON.stringify({ CFLAGS, LDFLAGS: LDFLAGS.map((f) => (f.startsWith(root) ? relative(root, f) : f)) }));
  h.update(await readFile(fileURLToPath(import.meta.url)));
  for (const f of files) {
    h.update(relative(root, f));
    h.update(await readFile(f));
  }
  return h.digest('hex');
}

/** The columns of a tests.def row (guests/exits/tests.def explains them); the build keeps those the host needs. */
const TEST_ROW_JSON =
  '#define EXIT_TEST(name, loop, prepare, figure, irq, hist, cpus, parallel, expect, tags, what) ' +
  '{"name": #name, "figure": #figure, "irq": irq, "hist": hist, "cpus": cpus, "parallel": parallel, "expect": expect, "tags": tags, "what": what},';

/** A guest's tests.def as JSON: the preprocessor expands every row, so the JSON is what main.c's table holds. */
async function testsJson(dir, def) {
  const src = join(outDir, 'obj', `${relative(guestsDir, dir).replace(/\//g, '_')}-tests-json.c`);
  await writeFile(src, `${TEST_ROW_JSON}\n#include "${def}"\n`);
  const { stdout } = await run('gcc', ['-E', '-P', src]);
  let rows;
  try {
    rows = JSON.parse(`[${stdout.trim().replace(/,$/, '')}]`);
  } catch (err) {
    throw new Error(
      `${relative(root, def)}: a row did not expand to JSON (${err.message}); strings must be single literals without escapes`,
    );
  }
  const names = new Set();
  for (const r of rows) {
    if (names.has(r.name)) throw new Error(`${relative(root, def)}: test ${r.name} appears twice`);
    names.add(r.name);
    r.irq = r.irq === 1;
    r.hist = r.hist === 1;
    r.parallel = r.parallel === 1;
    r.tags = r.tags.split(/\s+/).filter(Boolean);
  }
  return `${JSON.stringify(rows, null, 2)}\n`;
}

async function buildGuest(name, { force }) {
  const dir = join(guestsDir, name);
  const libFiles = await sourcesIn(libDir);
  const files = [...libFiles, ...(await sourcesIn(dir))];
  const image = join(outDir, `${name}.elf`);
  const def = files.find((f) => f === join(dir, 'tests.def'));
  const tablePath = join(outDir, `${name}.tests.json`);
  const stampPath = `${image}.inputs`;
  const hash = await inputsHash(files);
  if (!force) {
    try {
      const [stamp] = await Promise.all([readFile(stampPath, 'utf8'), stat(image), ...(def ? [stat(tablePath)] : [])]);
      if (stamp.trim() === hash) return { name, image, built: false };
    } catch {
      // no image or stamp yet: build
    }
  }
  const objDir = join(outDir, 'obj', name);
  await rm(objDir, { recursive: true, force: true });
  await mkdir(objDir, { recursive: true });
  const objects = [];
  for (const src of files.filter((f) => /\.(c|S)$/.test(f))) {
    const obj = join(objDir, `${relative(guestsDir, src).replace(/[/.]/g, '_')}.o`);
    await run('gcc', [...CFLAGS, '-c', src, '-o', obj]);
    objects.push(obj);
  }
  const elf64 = join(objDir, `${name}.elf64`);
  await run('ld', [...LDFLAGS, '-o', elf64, ...objects]);
  await run('objcopy', ['-O', 'elf32-i386', elf64, image]);
  if (def) await writeFile(tablePath, await testsJson(dir, def));
  await writeFile(stampPath, `${hash}\n`);
  return { name, image, built: true };
}

const FLAT_ASFLAGS = ['-m64', '-nostdlib', '-ffreestanding', '-fno-pic', '-fno-pie'];
const HELPER_CFLAGS = ['-O2', '-Wall', '-Wextra', '-Werror', '-std=gnu11', '-fPIC', '-shared'];

/** A `flat.ld` directory: flat blobs from its *.S, and a host helper from helper/*.c. */
async function buildFlat(name, { force }) {
  const dir = join(guestsDir, name);
  const blobs = (await readdir(dir)).filter((n) => n.endsWith('.S')).sort();
  const helperDir = join(dir, 'helper');
  const helperSources = await sourcesIn(helperDir).catch(() => []);
  const files = [...(await sourcesIn(dir)), ...helperSources];
  const outputs = blobs.map((b) => join(outDir, `${name}-${b.replace(/\.S$/, '')}.bin`));
  const helper = helperSources.some((f) => f.endsWith('.c')) ? join(outDir, `kvm${name}.so`) : undefined;
  if (helper) outputs.push(helper);
  const stampPath = join(outDir, `${name}.inputs`);
  const hash = await inputsHash(files);
  if (!force) {
    try {
      const [stamp] = await Promise.all([readFile(stampPath, 'utf8'), ...outputs.map((o) => stat(o))]);
      if (stamp.trim() === hash) return { name, image: outputs.map((o) => relative(root, o)).join(', '), built: false };
    } catch {
      // an output or the stamp is missing: build
    }
  }
  const objDir = join(outDir, 'obj', name);
  await rm(objDir, { recursive: true, force: true });
  await mkdir(objDir, { recursive: true });
  for (const b of blobs) {
    const stem = b.replace(/\.S$/, '');
    const obj = join(objDir, `${stem}.o`);
    const elf = join(objDir, `${stem}.elf`);
    await run('gcc', [...FLAT_ASFLAGS, `-I${dir}`, '-c', join(dir, b), '-o', obj]);
    await run('ld', [
      '-m',
      'elf_x86_64',
      '-nostdlib',
      '-z',
      'noexecstack',
      '--no-warn-rwx-segments',
      '-T',
      join(dir, 'flat.ld'),
      '-o',
      elf,
      obj,
    ]);
    await run('objcopy', ['-O', 'binary', elf, join(outDir, `${name}-${stem}.bin`)]);
  }
  if (helper) await run('gcc', [...HELPER_CFLAGS, `-I${dir}`, '-o', helper, ...helperSources.filter((f) => f.endsWith('.c'))]);
  await writeFile(stampPath, `${hash}\n`);
  return { name, image: outputs.map((o) => relative(root, o)).join(', '), built: true };
}

async function main() {
  const force = process.argv.includes('--force');
  const only = process.argv.slice(2).filter((a) => !a.startsWith('--'));
  const entries = await readdir(guestsDir, { withFileTypes: true });
  const names = [];
  const flat = new Set();
  for (const e of entries) {
    if (!e.isDirectory() || e.name === 'lib') continue;
    const files = await readdir(join(guestsDir, e.name));
    if (files.includes('flat.ld')) flat.add(e.name);
    if (flat.has(e.name) || files.some((n) => n.endsWith('.c'))) names.push(e.name);
  }
  names.sort();
  await mkdir(outDir, { recursive: true });
  for (const name of only.length ? names.filter((n) => only.includes(n)) : names) {
    try {
      const r = flat.has(name) ? await buildFlat(name, { force }) : await buildGuest(name, { force });
      console.log(
        `build-guests: ${name}: ${r.built ? 'built' : 'up to date'} ${flat.has(name) ? r.image : relative(root, r.image)}`,
      );
    } catch (err) {
      const detail = err && typeof err === 'object' && 'stderr' in err ? String(err.stderr) : String(err);
      if (err && err.code === 'ENOENT') {
        console.error(
          `build-guests: ${err.path ?? 'a tool'} not found; install gcc and binutils (apt-get install -y gcc binutils)`,
        );
      } else {
        console.error(`build-guests: ${name} failed:\n${detail}`);
      }
      process.exitCode = 1;
      return;
    }
  }
}

await main();
