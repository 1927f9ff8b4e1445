/**
 * Two real runs of every shipped suite pair every metric (issue: "Put the rule in one place and
 * test that two real runs of every shipped suite pair every metric"): each suite's quick cases
 * run twice through the built CLI, and `kvmbench compare` of the two finds every metric of every
 * case that ran in both, none of them only in one run.
 *
 * Kept cheap enough for this 2-core machine: exits with a few tests, boot-micro's microvm, raw
 * (every quick case; under TCG each one is a skip, and skips pair as nothing), doctor (a gate
 * with no metrics) and boot-linux's microvm under TCG with 2 timed boots (pairing depends on the
 * metrics' names and labels, not on how many samples they hold; about 15 s a run here), and io's
 * shipped case under TCG through a suite file that includes it with 1 s fio runtimes, no ramp and
 * a 64 MiB file (a quick run of it takes about a minute here; names and labels do not depend on
 * the runtimes). Those 1 s jobs give 7 windows, so they also hold the rule that such a job runs
 * again until every I/O figure has 11 samples. `quick` and `full` are only includes of these suites.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { metricKey } from '../../src/compare/compare.js';
import { loadResults } from '../../src/results/load.js';
import type { Results } from '../../src/results/model.js';
import { runCli } from '../helpers/cli.js';
import { EXITS_SUBSET, sharedRun } from '../helpers/shared-run.js';

const qemu = ['/usr/bin/qemu-system-x86_64', '/usr/local/bin/qemu-system-x86_64'].some(existsSync);
const suite = qemu || process.env.CI ? describe : describe.skip;

const cli = (args: string[]) => runCli(args, {}, 240_000);

/** Every metric key of the cases that ran (compare leaves skipped cases out). */
function keys(r: Results): string[] {
  return r.cases.filter((c) => c.status !== 'skip').flatMap((c) => c.metrics.map((m) => metricKey(c.id, m)));
}

const SUITES: Array<{ suite: string; args: string[]; metrics: 'some' | 'none' | 'none-under-tcg' }> = [
  // The two runs the report tests read too (test/helpers/shared-run.ts).
  { suite: 'exits', args: EXITS_SUBSET.slice(3), metrics: 'some' },
  { suite: 'boot-micro', args: ['--only', 'microvm'], metrics: 'some' },
  { suite: 'raw', args: [], metrics: 'none-under-tcg' },
  { suite: 'doctor', args: [], metrics: 'none' },
  // Under TCG, chosen explicitly: Debian's stock kernel does not boot under every KVM (a PVM
  // host runs only PVM-enabled kernels, and the case skips there).
  { suite: 'boot-linux', args: ['--only', 'microvm', '--repeat', '2', '--accel', 'tcg'], metrics: 'some' },
  { suite: 'io', args: ['--accel', 'tcg'], metrics: 'some' },
];

/** The shipped io suite with short fio jobs: its case, its args but the durations and size. */
const IO_SHORT =
  'suite: io-short\ndescription: the shipped io suite with 1 s fio jobs\ninclude:\n  - suite: io\n    quick: true\n    set: { args: { runtime: 1, ramp: 0, sizeMiB: 64 } }\n';

