/**
 * CI compares quick runs, so every timing case of a shipped suite must carry, in
 * --quick mode, at least the samples `compare` needs to confirm a 30 % shift.
 * I/O jobs take one sample per fio log window (ioSamplesPerJob), net jobs one per iperf3
 * interval: runtime / interval of them.
 */
import { describe, expect, it } from 'vitest';
import { MIN_SAMPLES_PER_SIDE } from '../../../src/compare/index.js';
import { executors } from '../../../src/cases/index.js';
import { netSamplesPerJob } from '../../../src/cases/net.js';
import { ioSamplesPerJob } from '../../../src/cases/io.js';
import { listShippedSuites, loadSuite } from '../../../src/suites/load.js';

const SAMPLED_KINDS = new Set(['exits', 'boot-micro', 'boot-linux', 'raw']);

describe('quick runs carry enough samples for compare', () => {
  for (const name of listShippedSuites()) {
    it(`suite ${name}`, () => {
      const suite = loadSuite(name, { quick: true, kinds: Object.keys(executors) });
      const short = suite.cases
        .filter((c) => SAMPLED_KINDS.has(c.kind) && c.repeat < MIN_SAMPLES_PER_SIDE)
        .map((c) => `${c.suite}/${c.id}: ${c.repeat}`);
      expect(short).toEqual([]);
      const shortNet = suite.cases
        .filter((c) => c.kind === 'net' && netSamplesPerJob(c.args) < MIN_SAMPLES_PER_SIDE)
        .map((c) => `${c.suite}/${c.id}: ${netSamplesPerJob(c.args)}`);
      expect(shortNet).toEqual([]);
      const shortIo = suite.cases
        .filter((c) => c.kind === 'io' && c.args.tool !== 'dd' && ioSamplesPerJob(c.args) < MIN_SAMPLES_PER_SIDE)
        .map((c) => `${c.suite}/${c.id}: ${ioSamplesPerJob(c.args)}`);
      expect(shortIo).toEqual([]);
    });
  }
});
