/**
 * A stanza's `check` line: `path=value` conditions, space separated, each a file whose content
 * must equal the value (`/sys/module/kvm/parameters/enable_pmu=Y /proc/sys/kernel/nmi_watchdog=0`).
 * Read through the HostReader, so the doctor judges a captured host tree the same way. One
 * difference from kvm-unit-tests' exact comparison: a module parameter's boolean is the same in
 * both spellings (kvm_intel prints Y/N, kvm_amd 1/0), so `nested=Y` holds on an AMD host with 1.
 */
import { parseBool } from '../host/facts.js';
import type { HostReader } from '../host/reader.js';

export interface CheckCondition {
  path: string;
  value: string;
}

export interface CheckOutcome {
  condition: CheckCondition;
  /** What the file holds, undefined when it is absent or unreadable. */
  actual?: string;
  holds: boolean;
}

/** Undefined when a condition is not `path=value` with an absolute path. */
export function parseCheck(check: string | undefined): CheckCondition[] | undefined {
  if (!check?.trim()) return [];
  const out: CheckCondition[] = [];
  for (const part of check.trim().split(/\s+/)) {
    const eq = part.indexOf('=');
    if (eq <= 0) return undefined;
    const path = part.slice(0, eq);
    if (!path.startsWith('/') || path.includes('..')) return undefined;
    out.push({ path, value: part.slice(eq + 1) });
  }
  return out;
}

function sameValue(path: string, actual: string, wanted: string): boolean {
  if (actual === wanted) return true;
  if (!path.includes('/parameters/')) return false;
  const a = parseBool(actual),
    w = parseBool(wanted);
  return a !== undefined && a === w;
}

export async function evaluateCheck(conditions: readonly CheckCondition[], reader: HostReader): Promise<CheckOutcome[]> {
  const out: CheckOutcome[] = [];
  for (const c of conditions) {
    const text = await reader.readText(c.path);
    const actual = text?.trim();
    out.push({
      condition: c,
      ...(actual !== undefined ? { actual } : {}),
      holds: actual !== undefined && sameValue(c.path, actual, c.value),
    });
  }
  return out;
}

/** What to do so a condition holds, for a module parameter or the NMI watchdog; undefined otherwise. */
export function checkFix(c: CheckCondition): string | undefined {
  const m = /^\/sys\/module\/([a-z0-9_]+)\/parameters\/([a-z0-9_]+)$/.exec(c.path);
  if (m)
    return `reload ${m[1]} with ${m[2]}=${c.value}: sudo modprobe -r ${m[1]} && sudo modprobe ${m[1]} ${m[2]}=${c.value} (or put "options ${m[1]} ${m[2]}=${c.value}" in /etc/modprobe.d/kvm.conf)`;
  if (c.path === '/proc/sys/kernel/nmi_watchdog') return `sudo sysctl kernel.nmi_watchdog=${c.value}`;
  return undefined;
}

/** One line per condition that does not hold: `path is Y, not N` / `path is absent`. */
export function unmetText(outcomes: readonly CheckOutcome[]): string[] {
  return outcomes
    .filter((o) => !o.holds)
    .map((o) => `${o.condition.path} ${o.actual === undefined ? 'is absent' : `is ${o.actual}`}, not ${o.condition.value}`);
}
