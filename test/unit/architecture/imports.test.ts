/**
 * The import rules of docs/architecture.md, checked on the tree: every import runs down the data's
 * path (commands → CLI → composition root → runner → executors → views/judging → mechanisms → host
 * → ground), never back up, and no files import each other in a circle. The rules are the data
 * below; a new folder must be given a floor here before it can import or be imported.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { packageRoot } from '../../../src/version.js';

/**
 * Floors, top first. A file may import files of its own folder and of any lower floor; folders on
 * one floor know nothing of each other. Folders are `commands` and the first level under `src/`.
 */
export const FLOORS: ReadonlyArray<readonly string[]> = [
  ['commands'],
  ['src/cli'], // what commands share: flags, base command, interrupts, the live progress display
  ['src/app'], // the composition root: binds engine, doctor, views, compare and the live host actions
  ['src/schemas'],
  ['src/suites'], // the runner, suite loading, A/B scheduling
  ['src/cases'], // executors and their contract, case policy
  ['src/report'], // views: read only models (results, comparison, doctor report)
  ['src/doctor', 'src/compare', 'src/history'], // history: the results store, change points, trends and the fleet
  ['src/nested'], // the nested lab's mechanism: L1's layout, plan and boot (over linux and vmm)
  ['src/linux', 'src/kut'],
  ['src/vmm', 'src/net'],
  ['src/host'],
  ['src/kvm'], // libc/KVM binding, probe, own VMM: ground for host and vmm
  ['src/guests'],
  ['src/results', 'src/protocol'],
  ['src/stats', 'src/errors.ts', 'src/glob.ts', 'src/version.ts', 'src/inputs.ts'],
];

/** Arrows the floors allow but the design does not: each with the reason a reader of a failure needs. */
export const NEVER: ReadonlyArray<{ from: readonly string[]; to: readonly string[]; why: string }> = [
  {
    from: ['src/suites'],
    to: ['src/report', 'src/compare', 'src/doctor'],
    why: 'the runner measures; judging, views and the doctor reach it as dependencies from src/app',
  },
  {
    from: ['src/cases'],
    to: ['src/report', 'src/compare'],
    why: 'an executor measures; views and judging read its results later',
  },
];

const root = packageRoot();

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...sources(p));
    else if (p.endsWith('.ts') && !p.endsWith('.test.ts') && !p.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

/** Repository-relative .ts paths this file imports (static, dynamic with a literal, re-exports). */
function importsOf(file: string): string[] {
  const info = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
  return info.importedFiles
    .map((f) => f.fileName)
    .filter((s) => s.startsWith('.'))
    .map((s) => relative(root, resolve(dirname(file), s)).replace(/\.js$/, '.ts'));
}

function folderOf(rel: string): string {
  const parts = rel.split('/');
  return parts[0] === 'src' ? parts.slice(0, 2).join('/') : parts[0]!;
}

function floorOf(folder: string): number | undefined {
  const i = FLOORS.findIndex((f) => f.includes(folder));
  return i < 0 ? undefined : FLOORS.length - i;
}

const files = [...sources(join(root, 'src')), ...sources(join(root, 'commands'))].map((f) => relative(root, f)).sort();
const graph = new Map(files.map((f) => [f, importsOf(join(root, f))]));

/** Arrows that run back up or sideways between folders, as `from -> to (why)`; empty when the rules hold. */
export function ruleBreaks(g: ReadonlyMap<string, readonly string[]>): string[] {
  const out: string[] = [];
  for (const [from, tos] of g) {
    const fa = folderOf(from);
    const ff = floorOf(fa);
    if (ff === undefined) {
      out.push(`${from}: folder ${fa} has no floor in FLOORS`);
      continue;
    }
    for (const to of tos) {
      const fb = folderOf(to);
      if (fb === fa) continue;
      const ft = floorOf(fb);
      if (ft === undefined) out.push(`${from} -> ${to}: folder ${fb} has no floor in FLOORS`);
      else if (ft >= ff)
        out.push(
          `${from} -> ${to}: ${fa} (floor ${ff}) may not import ${fb} (floor ${ft}), an arrow that runs ${ft > ff ? 'back up' : 'sideways'}`,
        );
      else {
        const never = NEVER.find((n) => n.from.includes(fa) && n.to.includes(fb));
        if (never) out.push(`${from} -> ${to}: ${fa} never imports ${fb}: ${never.why}`);
      }
    }
  }
  return out;
}

/** File circles (strongly connected components of more than one file, or a file importing itself). */
export function fileCircles(g: ReadonlyMap<string, readonly string[]>): string[][] {
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const on = new Set<string>();
  const out: string[][] = [];
  const visit = (v: string): void => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    on.add(v);
    for (const w of g.get(v) ?? []) {
      if (!g.has(w)) continue;
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
    }
    if (low.get(v) === idx.get(v)) {
      const scc: string[] = [];
      let w: string | undefined;
      do {
        w = stack.pop();
        if (w === undefined) break;
        on.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1 || (g.get(v) ?? []).includes(v)) out.push(scc.sort());
    }
  };
  for (const v of g.keys()) if (!idx.has(v)) visit(v);
  return out;
}

describe('import rules (docs/architecture.md, "Floors")', () => {
  it('reads the tree: every relative import names a file that exists', () => {
    expect(files.length).toBeGreaterThan(100);
    const missing = [...graph].flatMap(([f, tos]) => tos.filter((t) => !graph.has(t)).map((t) => `${f} -> ${t}`));
    expect(missing).toEqual([]);
  });

  it('no import runs back up or sideways between folders', () => {
    expect(ruleBreaks(graph)).toEqual([]);
  });

  it('no files import each other in a circle', () => {
    expect(fileCircles(graph)).toEqual([]);
  });

  it('the rules fail where they should: an arrow back up and a circle are found', () => {
    const bad = new Map<string, string[]>([
      ['src/vmm/launch.ts', ['src/suites/runner.ts']],
      ['src/suites/runner.ts', ['src/report/summary.ts', 'src/cases/index.ts']],
      ['src/cases/index.ts', ['src/vmm/launch.ts']],
      ['src/report/summary.ts', []],
    ]);
    expect(ruleBreaks(bad)).toEqual([
      'src/vmm/launch.ts -> src/suites/runner.ts: src/vmm (floor 6) may not import src/suites (floor 12), an arrow that runs back up',
      'src/suites/runner.ts -> src/report/summary.ts: src/suites never imports src/report: the runner measures; judging, views and the doctor reach it as dependencies from src/app',
    ]);
    expect(fileCircles(bad)).toEqual([['src/cases/index.ts', 'src/suites/runner.ts', 'src/vmm/launch.ts']]);
  });
});
