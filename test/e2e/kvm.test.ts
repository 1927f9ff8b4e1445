/**
 * The KVM lane, through the built CLI, on whatever KVM this host has; and the same CLI with
 * KVM hidden (KVMBENCH_KVM_DEVICE names a device that does not exist), so both kinds of host
 * are exercised on one machine. Tests that need usable KVM skip, with the probe's reason in
 * their title, where there is none.
 *
 * Under KVM: the doctor's verdict and flavour, every exit test as pass or skip with KVM's own
 * exit counts and an execution mode that agrees with the flavour, a micro boot, a planted
 * interrupt-delivery failure that must fail its case, a guest KVM cannot run that must end
 * within seconds with the decoded reason, and on a PVM host the Linux cases' skip reasons.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exitTestNames } from '../../src/cases/exits.js';
import { probeKvm } from '../../src/kvm/probe.js';
import { validateResults } from '../../src/results/load.js';
import { runCli } from '../helpers/cli.js';
import { markedQemu } from '../helpers/processes.js';

const probe = probeKvm();
const kvm = probe.usable;
const noKvm = `needs usable KVM; here: ${probe.reason ?? probe.stage}`;
const HIDDEN = { KVMBENCH_KVM_DEVICE: '/nonexistent/kvm' };
// Every QEMU the CLI starts from here inherits this mark, so only this file's guests are counted.
const MARK = `kvm-${process.pid}-${Date.now()}`;
let tmp: string;
const flavor = (): string => {
  const r = cli(['doctor', '--json']);
  return (JSON.parse(r.stdout) as { kvm: { flavor: { name: string } } }).kvm.flavor.name;
};

function cli(args: string[], env: Record<string, string> = {}) {
  return runCli(args, { KVMB_E2E_MARK: MARK, ...env });
}

function suiteFile(name: string, body: string): string {
  const f = join(tmp, `${name}.yaml`);
  writeFileSync(f, `suite: ${name}\n${body}`);
  return f;
}

beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'kvmb-e2e-kvm-'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe.skipIf(!kvm)(`on this host's KVM (${kvm ? 'usable' : noKvm})`, () => {
  it('the doctor says KVM is usable, names its flavour with evidence, and exits 0 for profile kvm', () => {
    const r = cli(['doctor', '--json']);
    expect(r.status, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout) as {
      kvm: { usable: boolean; flavor: { name: string; evidence: string[]; meaning: string } };
      checks: Array<{ id: string; status: string; evidence: string[] }>;
      host: { kvmFlavor: string };
    };
    expect(j.kvm.usable).toBe(true);
    expect(['bare-metal', 'nested', 'pvm', 'unknown']).toContain(j.kvm.flavor.name);
    expect(j.kvm.flavor.evidence.join('\n')).toMatch(/KVM modules: kvm/);
    expect(j.host.kvmFlavor).toBe(j.kvm.flavor.name);
    const check = j.checks.find((c) => c.id === 'kvm.flavor')!;
    expect(check.status).toBe('pass');
    // On a PVM or nested host, the bench profile warns about what the figures mean.
    const bench = cli(['doctor', '--profile', 'bench', '--json']);
    const bj = JSON.parse(bench.stdout) as { checks: Array<{ id: string; status: string }> };
    const fit = bj.checks.find((c) => c.id === 'bench.kvm-flavor')!;
    expect(fit.status).toBe(j.kvm.flavor.name === 'bare-metal' ? 'pass' : j.kvm.flavor.name === 'unknown' ? 'skip' : 'warn');
  });

  it('doctor --boot boots a micro guest and says whether its code ran natively or emulated', () => {
    const r = cli(['doctor', '--boot', '--json']);
    const j = JSON.parse(r.stdout) as { checks: Array<{ id: string; status: string; evidence: string[] }> };
    const smoke = j.checks.find((c) => c.id === 'kvm.boot-smoke')!;
    expect(smoke.status, smoke.evidence.join('\n')).toBe('pass');
    expect(smoke.evidence.join('\n')).toMatch(/execution (native|emulated): empty loop: [\d,.]+ TSC ticks per iteration/);
  });

  it('run exits --quick --accel kvm: every test passes or skips with a reason; KVM counts the exits; the mode agrees with the flavour', () => {
    const out = join(tmp, 'exits');
    const t0 = Date.now();
    const r = cli(['run', 'exits', '--quick', '--accel', 'kvm', '--output', out]);
    const sec = (Date.now() - t0) / 1000;
    expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(0);
    console.log(`run exits --quick --accel kvm: ${sec.toFixed(1)} s wall`);
    const res = validateResults(JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')));
    expect(res.run.accelerator).toBe('kvm');
    expect(res.run.cpu).toMatch(/^host,\+invtsc/);
    expect(res.cases.map((c) => c.id).sort()).toEqual(
      exitTestNames()
        .map((t) => `exits/${t}`)
        .sort(),
    );
    const expectedMode =
      res.host.kvmFlavor === 'pvm'
        ? 'emulated'
        : res.host.kvmFlavor === 'bare-metal' || res.host.kvmFlavor === 'nested'
          ? 'native'
          : undefined;
    if (expectedMode) expect(res.run.execution?.mode).toBe(expectedMode);
    const table: string[] = [];
    for (const c of res.cases) {
      expect(['pass', 'skip'], `${c.id}: ${c.reason}`).toContain(c.status);
      if (c.status === 'skip') {
        expect(c.reason!.length).toBeGreaterThan(20);
        continue;
      }
      const test = c.id.split('/')[1]!;
      const perIter = c.metrics.find((m) => m.name === `${test}.exits_per_iteration`);
      expect(perIter, `${c.id} has KVM's exit counts`).toBeDefined();
      expect(perIter!.samples.length).toBeGreaterThanOrEqual(11);
      if (expectedMode) expect(c.execution?.mode, c.id).toBe(expectedMode);
      expect(c.metrics.every((m) => m.execution === c.execution?.mode)).toBe(true);
      expect(c.vm).toMatchObject({ machine: 'q35', firmware: 'qboot', irqchip: 'on' });
      const ticks = c.metrics.find((m) => m.name === `${test}.ticks`)!.summary.median;
      const emul = c.metrics.find((m) => m.name === `${test}.kvm.insn_emulation`)?.summary.median ?? 0;
      table.push(
        `${test.padEnd(20)} ${ticks.toFixed(0).padStart(9)} ticks  ${perIter!.summary.median.toFixed(3).padStart(7)} exits/iter  ${emul.toFixed(2).padStart(7)} insn_emulation/iter  ${c.execution?.mode}`,
      );
    }
    console.log(`exits under KVM (${res.host.kvmFlavor}):\n${table.join('\n')}`);
    // A port read from an unassigned port is one exit an iteration, natively and under PVM's emulator alike.
    const qemuIo = res.cases.find((c) => c.id === 'exits/inl_from_qemu')!;
    expect(qemuIo.metrics.find((m) => m.name === 'inl_from_qemu.exits_per_iteration')!.summary.median).toBeGreaterThan(0.9);
    expect(qemuIo.metrics.find((m) => m.name === 'inl_from_qemu.exits_per_iteration')!.summary.median).toBeLessThan(1.1);
    // The HTML report shows the execution mode.
    expect(readFileSync(join(out, 'report.html'), 'utf8')).toContain(res.cases.find((c) => c.status === 'pass')!.execution!.mode);
  });

  it('a micro boot under KVM carries the execution mode of the run', () => {
    const out = join(tmp, 'boot');
    const r = cli(['run', 'boot-micro', '--quick', '--accel', 'kvm', '--only', 'microvm', '--output', out]);
    expect(r.status, r.stderr).toBe(0);
    const res = validateResults(JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')));
    const c = res.cases[0]!;
    expect(c.status).toBe('pass');
    expect(c.execution?.mode).toBe(res.run.execution?.mode);
    expect(c.execution?.evidence.join(' ')).toMatch(/calibration boot/);
  });

  it('a planted delivery failure (the timer masked) fails its case, with the register the guest read', () => {
    const f = suiteFile(
      'planted',
      `defaults: { kind: exits, guest: exits, machine: q35, accel: [kvm], deadline: 60, args: { firmware: qboot, irqchip: "on" } }\ncases:\n  - id: timer-masked\n    args: { test: hlt_lapic_timer, mask_irq: true }\n`,
    );
    const out = join(tmp, 'planted');
    const r = cli(['run', f, '--accel', 'kvm', '--output', out]);
    expect(r.status).toBe(1);
    const c = validateResults(JSON.parse(readFileSync(join(out, 'results.json'), 'utf8'))).cases[0]!;
    expect(c.status).toBe('fail');
    const lvt = /LAPIC timer is masked: hlt would never wake lvt_timer=0x([0-9a-f]+)/.exec(c.reason ?? '');
    expect(lvt, c.reason).not.toBeNull();
    expect(parseInt(lvt![1]!, 16) & 0x10000).toBe(0x10000); // the LVT's mask bit, read back by the guest
  });

  it('a self-IPI the guest blocks fails its case natively; where guest code is emulated, the same non-delivery is a skip that says why', () => {
    const f = suiteFile(
      'planted-ipi',
      `defaults: { kind: exits, guest: exits, machine: q35, accel: [kvm], deadline: 60, args: { firmware: qboot, irqchip: "on" } }\ncases:\n  - id: ipi-blocked\n    args: { test: self_ipi_sti_nop, mask_irq: true }\n`,
    );
    const out = join(tmp, 'planted-ipi');
    cli(['run', f, '--accel', 'kvm', '--output', out]);
    const res = validateResults(JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')));
    const c = res.cases[0]!;
    if (res.run.execution?.mode === 'emulated') {
      expect(c.status).toBe('skip');
      expect(c.reason).toMatch(/interrupts not delivered \(0 of 8\).*instruction emulator/);
    } else {
      expect(c.status).toBe('fail');
      expect(c.reason).toMatch(/interrupts not delivered: 0 handled for 8 iterations/);
    }
  });

  it('a guest KVM cannot run ends within seconds, with the decoded reason, not at its deadline', () => {
    const f = suiteFile(
      'kvm-error',
      `defaults: { kind: exits, guest: exits, machine: q35, accel: [kvm], deadline: 120, args: { firmware: qboot } }\ncases:\n  - id: exec-mmio\n    args: { test: cpuid, exec_mmio: true }\n`,
    );
    const out = join(tmp, 'kvm-error');
    const t0 = Date.now();
    const r = cli(['run', f, '--accel', 'kvm', '--output', out]);
    const sec = (Date.now() - t0) / 1000;
    expect(r.status).toBe(1);
    const c = validateResults(JSON.parse(readFileSync(join(out, 'results.json'), 'utf8'))).cases[0]!;
    expect(c.status).toBe('error');
    expect(c.reason).toMatch(
      /^KVM internal error, suberror 1 \(emulation failure.*\) at RIP 0xfeb00000: no instruction bytes there, RIP is outside guest RAM/,
    );
    expect(c.durationMs).toBeLessThan(10_000);
    expect(readFileSync(join(out, c.log!), 'utf8')).toMatch(/ended after the VM stopped[\s\S]*RIP=00000000feb00000/);
    console.log(`KVM internal error case: ${(c.durationMs / 1000).toFixed(1)} s (deadline 120 s), CLI ${sec.toFixed(1)} s`);
    expect(markedQemu(MARK)).toEqual([]);
  });

  it('on a PVM host, Linux cases under KVM skip with the reason and the way out; vmcall too', () => {
    if (flavor() !== 'pvm')
      return void console.log('not a PVM host: the Linux cases boot under KVM (covered by their own suites)');
    const out = join(tmp, 'pvm-skips');
    const r = cli([
      'run',
      'quick',
      '--accel',
      'kvm',
      '--only',
      'boot-linux/*',
      '--only',
      'io/*',
      '--only',
      'net/*',
      '--only',
      'exits/vmcall',
      '--output',
      out,
    ]);
    expect(r.status, r.stderr).toBe(0);
    const res = validateResults(JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')));
    expect(res.cases.map((c) => [c.id, c.status])).toEqual([
      ['exits/vmcall', 'skip'],
      ['boot-linux/q35', 'skip'],
      ['io/virtio-blk', 'skip'],
      ['net/virtio-net', 'skip'],
    ]);
    for (const c of res.cases.filter((x) => x.suite !== 'exits')) expect(c.reason).toMatch(/PVM.*--kernel PATH.*--accel tcg/);
    expect(res.cases[0]!.reason).toMatch(/vmcall is reserved for PVM hypercalls/);
  });
});

describe('with KVM hidden (KVMBENCH_KVM_DEVICE names no device)', () => {
  it('the doctor says KVM is not usable, why, and exits 1', () => {
    const r = cli(['doctor', '--json'], HIDDEN);
    expect(r.status).toBe(1);
    const j = JSON.parse(r.stdout) as { kvm: { usable: boolean; errno: string; device: string } };
    expect(j.kvm).toMatchObject({ usable: false, errno: 'ENOENT', device: '/nonexistent/kvm' });
  });

  it('--accel kvm exits 3 before creating any output', () => {
    const out = join(tmp, 'hidden-kvm');
    const r = cli(['run', 'exits', '--accel', 'kvm', '--output', out], HIDDEN);
    expect(r.status).toBe(3);
    expect(r.stderr).toMatch(/--accel kvm: KVM is not usable here: \/nonexistent\/kvm does not exist/);
    expect(existsSync(out)).toBe(false);
  });

  it('auto falls back to TCG with a warning, and every figure says tcg', () => {
    const out = join(tmp, 'hidden-auto');
    const r = cli(['run', 'exits', '--quick', '--only', 'cpuid', '--output', out], HIDDEN);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/KVM is not usable.*running under TCG/);
    const res = validateResults(JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')));
    expect(res.run).toMatchObject({ accelerator: 'tcg', cpu: 'max' });
    expect(res.cases[0]!.execution?.mode).toBe('tcg');
    expect(res.cases[0]!.metrics.every((m) => m.execution === 'tcg')).toBe(true);
  });
});
