/** The doctor's `--json` view of its DoctorReport (plus the host fingerprint). */
import type { DoctorReport } from '../../doctor/types.js';
import type { HostFingerprint } from '../../results/model.js';

/** The `--json` object: stable keys, `fix: null` on passing checks so every check has the same shape. */
export function toJson(report: DoctorReport, host?: HostFingerprint): Record<string, unknown> {
  return {
    schema: 'kvmbench.doctor/1',
    kvm: report.kvm,
    verdict: report.verdict,
    profile: report.profile,
    source: report.source,
    counts: report.counts,
    durationMs: report.durationMs,
    checks: report.checks.map((ch) => ({
      id: ch.id,
      title: ch.title,
      profile: ch.profile,
      status: ch.status,
      evidence: ch.evidence,
      fix: ch.fix ?? null,
      ...(ch.durationMs !== undefined ? { durationMs: ch.durationMs } : {}),
    })),
    ...(host ? { host } : {}),
  };
}
