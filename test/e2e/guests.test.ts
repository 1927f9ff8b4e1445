/**
 * The micro guests under real QEMU (TCG here): they build, boot on every machine
 * type, the exits executor yields every test as pass or skip, and hangs are killed
 * at their deadline with a message that says where the guest stopped.
 * Executors are called through the CaseExecutor interface with a real context.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { executorFor } from '../../src/cases/index.js';
import { exitTestNames } from '../../src/cases/exits.js';
import { guestImage, guestImagePath } from '../../src/guests/index.js';
import { Results } from '../../src/results/model.js';
import { Value } from '@sinclair/typebox/value';
import { loadSuite } from '../../src/suites/load.js';
import type { CaseContext, CaseOutcome, CaseSpec } from '../../src/cases/types.js';
import { launchQemu, liveQemuPids } from '../../src/vmm/launch.js';
import { smokeBoot } from '../../src/vmm/smoke.js';
import { caseContext, caseSpec } from '../helpers/case-context.js';

let outDir: string;

beforeAll(() => {
  outDir = mkdtempSync(join(tmpdir(), 'kvmb-e2e-guests-'));
});

afterAll(() => {
  rmSync(outDir, { recursive: true, force: true });
});

function context(id: string, deadlineSec: number, quick = true, controller?: AbortController): CaseContext {
  return caseContext({ accel: 'tcg', dir: outDir, name: id, deadlineSec, quick, ...(controller ? { controller } : {}) });
}

/** Exits cases as the shipped suite configures them (q35 with qboot, in-kernel irqchip). */
function spec(partial: Partial<CaseSpec> & { id: string; kind: string }): CaseSpec {
  const exitsArgs: Record<string, string> = partial.kind === 'exits' ? { firmware: 'qboot', irqchip: 'on' } : {};
  return caseSpec({ accel: ['tcg'], ...partial, args: { ...exitsArgs, ...partial.args } });
}

/** A case result as the runner would record it, validated against the results schema. */
function validate(id: string, o: CaseOutcome): void {
  const results = {
    schema: 'kvmbench.results/1',
    run: {
      id: 'e2e',
      suite: 'exits',
      start: new Date().toISOString(),
      kvmbenchVersion: '0',
      argv: [],
      accelerator: 'tcg',
      quick: true,
      state: 'complete',
    },
    host: {},
    cases: [{ ...o, id, suite: 'exits', startedAt: new Date().toISOString(), durationMs: 1 }],
  };
  const errors = [...Value.Errors(Results, results)].map((e) => `${e.path}: ${e.message}`);
  expect(errors).toEqual([]);
}

describe('guest images', () => {
  it('build into build/guests as 32-bit ELF multiboot containers with a sha256', async () => {
    for (const name of ['hello', 'exits']) {
      const path = guestImagePath(name);
      expect(existsSync(path)).toBe(true);
      const head = readFileSync(path).subarray(0, 5);
      expect([...head]).toEqual([0x7f, 0x45, 0x4c, 0x46, 1]); // ELF, class 32
      const img = await guestImage(name);
      expect(img.sha256).toMatch(/^[0-9a-f]{64}$/);
      expect(img.mode).toBe('long64');
    }
  });
});

describe('boots on every machine type', () => {
  for (const machine of ['microvm', 'q35', 'pc'] as const) {
    it(`hello reaches long mode and exits through isa-debug-exit on ${machine}`, async () => {
      const img = await guestImage('hello');
      let entry = false;
      const r = await launchQemu({
        qemu: { machine, accel: 'tcg', kernel: img.path },
        timeoutMs: 15_000,
        logPath: join(outDir, 'logs', `hello-${machine}.log`),
        onDebugBytes: (b) => {
          entry ||= b.includes(0x45);
        },
      });
      expect(r.status, r.reason).toBe('pass');
      expect(r.exitCode).toBe(1);
      expect(r.transcript.hello?.mode).toBe('long64');
      expect(entry).toBe(true);
      expect(r.timeline.firstDebugByteNs).toBeDefined();
      expect(readFileSync(join(outDir, 'logs', `hello-${machine}.log`), 'utf8')).toContain('KVMB1 end status=pass');
    });
  }
});

