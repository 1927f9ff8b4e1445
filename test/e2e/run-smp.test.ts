/**
 * Several vCPUs, end to end through the built CLI under TCG (issue: SMP guests): the IPI tests
 * on two vCPUs pass with every interrupt counted, an AP that never starts ends the case as an
 * error within its bring-up deadline, the scaling case gives per-vCPU figures at 1 and 2 vCPUs
 * and its chart renders in headless Chromium, a boot sweep at 1, 2 and 4 vCPUs gives three
 * figures that compare pairs, and --pin is recorded and judged a configuration difference.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validateResults } from '../../src/results/load.js';
import type { Results } from '../../src/results/model.js';
import { runCli } from '../helpers/cli.js';

let tmp: string;
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'kvmb-e2e-smp-'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function results(dir: string): Results {
  return validateResults(JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8')));
}

const CHROMIUM = process.env.KVMBENCH_CHROMIUM ?? '/usr/bin/chromium';

describe('several vCPUs under TCG', () => {
  it('run exits --only ipi --only ipi_halt (--pin): both pass on two vCPUs with every IPI counted; compare flags the pin', () => {
    const out = join(tmp, 'ipi');
    const r = runCli(
      ['run', 'exits', '--only', 'ipi', '--only', 'ipi_halt', '--quick', '--accel', 'tcg', '--pin', '--output', out],
      {},
      240_000,
    );
    expect(r.status, r.stderr + r.stdout).toBe(0);
    const res = results(out);
    expect(res.cases.map((c) => c.id)).toEqual(['exits/ipi', 'exits/ipi_halt']);
    for (const c of res.cases) {
      expect(c.status, `${c.id}: ${c.reason}`).toBe('pass');
      expect(c.vm).toMatchObject({ vcpus: '2', pin: 'vcpu-k-to-cpu-k' });
      const [got, want] = String(c.facts?.interruptsDelivered).split(' of ').map(Number);
      expect(got).toBeGreaterThan(0);
      expect(got).toBe(want);
      expect(c.metrics.find((m) => m.headline)?.labels).toMatchObject({ vcpus: '2' });
      expect(String(c.facts?.qemuArgv)).toContain('-smp,2');
    }
    // The same tests unpinned: compare names the configuration difference on every pair.
    const plain = join(tmp, 'ipi-plain');
    expect(runCli(['run', 'exits', '--only', 'ipi', '--quick', '--accel', 'tcg', '--output', plain], {}, 240_000).status).toBe(0);
    const cmp = runCli(['compare', plain, out], {}, 60_000);
    expect(cmp.stdout).toMatch(/VM configuration differs: pin/);
  });

  it('an AP that never starts (no_sipi) ends the case as an error within its bring-up deadline, not at the case deadline', () => {
    const suite = join(tmp, 'no-ap.yaml');
    writeFileSync(
      suite,
      'suite: no-ap\ndefaults: { kind: exits, guest: exits, machine: q35, deadline: 60, args: { firmware: qboot } }\ncases:\n  - id: ipi\n    args: { test: ipi, no_sipi: true }\n',
    );
    const out = join(tmp, 'no-ap');
    const r = runCli(['run', suite, '--accel', 'tcg', '--output', out], {}, 120_000);
    expect(r.status).toBe(1);
    const c = results(out).cases[0]!;
    expect(c.status).toBe('error');
    expect(c.reason).toMatch(/vCPU bring-up failed: vCPU 1 \(APIC ID 1\) did not start within 2000 ms/);
    expect(c.durationMs).toBeLessThan(45_000);
  });

  it('the scaling case gives per-vCPU and mean figures at 1 and 2 vCPUs, and its chart renders', async () => {
    const out = join(tmp, 'scaling');
    const r = runCli(['run', 'smp', '--only', 'exit-scaling', '--quick', '--accel', 'tcg', '--output', out], {}, 300_000);
    expect(r.status, r.stderr + r.stdout).toBe(0);
    const c = results(out).cases[0]!;
    expect(c.status, c.reason).toBe('pass');
    const counts = Math.min(availableParallelism(), 2) === 2 ? ['1', '2'] : ['1'];
    for (const test of ['cpuid', 'inl_from_qemu']) {
      const lat = c.metrics.filter((m) => m.name === `${test}.latency`);
      expect([...new Set(lat.map((m) => m.labels?.vcpus))].sort()).toEqual(counts);
      // Every vCPU's own figure at each count, and their mean.
      for (const n of counts) {
        const at = lat
          .filter((m) => m.labels?.vcpus === n)
          .map((m) => m.labels?.vcpu)
          .sort();
        expect(at).toEqual([...[...Array(Number(n)).keys()].map(String), 'all'].sort());
      }
      for (const m of lat) {
        expect(m.unit).toBe('ns');
        expect(m.accelerator).toBe('tcg');
        expect(m.summary.n).toBe(11);
        expect(m.summary.median).toBeGreaterThan(0);
      }
    }
    const text = runCli(['report', out, '--format', 'text'], {}, 60_000);
    expect(text.stdout).toMatch(
      counts.length === 2 ? /cpuid\.latency \{[^}]*vcpu=1,vcpus=2\}: median/ : /cpuid\.latency \{[^}]*vcpu=0,vcpus=1\}: median/,
    );
    if (!existsSync(CHROMIUM) && !process.env.CI) return;
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu'],
      headless: true,
    });
    try {
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      await page.goto(pathToFileURL(join(out, 'report.html')).href, { waitUntil: 'load' });
      expect(await page.locator('#vcpus svg.scaling').count()).toBe(2); // ns and ticks
      expect(await page.locator('#vcpus svg.scaling circle.point').count()).toBe(2 * 2 * counts.length);
      const box = await page.locator('#vcpus svg.scaling').first().boundingBox();
      expect(box?.width).toBeGreaterThan(200);
      expect(errors).toEqual([]);
      await page.screenshot({ path: join(tmpdir(), 'kvmbench-smp-scaling.png'), fullPage: false });
    } finally {
      await browser.close();
    }
  });

  it('a boot sweep at 1, 2 and 4 vCPUs gives three figures with vcpus in their identity, which compare pairs', () => {
    const suite = join(tmp, 'sweep.yaml');
    writeFileSync(
      suite,
      'suite: sweep\ncases:\n  - id: microvm\n    kind: boot-micro\n    guest: hello\n    machine: microvm\n    repeat: 3\n    deadline: 240\n    args: { vcpu_sweep: ["1", "2", "4"] }\n',
    );
    const out = join(tmp, 'sweep');
    const r = runCli(['run', suite, '--accel', 'tcg', '--output', out], {}, 300_000);
    expect(r.status, r.stderr + r.stdout).toBe(0);
    const c = results(out).cases[0]!;
    expect(c.vm?.vcpu_sweep).toBe('1,2,4');
    const heads = c.metrics.filter((m) => m.name === 'boot.spawn_to_exit');
    expect(heads.map((m) => m.labels?.vcpus)).toEqual(['1', '2', '4']);
    expect(heads.every((m) => m.summary.n === 3)).toBe(true);
    // With more than one vCPU the guest started every AP: its bring-up is a figure of its own.
    expect(c.metrics.filter((m) => m.name === 'guest.ap_bringup').map((m) => m.labels?.vcpus)).toEqual(['2', '4']);
    const cmp = runCli(['compare', out, out, '--format', 'json'], {}, 60_000);
    const keys = (JSON.parse(cmp.stdout).pairs[0].metrics as Array<{ key: string }>)
      .map((m) => m.key)
      .filter((k) => k.includes('boot.spawn_to_exit'));
    expect(keys).toEqual(['1', '2', '4'].map((n) => `sweep/microvm/boot.spawn_to_exit{guest=hello,machine=microvm,vcpus=${n}}`));
  });
});
