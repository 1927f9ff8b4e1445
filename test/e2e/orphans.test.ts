/**
 * A kvmbench killed with SIGKILL runs no JavaScript, so only the kernel can take its
 * guests down: QEMU is started under `setpriv --pdeathsig KILL` (src/vmm/processes.ts).
 * This kills a real kvmbench process mid-boot of a hanging guest and expects its QEMU
 * to be gone at once; the guest itself would never exit.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { markedQemu } from '../helpers/processes.js';

const root = resolve(import.meta.dirname, '../..');
const hasSetpriv = existsSync('/usr/bin/setpriv') || existsSync('/bin/setpriv');

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.skipIf(!hasSetpriv)('guests do not outlive a SIGKILLed kvmbench', () => {
  it('the kernel kills QEMU when its kvmbench parent dies', async () => {
    const mark = randomBytes(6).toString('hex');
    const launcher = `
      const { launchQemu } = await import(${JSON.stringify(join(root, 'dist/src/vmm/launch.js'))});
      await launchQemu({ qemu: { machine: 'pc', accel: 'tcg', kernel: ${JSON.stringify(join(root, 'build/guests/exits.elf'))}, append: 'test=cpuid hang=entry', memoryMiB: 32 }, timeoutMs: 120000 });
    `;
    const child = spawn(process.execPath, ['--input-type=module', '-e', launcher], {
      env: { ...process.env, KVMB_E2E_MARK: mark },
      stdio: 'ignore',
    });
    let pids: number[] = [];
    for (let i = 0; i < 200 && pids.length === 0; i++) {
      await sleep(50);
      pids = markedQemu(mark);
    }
    expect(pids.length).toBe(1);
    await sleep(300); // the guest is now spinning at its entry and will never exit by itself
    expect(markedQemu(mark)).toEqual(pids);
    child.kill('SIGKILL');
    let left = pids;
    for (let i = 0; i < 20 && left.length > 0; i++) {
      await sleep(50);
      left = markedQemu(mark);
    }
    for (const pid of left) process.kill(pid, 'SIGKILL');
    expect(left).toEqual([]);
  });
});
