/**
 * The Linux guest end to end under TCG, chosen explicitly: Debian's stock kernel does not
 * boot under every KVM (a PVM host runs only PVM-enabled kernels), and these tests are about
 * kvmbench, not the host's KVM (test/e2e/kvm.test.ts covers Linux under KVM):
 * the image builds from Debian's packages, boots on q35 and microvm with a complete
 * timeline, a small I/O run yields guest and host figures, every outcome validates
 * against the results schema, and the quick suites pass through the built CLI within
 * the 3 minutes each. No QEMU may be left behind.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Value } from '@sinclair/typebox/value';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootLinuxExecutor, intervalsFor } from '../../src/cases/boot-linux.js';
import { ioExecutor } from '../../src/cases/io.js';
import { buildLinuxImage } from '../../src/linux/image.js';
import { bootLinux } from '../../src/linux/launch.js';
import { CaseResult, type Accelerator } from '../../src/results/model.js';
import { validateResults } from '../../src/results/load.js';
import type { CaseContext, CaseOutcome, CaseSpec } from '../../src/cases/types.js';
import { caseContext, caseSpec } from '../helpers/case-context.js';
import { runCli } from '../helpers/cli.js';

const accel: Accelerator = 'tcg';
let tmp: string;
// Every QEMU started from this file inherits this mark, so others' guests are never counted.
const mark = `${process.pid}-${Date.now()}`;
process.env.KVMB_E2E_LINUX_MARK = mark;

beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'kvmb-e2e-linux-'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** Live QEMU processes started from this file (found by the mark in their environment). */
function linuxQemus(): number[] {
  const pids: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const cmd = readFileSync(`/proc/${d}/cmdline`, 'latin1');
      if (!cmd.includes('qemu-system') || !readFileSync(`/proc/${d}/environ`, 'latin1').includes(`KVMB_E2E_LINUX_MARK=${mark}`))
        continue;
      if (!/^State:\s+Z/m.test(readFileSync(`/proc/${d}/status`, 'latin1'))) pids.push(Number(d));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

function spec(over: Partial<CaseSpec> & Pick<CaseSpec, 'id' | 'suite' | 'kind' | 'machine'>): CaseSpec {
  return caseSpec({ accel: [accel], memoryMiB: 256, repeat: 2, deadlineSec: 240, ...over });
}

function context(name: string, deadlineSec: number): CaseContext {
  const dir = join(tmp, name);
  return { ...caseContext({ accel, dir, name, deadlineSec, controller: new AbortController() }), logPath: join(dir, 'case.log') };
}

function asResult(o: CaseOutcome, id: string): CaseResult {
  return { ...o, id, suite: id.split('/')[0]!, startedAt: new Date().toISOString(), durationMs: 1 };
}

describe('Linux guest image', () => {
  it('builds from Debian packages, with the virtio modules in dependency order', async () => {
    const img = await buildLinuxImage({ variant: 'base' });
    expect(img.kernel.origin).toBe('debian-package');
    expect(img.kernel.package).toMatch(/^linux-image-\d.*-cloud-amd64$/);
    expect(img.modules.indexOf('virtio_ring')).toBeLessThan(img.modules.indexOf('virtio'));
    expect(img.modules.indexOf('virtio')).toBeLessThan(img.modules.indexOf('virtio_blk'));
    const again = await buildLinuxImage({ variant: 'base' });
    expect(again.cached).toBe(true);
    expect(again.initramfsSha256).toBe(img.initramfsSha256);
    // busybox reads our newc archive back: /init and the modules are in it.
    const list = execFileSync('busybox', ['cpio', '-t'], {
      input: readFileSync(img.initramfsPath),
      encoding: 'utf8',
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    expect(list).toContain('init\n');
    expect(list).toContain('lib/modules/kvmbench/virtio_blk.ko');
  });
});

describe.each(['q35', 'microvm'])('boot-linux on %s', (machine) => {
  it('boots twice with a complete timeline; the outcome validates', async () => {
    const ctx = context(`boot-${machine}`, 240);
    const out = await bootLinuxExecutor.run(spec({ id: machine, suite: 'boot-linux', kind: 'boot-linux', machine }), ctx);
    expect(out.status, out.reason).toBe('pass');
    const names = intervalsFor(machine).map(([a, b]) => `boot.${a}_to_${b}`);
    expect(out.metrics.map((m) => m.name)).toEqual(names);
    for (const m of out.metrics) {
      expect(m.samples).toHaveLength(2);
      for (const s of m.samples) expect(s).toBeGreaterThan(0);
      // Measured values are never identity: compare pairs metrics on their labels.
      expect(Object.keys(m.labels ?? {}).sort()).toEqual(['from', 'machine', 'to']);
    }
    expect(Object.keys(out.facts?.p90Ms as object)).toEqual(names);
    // The parts add up to the whole: every boot's intervals sum to spawn→init_done.
    const total = out.metrics.at(-1)!;
    const parts = out.metrics.slice(0, -1);
    for (let i = 0; i < 2; i++) expect(parts.reduce((s, m) => s + m.samples[i]!, 0)).toBeCloseTo(total.samples[i]!, 6);
    expect(out.guest?.extra?.kernelRelease).toMatch(/cloud-amd64/);
    expect(readFileSync(ctx.logPath, 'utf8')).toContain('Run /init as init process');
    expect(Value.Check(CaseResult, asResult(out, `boot-linux/${machine}`))).toBe(true);
    expect(linuxQemus()).toEqual([]);
  });
});

describe('a guest that never reaches init', () => {
  it('is not ok, and says the last phase reached and the last console lines', async () => {
    const image = await buildLinuxImage({ variant: 'base' });
    // No such init: the kernel panics after it has started, and panic=-1 ends QEMU at once.
    const r = await bootLinux({ image, machine: 'q35', accel, extraCmdline: ['rdinit=/nonexistent'], timeoutMs: 120_000 });
    expect(r.ok).toBe(false);
    expect(r.lastPhase).toBe('kernel_main');
    expect(r.marks.init_started).toBeUndefined();
    expect(r.reason).toMatch(
      /last phase reached: kernel_main; guest kernel: Kernel panic - not syncing: .*; last console lines:\n/,
    );
    expect(linuxQemus()).toEqual([]);
  });
});

describe('io', () => {
  it('a small run gives guest and host figures and their ratio; the backing file is gone afterwards', async () => {
    const ctx = context('io', 240);
    const out = await ioExecutor.run(
      spec({
        id: 'virtio-blk',
        suite: 'io',
        kind: 'io',
        machine: 'q35',
        memoryMiB: 512,
        repeat: 1,
        args: {
          cache: 'none',
          aio: 'threads',
          runtime: 1,
          ramp: 1,
          sizeMiB: 64,
          intervalMs: 100,
          jobs: ['seqread-1m', 'randwrite-4k-qd32'],
        },
      }),
      ctx,
    );
    expect(out.status, out.reason).toBe('pass');
    for (const job of ['seqread-1m', 'randwrite-4k-qd32']) {
      for (const name of ['guest', 'host', 'ratio', 'clat_p50.guest', 'clat_p99.guest', 'clat_p50.host', 'clat_p99.host']) {
        const m = out.metrics.find((x) => x.name === `io.${job}.${name}`);
        expect(m, `${job} ${name}`).toBeDefined();
        // One sample per 100 ms window of the 1 s job, guest and host alike.
        expect(m!.summary.n, `${job} ${name}`).toBeGreaterThanOrEqual(6);
        for (const v of m!.samples) expect(v).toBeGreaterThan(0);
        expect(m!.sampling?.reason).toBe('fixed');
        expect(m!.labels).toMatchObject({ side: name.split('.').pop(), job, cache: 'none', aio: 'threads' });
      }
      const ratio = out.metrics.find((x) => x.name === `io.${job}.ratio`)!;
      expect(ratio.ratio!.low).toBeLessThanOrEqual(ratio.summary.median);
      expect(ratio.ratio!.high).toBeGreaterThanOrEqual(ratio.summary.median);
    }
    expect(out.facts?.scratchFs).toBeTruthy();
    expect(readdirSync(ctx.scratchDir).filter((f) => f.endsWith('.raw'))).toEqual([]);
    expect(Value.Check(CaseResult, asResult(out, 'io/virtio-blk'))).toBe(true);
    expect(linuxQemus()).toEqual([]);
  });

  it('falls back to busybox dd for the sequential jobs when the image has no fio, labelled as such', async () => {
    const ctx = context('io-dd', 240);
    const out = await ioExecutor.run(
      spec({
        id: 'virtio-blk',
        suite: 'io',
        kind: 'io',
        machine: 'microvm',
        memoryMiB: 256,
        repeat: 1,
        args: { tool: 'dd', sizeMiB: 64, jobs: ['seqread-1m', 'randread-4k-qd1'] },
      }),
      ctx,
    );
    expect(out.status, out.reason).toBe('pass');
    expect(out.metrics.map((m) => m.name)).toEqual(['io.seqread-1m.guest']);
    expect(out.metrics[0]!.labels?.tool).toBe('dd');
    expect(out.metrics[0]!.samples[0]).toBeGreaterThan(0);
    expect(out.facts?.ioTool).toBe('dd');
    expect(Value.Check(CaseResult, asResult(out, 'io/virtio-blk'))).toBe(true);
  });

  it('an abort mid-run kills the guest at once and still removes the backing file', async () => {
    const ac = new AbortController();
    const ctx = { ...context('io-abort', 240), signal: ac.signal };
    ctx.onPhase = (p: string) => {
      // Abort while the guest is running its fio jobs.
      if (p === 'guest jobs') setTimeout(() => ac.abort(), 8000);
    };
    const t0 = performance.now();
    const out = await ioExecutor.run(
      spec({
        id: 'virtio-blk',
        suite: 'io',
        kind: 'io',
        machine: 'q35',
        memoryMiB: 512,
        args: { runtime: 30, ramp: 1, sizeMiB: 64 },
      }),
      ctx,
    );
    expect(out.status).toBe('error');
    expect(out.reason).toMatch(/^aborted; last phase reached/);
    expect(performance.now() - t0).toBeLessThan(30_000);
    expect(readdirSync(ctx.scratchDir).filter((f) => f.endsWith('.raw'))).toEqual([]);
    expect(linuxQemus()).toEqual([]);
  });

  it("a guest cut short in the middle of a job's output keeps the windows that arrived, marked cut-short", async () => {
    const ac = new AbortController();
    const ctx = { ...context('io-cut-logs', 240), signal: ac.signal };
    ctx.onPhase = (p: string) => {
      // The histogram log's header line: the bandwidth log before it has arrived whole.
      if (p === 'guest seqread-1m: clat_hist log') ac.abort();
    };
    const out = await ioExecutor.run(
      spec({
        id: 'virtio-blk',
        suite: 'io',
        kind: 'io',
        machine: 'q35',
        memoryMiB: 512,
        args: { runtime: 1, ramp: 0, sizeMiB: 64, intervalMs: 100, jobs: ['seqread-1m', 'randread-4k-qd1'] },
      }),
      ctx,
    );
    expect(out.status).toBe('error');
    const m = out.metrics.find((x) => x.name === 'io.seqread-1m.guest');
    expect(m, JSON.stringify(out.metrics.map((x) => x.name))).toBeDefined();
    expect(m!.summary.n).toBeGreaterThanOrEqual(6);
    expect(m!.sampling).toMatchObject({ reason: 'cut-short' });
    expect(m!.sampling!.note).toMatch(/^cut short: \d+ of \d+ samples arrived/);
    expect(out.metrics.some((x) => x.labels?.side === 'host')).toBe(false);
    expect(linuxQemus()).toEqual([]);
  });

  it('a run cut short keeps the guest jobs that finished', async () => {
    const ac = new AbortController();
    const ctx = { ...context('io-cut-short', 240), signal: ac.signal };
    const phases: string[] = [];
    ctx.onPhase = (p: string) => {
      phases.push(p);
      // The second job's begin line means the first one ended: interrupt now.
      if (phases.filter((x) => /^guest [^:]+$/.test(x) && x !== 'guest jobs').length === 2) ac.abort();
    };
    const out = await ioExecutor.run(
      spec({
        id: 'virtio-blk',
        suite: 'io',
        kind: 'io',
        machine: 'q35',
        memoryMiB: 512,
        args: { runtime: 1, ramp: 0, sizeMiB: 64 },
      }),
      ctx,
    );
    expect(out.status).toBe('error');
    expect(out.reason).toMatch(/^aborted/);
    const guestJobs = out.metrics.filter((m) => m.labels?.side === 'guest' && !m.name.includes('.clat_'));
    expect(guestJobs.length, JSON.stringify(phases)).toBe(1);
    expect(guestJobs[0]!.summary.n).toBeGreaterThanOrEqual(1);
    expect(out.metrics.some((m) => m.labels?.side === 'host')).toBe(false);
    expect(readdirSync(ctx.scratchDir).filter((f) => f.endsWith('.raw'))).toEqual([]);
    expect(linuxQemus()).toEqual([]);
  });

  it.skipIf(!existsSync('/dev/shm'))(
    'refuses a tmpfs scratch directory (O_DIRECT cannot work there; needs /dev/shm)',
    async () => {
      const shm = mkdtempSync('/dev/shm/kvmb-');
      try {
        const out = await ioExecutor.run(
          spec({ id: 'x', suite: 'io', kind: 'io', machine: 'q35', args: { scratchDir: shm } }),
          context('io-shm', 30),
        );
        expect(out.status).toBe('error');
        expect(out.reason).toMatch(/tmpfs.*O_DIRECT/);
      } finally {
        rmSync(shm, { recursive: true, force: true });
      }
    },
  );
});

describe('through the built CLI', () => {
  it.each(['boot-linux', 'io'])(
    'kvmbench run %s --quick passes (wall time printed; budget 3 minutes)',
    (suite) => {
      const out = join(tmp, `cli-${suite}`);
      const t0 = performance.now();
      const r = runCli(['run', suite, '--quick', '--accel', 'tcg', '--output', out], {}, 560_000);
      const sec = (performance.now() - t0) / 1000;
      expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(0);
      // The 3-minute budget is reported, not asserted: wall time here mostly measures load.
      console.log(`run ${suite} --quick under TCG: ${sec.toFixed(1)} s wall (budget 180 s)`);
      const results = validateResults(JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')));
      expect(results.cases.length).toBeGreaterThan(0);
      for (const c of results.cases) expect(c.status, c.reason).toBe('pass');
      expect(linuxQemus()).toEqual([]);
    },
    600_000,
  );
});
