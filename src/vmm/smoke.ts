/**
 * One real boot of the smallest guest: the doctor's `--boot` check. A functional
 * probe says KVM opens; this says a guest actually runs on it.
 */
import { guestImage } from '../guests/index.js';
import { KvmbenchError } from '../cli/errors.js';
import { launchQemu } from './launch.js';

export interface SmokeBootResult {
  ok: boolean;
  detail: string;
  evidence: Record<string, unknown>;
}

export async function smokeBoot(opts: { accel: 'kvm' | 'tcg'; timeoutMs: number; signal?: AbortSignal }): Promise<SmokeBootResult> {
  try {
    const img = await guestImage('hello');
    const r = await launchQemu({
      qemu: { machine: 'pc', accel: opts.accel, kernel: img.path, memoryMiB: 32 },
      timeoutMs: opts.timeoutMs,
      signal: opts.signal,
    });
    const evidence: Record<string, unknown> = {
      accel: opts.accel,
      machine: 'pc',
      image: img.relPath,
      sha256: img.sha256,
      argv: r.argv,
      exitCode: r.exitCode,
      status: r.status,
      durationMs: Math.round(r.durationMs),
      consoleBytes: r.consoleBytes,
      guestMode: r.transcript.hello?.mode,
    };
    if (r.status === 'pass') {
      return { ok: true, detail: `micro guest booted to long mode and exited cleanly under ${opts.accel} in ${Math.round(r.durationMs)} ms`, evidence };
    }
    return { ok: false, detail: `micro guest boot under ${opts.accel} failed: ${r.reason ?? r.status}`, evidence };
  } catch (err) {
    const hint = err instanceof KvmbenchError && err.hint ? ` (${err.hint})` : '';
    return { ok: false, detail: `micro guest boot under ${opts.accel} could not start: ${(err as Error).message}${hint}`, evidence: { accel: opts.accel } };
  }
}
