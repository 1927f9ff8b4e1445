/**
 * The nested lab's CI lane (docs/nested.md): kvmbench runs itself one level down, in an L1 guest
 * with real KVM (kvm_amd under TCG's AMD-V on a host without nesting), so the native path users run
 * (exit declarations judged, the `native` rule, the `nested` flavour, the raw VMM and kvm.run on
 * kvm_amd, fail-fast on a KVM internal error) is proven on every machine, KVM or none.
 * One L1 boot for the lane, one more for Ctrl-C. Needs `apt-get download` of Debian's standard
 * kernel once (cached under build/linux).
 */
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, existsSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { validateResults } from '../../src/results/load.js';
import { packageRoot } from '../../src/version.js';
import { markedQemu } from '../helpers/processes.js';
import { guestImage } from '../../src/guests/index.js';
import { l1Hostname } from '../../src/nested/l1.js';

const root = packageRoot();
const tmp = mkdtempSync(join(tmpdir(), 'kvmb-nested-'));
const MARK = `nested-${process.pid}`;
const env = { ...process.env, NO_COLOR: '1', CI: '1', KVMB_E2E_MARK: MARK };

const trees: string[] = [];
afterAll(() => {
  for (const t of trees) rmSync(t, { recursive: true, force: true });
  expect(markedQemu(MARK)).toEqual([]);
});

