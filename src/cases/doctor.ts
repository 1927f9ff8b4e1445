/**
 * The doctor as a case (kind `doctor`): a gate at the head of a suite, so a run on a host
 * that cannot do what the suite needs says so as its first result, with the doctor's fixes.
 * args.profile (default `vmm`) selects the checks that decide; args.checks (ids) narrows
 * them further. Any of them `fail` → the case fails with each check's evidence and fix.
 */
import { writeFile } from 'node:fs/promises';
import { isProfileSelection, runDoctor } from '../doctor/index.js';
import { NO_HOST_ACTIONS } from '../host/actions.js';
import { liveHost } from '../host/reader.js';
import { NamesArg, TextArg, caseArgs } from './args.js';
import type { CaseExecutor, CaseOutcome } from './types.js';

export const doctorExecutor: CaseExecutor = {
  kind: 'doctor',
  args: caseArgs({ profile: TextArg('doctor profile, or all'), checks: NamesArg('doctor check ids that decide') }),
  startsQemu: false,
  async run(spec, ctx): Promise<CaseOutcome> {
    const profile = String(spec.args.profile ?? 'vmm');
    if (!isProfileSelection(profile))
      return { status: 'error', reason: `args.profile: unknown doctor profile '${profile}'`, metrics: [] };
    const wanted = Array.isArray(spec.args.checks) ? spec.args.checks.map(String) : undefined;
    ctx.onPhase(`doctor --profile ${profile}`);
    const report = await runDoctor({ reader: liveHost(), actions: ctx.hostActions ?? NO_HOST_ACTIONS }, { profile });
    const lines = report.checks.map(
      (c) =>
        `${c.status.toUpperCase().padEnd(5)} ${c.id}: ${c.title}\n${c.evidence.map((e) => `      ${e}`).join('\n')}${c.fix ? `\n      fix: ${c.fix}` : ''}`,
    );
    await writeFile(ctx.logPath, `# kvmbench doctor --profile ${profile}: verdict ${report.verdict}\n${lines.join('\n')}\n`);
    const unknown = (wanted ?? []).filter((id) => !report.checks.some((c) => c.id === id));
    if (unknown.length)
      return { status: 'error', reason: `args.checks: the doctor has no check ${unknown.join(', ')}`, metrics: [] };
    const judged = report.checks.filter((c) => (wanted ? wanted.includes(c.id) : profile === 'all' || c.profile === profile));
    const failing = judged.filter((c) => c.status === 'fail');
    const facts = {
      profile,
      verdict: report.verdict,
      kvmUsable: report.kvm.usable,
      counts: report.counts,
      checks: Object.fromEntries(judged.map((c) => [c.id, c.status])),
    };
    if (failing.length === 0) return { status: 'pass', metrics: [], facts };
    return {
      status: 'fail',
      reason: failing.map((c) => `${c.id}: ${c.evidence[0] ?? c.title}${c.fix ? ` (fix: ${c.fix})` : ''}`).join('; '),
      metrics: [],
      facts,
    };
  },
};