suite('two real runs of every shipped suite pair every metric', () => {
  let tmp: string;
  beforeAll(() => {
    tmp = mkdtempSync(join(tmpdir(), 'kvmbench-e2e-pairing-'));
  });
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  for (const s of SUITES) {
    it(`${s.suite} --quick ${s.args.join(' ')}`.trim(), async () => {
      const dirs = [join(tmp, `${s.suite}-1`), join(tmp, `${s.suite}-2`)];
      let name = s.suite;
      if (s.suite === 'io') {
        name = join(tmp, 'io-short.yaml');
        writeFileSync(name, IO_SHORT);
      }
      const t0 = Date.now();
      if (s.suite === 'exits') {
        dirs.splice(0, 2, ...[1, 2].map((k) => sharedRun(`exits-subset-${k}`, EXITS_SUBSET).dir));
      }
      // What each run did, for the failure message where nothing pairs: its wall time, exit status and last lines.
      const runs: string[] = [];
      for (const d of s.suite === 'exits' ? [] : dirs) {
        // --accel auto unless the suite says: under KVM where it works, so raw really runs there.
        const started = Date.now();
        const r = cli(['run', name, '--quick', ...s.args, '-o', d]);
        const tail = `${r.stderr}\n${r.stdout}`.trim().split('\n').slice(-6).join(' | ');
        runs.push(`${d}: exit ${r.status}, ${((Date.now() - started) / 1000).toFixed(1)} s: ${tail}`);
        expect([0, 1], r.stderr).toContain(r.status);
      }
      const loaded = await Promise.all(dirs.map((d) => loadResults(d)));
      // A run that ended by itself wrote results.json; only a crashed one leaves just its journal.
      for (const l of loaded) expect(l.fromJournal, `${l.dir} has only its journal:\n${runs.join('\n')}`).toBe(false);
      const [one, two] = loaded.map((l) => l.results);
      const cmp = cli(['compare', dirs[0]!, dirs[1]!, '--format', 'json']);
      expect(cmp.status, cmp.stderr).toBe(0);
      const pair = (
        JSON.parse(cmp.stdout) as {
          pairs: Array<{ metrics: Array<{ key: string }>; onlyBase: string[]; onlyNew: string[]; warnings: string[] }>;
        }
      ).pairs[0]!;
      // Cases that ran in one run only (a case that errored once) have nothing to pair with.
      const ranInBoth = new Set(
        one!.cases
          .filter((c) => c.status !== 'skip')
          .map((c) => c.id)
          .filter((id) => two!.cases.some((c) => c.id === id && c.status !== 'skip')),
      );
      const expected = keys(one!).filter((k) => ranInBoth.has(k.split('/').slice(0, 2).join('/')));
      expect(pair.onlyBase).toEqual(keys(one!).filter((k) => !expected.includes(k)));
      expect(pair.onlyNew).toEqual(keys(two!).filter((k) => !ranInBoth.has(k.split('/').slice(0, 2).join('/'))));
      expect(pair.metrics.map((m) => m.key).sort()).toEqual([...expected].sort());
      // The warnings a pair of single-guest runs carries are about replication (one guest a case;
      // windows of one job held at inconclusive), not pairing.
      expect(
        pair.warnings.filter((w) => !/ran each case in one guest|are windows of one job|is windows of one job/.test(w)),
      ).toEqual([]);
      const accel = one!.run.accelerator;
      if (s.suite === 'io') {
        // 1 s jobs give 7 whole 125 ms windows: each job runs again (both sides) until every figure has 11.
        for (const c of [...one!.cases, ...two!.cases].filter((x) => x.status === 'pass'))
          for (const m of c.metrics) {
            expect(m.summary.n, m.name).toBeGreaterThanOrEqual(11);
            if (m.labels?.side !== 'ratio')
              expect(m.sampling?.note, m.name).toMatch(
                /runs of 1 s in 125 ms windows \(run again: fio gave fewer than 11 windows\)/,
              );
          }
      }
      // Where nothing paired, say what each run held (every case, its status, its metric count, why) and how it ended.
      const held = [one!, two!].flatMap((r, k) => [
        `run ${k + 1}: ${r.cases.length} cases`,
        ...r.cases.map((c) => `run ${k + 1}: ${c.id} ${c.status}, ${c.metrics.length} metrics: ${c.reason ?? ''}`),
      ]);
      if (s.metrics === 'some') expect(pair.metrics.length, [...held, ...runs].join('\n')).toBeGreaterThan(0);
      if (s.metrics === 'none' || (s.metrics === 'none-under-tcg' && accel === 'tcg')) expect(pair.metrics).toEqual([]);
      if (s.metrics === 'none-under-tcg' && accel === 'tcg')
        expect([...one!.cases, ...two!.cases].every((c) => c.status === 'skip')).toBe(true);
      console.log(
        `${s.suite}: ${pair.metrics.length} metrics paired, ${pair.onlyBase.length + pair.onlyNew.length} unpaired (${accel}, ${((Date.now() - t0) / 1000).toFixed(1)} s for two runs and compare)`,
      );
    });
  }
});