describe('the nested lab: kvmbench inside an L1 guest with KVM', () => {
  it('one L1 boot: the doctor (nested, kvm_amd, kvm.run), exits --quick native and judged, raw --quick, a planted KVM internal error ending fast, guests/conform as kvm-unit-tests stanzas; the exit-cost table beside', async () => {
    const out = join(tmp, 'lane');
    // A kvm-unit-tests-shaped tree of kvmbench's own (guests/conform), shared with L1 read-only
    // (not under /tmp: L1 mounts its own /tmp, so a tree there is refused).
    const tree = mkdtempSync('/var/tmp/kvmb-nested-kut-');
    trees.push(tree);
    mkdirSync(join(tree, 'x86'), { recursive: true });
    copyFileSync((await guestImage('conform')).path, join(tree, 'x86', 'conform.flat'));
    copyFileSync(join(root, 'test/fixtures/kut/nested-lane.cfg'), join(tree, 'x86', 'unittests.cfg'));
    writeFileSync(join(tree, 'config.mak'), 'ARCH=x86_64\n');
    const t0 = Date.now();
    const r = spawnSync(
      process.execPath,
      [
        join(root, 'bin/run.js'),
        'run',
        join(root, 'test/fixtures/suites/nested-lab.yaml'),
        '--nested',
        '--beside',
        '--kut-dir',
        tree,
        '--store-at',
        join(tmp, 'lane.db'),
        '--output',
        out,
      ],
      {
        cwd: root,
        encoding: 'utf8',
        env,
        timeout: 900_000,
      },
    );
    const wall = (Date.now() - t0) / 1000;
    // The planted internal error is an `error` case: exit 1, everything else passed.
    expect(r.status, r.stderr.slice(-4000)).toBe(1);
    const res = validateResults(JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')));
    expect(res.run.layer).toBe(2);
    const n = res.run.nested!;
    expect(n.l1Doctor).toMatchObject({ verdict: 'pass', kvmUsable: 'true', flavor: 'nested' });
    expect(['kvm_amd', 'kvm_intel']).toContain(n.l1Doctor.module);
    expect(n.l1Doctor.kvmRun).toMatch(/^pass/);
    expect(n.l1Kernel.release).toMatch(/amd64$/);
    // No case of the lane needs two vCPUs, so L1 keeps one (docs/nested.md, "Several vCPUs at layer 2").
    expect(n.l1Vcpus).toBe(1);
    expect(res.host.kvmFlavor).toBe('nested');
    // L1 is named after this host (kb.hostname), so the history tells layer-2 runs apart by where they ran.
    expect(res.host.hostname).toBe(l1Hostname(hostname()));
    // --store-at through --nested: the layer-2 run is in the history under L1's name.
    const listed = spawnSync(
      process.execPath,
      [join(root, 'bin/run.js'), 'history', 'list', '--store', join(tmp, 'lane.db'), '--json'],
      { cwd: root, encoding: 'utf8', env },
    );
    const stored = (JSON.parse(listed.stdout) as { runs: Array<{ id: string; hostname: string; flavor?: string }> }).runs;
    expect(stored.map((x) => [x.id, x.hostname, x.flavor])).toEqual([[res.run.id, l1Hostname(hostname()), 'nested']]);

    const exits = res.cases.filter((c) => c.suite === 'exits');
    expect(exits.length).toBeGreaterThanOrEqual(16);
    for (const c of exits) {
      expect([c.id, c.status, c.reason]).toEqual([c.id, 'pass', undefined]);
      expect([c.id, c.execution?.mode]).toEqual([c.id, 'native']);
      const acc = c.facts?.exitAccounting as { judged?: boolean; checks?: Array<{ ok: boolean }> } | undefined;
      expect([c.id, acc?.judged]).toEqual([c.id, true]);
      expect(acc?.checks?.length, c.id).toBeGreaterThan(0);
      for (const m of c.metrics) expect(m.labels?.layer, `${c.id} ${m.name}`).toBe('2');
    }
    const raw = res.cases.filter((c) => c.suite === 'raw');
    expect(raw.map((c) => [c.id, c.status])).toEqual([
      ['raw/vm-create', 'pass'],
      ['raw/cpuid', 'pass'],
      ['raw/pio', 'pass'],
    ]);
    const planted = res.cases.find((c) => c.id === 'nested-lab/exec-mmio')!;
    expect(planted.status).toBe('error');
    expect(planted.reason).toMatch(/^KVM internal error/);
    expect(planted.durationMs).toBeLessThan(30_000);

    // The conformance path at layer 2: verdicts from the debug-exit status and the report lines, through the channel.
    const kut = res.cases.filter((c) => c.suite === 'kut');
    expect(kut.map((c) => [c.id, c.status])).toEqual([
      ['kut/passes', 'pass'],
      ['kut/fails', 'fail'],
      ['kut/skips', 'skip'],
      ['kut/two_vcpus', 'skip'],
    ]);
    for (const c of kut.slice(0, 3)) {
      expect([c.id, c.kind, c.accelerator]).toEqual([c.id, 'conformance', 'kvm']);
      expect(c.conformance?.checks.length, c.id).toBeGreaterThan(0);
      expect(c.log, c.id).toMatch(/^layer1\/steps\/kut\/logs\//);
    }
    expect(kut[0]!.conformance?.exitStatus).toBe(1);
    expect(kut[1]!.conformance?.exitStatus).toBe(3);
    expect(kut[3]!.reason).toMatch(/^not run at layer 2: the case needs 2 vCPUs/);
    const kutStep = validateResults(JSON.parse(readFileSync(join(out, 'layer1/steps/kut/results.json'), 'utf8'))).run;
    const kutStepSeconds = (Date.parse(kutStep.end!) - Date.parse(kutStep.start)) / 1000;

    // The exit-cost table: every exits test paired, with an interval and L1's KVM's counts at layer 2.
    const table = JSON.parse(readFileSync(join(out, 'nested-costs.json'), 'utf8')) as {
      rows: Array<{
        caseId: string;
        multiplier: number;
        ci: number[];
        l1: { median: number; accelerator: string };
        l2: { median: number; exitsPerIteration?: number };
      }>;
    };
    expect(table.rows.length).toBeGreaterThanOrEqual(10);
    for (const row of table.rows)
      expect(Number.isFinite(row.multiplier) && row.ci[0]! <= row.multiplier && row.multiplier <= row.ci[1]!, row.caseId).toBe(
        true,
      );
    expect(readFileSync(join(out, 'nested-costs.html'), 'utf8')).toMatch(/<svg[\s\S]*exits\/cpuid/);
    expect(r.stdout).toMatch(/nested exit costs:/);
    console.log(
      [
        `nested lab lane: ${wall.toFixed(0)} s wall (L1 under ${n.outerAccelerator}, -cpu ${n.l1Cpu}); per test:`,
        ...table.rows.map(
          (row) =>
            `  ${row.caseId.padEnd(26)} L1 ${row.l1.accelerator} ${row.l1.median.toFixed(0)} ns  L2 ${row.l2.median.toFixed(0)} ns  ×${row.multiplier.toFixed(1)} [${row.ci[0]!.toFixed(1)}, ${row.ci[1]!.toFixed(1)}]  exits/iter L2 ${row.l2.exitsPerIteration?.toFixed(2) ?? '–'}`,
        ),
        `  planted internal error: ${(planted.durationMs / 1000).toFixed(1)} s`,
        `  kut step at layer 2 (guests/conform, ${kut.length} stanzas): ${kutStepSeconds.toFixed(1)} s of the lane's wall time`,
      ].join('\n'),
    );
    expect(markedQemu(MARK)).toEqual([]);
  }, 900_000);

  it('Ctrl-C while L1 runs its cases: exit 130 within seconds, nothing left running here, the results directory says interrupted', async () => {
    const out = join(tmp, 'sigint');
    // One-vCPU cases: L1 keeps one vCPU (two are not stable under an outer TCG, docs/nested.md).
    const only = ['--only', 'cpuid', '--only', 'inl_from_qemu', '--only', 'vmcall'];
    const child = spawn(
      process.execPath,
      [join(root, 'bin/run.js'), 'run', 'exits', '--quick', '--nested', ...only, '--output', out],
      {
        cwd: root,
        env,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stderr = '';
    let sentAt = 0;
    const code = await new Promise<number | null>((resolve) => {
      child.stderr.on('data', (b: Buffer) => {
        stderr += b.toString();
        // The first case has started at layer 2: L1 is up, its kvmbench and an L2 QEMU are running.
        if (!sentAt && /L1 │ .*exits\/cpuid/.test(stderr)) {
          sentAt = Date.now();
          child.kill('SIGINT');
        }
      });
      child.stdout.resume();
      child.on('exit', (c) => resolve(c));
      setTimeout(() => child.kill('SIGKILL'), 300_000);
    });
    expect(sentAt, stderr.slice(-3000)).toBeGreaterThan(0);
    const after = (Date.now() - sentAt) / 1000;
    expect(code, stderr.slice(-3000)).toBe(130);
    expect(after).toBeLessThan(20);
    expect(markedQemu(MARK)).toEqual([]);
    expect(existsSync(join(out, 'results.json'))).toBe(true);
    const res = validateResults(JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')));
    expect(res.run.state).toBe('interrupted');
    expect(res.run.layer).toBe(2);
    console.log(`nested Ctrl-C: exit ${code} ${after.toFixed(1)} s after SIGINT, ${res.cases.length} case(s) kept`);
  }, 360_000);
});
