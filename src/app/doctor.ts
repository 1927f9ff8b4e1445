/**
 * `kvmbench doctor` without the command line: which host is examined (this one with the live
 * actions, or a snapshot replayed), the doctor and the fingerprint over it, and the snapshot
 * written afterwards (`--save-host` redacted, `--capture` as read).
 */
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import { UsageError } from '../errors.js';
import { runDoctor, type DoctorReport, type ProfileSelection } from '../doctor/index.js';
import type { CheckDef } from '../doctor/types.js';
import type { ExaminedHost } from '../host/actions.js';
import { FixtureHostReader } from '../host/fixture-reader.js';
import { collectFingerprint } from '../host/fingerprint.js';
import { RecordingHostReader } from '../host/snapshot-record.js';
import type { HostFingerprint } from '../results/model.js';
import { liveExaminedHost } from './host-actions.js';

export interface DoctorSessionOptions {
  profile: ProfileSelection;
  /** Also boot a real micro guest (check kvm.boot-smoke). */
  boot: boolean;
  /** Further checks after the built-in ones (e.g. `conform.stanzas` of a kvm-unit-tests tree). */
  extraChecks?: readonly CheckDef[];
  /** Examine this snapshot directory instead of this host. */
  tree?: string;
  /** Save what was read: `snapshot` redacted for a bug report (--save-host), `capture` unredacted (--capture). */
  save?: { dir: string; kind: 'snapshot' | 'capture' };
}

export interface DoctorSession {
  report: DoctorReport;
  host: HostFingerprint;
  /** What was saved, for the user: one line. */
  saved?: string;
}

export async function doctorSession(opts: DoctorSessionOptions): Promise<DoctorSession> {
  let examined: ExaminedHost;
  try {
    examined = opts.tree ? new FixtureHostReader(resolve(opts.tree)) : liveExaminedHost();
  } catch (err) {
    throw new UsageError(err instanceof Error ? err.message : String(err));
  }
  const recorder = opts.save ? new RecordingHostReader(examined) : undefined;
  if (recorder) examined = recorder;

  // Loaded on demand: booting a guest pulls in the launcher, which plain doctor runs do not need.
  const extraChecks = [
    ...(opts.boot ? [(await import('../doctor/checks/boot-smoke.js')).bootSmokeCheck()] : []),
    ...(opts.extraChecks ?? []),
  ];
  const [report, host] = await Promise.all([
    runDoctor(examined, { profile: opts.profile, extraChecks }),
    collectFingerprint(examined.reader),
  ]);

  if (!recorder || !opts.save) return { report, host };
  const dir = resolve(opts.save.dir);
  if (opts.save.kind === 'snapshot') {
    const what = `${host.cpuModel ?? 'unknown CPU'}, Linux ${host.kernelRelease ?? '?'}${host.qemuVersion ? `, QEMU ${host.qemuVersion}` : ''}; doctor verdict (${report.profile}): ${report.verdict}`;
    recorder.save(dir, `host snapshot: ${what}`, {
      redact: { hostnames: [hostname(), host.hostname ?? ''] },
      source: 'saved with `kvmbench doctor --save-host`; replay with `kvmbench doctor --root DIR`',
    });
    return {
      report,
      host,
      saved: `saved a host snapshot to ${opts.save.dir} (redacted; review it before sharing); replay: kvmbench doctor --root ${opts.save.dir}`,
    };
  }
  recorder.save(
    dir,
    `captured from ${host.hostname ?? 'a host'}: ${host.cpuModel ?? 'unknown CPU'}, Linux ${host.kernelRelease ?? '?'}`,
  );
  return { report, host, saved: `saved host tree to ${opts.save.dir}` };
}
