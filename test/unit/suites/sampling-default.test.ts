/**
 * A suite's default precision (`sampling:`): parsed to fractions and ms with FILE:LINE:COL errors,
 * applied by the command line's options unless --precision is given (it wins) or the run is
 * --quick (quick stays bounded by its counts), and carried by the shipped `full` suite, not `quick`.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { UsageError } from '../../../src/errors.js';
import { runnerOptions, samplingRequest } from '../../../src/cli/suite-run.js';
import { loadSuite } from '../../../src/suites/load.js';

const tmp = mkdtempSync(join(tmpdir(), 'kvmbench-sampling-default-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function suiteWith(name: string, sampling: string) {
  const f = join(tmp, `${name}.yaml`);
  writeFileSync(f, `suite: ${name}\ndefaults:\n  kind: exits\ncases:\n  - id: one\n${sampling}`);
  return f;
}

const flags = { accel: 'auto', quick: false, rounds: 1, 'keep-going': false };

describe('sampling: in a suite file', () => {
  it('reads precision, caps and rounds', () => {
    const s = loadSuite(suiteWith('ok', 'sampling:\n  precision: 2.5%\n  max_samples: 200\n  max_time: 2m\n  max_rounds: 12\n'));
    expect(s.sampling).toEqual({ precision: 0.025, maxSamples: 200, maxTimeMs: 120_000, maxRounds: 12 });
  });

  it.each([
    ['bad1', 'precision: 2', /^bad1\.yaml:7:14: sampling\.precision: expected a percentage such as 2%/],
    ['bad2', 'precision: 0%', /^bad2\.yaml:7:14: sampling\.precision: '0%' must be above 0 % and below 100 %/],
    ['bad3', 'precision: 2%\n  max_time: soon', /^bad3\.yaml:8:13: sampling\.max_time: expected a duration such as 20s/],
    [
      'bad4',
      'precision: 2%\n  max_samples: 5',
      /^bad4\.yaml:8:16: sampling\.max_samples: expected a whole number of samples from 11 to 1000/,
    ],
    ['bad5', 'precision: 2%\n  rounds: 3', /^bad5\.yaml:8:3: sampling\.rounds: unknown field/],
  ])('refuses %s with its line', (name, body, message) => {
    expect(() => loadSuite(suiteWith(name, `sampling:\n  ${body}\n`), { cwd: tmp })).toThrow(message);
  });
});

describe('which precision a run gets', () => {
  const suite = { name: 'dflt', sampling: { precision: 0.02, maxTimeMs: 60_000, maxRounds: 12 } };

  it("uses the suite's when the command line gives none", () => {
    expect(runnerOptions(flags, suite)).toMatchObject({ sampling: { precision: 0.02, maxTimeMs: 60_000 }, maxRounds: 12 });
  });

  it('lets --precision and the command-line caps win', () => {
    expect(samplingRequest({ precision: '5%' }, suite)).toEqual({ precision: 0.05, maxSamples: 400 });
    expect(samplingRequest({ 'max-time': '10s' }, suite)).toEqual({ precision: 0.02, maxSamples: 400, maxTimeMs: 10_000 });
    expect(runnerOptions({ ...flags, precision: '5%' }, suite).maxRounds).toBeUndefined();
  });

  it('leaves it out under --quick, and says so when a cap is given alone', () => {
    expect(samplingRequest({ quick: true }, suite)).toBeUndefined();
    expect(() => samplingRequest({ quick: true, 'max-time': '10s' }, suite)).toThrow(/--quick leaves out suite dflt's default/);
    expect(() => runnerOptions({ ...flags, 'max-rounds': 9 })).toThrow(UsageError);
  });

  it('is set for the shipped full suite and not for quick', () => {
    expect(loadSuite('full').sampling).toEqual({ precision: 0.02, maxTimeMs: 60_000 });
    expect(loadSuite('quick').sampling).toBeUndefined();
  });
});
