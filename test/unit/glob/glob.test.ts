/** kvmbench's one glob dialect (src/glob.ts), and that --only and --threshold both speak it. */
import { describe, expect, it } from 'vitest';
import { thresholdFor } from '../../../src/compare/compare.js';
import { globMatcher, globToRegExp, isGlob } from '../../../src/glob.js';
import { selectCases } from '../../../src/suites/select.js';
import type { CaseSpec } from '../../../src/cases/types.js';

describe('glob dialect', () => {
  it('* and ? stop at /, ** crosses it', () => {
    const star = globMatcher('exits/*');
    expect(star('exits/cpuid')).toBe(true);
    expect(star('exits/')).toBe(true);
    expect(star('exits/cpuid/cpuid.latency')).toBe(false);
    expect(star('boot/cpuid')).toBe(false);
    const deep = globMatcher('exits/**');
    expect(deep('exits/cpuid/cpuid.latency{machine=q35}')).toBe(true);
    expect(deep('exitsx/cpuid')).toBe(false);
    expect(globMatcher('exits/?puid')('exits/cpuid')).toBe(true);
    expect(globMatcher('a?b')('a/b')).toBe(false);
    expect(globMatcher('**.latency')('exits/cpuid/cpuid.latency')).toBe(true);
  });

  it('matches the whole string and takes every other character literally', () => {
    expect(globMatcher('cpuid')('xcpuid')).toBe(false);
    expect(globMatcher('cpuid')('cpuidx')).toBe(false);
    expect(globMatcher('a.b')('axb')).toBe(false);
    expect(globMatcher('a.b')('a.b')).toBe(true);
    expect(globMatcher('x{machine=q35}')('x{machine=q35}')).toBe(true);
    expect(globMatcher('[ab]')('a')).toBe(false);
    expect(globMatcher('[ab]')('[ab]')).toBe(true);
    expect(globMatcher('a+b|c')('a+b|c')).toBe(true);
    expect(globToRegExp('(x)').test('(x)')).toBe(true);
  });

  it('knows a glob from a plain name', () => {
    expect(isGlob('boot.*')).toBe(true);
    expect(isGlob('a?')).toBe(true);
    expect(isGlob('cpuid.latency')).toBe(false);
  });
});

describe('one dialect for --only and --threshold', () => {
  const spec = (suite: string, id: string): CaseSpec => ({ suite, id, tags: [] }) as unknown as CaseSpec;
  const cases = [spec('exits', 'cpuid'), spec('exits', 'vmcall'), spec('raw', 'pio')];

  it('--only exits/* selects the exits cases', () => {
    expect(selectCases(cases, { only: ['exits/*'] }).map((c) => c.id)).toEqual(['cpuid', 'vmcall']);
  });

  it('--threshold exits/* does not reach metric keys below a case; exits/** does', () => {
    const key = 'exits/cpuid/cpuid.latency';
    expect(thresholdFor(key, 'cpuid.latency', { thresholds: [['exits/*', 0.1]] })).toBe(0.05);
    expect(thresholdFor(key, 'cpuid.latency', { thresholds: [['exits/**', 0.1]] })).toBe(0.1);
    expect(thresholdFor(key, 'cpuid.latency', { thresholds: [['exits/*/cpuid.*', 0.2]] })).toBe(0.2);
    // `?` is a wildcard in both, one character that is not `/`.
    expect(thresholdFor(key, 'cpuid.latency', { thresholds: [['cpui?.latency', 0.3]] })).toBe(0.3);
  });
});