describe('exits executor under TCG', () => {
  it('the shipped suite lists exactly the tests the guest knows', () => {
    const suite = loadSuite('exits', { quick: true });
    expect(suite.cases.map((c) => c.args.test).sort()).toEqual(exitTestNames().sort());
  });

  it('produces every test as pass or skip, with metrics on pass and a reason on skip', async () => {
    const suite = loadSuite('exits', { quick: true });
    const exec = executorFor('exits')!;
    const seen: Record<string, string> = {};
    for (const c of suite.cases) {
      const o = await exec.run(c, context(c.id, c.deadlineSec));
      seen[c.id] = o.status;
      expect(['pass', 'skip'], `${c.id}: ${o.reason}`).toContain(o.status);
      expect(o.accelerator).toBe('tcg');
      expect(o.guest?.sha256).toMatch(/^[0-9a-f]{64}$/);
      if (o.status === 'skip') expect(o.reason).toBeTruthy();
      else {
        // The headline is an exit latency, a cost (no exit needed natively) or a wake-up latency.
        const lat = o.metrics.find((m) => m.headline);
        expect(lat?.name, c.id).toMatch(new RegExp(`^${String(c.args.test)}\\.(latency|cost|wake_latency)$`));
        expect(lat!.unit).toBe('ns');
        expect(lat!.samples.length).toBeGreaterThanOrEqual(10);
        expect(lat!.summary.n).toBe(lat!.samples.length);
        expect(lat!.method).toMatch(/TCG/);
        expect(lat!.execution).toBe('tcg');
        expect(o.execution?.mode).toBe('tcg');
        expect(o.vm).toMatchObject({ machine: 'q35', firmware: 'qboot', cpu: 'max' });
        expect(o.vm?.tsc_source).toBeTruthy();
        expect(o.facts?.tscSource).not.toBe('none');
        // Under TCG there are no VM exits to count, and none are invented.
        expect(o.metrics.some((m) => m.name.endsWith('.exits_per_iteration'))).toBe(false);
        expect(o.facts?.exitAccounting).toMatch(/TCG/);
      }
      validate(`exits/${c.id}`, o);
    }
    // TCG emulates these: they must run, not skip.
    for (const id of ['cpuid', 'mov_to_cr8', 'inl_from_qemu', 'inl_from_pmtimer', 'mmio_from_qemu', 'hlt_lapic_timer'])
      expect(seen[id]).toBe('pass');
  });

  it('skips what the machine lacks: no PM timer on microvm', async () => {
    const o = await executorFor('exits')!.run(
      spec({ id: 'inl_from_pmtimer', kind: 'exits', machine: 'microvm', args: { test: 'inl_from_pmtimer' } }),
      context('pm-microvm', 20),
    );
    expect(o.status).toBe('skip');
    expect(o.reason).toMatch(/PM timer/);
  });

  it('kills a guest that hangs mid-test at its deadline and says where it stopped', async () => {
    const t0 = Date.now();
    const o = await executorFor('exits')!.run(
      spec({ id: 'cpuid', kind: 'exits', args: { test: 'cpuid', spin: true } }),
      context('hang-mid', 3),
    );
    const took = Date.now() - t0;
    expect(o.status).toBe('error');
    expect(o.reason).toMatch(/timeout/);
    expect(o.reason).toMatch(/stopped in test cpuid after 0 of 10 samples/);
    expect(o.reason).toMatch(/KVMB1 test name=cpuid/);
    expect(took).toBeLessThan(6000);
    expect(liveQemuPids()).toEqual([]);
    expect(readFileSync(join(outDir, 'logs', 'hang-mid.log'), 'utf8')).toMatch(/killed at deadline/);
  });

  it('says "no output" for a guest that hangs before its first line', async () => {
    const o = await executorFor('exits')!.run(
      spec({ id: 'cpuid', kind: 'exits', args: { test: 'cpuid', hang: 'entry' } }),
      context('hang-entry', 2),
    );
    expect(o.status).toBe('error');
    expect(o.reason).toMatch(/no output from the guest|no protocol hello/);
  });

  it('reports a guest crash (unexpected exception) as an error with the vector', async () => {
    const o = await executorFor('exits')!.run(
      spec({ id: 'cpuid', kind: 'exits', args: { test: 'cpuid', crash: true } }),
      context('crash', 10),
    );
    expect(o.status).toBe('error');
    expect(o.reason).toMatch(/guest crashed/);
    expect(o.reason).toMatch(/vector=6/);
  });

  it('kills the guest at once when the case is aborted', async () => {
    const controller = new AbortController();
    const ctx = context('abort', 30, true, controller);
    setTimeout(() => controller.abort(), 800);
    const t0 = Date.now();
    const o = await executorFor('exits')!.run(spec({ id: 'cpuid', kind: 'exits', args: { test: 'cpuid', spin: true } }), ctx);
    expect(o.status).toBe('error');
    expect(o.reason).toMatch(/aborted/);
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(liveQemuPids()).toEqual([]);
  });
});

