/**
 * A broken VMM costs seconds, not minutes, end to end through the built CLI with the QEMUs of
 * test/fixtures/qemu (named by KVMBENCH_QEMU): one that starts and hangs (a wrapper stuck on a
 * lock; it leaves a child in its group), one that crashes as it starts, and the real QEMU started
 * paused (-S: QEMU and its monitor run, the guest never does). Under TCG:
 * - a hanging QEMU ends its first two cases at the startup budget with "QEMU started but the
 *   guest never ran", skips every later QEMU case naming the first, and leaves no process behind;
 *   `run exits --quick` and `run quick` keep their cases' time within the 30 s and 60 s
 *   (the cases' own durations are asserted; the CLI's wall time, which a loaded machine
 *   stretches, is printed);
 * - `--keep-going` runs every case anyway;
 * - a suite's `startup:` sets the budget, and where QMP answers its run state is in the reason;
 * - inputs that are not what they claim are exit 2 with what was found.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exitTestNames } from '../../src/cases/exits.js';
import { validateResults } from '../../src/results/load.js';
import type { Results } from '../../src/results/model.js';
import { STARTUP_BUDGET_MS } from '../../src/vmm/startup.js';
import { runCli } from '../helpers/cli.js';

const fakes = resolve(import.meta.dirname, '../fixtures/qemu');
let tmp: string;
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'kvmb-e2e-startup-'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

interface Run {
  code: number | null;
  stderr: string;
  wallMs: number;
  results: Results;
  pidsFile: string;
}

function run(name: string, qemu: string, args: string[], timeoutMs = 240_000): Run {
  const out = join(tmp, name);
  const pidsFile = join(tmp, `${name}.pids`);
  const t0 = Date.now();
  const r = runCli(['run', ...args, '--output', out], { KVMBENCH_QEMU: join(fakes, qemu), FAKE_QEMU_PIDS: pidsFile }, timeoutMs);
  const wallMs = Date.now() - t0;
  const results = validateResults(JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')));
  return { code: r.status, stderr: r.stderr, wallMs, results, pidsFile };
}

/** Every pid the fake QEMUs wrote down (each one's own and its child's) is gone. */
function expectNoneLeft(pidsFile: string): void {
  const pids = existsSync(pidsFile) ? readFileSync(pidsFile, 'utf8').split(/\s+/).filter(Boolean).map(Number) : [];
  expect(pids.length).toBeGreaterThan(0);
  // A zombie is dead (its parent, or an init that does not reap, still holds its entry).
  const alive = pids.filter((p) => {
    try {
      return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${p}/stat`, 'utf8'));
    } catch {
      return false;
    }
  });
  expect(alive, `fake QEMU processes left: ${alive.join(' ')}`).toEqual([]);
}

const caseSeconds = (r: Results): number => r.cases.reduce((s, c) => s + c.durationMs, 0) / 1000;
const NEVER_RAN =
  /^QEMU started but the guest never ran: no byte from the guest within the startup budget of 10 s \(suite field `startup`\); QEMU was ended by kvmbench\nQEMU stderr: qemu-system-x86_64: waiting for lock \/run\/fake-qemu\.lock/;

describe('a QEMU that starts and hangs', () => {
  it('ends run exits --quick after two cases at the startup budget, every case reported, nothing left behind', () => {
    const r = run('hang-exits', 'hang-qemu', ['exits', '--quick', '--accel', 'tcg']);
    expect(r.code, r.stderr).toBe(1);
    const cases = r.results.cases;
    expect(cases.map((c) => c.id)).toEqual(exitTestNames().map((t) => `exits/${t}`));
    const [first, second, ...rest] = cases;
    for (const c of [first!, second!]) {
      expect(c.status).toBe('error');
      expect(c.reason).toMatch(NEVER_RAN);
      // Ended at the budget, well before the 20 s case deadline.
      expect(c.durationMs).toBeGreaterThanOrEqual(STARTUP_BUDGET_MS.tcg.micro);
      expect(c.durationMs).toBeLessThan(STARTUP_BUDGET_MS.tcg.micro + 5_000);
    }
    for (const c of rest) {
      expect(c.status).toBe('skip');
      expect(c.reason).toBe(
        'skipped: every earlier case since exits/cpuid failed the same way (exits/cpuid, exits/vmcall): QEMU started but the guest never ran within the startup budget of 10 s; exits/cpuid has the full report; --keep-going runs such cases anyway',
      );
    }
    expect(caseSeconds(r.results)).toBeLessThanOrEqual(30);
    expectNoneLeft(r.pidsFile);
    console.log(
      `hanging QEMU, run exits --quick: ${(r.wallMs / 1000).toFixed(1)} s wall, ${caseSeconds(r.results).toFixed(1)} s in cases (goal 30 s; 325 s before the startup budget)`,
    );
  });

  it('ends run quick within its 60 s, the QEMU-free cases still run', () => {
    const r = run('hang-quick', 'hang-qemu', ['quick', '--accel', 'tcg']);
    expect(r.code, r.stderr).toBe(1);
    const by = (status: string) => r.results.cases.filter((c) => c.status === status).map((c) => c.id);
    expect(by('error')).toEqual(['exits/cpuid', 'exits/vmcall']);
    // The doctor and the raw floor start no QEMU: they run (raw skips under TCG, for its own reason).
    expect(by('pass')).toContain('doctor/vmm');
    for (const c of r.results.cases.filter((x) => x.status === 'skip')) {
      expect(c.reason, c.id).toMatch(
        c.id.startsWith('raw/') ? /KVM only/ : /^skipped: every earlier case since exits\/cpuid failed the same way/,
      );
    }
    expect(by('skip')).toEqual(
      expect.arrayContaining(['boot-micro/microvm', 'boot-linux/q35', 'io/virtio-blk', 'net/virtio-net']),
    );
    expect(caseSeconds(r.results)).toBeLessThanOrEqual(60);
    expectNoneLeft(r.pidsFile);
    console.log(
      `hanging QEMU, run quick: ${(r.wallMs / 1000).toFixed(1)} s wall, ${caseSeconds(r.results).toFixed(1)} s in cases (goal 60 s)`,
    );
  });
});

describe('a QEMU that crashes as it starts', () => {
  it('is reported in full twice, then names the cause; --keep-going runs every case', () => {
    const r = run('crash-exits', 'crash-qemu', ['exits', '--quick', '--accel', 'tcg']);
    expect(r.code).toBe(1);
    const [first, , third] = r.results.cases;
    expect(first!.reason).toMatch(
      /^QEMU ended by signal SIGSEGV; .*\nQEMU stderr: qemu-system-x86_64: fake crash while initialising the machine/s,
    );
    expect(third!.status).toBe('skip');
    expect(third!.reason).toMatch(
      /failed the same way \(exits\/cpuid, exits\/vmcall\): QEMU was ended by signal SIGSEGV before the guest ran: qemu-system-x86_64: fake crash while initialising the machine;/,
    );

    const all = run('crash-exits-all', 'crash-qemu', ['exits', '--quick', '--accel', 'tcg', '--keep-going']);
    expect(all.code).toBe(1);
    expect(all.results.cases.map((c) => c.status)).toEqual(exitTestNames().map(() => 'error'));
  });
});

describe('the real QEMU, paused', () => {
  it("ends at the budget a suite sets, with QMP's run state where QMP is on", () => {
    const dir = join(tmp, 'suites');
    mkdirSync(dir, { recursive: true });
    const file = join(dir, 'paused.yaml');
    writeFileSync(
      file,
      'suite: paused\ninclude:\n  - suite: boot-linux\n    only: [q35]\n    quick: true\n    set: { startup: 2 }\n  - suite: exits\n    only: [cpuid]\n    quick: true\n    set: { startup: 2 }\n',
    );
    const r = run('paused', 'paused-qemu', [file, '--accel', 'tcg', '--keep-going']);
    expect(r.code, r.stderr).toBe(1);
    const [linux, exits] = r.results.cases;
    expect(linux!.reason).toMatch(
      /^verbose boot: QEMU started but the guest never ran: no byte from the guest within the startup budget of 2 s \(suite field `startup`\); QMP query-status: prelaunch \(not running\)/,
    );
    // The exits guest under TCG has no QMP: the reason says what it can.
    expect(exits!.reason).toMatch(
      /^QEMU started but the guest never ran: no byte from the guest within the startup budget of 2 s \(suite field `startup`\); QEMU was ended by kvmbench/,
    );
    expect(exits!.durationMs).toBeLessThan(10_000);
  });
});

describe('inputs that are not what they claim', () => {
  const cli = (...args: string[]) => runCli(args, {}, 60_000);

  it('doctor --root: a file, an empty directory, a directory without a manifest are exit 2 saying what was found', () => {
    const empty = join(tmp, 'empty');
    const other = join(tmp, 'other');
    mkdirSync(empty, { recursive: true });
    mkdirSync(join(other, 'proc'), { recursive: true });
    for (const [path, found] of [
      ['/etc/passwd', /found a text file of \d+ bytes beginning 'root:/],
      [empty, /found an empty directory/],
      [other, /no host\.json manifest\); found a directory holding 1 entry \(proc\)/],
    ] as const) {
      const r = cli('doctor', '--root', path);
      expect(r.status, r.stderr).toBe(2);
      expect(r.stderr).toMatch(found);
      expect(r.stderr).toMatch(/hint: a snapshot is a directory with host\.json .*`kvmbench doctor --save-host DIR`/);
    }
  });

  it('--kernel that is no bzImage or ELF is exit 2 before anything is written; report on a directory without results is exit 2', () => {
    const out = join(tmp, 'kernel-out');
    const r = cli('run', 'boot-linux', '--accel', 'tcg', '--kernel', '/etc/passwd', '--output', out);
    expect(r.status, r.stderr).toBe(2);
    expect(r.stderr).toMatch(
      /--kernel \/etc\/passwd: expected a Linux kernel image \(a bzImage, or an ELF vmlinux\); found a text file/,
    );
    expect(existsSync(out)).toBe(false);
    const rep = cli('report', join(tmp, 'empty'));
    expect(rep.status).toBe(2);
    expect(rep.stderr).toMatch(/no results\.json or results\.jsonl in this directory; found an empty directory/);
  });
});
