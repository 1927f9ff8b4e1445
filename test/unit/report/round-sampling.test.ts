/**
 * Every view says why a metric has the rounds it has when rounds were added adaptively
 * (`metric.roundSampling`), beside why it has its samples (`metric.sampling`).
 */
import { describe, expect, it } from 'vitest';
import { renderHtml } from '../../../src/report/html.js';
import { renderJunit } from '../../../src/report/junit.js';
import { renderMarkdown } from '../../../src/report/markdown.js';
import { renderText } from '../../../src/report/text.js';
import { samplingText } from '../../../src/report/format.js';
import { caseResult, makeResults, metric } from '../../helpers/results-fixture.js';

const note = 'precision 4.1 % reached after 9 rounds (round medians of cpuid.latency)';
const m = metric('cpuid.latency', [1, 2, 3, 4, 5, 6, 7, 8, 9], {
  rounds: [1, 1, 1, 1, 1, 1, 1, 1, 1],
  sampling: { reason: 'fixed', n: 1, note: 'fixed count of 1 samples (no --precision asked): no interval yet' },
  roundSampling: { reason: 'precision', n: 9, precision: 0.041, target: 0.05, note },
});
const results = makeResults([caseResult('exits/cpuid', { metrics: [m] })]);

describe('round sampling in the views', () => {
  it('is in the sampling text every view uses', () => {
    expect(samplingText(m)).toBe(`n=9, ${m.sampling!.note}; rounds: ${note}`);
    expect(samplingText({ ...m, roundSampling: undefined })).toBe(`n=9, ${m.sampling!.note}`);
  });

  it('is in text, Markdown, HTML and JUnit', () => {
    expect(renderText(results)).toContain(`rounds: ${note}`);
    expect(renderMarkdown(results)).toContain(`rounds: ${note}`);
    expect(renderHtml(results)).toContain(`rounds: ${note}`);
    expect(renderJunit(results)).toMatch(
      /name="metric\.[^"]*cpuid\.latency[^"]*\.rounds_stopped" value="precision 4\.1 % reached after 9 rounds/,
    );
  });
});