describe('boot-micro executor under TCG', () => {
  it('times N boots per machine with a spawn → entry → exit timeline', async () => {
    const o = await executorFor('boot-micro')!.run(
      spec({ id: 'microvm', kind: 'boot-micro', machine: 'microvm', repeat: 3 }),
      context('boot-microvm', 30),
    );
    expect(o.status, o.reason).toBe('pass');
    const byName = Object.fromEntries(o.metrics.map((m) => [m.name, m]));
    for (const name of ['boot.spawn_to_entry', 'boot.entry_to_exit', 'boot.spawn_to_exit', 'boot.launch_call']) {
      expect(byName[name], name).toBeDefined();
      expect(byName[name]!.samples).toHaveLength(3);
      expect(byName[name]!.interval.length).toBeGreaterThan(20);
      expect(byName[name]!.sampling, name).toMatchObject({ reason: 'fixed', n: 3 });
    }
    const s = byName['boot.spawn_to_entry']!.summary.median + byName['boot.entry_to_exit']!.summary.median;
    expect(Math.abs(s - byName['boot.spawn_to_exit']!.summary.median)).toBeLessThan(50);
    validate('boot-micro/microvm', o);
  });

  it('keeps the boots already timed when the case is cut short', async () => {
    const ac = new AbortController();
    setTimeout(() => ac.abort(new Error('interrupted by SIGINT')), 1500);
    const o = await executorFor('boot-micro')!.run(
      spec({ id: 'pc', kind: 'boot-micro', machine: 'pc', repeat: 500 }),
      context('boot-cut-short', 60, true, ac),
    );
    expect(o.status).toBe('error');
    const total = o.metrics.find((m) => m.name === 'boot.spawn_to_exit');
    expect(total, o.reason).toBeDefined();
    expect(total!.summary.n).toBeGreaterThan(0);
    expect(total!.summary.n).toBeLessThan(500);
    expect(total!.method).toMatch(new RegExp(`^host clock .*; ${total!.summary.n} of 500 planned boots`));
    expect(total!.sampling).toMatchObject({ reason: 'cut-short', n: total!.summary.n });
    expect(total!.sampling!.note).toMatch(new RegExp(`^cut short: ${total!.summary.n} of 500 samples arrived`));
    validate('boot-micro/pc', o);
  });
});

describe('launcher robustness', () => {
  it('an unwritable log path does not crash the launch', async () => {
    const img = await guestImage('hello');
    const r = await launchQemu({
      qemu: { machine: 'microvm', accel: 'tcg', kernel: img.path },
      timeoutMs: 15_000,
      logPath: '/proc/kvmb-no/such.log',
    });
    expect(r.status, r.reason).toBe('pass');
  });

  it('ends a guest that printed and then stopped making progress at its progress budget, not its deadline', async () => {
    const img = await guestImage('conform');
    const t0 = Date.now();
    const r = await launchQemu({
      qemu: { machine: 'pc', accel: 'tcg', kernel: img.path, append: 'hang' },
      timeoutMs: 60_000,
      silenceMs: 2_000,
      logPath: join(outDir, 'logs', 'silence.log'),
    });
    const wall = Date.now() - t0;
    expect(r.status).toBe('error');
    expect(r.timedOut).toBe(false);
    expect(r.reason).toMatch(/printed nothing for \d+ s \(progress budget 2 s\): it stopped making progress/);
    expect(r.reason).toContain('PASS: conform: cpuid leaf 1 answers');
    expect(wall).toBeLessThan(30_000);
    expect(readFileSync(join(outDir, 'logs', 'silence.log'), 'utf8')).toContain('(ended at the progress budget)');
  });

  it('keeps a guest that prints more often than its progress budget', async () => {
    const img = await guestImage('hello');
    const r = await launchQemu({
      qemu: { machine: 'microvm', accel: 'tcg', kernel: img.path },
      timeoutMs: 15_000,
      silenceMs: 10_000,
    });
    expect(r.status, r.reason).toBe('pass');
  });
});

describe('smoke boot', () => {
  it('boots the smallest guest once under TCG', async () => {
    const r = await smokeBoot({ accel: 'tcg', timeoutMs: 15_000 });
    expect(r.ok, r.detail).toBe(true);
    expect(r.evidence.guestMode).toBe('long64');
  });
});
