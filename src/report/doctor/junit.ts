/**
 * The doctor's JUnit view. Its own module so that the JUnit writer (and what it imports) is
 * loaded only when `--junit` asks for it: the doctor's start-up time is part of its promise.
 */
import type { DoctorReport } from '../../doctor/types.js';
import type { HostFingerprint } from '../../results/model.js';
import { buildJunit, type JunitCase, type JunitSuite } from '../junit-xml.js';

/**
 * JUnit, through the project's one JUnit writer (../junit-xml.ts): one testsuite per
 * profile, one testcase per check (classname `doctor.<profile>`). Only the selected
 * profile's fails become <failure>; other profiles' fails and all warns stay passes with the
 * status and evidence in system-out, so CI shows them without failing on what was not asked.
 * Skips carry their reason as the `message`.
 */
export function junitXml(report: DoctorReport, host?: HostFingerprint): string {
  const deciding = (p: string): boolean => report.profile === 'all' || p === report.profile;
  const profiles = [...new Set(report.checks.map((c) => c.profile))];
  const suites: JunitSuite[] = profiles.map((p) => {
    const checks = report.checks.filter((c) => c.profile === p);
    return {
      name: `kvmbench doctor: ${p}`,
      timeSec: checks.reduce((a, c) => a + (c.durationMs ?? 0), 0) / 1000,
      timestamp: new Date().toISOString(),
      ...(host?.hostname ? { hostname: host.hostname } : {}),
      properties: [
        ['profile', p],
        ['deciding', String(deciding(p))],
        ['source', report.source],
      ],
      cases: checks.map((ch): JunitCase => {
        const detail = [...ch.evidence, ...(ch.fix ? [`fix: ${ch.fix}`] : [])].join('\n');
        const outcome = ch.status === 'fail' && deciding(p) ? 'failure' : ch.status === 'skip' ? 'skipped' : 'pass';
        return {
          name: `${ch.id}: ${ch.title}`,
          classname: `doctor.${p}`,
          timeSec: (ch.durationMs ?? 0) / 1000,
          outcome,
          ...(outcome === 'failure' ? { message: `${ch.id} failed${ch.fix ? `; fix: ${ch.fix}` : ''}`, detail } : {}),
          ...(outcome === 'skipped' ? { message: ch.evidence[0] ?? 'skipped' } : {}),
          systemOut: `status: ${ch.status}\n${detail}`,
        };
      }),
    };
  });
  return buildJunit(`kvmbench doctor (${report.profile})`, suites);
}
