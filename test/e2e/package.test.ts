/**
 * The packed tarball is what users install: it must carry the built CLI, the
 * oclif manifest and the prebuilt micro guests, and run with no C compiler on
 * the machine (simulated by a PATH from which gcc, cc and ld are hidden).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, readdirSync, rmSync, symlinkSync, existsSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '../..');
const work = mkdtempSync(join(tmpdir(), 'kvmbench-pack-'));
const prefix = join(work, 'prefix');
const noCompilerBin = join(work, 'bin');
let tarball = '';

/** A PATH holding every command of the system's bin directories except compilers and linkers. */
function pathWithoutCompilers(): string {
  mkdirSync(noCompilerBin, { recursive: true });
  const hidden = /^(gcc|cc|c\+\+|g\+\+|cpp|ld|ld\.bfd|ld\.gold|as|clang|tcc)(-[\d.]+)?$|^x86_64-linux-gnu-(gcc|g\+\+|cpp|ld|as)/;
  for (const dir of ['/usr/local/bin', '/usr/bin', '/bin', '/usr/sbin', '/sbin']) {
    if (!existsSync(dir)) continue;
    for (const name of readdirSync(dir)) {
      if (hidden.test(name) || existsSync(join(noCompilerBin, name))) continue;
      try {
        symlinkSync(join(dir, name), join(noCompilerBin, name));
      } catch {
        /* races on duplicates are harmless */
      }
    }
  }
  return `${join(prefix, 'bin')}:${noCompilerBin}`;
}

beforeAll(() => {
  const out = execFileSync('npm', ['pack', '--json', '--pack-destination', work], {
    cwd: root,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const info = JSON.parse(out.slice(out.indexOf('['))) as Array<{ filename: string; files: Array<{ path: string }> }>;
  tarball = join(work, info[0]!.filename);
  execFileSync('npm', ['install', '--global', '--prefix', prefix, '--no-audit', '--no-fund', tarball], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}, 600_000);

afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('packed tarball', () => {
  it('ships the built CLI, the manifest and prebuilt guests, but no sources of tests', () => {
    const files = execFileSync('tar', ['-tzf', tarball], { encoding: 'utf8' }).split('\n');
    expect(files).toContain('package/bin/run.js');
    expect(files).toContain('package/oclif.manifest.json');
    expect(files.some((f) => /^package\/dist\/commands\/doctor\.js$/.test(f))).toBe(true);
    expect(files.some((f) => /^package\/build\/guests\/.+\.elf$/.test(f))).toBe(true);
    expect(files.some((f) => f.startsWith('package/test/'))).toBe(false);
    expect(files.some((f) => f.startsWith('package/node_modules/'))).toBe(false);
    expect(statSync(tarball).size).toBeLessThan(5 * 1024 * 1024);
  });

  it('runs doctor and a micro-guest suite with no C compiler on PATH', () => {
    const PATH = pathWithoutCompilers();
    expect(spawnSync('sh', ['-c', 'command -v gcc || command -v cc || command -v ld'], { env: { PATH } }).status).not.toBe(0);
    const env = { ...process.env, PATH, NO_COLOR: '1', CI: 'true' };
    const kvmbench = join(prefix, 'bin', 'kvmbench');

    const version = spawnSync(kvmbench, ['--version'], { env, encoding: 'utf8' });
    expect(version.status).toBe(0);
    expect(version.stdout).toMatch(/kvmbench\/\d+\.\d+\.\d+/);

    const doctor = spawnSync(kvmbench, ['doctor', '--json'], { env, encoding: 'utf8' });
    expect([0, 1]).toContain(doctor.status);
    const report = JSON.parse(doctor.stdout) as { kvm: { usable: boolean }; checks: unknown[] };
    expect(typeof report.kvm.usable).toBe('boolean');
    expect(report.checks.length).toBeGreaterThan(5);

    const out = join(work, 'run');
    const run = spawnSync(kvmbench, ['run', 'boot-micro', '--quick', '--only', 'microvm*', '--output', out], {
      env,
      encoding: 'utf8',
      cwd: work,
      timeout: 240_000,
    });
    expect(run.stderr + run.stdout).not.toMatch(/gcc|compiler/i);
    expect(run.status).toBe(0);
    const results = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as { cases: Array<{ status: string }> };
    expect(results.cases.length).toBeGreaterThan(0);
    expect(results.cases.every((c) => c.status === 'pass')).toBe(true);
  }, 300_000);
});
