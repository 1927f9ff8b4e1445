/** The commands in-process (no spawned CLI): flags in, engine called, output and exit code out. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import Doctor from '../../../commands/doctor.js';
import Run from '../../../commands/run.js';
import Suites from '../../../commands/suites.js';
import { captureOutput } from '../../helpers/capture.js';

const HOSTS = join(import.meta.dirname, '../../fixtures/hosts');
const tmp = mkdtempSync(join(tmpdir(), 'kvmbench-cmd-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('commands in-process', () => {
  it('suites --json lists every shipped suite, args checked by their executors', async () => {
    const r = await captureOutput(Suites, ['--json']);
    expect(r.error).toBeUndefined();
    expect(r.exitCode).toBe(0);
    const list = JSON.parse(r.stdout) as Array<{ suite: string; error?: string }>;
    expect(list.map((s) => s.suite)).toEqual(expect.arrayContaining(['quick', 'exits', 'net', 'io', 'raw']));
    expect(list.filter((s) => s.error)).toEqual([]);
  });

  it('doctor --root replays a snapshot through the composition root and exits by its verdict', async () => {
    const r = await captureOutput(Doctor, ['--root', join(HOSTS, 'intel-baremetal'), '--json', '--profile', 'kvm']);
    expect(r.error).toBeUndefined();
    const doc = JSON.parse(r.stdout) as { verdict: string; source: string; checks: Array<{ id: string; status: string }> };
    expect(doc.source).toBe('fixture:intel-baremetal');
    expect(r.exitCode).toBe(doc.verdict === 'fail' ? 1 : 0);
    // The replayed raw VM run (rawrun.json) reaches kvm.run through the snapshot's actions.
    expect(doc.checks.find((c) => c.id === 'kvm.run')).toBeDefined();
  });

  it('doctor refuses --root with --save-host: exit 2 with the reason', async () => {
    const r = await captureOutput(Doctor, ['--root', join(HOSTS, 'intel-baremetal'), '--save-host', join(tmp, 'snap')]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/--root and --save-host exclude each other/);
  });

  it('run stops a misspelt suite argument at load, before any guest: exit 2 at its line', async () => {
    const f = join(tmp, 'typo.yaml');
    writeFileSync(f, 'suite: typo\ncases:\n  - id: cpuid\n    kind: raw\n    args: { tset: cpuid }\n');
    const r = await captureOutput(Run, [f, '--accel', 'tcg', '--output', join(tmp, 'out')]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/typo\.yaml:5:13: args\.tset: kind raw takes no argument 'tset' \(did you mean 'test'\?\)/);
  });
});
