/**
 * The doctor's console table, a view of its DoctorReport (`--json`: ./json.ts, JUnit: ./junit.ts).
 * Statuses are written and coloured by the shared core (../format.ts), as in every other view.
 */
import type { ChalkInstance } from 'chalk';
import type { DoctorReport } from '../../doctor/types.js';
import { paintStatus } from '../format.js';

/**
 * Checks whose evidence is the answer itself (what KVM this is, how a guest ran, which
 * confidential-VM modes the CPU and firmware offer or why none), shown even when they pass or skip.
 */
const ALWAYS_DETAIL = new Set(['kvm.flavor', 'kvm.run', 'kvm.boot-smoke', 'cvm.cpu']);

/** The readable table: one line per check, evidence and fix indented under non-passing ones. */
export function renderText(report: DoctorReport, c: ChalkInstance, opts: { verbose?: boolean } = {}): string {
  const out: string[] = [];
  const deciding = (p: string): boolean => report.profile === 'all' || p === report.profile;
  const idWidth = Math.max(...report.checks.map((x) => x.id.length));
  let lastProfile = '';
  for (const ch of report.checks) {
    if (ch.profile !== lastProfile) {
      lastProfile = ch.profile;
      out.push(
        '',
        c.bold(
          `${ch.profile}${deciding(ch.profile) ? '' : c.dim(' (informational: --profile ' + ch.profile + ' to decide on it)')}`,
        ),
      );
    }
    const label = paintStatus(c, ch.status);
    const line = `  ${label}  ${ch.id.padEnd(idWidth)}  ${ch.title}`;
    out.push(deciding(ch.profile) ? line : c.dim(line));
    const showDetail =
      opts.verbose ||
      ch.status === 'fail' ||
      (ch.status === 'warn' && deciding(ch.profile)) ||
      (ALWAYS_DETAIL.has(ch.id) && deciding(ch.profile));
    if (showDetail) {
      for (const e of ch.evidence) out.push(c.dim(`        ${e}`));
      if (ch.fix) out.push(`        ${c.cyan('fix:')} ${ch.fix}`);
    }
  }
  const k = report.kvm;
  out.push('');
  out.push(
    k.usable
      ? c.green.bold(`KVM is usable here (${k.device}, API ${k.apiVersion}).`)
      : c.red.bold(`KVM is NOT usable here: ${k.reason ?? k.stage}`),
  );
  if (!k.usable && k.fix) out.push(`  ${c.cyan('fix:')} ${k.fix}`);
  if (k.flavor.name !== 'none')
    out.push(`KVM flavour: ${c.bold(k.flavor.name)}${k.flavor.module ? ` (${k.flavor.module})` : ''}: ${k.flavor.meaning}`);
  const n = report.counts;
  out.push(
    `verdict (${report.profile}): ${paintStatus(c, report.verdict)}  ` +
      c.dim(`${n.pass} pass, ${n.warn} warn, ${n.fail} fail, ${n.skip} skip; ${report.durationMs} ms; source ${report.source}`),
  );
  return out.join('\n').replace(/^\n/, '') + '\n';
}
